"""The capacity outlook read from the database: the plain input built from rooms, stays, episodes in transit
and awaiting placement; who sees what; the query count pinned."""

from __future__ import annotations

import pytest
from django.http import Http404

from closedloop.facilities import capacity as cap
from closedloop.facilities.actions import checkin, facility_create, rooms_bulk_create
from tests.facilities.capacity_support import (
    A_FREE,
    B_FREE,
    CITY_FREE,
    build_capacity_city,
    plus,
    room,
    set_population,
    today,
)


@pytest.fixture
def capacity_city(city, town_a, facility_a, facility_b, open_episode, bus):
    return build_capacity_city(city, town_a, facility_a, facility_b, open_episode, bus)


def free(rows) -> list[int]:
    return [d.free_after for d in rows]


def test_the_city_outlook_from_the_database(capacity_city, commander):
    out = cap.capacity_outlook(commander, days=7)
    assert out.scope == cap.CITY and out.today == today() and out.days == 7
    by_code = {line.facility.code: line for line in out.sites}
    assert sorted(by_code) == ["site-a", "site-b", "site-c"]  # no hospital, no vehicle
    a, b, c = by_code["site-a"].outlook, by_code["site-b"].outlook, by_code["site-c"].outlook
    assert (a.now.available, a.now.occupied, a.now.awaiting_cleaning, a.now.cleaning, a.now.out_of_service) == (
        5, 2, 1, 1, 1)
    assert free(a.days) == A_FREE
    # The shared room frees when the child (the last) leaves on +3; the single room on +4.
    assert [d.releases for d in a.days] == [0, 0, 0, 1, 1, 0, 0]
    assert free(b.days) == B_FREE and by_code["site-b"].on_the_way == 1
    assert [d.arrivals for d in b.days] == [0, 0, 1, 0, 0, 0, 0]
    assert not c.takes_people and out.result.idle == 2
    assert out.awaiting == 2 and out.result.demand == 2 and out.on_the_way == 1
    assert out.population == 4000 and out.result.required == 8 and out.result.reserve_known
    assert free(out.result.city) == CITY_FREE
    assert out.shortfall == (today(), 1)
    assert cap.city_shortfall(commander) == (today(), 1)
    assert out.result.city_now.available == 8  # A's 5 and B's 3; C's 2 are idle


def test_enough_rooms_when_the_reserve_is_smaller(capacity_city, commander, city):
    set_population(city, 1000)  # 2 rooms kept free
    assert cap.city_shortfall(commander) is None
    headline = cap.capacity_headline(commander)
    assert headline.shortfall is None and headline.days == 14 and headline.reserve_known


def test_no_population_no_reserve(capacity_city, commander, city):
    set_population(city, None)
    out = cap.capacity_outlook(commander, days=7)
    assert out.result.required == 0 and not out.result.reserve_known
    assert out.shortfall is None
    assert cap.capacity_headline(commander).reserve_known is False


def test_site_staff_see_their_sites_without_the_city(capacity_city, site_a, site_b):
    out = cap.capacity_outlook(site_a, days=7)
    assert out.scope == cap.SITES and out.city is None
    assert sorted(line.facility.code for line in out.sites) == ["site-a", "site-c"]  # town A's
    assert out.awaiting == 0 and out.result.required == 0
    assert free(out.result.city) == A_FREE
    assert cap.capacity_headline(site_a) is None and cap.city_shortfall(site_a) is None
    assert [line.facility.code for line in cap.capacity_outlook(site_b).sites] == ["site-b"]


def test_who_is_refused(capacity_city, materials_clerk, community_worker, analyst, duty_officer):
    assert cap.capacity_scope(materials_clerk) is None
    assert cap.capacity_outlook(materials_clerk) is None
    assert cap.capacity_scope(community_worker) is None
    assert cap.capacity_scope(analyst).kind == cap.CITY  # no personal data: the read-only analyst reads it
    assert cap.capacity_scope(duty_officer).kind == cap.CITY


def test_a_site_outside_the_scope_is_not_found(capacity_city, site_b, site_a, commander, city):
    a = capacity_city["a"]
    with pytest.raises(Http404):
        cap.capacity_facility(site_b, a.pk)
    assert cap.capacity_facility(site_a, a.pk) == a
    hospital = facility_create(kind="hospital", name="定点医院", code="hosp", city=city, status="open", actor=None)
    with pytest.raises(Http404):
        cap.capacity_facility(commander, hospital.pk)  # no rooms of ours to forecast


def test_one_site(capacity_city):
    out = cap.site_outlook(capacity_city["a"], days=7)
    assert out.scope == cap.SITE and len(out.sites) == 1
    assert free(out.sites[0].outlook.days) == A_FREE
    assert out.result.required == 0 and out.awaiting == 0


@pytest.mark.parametrize("people", [1, 6])
def test_query_count_is_pinned(city, facility_a, facility_b, open_episode, commander, people,
                               django_assert_num_queries):
    set_population(city, 100_000)
    for i in range(people):
        episode = open_episode(f"人{i}", anchor=plus(-(i % 4)))
        checkin(facility=facility_a, assignments=[(episode, room(facility_a, f"{3 + i // 5}0{1 + i % 5}"))],
                actor=None)
        open_episode(f"待{i}", anchor=today())
    for n in range(people):  # more sites, more rooms
        site = facility_create(kind="health_station", name=f"驿站{n}", code=f"hs-{n}", city=city, status="open",
                               actor=None)
        rooms_bulk_create(facility=site, floor_from=1, floor_to=2, room_from=1, room_to=3, actor=None)
    commander = type(commander).objects.get(pk=commander.pk)
    # jurisdictions; sites; rooms by status; protocols; stays; turning rooms; on the way; awaiting placement
    with django_assert_num_queries(8):
        out = cap.capacity_outlook(commander)
    assert out.result.city_now.occupied == people and out.awaiting == people
    assert len(out.sites) == 2 + people
