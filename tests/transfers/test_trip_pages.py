"""The trip pages: the list (filters, search by plate, pages, pinned queries) and one trip with its next
step's form — dispatch and each checklisted hand-over — refusals kept next to their fields."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from closedloop.transfers.actions import trip_arrive_station, trip_board, trip_dispatch
from closedloop.transfers.models import HandoverCheck, Passenger, Trip
from tests.transfers.trip_support import (
    BOARDING_TRIP_OK,
    STATION_TRIP_OK,
    build_world,
    client_for,
    everyone_ok,
)

LIST = "/transfers/trips/"


@pytest.fixture
def world(city, town_a, community_a1, community_a2, hangzhou_site, station, fleet, person_factory):
    return build_world(city=city, town_a=town_a, community_a1=community_a1, community_a2=community_a2,
                       hangzhou_site=hangzhou_site, station=station, fleet=fleet, person_factory=person_factory)


def page_of(trip) -> str:
    return f"{LIST}{trip.pk}/"


def listed(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-trip="(\d+)"', response.content.decode())]


def dispatched(world, trip=None):
    return trip_dispatch(trip=world.fresh(trip or world.coach), plate="浙A12345", driver="刘师傅", escorts="陈医生",
                         actor=world.desk)


def boarding_post(world, **changes) -> dict:
    data = {"giver": "吴医生", "receiver": "陈医生", "version": str(world.fresh(world.coach).version)}
    for e in world.episodes:
        data[f"p{e.pk}-temperature"] = "on"
        data[f"p{e.pk}-negative_test_24h"] = "on"
    for code in BOARDING_TRIP_OK:
        data[f"t-{code}"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# --- the list ------------------------------------------------------------------------------------

def test_the_list_shows_trips_in_reach_soonest_first(world):
    response = client_for(world.desk).get(LIST)
    assert response.status_code == 200
    assert listed(response) == [world.coach.pk, world.shuttle.pk]
    html = response.content.decode()
    assert "杭州市萧山区集中隔离点" in html and "稠城街道" in html


def test_filters_and_search_by_plate(world):
    dispatched(world)
    client = client_for(world.desk)
    assert listed(client.get(LIST, {"kind": "shuttle"})) == [world.shuttle.pk]
    assert listed(client.get(LIST, {"state": "boarding"})) == [world.coach.pk]
    assert listed(client.get(LIST, {"q": "a123"})) == [world.coach.pk]
    day = world.coach.depart_at.astimezone().date()
    assert world.coach.pk in listed(client.get(LIST, {"day": day.isoformat()}))
    assert listed(client.get(LIST, {"day": "2001-01-01"})) == []
    response = client.get(LIST, {"kind": "plane", "day": "yesterday"})
    assert response.status_code == 200 and len(listed(response)) == 2  # what cannot be read is dropped, and said
    html = response.content.decode()
    assert 'id="bad-filters"' in html and "Choose coach or shuttle." in html and "2022-08-03" in html


def test_the_towns_staff_see_their_shuttle_and_the_outsider_sees_nothing(world, site_a, site_b):
    assert listed(client_for(site_a).get(LIST)) == [world.shuttle.pk]
    assert listed(client_for(site_b).get(LIST)) == []


def test_the_list_needs_a_role_that_sees_people_and_only_answers_get(world, materials_clerk, client):
    assert client_for(materials_clerk).get(LIST).status_code == 403
    assert client.get(LIST).status_code == 302  # to the login page
    assert client_for(world.desk).post(LIST).status_code == 405


@override_settings(PAGE_SIZE=5)
def test_pages_and_a_fixed_number_of_queries(world, django_assert_num_queries):
    for n in range(1, 12):
        Trip.objects.create(plan=world.plan, kind="shuttle", vehicle=n, town=world.shuttle.town,
                            depart_at=world.shuttle.depart_at, arrive_at=world.shuttle.arrive_at)
    client = client_for(world.desk)
    client.get(LIST)  # warm the session
    with django_assert_num_queries(5):  # session, user, scope, count, rows
        response = client.get(LIST, {"page": "2"})
    assert len(listed(response)) == 5
    assert "page 2 of 3" in response.content.decode()


# --- one trip ------------------------------------------------------------------------------------

def test_the_trip_page_shows_passengers_and_the_dispatch_form(world):
    response = client_for(world.desk).get(page_of(world.coach))
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("张伟", "李娜", "王芳"):
        assert name in html
    assert 'id="dispatch-form"' in html and 'data-count="on_the_list">3<' in html


def test_the_trip_page_refuses_outsiders_and_roles_without_people(world, site_b, materials_clerk):
    assert client_for(site_b).get(page_of(world.coach)).status_code == 404
    assert client_for(site_b).get(f"{LIST}999999/").status_code == 404
    assert client_for(materials_clerk).get(page_of(world.coach)).status_code == 403
    assert client_for(world.desk).post(page_of(world.coach)).status_code == 405


def test_an_analyst_follows_the_trip_but_may_not_run_it(world, analyst):
    client = client_for(analyst)
    html = client.get(page_of(world.coach)).content.decode()
    assert "may follow this trip but not run it" in html and 'id="dispatch-form"' not in html
    response = client.post(f"{page_of(world.coach)}dispatch/", {"plate": "浙A1", "driver": "甲", "escorts": "乙"})
    assert response.status_code == 403
    assert Trip.objects.get(pk=world.coach.pk).state == "planned"


def test_dispatch_from_the_page(world):
    client = client_for(world.desk)
    response = client.post(f"{page_of(world.coach)}dispatch/", {"plate": "浙A 12345", "driver": "刘师傅",
                                                                 "escorts": "陈医生", "version": "0"})
    assert response.status_code == 302 and response["Location"] == page_of(world.coach)
    trip = world.fresh(world.coach)
    assert trip.state == "boarding" and trip.plate == "浙A12345"
    html = client.get(page_of(world.coach)).content.decode()
    assert "The trip is dispatched" in html and 'id="step-form"' in html and 'data-stage="boarding"' in html


def test_a_refused_dispatch_keeps_the_input_with_the_reason_next_to_the_field(world):
    response = client_for(world.desk).post(f"{page_of(world.coach)}dispatch/", {"plate": "浙A12345", "driver": "",
                                                                                 "escorts": "陈医生"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="浙A12345"' in html and 'value="陈医生"' in html
    assert re.search(r'id="id_driver_errors"><li>Write the driver&#x27;s name.</li>', html), html
    assert world.fresh(world.coach).state == "planned"


def test_dispatch_refuses_get_outsiders_and_a_stale_page(world, site_b):
    url = f"{page_of(world.coach)}dispatch/"
    assert client_for(world.desk).get(url).status_code == 405
    assert client_for(site_b).post(url, {"plate": "浙A1", "driver": "甲", "escorts": "乙"}).status_code == 404
    dispatched(world)
    response = client_for(world.desk).post(url, {"plate": "浙A9", "driver": "甲", "escorts": "乙", "version": "0"})
    assert response.status_code == 409
    assert 'id="conflict"' in response.content.decode() and world.fresh(world.coach).plate == "浙A12345"


def test_boarding_from_the_checklist_on_the_page(world):
    dispatched(world)
    client = client_for(world.desk)
    html = client.get(page_of(world.coach)).content.decode()
    for e in world.episodes:
        assert f'name="p{e.pk}-temperature"' in html
    assert 'name="t-documents"' in html and 'name="t-half_seats"' not in html  # counted, never ticked
    assert "at most 22 of 45 seats; 3 on the list" in html
    assert 'name="override_reason"' not in html  # the desk may not override
    post = boarding_post(world, **{f"p{world.wang.pk}-temperature": None})
    response = client.post(f"{page_of(world.coach)}board/", post)
    assert response.status_code == 302
    assert world.fresh(world.coach).state == "under_way"
    assert Passenger.objects.get(trip=world.coach, episode=world.wang).status == "left_behind"
    html = client.get(page_of(world.coach)).content.decode()
    assert "2 people handed over." in html and "Stayed behind: 王芳" in html
    assert 'id="left-behind"' in html and 'data-count="left_behind">1<' in html
    assert 'data-stage="station"' in html and "✗ Temperature below 37.3" in html


def test_a_refused_boarding_keeps_every_tick_and_says_why_next_to_the_field(world):
    dispatched(world)
    post = boarding_post(world, receiver="", **{"t-documents": None})
    response = client_for(world.desk).post(f"{page_of(world.coach)}board/", post)
    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(r'id="id_receiver_errors"><li>The receiving side signs', html)
    assert 'value="吴医生"' in html
    assert len(re.findall(r'name="p\d+-temperature"[^>]*checked', html)) == 3
    assert world.fresh(world.coach).state == "boarding" and not HandoverCheck.objects.exists()
    response = client_for(world.desk).post(f"{page_of(world.coach)}board/", boarding_post(world, **{"t-documents": None}))
    assert response.status_code == 400
    assert re.search(r'id="id_t-documents_errors"><li>Not confirmed: Release papers', response.content.decode())


def test_the_counted_load_refusal_shows_beside_the_load(world):
    from closedloop.transfers.models import Fleet

    Fleet.objects.filter(pk=world.fleet.pk).update(coach_seats=4)
    dispatched(world)
    response = client_for(world.desk).post(f"{page_of(world.coach)}board/", boarding_post(world))
    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(r'data-item="half_seats">.*3 people would board; 4 seats allow at most 2.', html, re.S)


def test_headquarters_sees_and_uses_the_override(world, commander):
    dispatched(world)
    client = client_for(commander)
    assert 'name="override_reason"' in client.get(page_of(world.coach)).content.decode()
    post = boarding_post(world, override_reason="资料随后补交", **{"t-documents": None})
    assert client.post(f"{page_of(world.coach)}board/", post).status_code == 302
    assert HandoverCheck.objects.get(trip=world.coach, episode=None).override_reason == "资料随后补交"


def test_the_desk_posting_an_override_is_refused(world):
    dispatched(world)
    post = boarding_post(world, override_reason="赶时间", **{"t-documents": None})
    assert client_for(world.desk).post(f"{page_of(world.coach)}board/", post).status_code == 403
    assert world.fresh(world.coach).state == "boarding"


def test_a_step_that_is_not_next_is_refused(world):
    dispatched(world)
    response = client_for(world.desk).post(f"{page_of(world.coach)}arrive/", {"giver": "a", "receiver": "b"})
    assert response.status_code == 409
    assert "not this trip&#x27;s next step" in response.content.decode()
    assert client_for(world.desk).get(f"{page_of(world.coach)}board/").status_code == 405


def test_the_station_and_home_from_the_page(world, community_a1):
    dispatched(world)
    trip_board(trip=world.fresh(world.coach), answers=everyone_ok(world), trip_answers=BOARDING_TRIP_OK, giver="a",
               receiver="b", actor=world.desk)
    client = client_for(world.desk)
    post = {"giver": "陈医生", "receiver": "郑护士", "t-documents": "on", "t-headcount": "on",
            f"p{world.zhang.pk}-screening": "on", f"p{world.li.pk}-screening": "on"}
    assert client.post(f"{page_of(world.coach)}arrive/", post).status_code == 302
    html = client.get(page_of(world.coach)).content.decode()
    assert "Not handed over yet: 王芳" in html and 'data-stage="station"' in html
    assert client.post(f"{page_of(world.coach)}arrive/", {**post, f"p{world.wang.pk}-screening": "on"}).status_code == 302
    assert world.fresh(world.coach).state == "done"
    assert 'id="no-step"' in client.get(page_of(world.coach)).content.decode()

    dispatched(world, world.shuttle)
    post = {"giver": "郑护士", "receiver": "孙师傅", "t-crew_negative_test_24h": "on", "t-headcount": "on"}
    assert client.post(f"{page_of(world.shuttle)}shuttle-board/", post).status_code == 302
    html = client.get(page_of(world.shuttle)).content.decode()
    assert f'name="take-{world.zhang.pk}"' in html and "at most" not in html
    post = {"giver": "孙师傅", "receiver": "何主任", "t-documents": "on", "t-headcount": "on",
            f"take-{world.zhang.pk}": "on", f"p{world.zhang.pk}-home_notice": "on",
            f"take-{world.li.pk}": "on", f"p{world.li.pk}-home_notice": "on",
            f"p{world.wang.pk}-home_notice": "on"}  # ticked but not chosen here: not handed over
    assert client.post(f"{page_of(world.shuttle)}home/", post).status_code == 302
    assert world.fresh(world.shuttle).state == "arrived"
    assert world.episode(world.zhang).custodian.jurisdiction_id == community_a1.pk
    assert world.episode(world.wang).custodian_id == world.fresh(world.shuttle).custodian_id
    response = client.post(f"{page_of(world.shuttle)}home/", {"giver": "孙师傅", "receiver": "钱书记",
                                                              "t-documents": "on", "t-headcount": "on"})
    assert response.status_code == 400
    assert "Choose who is handed over here." in response.content.decode()


def test_cancel_from_the_page(world):
    client = client_for(world.desk)
    response = client.post(f"{page_of(world.shuttle)}cancel/", {"reason": ""})
    assert response.status_code == 400 and "Say why the trip is cancelled." in response.content.decode()
    assert client.post(f"{page_of(world.shuttle)}cancel/", {"reason": "改期"}).status_code == 302
    assert world.fresh(world.shuttle).state == "cancelled"
    assert "This trip was cancelled." in client.get(page_of(world.shuttle)).content.decode()


def test_the_station_page_in_chinese(world):
    dispatched(world)
    trip_board(trip=world.fresh(world.coach), answers=everyone_ok(world), trip_answers=BOARDING_TRIP_OK, giver="a",
               receiver="b", actor=world.desk)
    trip_arrive_station(trip=world.fresh(world.coach), answers={}, trip_answers=STATION_TRIP_OK, giver="a",
                        receiver="b", actor=world.desk)
    client = client_for(world.desk)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    html = client.get(page_of(world.coach)).content.decode()
    assert "转运站查验（体温、健康码、采样）完成" in html


def test_the_stations_staff_see_every_trip_of_the_city(world, site_b):
    from closedloop.facilities.actions import facility_member_add

    facility_member_add(facility=world.station, user=site_b, actor=None)
    assert listed(client_for(site_b).get(LIST)) == [world.coach.pk, world.shuttle.pk]
    assert client_for(site_b).get(page_of(world.coach)).status_code == 200
