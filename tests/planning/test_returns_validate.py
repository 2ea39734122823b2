"""``returns validate``: the validator names every rule of the spec a plan breaks.

One hand-made instance and a plan for it that keeps every rule; each test breaks exactly one rule
and checks that the validator reports that rule, and only that rule. No database.
"""

from __future__ import annotations

import copy

import pytest

from closedloop.planning.returns import instance as inst
from closedloop.planning.returns.plan import from_dict
from closedloop.planning.returns.validate import RULES, PlanFormatError, check

# Coaches carry floor(12 * 0.5) = 6; district x's shuttle carries 2 (leg 30, cycle 65); y's two
# shuttles carry 5 (leg 40, cycle 80). Screening takes 3 minutes a person on 2 lanes.
INSTANCE = {
    "format": "closedloop.returns-instance/1",
    "epoch": "2022-08-21T06:00:00+08:00",
    "station": {"id": "ptc", "lanes": 2, "minutes_per_person": 3},
    "coaches": {"count": 2, "seats": 12, "max_load": 0.5, "board_minutes": 30, "turnaround_minutes": 60},
    "origins": [
        {"id": "A", "city": "Hangzhou", "travel_minutes": 100,
         "groups": [{"id": "a1", "size": 2, "ready_minute": 0, "district": "x"},
                    {"id": "a2", "size": 3, "ready_minute": 50, "district": "y"}]},
        {"id": "B", "city": "Jinhua", "travel_minutes": 60,
         "groups": [{"id": "b1", "size": 1, "ready_minute": 100, "district": "x"}]},
    ],
    "districts": [
        {"id": "x", "travel_minutes": 20, "shuttles": 1, "seats": 2, "max_load": 1.0, "board_minutes": 10,
         "turnaround_minutes": 15},
        {"id": "y", "travel_minutes": 30, "shuttles": 2, "seats": 5, "max_load": 1.0, "board_minutes": 10,
         "turnaround_minutes": 10},
    ],
}

PLAN = {
    "format": "closedloop.returns-plan/1",
    "coach_trips": [
        {"coach": 0, "origin": "A", "start": 0, "depart_origin": 130, "arrive_station": 230, "groups": ["a1", "a2"]},
        {"coach": 1, "origin": "B", "start": 10, "depart_origin": 100, "arrive_station": 160, "groups": ["b1"]},
    ],
    "station": [
        {"group": "b1", "lane": 0, "start": 160, "end": 163},
        {"group": "a1", "lane": 0, "start": 230, "end": 236},
        {"group": "a2", "lane": 1, "start": 230, "end": 239},
    ],
    "shuttle_trips": [
        {"district": "x", "shuttle": 0, "depart": 163, "arrive": 193, "groups": ["b1"]},
        {"district": "x", "shuttle": 0, "depart": 236, "arrive": 266, "groups": ["a1"]},
        {"district": "y", "shuttle": 0, "depart": 239, "arrive": 279, "groups": ["a2"]},
    ],
    "makespan": 279,
    "lower_bound": 200,
}


@pytest.fixture
def plan():
    return copy.deepcopy(PLAN)


def rules_broken(plan: dict, instance: dict | None = None) -> set[str]:
    return {v.rule for v in check(instance or INSTANCE, plan)}


def only(rule: str, plan: dict, instance: dict | None = None, subject: str | None = None) -> None:
    violations = check(instance or INSTANCE, plan)
    assert {v.rule for v in violations} == {rule}, [str(v) for v in violations]
    if subject is not None:
        assert subject in {v.subject for v in violations}
    assert all(v.message and v.rule in RULES for v in violations)


def test_the_plan_keeps_every_rule():
    assert inst.parse(INSTANCE).coaches.capacity == 6
    assert check(INSTANCE, PLAN) == []
    assert from_dict(PLAN).to_dict() == PLAN  # the plan reads and writes back as it was


def test_rule_1_a_trip_serves_an_origin_that_exists(plan):
    plan["coach_trips"][1]["origin"] = "Z"
    only("1", plan, subject="coach_trips[1]")


def test_rule_1_a_trip_does_not_mix_origins(plan):
    # b1 of origin B rides A's coach instead of its own (6 people, within the coach's 6).
    plan["coach_trips"] = [dict(plan["coach_trips"][0], groups=["a1", "a2", "b1"])]
    plan["station"][0] = {"group": "b1", "lane": 0, "start": 236, "end": 239}
    plan["shuttle_trips"][:2] = [{"district": "x", "shuttle": 0, "depart": 239, "arrive": 269, "groups": ["a1"]}]
    plan["shuttle_trips"].append({"district": "x", "shuttle": 0, "depart": 304, "arrive": 334, "groups": ["b1"]})
    plan["makespan"] = 334
    violations = check(INSTANCE, plan)
    assert [(v.rule, v.params.get("group")) for v in violations] == [("1", "b1")]


def test_rule_2_a_coach_leaves_only_after_it_got_there_and_boarded(plan):
    plan["coach_trips"][0]["start"] = 1  # 1 + 100 + 30 = 131 > 130
    only("2", plan, subject="coach_trips[0]")


def test_rule_2_a_coach_leaves_only_after_every_group_is_released(plan):
    trip = plan["coach_trips"][1]
    trip.update(start=9, depart_origin=99, arrive_station=159)  # b1 is released at minute 100
    violations = check(INSTANCE, plan)
    assert [(v.rule, v.params.get("group")) for v in violations] == [("2", "b1")]


def test_rule_3_a_coach_arrives_one_travel_time_after_leaving(plan):
    plan["coach_trips"][1]["arrive_station"] = 159
    only("3", plan, subject="coach_trips[1]")


def test_rule_4_no_more_people_than_the_coach_capacity():
    # The same plan where distancing allows 40%: floor(12 * 0.4) = 4 < the 5 people of A's trip.
    stricter = copy.deepcopy(INSTANCE)
    stricter["coaches"]["max_load"] = 0.4
    violations = check(stricter, PLAN)
    assert [(v.rule, v.subject, v.params["people"], v.params["capacity"]) for v in violations] == [
        ("4", "coach_trips[0]", 5, 4)]


def test_rule_4_capacity_is_computed_exactly():
    # floor(100 * 0.29) is 29 (in floating point, 100 * 0.29 is 28.999...).
    assert inst.capacity(100, 0.29) == 29
    loose = copy.deepcopy(INSTANCE)
    loose["coaches"].update(seats=100, max_load=0.05)  # 5 people: A's trip fits
    assert check(loose, PLAN) == []


def test_rule_5_a_coachs_trips_do_not_overlap(plan):
    plan["coach_trips"][1]["coach"] = 0  # coach 0 is back from A only at 230 + 60
    only("5", plan, subject="coach_trips[1]")


def test_rule_5_the_coach_exists(plan):
    plan["coach_trips"][1]["coach"] = 2
    only("5", plan, subject="coach_trips[1]")


def test_rule_5_no_trip_starts_before_minute_0(plan):
    plan["coach_trips"][1]["start"] = -5
    only("5", plan, subject="coach_trips[1]")


def test_rule_6_a_block_lasts_size_times_minutes_per_person(plan):
    plan["station"][2]["end"] = 238  # a2 has 3 people: 9 minutes
    only("6", plan, subject="station[2]")


def test_rule_7_screening_starts_after_the_group_arrives(plan):
    plan["station"][1].update(start=229, end=235)  # a1 arrives at 230
    only("7", plan, subject="station[1]")


def test_rule_7_blocks_on_one_lane_do_not_overlap(plan):
    plan["station"][2]["lane"] = 0  # a2 beside a1 on lane 0
    only("7", plan)


def test_rule_7_the_lane_exists(plan):
    plan["station"][2]["lane"] = 2
    only("7", plan, subject="station[2]")


def test_rule_8_a_shuttle_carries_its_own_districts_groups_only(plan):
    # a1 (district x) rides y's shuttle with a2.
    plan["shuttle_trips"][2]["groups"] = ["a2", "a1"]
    del plan["shuttle_trips"][1]
    violations = check(INSTANCE, plan)
    assert [(v.rule, v.params.get("group")) for v in violations] == [("8", "a1")]


def test_rule_8_no_more_people_than_the_shuttle_capacity(plan):
    # b1 and a1 (3 people) together on x's shuttle, which carries 2.
    plan["shuttle_trips"][:2] = [{"district": "x", "shuttle": 0, "depart": 236, "arrive": 266,
                                  "groups": ["b1", "a1"]}]
    only("8", plan, subject="shuttle_trips[0]")


def test_rule_8_the_district_exists(plan):
    plan["shuttle_trips"][2]["district"] = "z"
    only("8", plan, subject="shuttle_trips[2]")


def test_rule_9_a_shuttle_leaves_after_its_groups_are_screened(plan):
    plan["shuttle_trips"][1].update(depart=235, arrive=265)  # a1 is screened until 236
    only("9", plan, subject="shuttle_trips[1]")


def test_rule_10_a_shuttle_arrives_board_plus_travel_after_leaving(plan):
    plan["shuttle_trips"][2]["arrive"] = 280
    plan["makespan"] = 280
    only("10", plan, subject="shuttle_trips[2]")


def test_rule_11_a_shuttle_leaves_time_to_go_come_back_and_turn_around(plan):
    plan["shuttle_trips"][0].update(depart=180, arrive=210)  # back and ready at 245, but leaves again at 236
    only("11", plan, subject="shuttle_trips[1]")


def test_rule_11_the_shuttle_exists(plan):
    plan["shuttle_trips"][1]["shuttle"] = 1  # district x has one shuttle
    only("11", plan, subject="shuttle_trips[1]")


def test_every_group_is_carried_home(plan):
    del plan["shuttle_trips"][2]  # a2 never gets home
    plan["makespan"] = 266
    violations = check(INSTANCE, plan)
    assert [(v.rule, v.subject, v.params["part"]) for v in violations] == [("groups", "group a2", "shuttle_trips")]


def test_no_group_is_screened_twice(plan):
    plan["station"].append({"group": "b1", "lane": 1, "start": 300, "end": 303})
    violations = check(INSTANCE, plan)
    assert [(v.rule, v.params["count"], v.params["part"]) for v in violations] == [("groups", 2, "station")]


def test_no_group_that_is_not_in_the_instance(plan):
    plan["shuttle_trips"][2]["groups"].append("ghost")
    only("groups", plan, subject="group ghost")


def test_the_makespan_is_the_latest_arrival(plan):
    plan["makespan"] = 300
    only("makespan", plan)


def test_the_lower_bound_is_not_above_the_makespan(plan):
    plan["lower_bound"] = 280
    only("bound", plan)


def test_every_rule_of_the_spec_has_a_test():
    tested = {name.split("_")[2] for name in globals() if name.startswith("test_rule_")}
    assert tested == {str(n) for n in range(1, 12)}
    assert set(RULES) == tested | {"groups", "makespan", "bound"}


@pytest.mark.parametrize("mangle, reason", [
    (lambda p: [], "must be a JSON object"),
    (lambda p: {**p, "format": "closedloop.returns-plan/2"}, '"format" must be'),
    (lambda p: {k: v for k, v in p.items() if k != "station"}, '"station" must be a list'),
    (lambda p: {**p, "makespan": "279"}, '"makespan" must be a whole number'),
    (lambda p: {**p, "coach_trips": [dict(p["coach_trips"][0], start=0.5)]}, '"start" of coach_trips[0]'),
    (lambda p: {**p, "station": [dict(p["station"][0], lane=True)]}, '"lane" of station[0]'),
    (lambda p: {**p, "shuttle_trips": [dict(p["shuttle_trips"][0], groups="b1")]}, '"groups" of shuttle_trips[0]'),
    (lambda p: {**p, "shuttle_trips": ["b1"]}, "shuttle_trips[0] must be a JSON object"),
])
def test_a_plan_that_cannot_be_read_is_refused_with_the_reason(mangle, reason):
    with pytest.raises(PlanFormatError) as caught:
        check(INSTANCE, mangle(copy.deepcopy(PLAN)))
    assert reason in caught.value.reason
