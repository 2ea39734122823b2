"""The independent rule checker: hand-built bad allocations, each caught under the right rule."""

from __future__ import annotations

import pytest

from closedloop.planning import rooms as r
from closedloop.planning.room_rules import RULES, Violation, check
from closedloop.planning.rooms import Allocation, Floor, Person, Room, Site

CC, CASE = "close_contact", "case"
SITES = [Site("S"), Site("T", allow_companions=False), Site("shut", open=False)]


def room(id, *, site="S", building="A", floor=1, **kw) -> Room:
    return Room(id=id, site=site, building=building, floor=floor, number=str(id), **kw)


def person(id, category=CC, **kw) -> Person:
    return Person(id=id, category=category, **kw)


def rules(people, rooms, allocation, sites=SITES, **kw) -> list[tuple[str, object]]:
    return sorted(((v.rule, v.subject) for v in check(people, rooms, sites, allocation, **kw)), key=str)


ROOMS = [room(1), room(2), room(3, beds=2), room(4, accessible=True), room(5, floor=2), room(6, floor=2)]


def test_a_good_allocation_has_no_violation():
    people = [person("a"), person("mum", household="h"), person("kid", household="h", needs_companion=True),
              person("w", needs_accessible=True), person("x", CASE)]
    allocation = Allocation(rooms={"a": 1, "mum": 3, "kid": 3, "w": 4, "x": 5}, refused={},
                            opened=[(Floor("S", "A", 1), "a"), (Floor("S", "A", 2), "x")])
    assert check(people, ROOMS, SITES, allocation) == []


def test_every_violation_names_a_known_rule_with_a_message():
    people = [person("a"), person("b")]
    found = check(people, ROOMS, SITES, Allocation(rooms={"a": 1, "b": 1, "ghost": 2}, refused={"a": "why"}))
    assert found and all(isinstance(v, Violation) and v.rule in RULES and v.message for v in found)


def test_a_person_both_placed_and_refused_or_neither():
    people = [person("a"), person("b")]
    allocation = Allocation(rooms={"a": 1}, refused={"a": r.NO_ROOM}, opened=[(Floor("S", "A", 1), "a")])
    assert rules(people, ROOMS, allocation) == [("neither_placed_nor_refused", "b"), ("placed_and_refused", "a")]


def test_unknown_person_room_and_reason():
    allocation = Allocation(rooms={"a": 99, "ghost": 1}, refused={"b": "no_luck"}, opened=[(Floor("S", "A", 1), "ghost")])
    found = rules([person("a"), person("b")], ROOMS, allocation)
    assert ("unknown_room", "a") in found and ("unknown_reason", "b") in found
    assert ("unknown_person", "ghost") in found


@pytest.mark.parametrize("status", ["awaiting_cleaning", "cleaning", "occupied", "out_of_service"])
def test_a_room_that_is_not_available(status):
    rooms = [room(1, status=status)]
    allocation = Allocation(rooms={"a": 1}, opened=[(Floor("S", "A", 1), "a")])
    assert rules([person("a")], rooms, allocation) == [("room_not_available", 1)]


def test_a_room_at_a_closed_or_unknown_site():
    rooms = [room(1, site="shut"), room(2, site="nowhere")]
    allocation = Allocation(rooms={"a": 1, "b": 2},
                            opened=[(Floor("shut", "A", 1), "a"), (Floor("nowhere", "A", 1), "b")])
    assert rules([person("a"), person("b")], rooms, allocation) == [("site_not_open", 1), ("site_not_open", 2)]


def test_a_room_outside_the_preferred_sites():
    rooms = [room(1, site="S"), room(2, site="T")]
    allocation = Allocation(rooms={"a": 1, "b": 2}, opened=[(Floor("S", "A", 1), "a"), (Floor("T", "A", 1), "b")])
    assert rules([person("a"), person("b")], rooms, allocation, sites_preferred=["T"]) == [("site_not_preferred", 1)]


def test_more_people_than_beds():
    people = [person(i, household="h", needs_companion=True) for i in range(3)]
    allocation = Allocation(rooms=dict.fromkeys(range(3), 3), opened=[(Floor("S", "A", 1), 0)])
    assert rules(people, ROOMS, allocation) == [("over_beds", 3)]


def test_sharing_between_households():
    people = [person("a", household="h1", needs_companion=True), person("b", household="h2")]
    allocation = Allocation(rooms={"a": 3, "b": 3}, opened=[(Floor("S", "A", 1), "a")])
    assert rules(people, ROOMS, allocation) == [("sharing_not_allowed", 3)]
    people = [person("a", needs_companion=True), person("b", needs_companion=True)]  # no household at all
    assert rules(people, ROOMS, allocation) == [("sharing_not_allowed", 3)]


def test_sharing_with_no_one_needing_a_companion():
    people = [person("a", household="h"), person("b", household="h")]
    allocation = Allocation(rooms={"a": 3, "b": 3}, opened=[(Floor("S", "A", 1), "a")])
    assert rules(people, ROOMS, allocation) == [("sharing_not_allowed", 3)]


def test_sharing_at_a_site_that_does_not_allow_companions():
    people = [person("a", household="h"), person("b", household="h", needs_companion=True)]
    rooms = [room(1, site="T", beds=2)]
    allocation = Allocation(rooms={"a": 1, "b": 1}, opened=[(Floor("T", "A", 1), "a")])
    assert rules(people, rooms, allocation) == [("sharing_not_allowed", 1)]


def test_two_categories_on_one_floor():
    allocation = Allocation(rooms={"a": 1, "k": 2}, opened=[(Floor("S", "A", 1), "a")])
    assert rules([person("a"), person("k", CASE)], ROOMS, allocation) == [("categories_mixed", "k")]


def test_a_placement_against_the_category_a_floor_held_before():
    allocation = Allocation(rooms={"a": 1, "b": 2})
    found = rules([person("a"), person("b")], ROOMS, allocation, floor_categories={Floor("S", "A", 1): CASE})
    assert found == [("categories_mixed", "a"), ("categories_mixed", "b")]


def test_an_accessible_need_unmet():
    allocation = Allocation(rooms={"w": 1}, opened=[(Floor("S", "A", 1), "w")])
    assert rules([person("w", needs_accessible=True)], ROOMS, allocation) == [("accessible_unmet", "w")]


def test_a_household_on_two_floors():
    people = [person("a", household="h"), person("b", household="h")]
    allocation = Allocation(rooms={"a": 1, "b": 5}, opened=[(Floor("S", "A", 1), "a"), (Floor("S", "A", 2), "b")])
    assert rules(people, [room(1), room(5, floor=2)], allocation) == [("household_split", "a")]


def test_a_household_partly_placed():
    people = [person("a", household="h"), person("b", household="h")]
    allocation = Allocation(rooms={"a": 1}, refused={"b": r.NO_ROOM}, opened=[(Floor("S", "A", 1), "a")])
    assert rules(people, ROOMS, allocation) == [("household_split", "b")]


def test_the_same_household_in_two_categories_is_two_groups():
    people = [person("a", household="h"), person("b", CASE, household="h")]
    allocation = Allocation(rooms={"a": 1, "b": 5}, opened=[(Floor("S", "A", 1), "a"), (Floor("S", "A", 2), "b")])
    assert rules(people, ROOMS, allocation) == []


# --- fill floors first -------------------------------------------------------------------------


HELD = {Floor("S", "A", 1): CC}


def test_a_floor_opened_while_a_floor_in_use_could_take_the_household():
    people = [person("a"), person("b")]
    # Floor 1 holds close contacts and has four rooms free; "a" was put on a new floor 2.
    allocation = Allocation(rooms={"a": 5, "b": 1}, opened=[(Floor("S", "A", 2), "a")])
    assert rules(people, ROOMS, allocation, floor_categories=HELD) == [("fill_floors_first", "a")]
    # With floor 1 full (its rooms given to others), opening floor 2 was right.
    others = [person(f"o{i}") for i in range(4)]
    allocation = Allocation(rooms={"a": 5, "b": 1, "o0": 2, "o1": 3, "o2": 4, "o3": 6},
                            opened=[(Floor("S", "A", 2), "a")])
    found = rules(people + others, ROOMS, allocation, floor_categories=HELD)
    assert ("fill_floors_first", "a") not in found


def test_a_floor_opened_earlier_in_the_run_counts_as_in_use():
    rooms = [room(1), room(2), room(5, floor=2), room(6, floor=2)]
    allocation = Allocation(rooms={"a": 1, "b": 5}, opened=[(Floor("S", "A", 1), "a"), (Floor("S", "A", 2), "b")])
    assert rules([person("a"), person("b")], rooms, allocation) == [("fill_floors_first", "b")]


def test_a_floor_in_use_too_small_for_the_household_allows_opening_one():
    rooms = [room(1), room(2), room(5, floor=2), room(6, floor=2), room(7, floor=2)]
    people = [person(i, household="h") for i in range(3)]
    allocation = Allocation(rooms={0: 5, 1: 6, 2: 7}, opened=[(Floor("S", "A", 2), 0)])
    assert rules(people, rooms, allocation, floor_categories=HELD) == []
    # … but not when the household needs an accessible room the floor in use has not got either.
    rooms = [room(1), room(2), room(3), room(5, floor=2, accessible=True), room(6, floor=2), room(7, floor=2)]
    people[0] = person(0, household="h", needs_accessible=True)
    assert rules(people, rooms, allocation, floor_categories=HELD) == []
    rooms[0] = room(1, accessible=True)
    assert rules(people, rooms, allocation, floor_categories=HELD) == [("fill_floors_first", 0)]


def test_a_floor_may_be_opened_to_keep_a_child_with_a_parent():
    # Floor 1 in use has two one-bed rooms free: it could take the family one room each, not together.
    rooms = [room(1), room(2), room(5, floor=2, beds=2)]
    people = [person("mum", household="h"), person("kid", household="h", needs_companion=True)]
    together = Allocation(rooms={"mum": 5, "kid": 5}, opened=[(Floor("S", "A", 2), "mum")])
    assert rules(people, rooms, together, floor_categories=HELD) == []
    # Had floor 1 a two-bed room free, the family should have gone there.
    rooms[0] = room(1, beds=2)
    assert rules(people, rooms, together, floor_categories=HELD) == [("fill_floors_first", "mum")]


def test_an_opening_the_run_did_not_record():
    allocation = Allocation(rooms={"a": 5})
    assert rules([person("a")], ROOMS, allocation) == [("fill_floors_first", "a")]


def test_an_opening_recorded_twice_for_a_floor_in_use_or_for_someone_not_on_it():
    people = [person("a"), person("b")]
    twice = Allocation(rooms={"a": 5, "b": 6}, opened=[(Floor("S", "A", 2), "a"), (Floor("S", "A", 2), "b")])
    assert rules(people, ROOMS, twice) == [("fill_floors_first", "b")]
    in_use = Allocation(rooms={"a": 1, "b": 2}, opened=[(Floor("S", "A", 1), "a")])
    assert rules(people, ROOMS, in_use, floor_categories=HELD) == [("fill_floors_first", "a")]
    elsewhere = Allocation(rooms={"a": 1, "b": 5}, opened=[(Floor("S", "A", 1), "b"), (Floor("S", "A", 2), "a")])
    assert rules(people, ROOMS, elsewhere) == [("fill_floors_first", "a"), ("fill_floors_first", "b")]
