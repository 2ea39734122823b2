"""The planner's instance made from live data: groups, ready minutes, households, who cannot be planned."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from closedloop.core.actions import jurisdiction_create
from closedloop.facilities.actions import facility_create
from closedloop.planning.returns import instance as inst
from closedloop.quarantine.actions import custodian_create, handover_give
from closedloop.transfers import live
from tests.transfers.plan_helpers import NOW, SHANGHAI, away, household


def groups_of(instance: dict) -> dict[str, dict]:
    return {g["id"]: {**g, "origin": o["id"]} for o in instance["origins"] for g in o["groups"]}


def test_epoch_is_now_rounded_up_to_ten_minutes():
    assert live.epoch_for(NOW) == datetime(2026, 3, 10, 9, 10, tzinfo=SHANGHAI)
    assert live.epoch_for(datetime(2026, 3, 10, 9, 10, tzinfo=SHANGHAI)) == datetime(2026, 3, 10, 9, 10,
                                                                                     tzinfo=SHANGHAI)
    assert live.epoch_for(datetime(2026, 3, 10, 9, 10, 1, tzinfo=SHANGHAI)).minute == 20
    assert live.epoch_for(datetime(2026, 3, 10, 23, 55, tzinfo=SHANGHAI)) == datetime(2026, 3, 11, 0, 0,
                                                                                      tzinfo=SHANGHAI)


def test_households_are_grouped_per_origin_with_their_release(person_factory, hangzhou_site, ningbo_site, fleet,
                                                              town_a, town_b, community_b1):
    zhang = away(person_factory, hangzhou_site, "张伟", release_on=date(2026, 3, 11))
    wife = away(person_factory, hangzhou_site, "李娜", status="released", release_on=None)
    son = away(person_factory, ningbo_site, "张小伟", release_on=date(2026, 3, 12))
    household(zhang, wife, son)
    alone = away(person_factory, hangzhou_site, "王芳", home=community_b1, release_on=date(2026, 3, 9))

    instance, index = live.instance_for(fleet.city, NOW)
    assert instance["epoch"] == "2026-03-10T09:10:00+08:00"
    groups = groups_of(instance)
    assert len(groups) == 3 and not index.skipped
    zhang.episode.person.refresh_from_db()
    household_id = zhang.episode.person.household_id
    at_hz = f"o{hangzhou_site.pk}-h{household_id}"
    at_nb = f"o{ningbo_site.pk}-h{household_id}"
    single = f"o{hangzhou_site.pk}-p{alone.episode.person_id}"
    # The household at Hangzhou waits for Zhang: 08:00 on 11 March is 22 h 50 min after 09:10 on the 10th.
    assert groups[at_hz] == {"id": at_hz, "size": 2, "ready_minute": 22 * 60 + 50, "district": town_a.code,
                             "origin": "away-hz"}
    assert sorted(index.groups[at_hz]) == sorted([zhang.episode_id, wife.episode_id])
    # The son at Ningbo is a group of his own: a household spread over two sites travels as two groups.
    assert groups[at_nb]["size"] == 1 and groups[at_nb]["ready_minute"] == 46 * 60 + 50
    assert groups[at_nb]["origin"] == "away-nb" and index.groups[at_nb] == [son.episode_id]
    # Released on a day already past: ready at once; going home to town B.
    assert groups[single]["ready_minute"] == 0 and groups[single]["district"] == town_b.code
    assert index.origins == {"away-hz": hangzhou_site.pk, "away-nb": ningbo_site.pk}
    assert index.districts == {town_a.code: town_a.pk, town_b.code: town_b.pk}


def test_the_fleet_routes_and_districts_become_the_instance(person_factory, hangzhou_site, fleet, town_a, station):
    away(person_factory, hangzhou_site, "张伟")
    instance, _index = live.instance_for(fleet.city, NOW)
    assert instance["station"] == {"id": station.code, "lanes": 2, "minutes_per_person": 3}
    assert instance["coaches"] == {"count": 3, "seats": 45, "max_load": 0.5, "board_minutes": 30,
                                   "turnaround_minutes": 60}
    assert instance["origins"][0]["travel_minutes"] == 120 and instance["origins"][0]["city"] == "杭州市"
    # Only the districts someone goes home to.
    assert instance["districts"] == [{"id": town_a.code, "travel_minutes": 20, "shuttles": 2, "seats": 14,
                                      "max_load": 1.0, "board_minutes": 10, "turnaround_minutes": 15}]
    assert inst.parse(instance).people == 1


def test_people_who_cannot_be_planned_are_reported_with_their_reason(person_factory, hangzhou_site, fleet, city,
                                                                     town_a):
    town_c = jurisdiction_create(code="330782003", name="江东街道", name_en="Jiangdong", level="town", parent=city,
                                 actor=None)
    no_route_site = facility_create(kind="out_of_city_site", name="温州市集中隔离点", code="away-wz", city=city,
                                    other_city="温州市", status="open", actor=None)
    ok = away(person_factory, hangzhou_site, "张伟")
    no_district = away(person_factory, hangzhou_site, "赵六", home=town_c)
    no_route = away(person_factory, no_route_site, "钱七")
    positive = away(person_factory, hangzhou_site, "孙八", status="positive")
    unknown_day = away(person_factory, hangzhou_site, "周九", release_on=None)
    waits = away(person_factory, hangzhou_site, "周九妻")
    household(unknown_day, waits)
    away(person_factory, hangzhou_site, "吴十", status="home")

    instance, index = live.instance_for(city, NOW)
    assert index.episode_ids() == [ok.episode_id]
    reasons = {s.episode: s.reason for s in index.skipped}
    assert reasons == {no_district.episode_id: "no_district", no_route.episode_id: "no_route",
                       positive.episode_id: "positive", unknown_day.episode_id: "no_release_day",
                       waits.episode_id: "household_waits"}
    assert all(s.reason_text for s in index.skipped)
    assert [o["id"] for o in instance["origins"]] == ["away-hz"]
    # The index survives its JSON round trip (it is kept inside the stored instance).
    again = live.LiveIndex.from_instance({live.LIVE_KEY: index.to_json()}, index.epoch)
    assert again.groups == index.groups and again.skipped == index.skipped


def test_people_on_their_way_are_not_out_there_and_others_held_elsewhere_are_reported(
        person_factory, hangzhou_site, ningbo_site, fleet, city):
    on_the_way = away(person_factory, hangzhou_site, "张伟")
    coach = custodian_create(kind="vehicle_trip", name="返乡大巴 1", code="coach-1", city=city, actor=None)
    handover_give(episode=on_the_way.episode, to_custodian=coach, expected_by=NOW + timedelta(days=365),
                  actor=None, signed_by="司机")
    elsewhere = away(person_factory, ningbo_site, "李四")
    # The record says Hangzhou, the ledger says Ningbo holds them.
    type(elsewhere).objects.filter(pk=elsewhere.pk).update(origin=hangzhou_site)

    instance, index = live.instance_for(city, NOW)
    assert instance["origins"] == [] and index.groups == {}
    assert [(s.episode, s.reason) for s in index.skipped] == [(elsewhere.episode_id, "not_held")]


def test_a_household_larger_than_a_shuttle_cannot_travel(person_factory, hangzhou_site, fleet, town_b,
                                                         community_b1):
    from closedloop.transfers.models import District

    District.objects.filter(town=town_b).update(seats=2)
    members = [away(person_factory, hangzhou_site, f"家{i}", home=community_b1) for i in range(3)]
    household(*members)
    instance, index = live.instance_for(fleet.city, NOW)
    assert instance["origins"] == []
    assert {s.reason for s in index.skipped} == {"too_large"} and len(index.skipped) == 3


def test_without_a_fleet_nothing_can_be_planned(city):
    with pytest.raises(Exception, match="no fleet"):
        live.instance_for(city, NOW)


def test_release_moment_is_eight_in_the_morning_local_time():
    assert live.release_moment(date(2026, 3, 11)) == datetime(2026, 3, 11, 8, 0, tzinfo=SHANGHAI)
    assert live.minutes_after(NOW, NOW - timedelta(days=1)) == 0
