"""The capacity outlook as a pure function: each effect computed by hand on a small site. No database."""

from __future__ import annotations

import ast
import datetime as dt
import random
import time
from pathlib import Path

import pytest

from closedloop.planning import capacity
from closedloop.planning.capacity import (
    Arrival,
    SiteInput,
    centralized_days,
    outlook,
    reserve_required,
    room_freed_on,
    site_leave_day,
    turnaround_days,
)

TODAY = dt.date(2026, 12, 1)


def day(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


def column(rows, field: str) -> list[int]:
    return [getattr(r, field) for r in rows]


def one(site: SiteInput, **kw):
    result = outlook([site], today=TODAY, **kw)
    assert len(result.sites) == 1
    return result, result.sites[0]


def test_no_django_import():
    source = Path(capacity.__file__).read_text(encoding="utf-8")
    imported = [n for node in ast.walk(ast.parse(source)) if isinstance(node, (ast.Import, ast.ImportFrom))
                for n in ([node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names])]
    assert imported and not [name for name in imported if name and name.startswith("django")]


# --- each effect --------------------------------------------------------------------------------------------

def test_a_release_frees_the_room_after_the_turnaround():
    # One room, its occupant leaves on day 2; 24 h turnaround: free on day 3.
    _, site = one(SiteInput("A", occupied=1, occupants=[(day(2),)]), days=5)
    assert column(site.days, "releases") == [0, 0, 1, 0, 0]
    assert column(site.days, "occupied") == [1, 1, 0, 0, 0]
    assert column(site.days, "turning") == [0, 0, 1, 0, 0]
    assert column(site.days, "available") == [0, 0, 0, 1, 1]
    assert column(site.days, "free_after") == [0, 0, 0, 1, 1]
    assert [d.day for d in site.days] == [day(i) for i in range(5)]


@pytest.mark.parametrize(("hours", "back_on"), [(1, 3), (24, 3), (25, 4), (36, 4), (48, 4), (49, 5), (240, None)])
def test_turnaround_delays_by_whole_days(hours, back_on):
    _, site = one(SiteInput("A", occupied=1, turnaround_hours=hours, occupants=[(day(2),)]), days=6)
    free = column(site.days, "available")
    first = next((i for i, n in enumerate(free) if n), None)
    assert first == back_on
    assert site.turnaround_days == turnaround_days(hours)


def test_an_arrival_takes_a_free_room():
    _, site = one(SiteInput("A", available=2, arrivals=[Arrival(day(1)), Arrival(day(1)), Arrival(day(3))]),
                  days=4)
    assert column(site.days, "arrivals") == [0, 2, 0, 1]
    assert column(site.days, "available") == [2, 2, 0, 0]
    assert column(site.days, "free_after") == [2, 0, 0, -1]
    assert column(site.days, "occupied") == [0, 2, 2, 3]
    # More arrivals than rooms: the site is short by the people with no room.
    assert column(site.days, "short_by") == [0, 0, 0, 1]
    assert site.first_short.day == day(3)


def test_an_arrival_already_late_counts_today_and_one_leaving_frees_its_room():
    _, site = one(SiteInput("A", available=1, arrivals=[Arrival(day(-2), leaves_on=day(2))]), days=5)
    assert column(site.days, "arrivals") == [1, 0, 0, 0, 0]
    assert column(site.days, "releases") == [0, 0, 1, 0, 0]
    assert column(site.days, "free_after") == [0, 0, 0, 1, 1]


def test_an_arrival_gone_before_it_comes_takes_nothing():
    _, site = one(SiteInput("A", available=1, arrivals=[Arrival(day(2), leaves_on=day(2)),
                                                         Arrival(day(-3), leaves_on=day(-1))]), days=3)
    assert column(site.days, "arrivals") == [0, 0, 0]
    assert column(site.days, "free_after") == [1, 1, 1]


def test_a_household_in_one_room_takes_the_rooms_it_is_given():
    _, site = one(SiteInput("A", available=3, arrivals=[Arrival(day(0), rooms=1), Arrival(day(0), rooms=2)]), days=1)
    assert site.days[0].arrivals == 3 and site.days[0].free_after == 0


def test_a_shared_room_frees_when_the_last_occupant_leaves():
    _, site = one(SiteInput("A", occupied=2, occupants=[(day(1), day(3)), (day(2),)]), days=6)
    assert column(site.days, "releases") == [0, 0, 1, 1, 0, 0]
    assert column(site.days, "available") == [0, 0, 0, 1, 2, 2]
    assert room_freed_on([day(1), day(3)]) == day(3)
    assert room_freed_on([day(1), None]) is None
    assert room_freed_on([]) is None


def test_an_occupant_without_a_leave_day_keeps_the_room_and_unlisted_rooms_stay_occupied():
    _, site = one(SiteInput("A", occupied=3, occupants=[(day(1), None), (day(1),)]), days=4)
    assert column(site.days, "occupied") == [3, 2, 2, 2]
    assert column(site.days, "available") == [0, 0, 1, 1]


def test_rooms_of_one_person_can_come_counted_by_their_leave_day():
    site = SiteInput("A", occupied=6, occupants=[(day(1), day(2))],
                     rooms_leaving={day(1): 2, day(-3): 1, None: 1})  # and one room not given at all
    _, out = one(site, days=4)
    assert column(out.days, "releases") == [1, 2, 1, 0]
    assert column(out.days, "occupied") == [5, 3, 2, 2]
    assert column(out.days, "available") == [0, 1, 3, 4]


def test_a_leave_day_already_past_frees_today():
    _, site = one(SiteInput("A", occupied=1, occupants=[(day(-4),)]), days=3)
    assert column(site.days, "releases") == [1, 0, 0]
    assert column(site.days, "available") == [0, 1, 1]


def test_rooms_turning_around_now_come_back_after_their_turnaround():
    site = SiteInput("A", awaiting_cleaning=2, cleaning=2, turnaround_hours=48, turning_since=[
        dt.datetime.combine(day(-5), dt.time(9)),  # cleaners late: back today
        day(-1),  # vacated yesterday, 2 days: back tomorrow
        dt.datetime.combine(day(0), dt.time(23, 30)),  # vacated tonight: back in 2 days
    ])  # the fourth: when it was vacated is unknown — as if today
    _, out = one(site, days=4)
    assert column(out.days, "available") == [1, 2, 4, 4]
    assert column(out.days, "turning") == [3, 2, 0, 0]


def test_out_of_service_never_counts():
    result, site = one(SiteInput("A", available=1, out_of_service=5), days=3, population=1000, reserve_per_10k=20)
    assert column(site.days, "available") == [1, 1, 1]
    assert site.now.total == 6 and site.now.out_of_service == 5
    assert result.city_now.out_of_service == 5 and column(result.city, "free_after") == [1, 1, 1]
    assert all(d.occupied + d.turning + d.available == 1 for d in result.city)


# --- the city and its reserve ---------------------------------------------------------------------------------

def test_reserve_and_the_first_day_the_city_runs_short():
    # 10,000 residents × 20 per 10,000: 20 rooms to keep free. Two sites with 12 + 13 free; 3 arrive a day at A.
    a = SiteInput("A", available=12, arrivals=[Arrival(day(i)) for i in range(5) for _ in range(3)])
    b = SiteInput("B", available=13)
    result = outlook([a, b], today=TODAY, days=5, population=10_000, reserve_per_10k=20)
    assert result.required == 20 and result.reserve_known
    assert column(result.city, "free_after") == [22, 19, 16, 13, 10]
    assert column(result.city, "short_by") == [0, 1, 4, 7, 10]
    assert column(result.city, "required") == [20] * 5
    assert result.shortfall == (day(1), 1)
    # Site A alone: 12 free, 3 a day: short on day 4 (15 arrivals) by 3.
    assert result.sites[0].first_short.day == day(4) and result.sites[0].first_short.short_by == 3
    assert result.sites[1].first_short is None


def test_never_short_is_none():
    result = outlook([SiteInput("A", available=50)], today=TODAY, population=10_000, reserve_per_10k=20)
    assert len(result.city) == 14
    assert result.first_short is None and result.shortfall is None
    assert all(d.short_by == 0 for d in result.city)


def test_no_population_means_no_reserve_and_a_flag():
    result = outlook([SiteInput("A", available=1, arrivals=[Arrival(day(0)), Arrival(day(1))])], today=TODAY,
                     days=3, population=None)
    assert result.required == 0 and not result.reserve_known
    assert column(result.city, "short_by") == [0, 1, 1]
    assert result.shortfall == (day(1), 1)
    assert not outlook([], today=TODAY, population=0).reserve_known


def test_reserve_rounds_up():
    assert reserve_required(1_200_000, 20) == 2400
    assert reserve_required(1_234_567, 20) == 2470  # 2469.134 → 2470
    assert reserve_required(None, 20) == 0 and reserve_required(0, 20) == 0


def test_city_demand_takes_city_rooms_and_gives_them_back():
    # Five awaiting placement, centralized until day 2; the site's 48 h turnaround is the longest.
    site = SiteInput("A", available=10, turnaround_hours=48)
    result = outlook([site], today=TODAY, days=6, demand=[Arrival(day(0), rooms=5, leaves_on=day(2))])
    assert result.demand == 5
    assert column(result.city, "arrivals") == [5, 0, 0, 0, 0, 0]
    assert column(result.city, "free_after") == [5, 5, 5, 5, 10, 10]
    assert column(result.city, "occupied") == [5, 5, 0, 0, 0, 0]
    assert column(result.city, "turning") == [0, 0, 5, 5, 0, 0]
    # The site's own rows know nothing of it.
    assert column(result.sites[0].days, "free_after") == [10] * 6


def test_a_paused_site_counts_no_free_room_and_its_arrivals_go_to_the_city():
    paused = SiteInput("P", available=4, occupied=1, turnaround_hours=24, takes_people=False,
                       occupants=[(day(1),)], arrivals=[Arrival(day(1))])
    open_ = SiteInput("O", available=3)
    result = outlook([paused, open_], today=TODAY, days=4, population=1000, reserve_per_10k=10)  # keep 1
    p = result.sites[0]
    assert not p.takes_people
    assert column(p.days, "available") == [0, 0, 0, 0] and column(p.days, "free_after") == [0, 0, 0, 0]
    assert column(p.days, "arrivals") == [0, 0, 0, 0] and p.first_short is None
    # Its occupant still leaves; the room turns around, then idles.
    assert column(p.days, "releases") == [0, 1, 0, 0] and column(p.days, "occupied") == [1, 0, 0, 0]
    assert result.idle == 4 and result.city_now.available == 3
    # The person on the way there needs a room elsewhere: the city's free rooms drop on day 1.
    assert column(result.city, "free_after") == [3, 2, 2, 2]
    assert column(result.city, "arrivals") == [0, 1, 0, 0]
    assert result.required == 1 and result.shortfall is None


def test_city_rooms_now_add_up():
    result = outlook([SiteInput("A", available=1, occupied=2, awaiting_cleaning=3, cleaning=4, out_of_service=5),
                      SiteInput("B", available=10, occupied=1)], today=TODAY)
    now = result.city_now
    assert (now.available, now.occupied, now.awaiting_cleaning, now.cleaning, now.out_of_service) == (11, 3, 3, 4, 5)
    assert now.turning == 7 and now.total == 26


def test_days_are_configurable():
    result = outlook([SiteInput("A", available=1)], today=TODAY, days=7)
    assert len(result.city) == 7 and len(result.sites[0].days) == 7 and result.horizon == 7


# --- leave days ------------------------------------------------------------------------------------------------

CLOSE_CONTACT = [("centralized", 7), ("home_monitoring", 3)]
HIGH_RISK = [("centralized", 7)]
MEDIUM_RISK = [("home_isolation", 7)]


def test_centralized_days_count_the_opening_run_only():
    assert centralized_days(CLOSE_CONTACT) == 7
    assert centralized_days([("centralized", 5), ("centralized", 2), ("home_isolation", 3)]) == 7
    assert centralized_days(MEDIUM_RISK) == 0
    assert centralized_days([("home_isolation", 3), ("centralized", 7)]) == 0
    assert centralized_days([]) == 0


def test_site_leave_day():
    anchor = dt.date(2026, 12, 1)  # day 1; seven centralized days end on 12-07: handed over home on 12-08
    assert site_leave_day(CLOSE_CONTACT, anchor, dt.date(2026, 12, 11)) == dt.date(2026, 12, 8)
    assert site_leave_day(HIGH_RISK, anchor, dt.date(2026, 12, 8)) == dt.date(2026, 12, 8)
    # A protocol that opens at home (home unsuitable): they stay to the release.
    assert site_leave_day(MEDIUM_RISK, anchor, dt.date(2026, 12, 8)) == dt.date(2026, 12, 8)
    assert site_leave_day(None, anchor, dt.date(2026, 12, 9)) == dt.date(2026, 12, 9)
    assert site_leave_day(CLOSE_CONTACT, None, None) is None
    assert site_leave_day(None, None, None) is None


# --- bad input -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("days", [0, -1, 91])
def test_days_out_of_range_are_refused(days):
    with pytest.raises(ValueError, match="days"):
        outlook([], today=TODAY, days=days)


def test_inconsistent_sites_are_refused():
    with pytest.raises(ValueError, match="occupied rooms listed"):
        outlook([SiteInput("A", occupied=1, occupants=[(day(1),), (day(2),)])], today=TODAY)
    with pytest.raises(ValueError, match="occupied rooms listed"):
        outlook([SiteInput("A", occupied=2, occupants=[(day(1),)], rooms_leaving={day(2): 2})], today=TODAY)
    with pytest.raises(ValueError, match="occupied rooms listed"):
        outlook([SiteInput("A", occupied=2, rooms_leaving={day(2): -1})], today=TODAY)
    with pytest.raises(ValueError, match="vacating"):
        outlook([SiteInput("A", cleaning=1, turning_since=[day(0), day(0)])], today=TODAY)
    with pytest.raises(ValueError, match="negative"):
        outlook([SiteInput("A", available=-1)], today=TODAY)
    with pytest.raises(ValueError, match="negative"):
        outlook([], today=TODAY, reserve_per_10k=-1)


# --- scale -----------------------------------------------------------------------------------------------------

def test_a_city_of_300_sites_45000_rooms_50000_people_is_quick():
    rng = random.Random(7)
    sites, people = [], 0
    for s in range(300):
        occupied = 120
        rooms = []
        for _ in range(occupied):
            household = 2 if rng.random() < 0.4 else 1  # ~ 50,000 people in 36,000 rooms
            rooms.append(tuple(day(rng.randint(-2, 20)) for _ in range(household)))
            people += household
        sites.append(SiteInput(
            s, available=15, occupied=occupied, awaiting_cleaning=10, cleaning=3, out_of_service=2,
            turnaround_hours=rng.choice([12, 24, 36]), takes_people=s % 50 != 0, occupants=rooms,
            turning_since=[day(-rng.randint(0, 2)) for _ in range(13)],
            arrivals=[Arrival(day(rng.randint(-1, 13)), leaves_on=day(rng.randint(3, 30))) for _ in range(20)]))
    assert sum(s.available + s.occupied + s.awaiting_cleaning + s.cleaning + s.out_of_service for s in sites) == 45_000
    assert people > 48_000
    start = time.perf_counter()
    result = outlook(sites, today=TODAY, population=1_850_000, reserve_per_10k=20,
                     demand=[Arrival(day(0), rooms=300, leaves_on=day(7))])
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"{elapsed:.2f} s"
    assert len(result.sites) == 300 and len(result.city) == 14
    assert result.city_now.total + result.idle == 45_000
    # At a site taking people every room is somewhere, every day (people with no room count below zero free).
    for site in result.sites:
        if site.takes_people:
            assert {d.free_after + d.occupied + d.turning + site.now.out_of_service for d in site.days} == {150}
