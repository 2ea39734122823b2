"""The room allocation engine: each rule kept, each refusal explained, and random cities checked
by the independent rule checker. Pure: no database."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from closedloop.planning import rooms as r
from closedloop.planning.room_rules import check
from closedloop.planning.rooms import Floor, Person, Room, Site, allocate

CC, SC, INB, CASE = "close_contact", "secondary_contact", "inbound", "case"


def room(id, *, site="S", building="A", floor=1, number=None, **kw) -> Room:
    return Room(id=id, site=site, building=building, floor=floor, number=number or str(id), **kw)


def floor_rooms(site: str, floor: int, count: int, *, building="A", start=1, **kw) -> list[Room]:
    """``count`` rooms numbered like 101, 102 … on one floor."""
    return [room(f"{site}-{building}{floor}{k:02d}", site=site, building=building, floor=floor,
                 number=f"{floor}{k:02d}", **kw) for k in range(start, start + count)]


def person(id, category=CC, **kw) -> Person:
    return Person(id=id, category=category, **kw)


def run(people, rooms, sites, **kw):
    """Allocate, and check the result with the independent checker: every test's result keeps every rule."""
    result = allocate(people, rooms, sites, **kw)
    kw.pop("town_positions", None)
    assert check(people, rooms, sites, result, **kw) == []
    assert set(result.rooms) | set(result.refused) == {p.id for p in people}
    assert not set(result.rooms) & set(result.refused)
    return result


def floor_of(result, rooms, pid) -> Floor:
    by_id = {x.id: x for x in rooms}
    return r.floor_of(by_id[result.rooms[pid]])


# --- one person per room; households share only for a companion ------------------------------


def test_strangers_never_share_a_room_even_with_beds_to_spare():
    rooms = [room(1, beds=3)]
    result = run([person("a"), person("b")], rooms, [Site("S")])
    assert result.rooms == {"a": 1} and result.refused == {"b": r.NO_ROOM}


def test_a_household_with_no_one_needing_a_companion_gets_a_room_each():
    rooms = [room(1, beds=2), room(2, beds=2)]
    people = [person("a", household="h"), person("b", household="h")]
    assert run(people, rooms, [Site("S")]).rooms == {"a": 1, "b": 2}
    # Two rooms are needed: one two-bed room is not enough, and the household stays whole.
    result = run(people, rooms[:1], [Site("S")])
    assert result.rooms == {} and result.refused == {"a": r.HOUSEHOLD_TOO_LARGE, "b": r.HOUSEHOLD_TOO_LARGE}


def test_a_child_shares_with_a_parent_when_beds_allow():
    rooms = [room(1), room(2), room(3, beds=2)]
    people = [person("mum", household="h"), person("child", household="h", needs_companion=True),
              person("dad", household="h")]
    result = run(people, rooms, [Site("S")])
    assert result.rooms["child"] == 3 and list(result.rooms.values()).count(3) == 2
    assert result.companions_needed == result.companions_kept == 1


def test_a_site_that_does_not_allow_companions_gives_a_room_each():
    rooms = [room(1, beds=2), room(2, beds=2)]
    people = [person("mum", household="h"), person("child", household="h", needs_companion=True)]
    result = run(people, rooms, [Site("S", allow_companions=False)])
    assert result.rooms == {"mum": 1, "child": 2}
    assert (result.companions_needed, result.companions_kept) == (1, 0)


def test_with_one_bed_rooms_only_a_child_and_parent_get_neighbouring_rooms():
    rooms = floor_rooms("S", 1, 4)
    people = [person("mum", household="h"), person("child", household="h", needs_companion=True)]
    result = run(people, rooms, [Site("S")])
    assert sorted(result.rooms.values()) == ["S-A101", "S-A102"]
    assert (result.companions_needed, result.companions_kept) == (1, 0)


def test_two_elderly_with_no_one_else_keep_each_other_company():
    rooms = [room(1), room(2, beds=2)]
    people = [person("gran", household="h", needs_companion=True),
              person("grandpa", household="h", needs_companion=True)]
    assert run(people, rooms, [Site("S")]).rooms == {"gran": 2, "grandpa": 2}


def test_an_odd_one_needing_a_companion_joins_a_pair_in_a_three_bed_room():
    people = [person("dad", household="h"), person("kid1", household="h", needs_companion=True),
              person("kid2", household="h", needs_companion=True)]
    result = run(people, [room(1, beds=2), room(2, beds=3)], [Site("S")])
    assert result.rooms == {"dad": 2, "kid1": 2, "kid2": 2}
    # Without a three-bed room: one child with the father, the other in a room of their own.
    result = run(people, [room(1, beds=2), room(2, beds=2)], [Site("S")])
    assert result.rooms == {"dad": 1, "kid1": 1, "kid2": 2}
    assert (result.companions_needed, result.companions_kept) == (2, 1)


def test_keeping_a_companion_comes_before_the_nearest_site():
    sites = [Site("near", town="A"), Site("far", town="B")]
    rooms = [room(1, site="near"), room(2, site="near"), room(3, site="far", beds=2)]
    people = [person("mum", household="h", home_town="A"),
              person("child", household="h", needs_companion=True, home_town="A")]
    result = run(people, rooms, sites)
    assert result.rooms == {"mum": 3, "child": 3}
    assert result.nearest == 0  # the nearest site with room was "near"


# --- categories ------------------------------------------------------------------------------


def test_categories_are_kept_on_separate_floors():
    rooms = floor_rooms("S", 1, 5) + floor_rooms("S", 2, 5) + floor_rooms("S", 3, 5)
    people = [person(f"cc{i}", CC) for i in range(3)] + [person(f"case{i}", CASE) for i in range(3)]
    result = run(people, rooms, [Site("S")])
    floors = {p.category: set() for p in people}
    for p in people:
        floors[p.category].add(floor_of(result, rooms, p.id))
    assert len(floors[CC]) == len(floors[CASE]) == 1 and floors[CC] != floors[CASE]
    assert len(result.opened) == 2


def test_a_floor_already_holding_a_category_takes_only_that_category():
    rooms = floor_rooms("S", 1, 3) + floor_rooms("S", 2, 3)
    held = {Floor("S", "A", 1): CASE}
    result = run([person("c", CC), person("k", CASE)], rooms, [Site("S")], floor_categories=held)
    assert floor_of(result, rooms, "k") == Floor("S", "A", 1)
    assert floor_of(result, rooms, "c") == Floor("S", "A", 2)


def test_a_household_with_a_case_and_close_contacts_is_placed_as_two_groups_on_two_floors():
    rooms = floor_rooms("S", 1, 3) + floor_rooms("S", 2, 3)
    people = [person("dad", CASE, household="h"), person("mum", CC, household="h"), person("son", CC, household="h")]
    result = run(people, rooms, [Site("S")])
    assert floor_of(result, rooms, "mum") == floor_of(result, rooms, "son") != floor_of(result, rooms, "dad")


# --- accessible rooms -------------------------------------------------------------------------


def test_a_person_needing_an_accessible_room_gets_one():
    rooms = [room(1), room(2), room(3, accessible=True)]
    result = run([person("w", needs_accessible=True)], rooms, [Site("S")])
    assert result.rooms == {"w": 3}


def test_accessible_rooms_are_kept_for_those_who_need_them_while_other_rooms_remain():
    rooms = [room(1, accessible=True), room(2), room(3, floor=2)]
    held = {Floor("S", "A", 1): CC, Floor("S", "A", 2): CC}
    result = run([person("a"), person("b"), person("c")], rooms, [Site("S")], floor_categories=held)
    # a and b take the plain rooms, on either floor in use, before c must take the accessible one.
    assert result.rooms == {"a": 2, "b": 3, "c": 1}
    # The person needing it is placed first, whatever the order given.
    result = run([person("a"), person("b"), person("c"), person("w", needs_accessible=True)], rooms, [Site("S")],
                 floor_categories=held)
    assert result.rooms["w"] == 1 and result.refused == {"c": r.NO_ROOM}


# --- households -------------------------------------------------------------------------------


def test_a_household_is_placed_on_one_floor():
    rooms = floor_rooms("S", 1, 2) + floor_rooms("S", 2, 3)
    people = [person(i, household="h") for i in range(3)]
    result = run(people, rooms, [Site("S")])
    assert {floor_of(result, rooms, i) for i in range(3)} == {Floor("S", "A", 2)}


def test_a_household_that_fits_no_floor_is_not_placed_at_all():
    rooms = floor_rooms("S", 1, 2) + floor_rooms("S", 2, 2)
    people = [person(i, household="h") for i in range(3)]
    result = run(people, rooms, [Site("S")])
    assert result.rooms == {} and result.refused == dict.fromkeys(range(3), r.HOUSEHOLD_TOO_LARGE)


def test_a_household_gets_neighbouring_rooms_in_corridor_order():
    # Rooms numbered 1 … 12 read naturally (10 after 9), two of them not available.
    rooms = [room(f"r{k}", number=str(k), status="occupied" if k in (2, 3) else "available") for k in range(12, 0, -1)]
    held = {Floor("S", "A", 1): CC}
    result = run([person("x")] + [person(i, household="h") for i in range(4)], rooms, [Site("S")],
                 floor_categories=held)
    assert result.rooms["x"] == "r1"
    assert [result.rooms[i] for i in range(4)] == ["r4", "r5", "r6", "r7"]
    # An explicit corridor order wins over the number.
    rooms = [room("east", number="1", order=3), room("mid", number="2", order=2), room("west", number="3", order=1)]
    assert run([person("a")], rooms, [Site("S")]).rooms == {"a": "west"}


# --- fill floors before opening new ones -----------------------------------------------------


def test_floors_in_use_are_filled_before_an_empty_floor_is_opened():
    rooms = floor_rooms("S", 1, 5) + floor_rooms("S", 2, 5) + floor_rooms("S", 3, 5)
    held = {Floor("S", "A", 2): CC}  # floor 2 already holds close contacts, with 5 free rooms
    people = [person(i) for i in range(7)]
    result = run(people, rooms, [Site("S")], floor_categories=held)
    on = Counter(floor_of(result, rooms, i).floor for i in range(7))
    assert on == {2: 5, 1: 2}
    assert result.opened == [(Floor("S", "A", 1), 5)]
    assert [result.rooms[i] for i in range(5)] == [f"S-A20{k}" for k in range(1, 6)]


def test_a_floor_opened_in_the_run_is_filled_before_the_next_is_opened():
    rooms = [x for f in range(1, 6) for x in floor_rooms("S", f, 4)]
    result = run([person(i) for i in range(10)], rooms, [Site("S")])
    assert Counter(floor_of(result, rooms, i).floor for i in range(10)) == {1: 4, 2: 4, 3: 2}
    assert [f.floor for f, _p in result.opened] == [1, 2, 3]


def test_a_household_too_large_for_the_floor_in_use_opens_a_floor_and_the_gap_is_filled_later():
    rooms = floor_rooms("S", 1, 2) + floor_rooms("S", 2, 5)
    held = {Floor("S", "A", 1): CC}
    people = [person(i, household="h") for i in range(3)] + [person("x"), person("y")]
    result = run(people, rooms, [Site("S")], floor_categories=held)
    assert {floor_of(result, rooms, i).floor for i in range(3)} == {2}
    assert floor_of(result, rooms, "x").floor == floor_of(result, rooms, "y").floor == 1
    assert result.opened == [(Floor("S", "A", 2), 0)]


def test_a_floor_is_opened_to_keep_a_child_with_a_parent_and_not_otherwise():
    # The floor in use has one-bed rooms only; the empty floor has a two-bed room.
    rooms = floor_rooms("S", 1, 3) + [room("double", floor=2, beds=2)] + floor_rooms("S", 2, 2, start=2)
    held = {Floor("S", "A", 1): CC}
    family = [person("mum", household="h"), person("child", household="h", needs_companion=True)]
    result = run(family, rooms, [Site("S")], floor_categories=held)
    assert result.rooms == {"mum": "double", "child": "double"}
    # Two adults: the floor in use takes them, one room each.
    adults = [person("a", household="h"), person("b", household="h")]
    result = run(adults, rooms, [Site("S")], floor_categories=held)
    assert {floor_of(result, rooms, p).floor for p in ("a", "b")} == {1} and result.opened == []


# --- near the home town; preferred sites ----------------------------------------------------


def test_people_go_to_a_site_in_their_home_town_first():
    sites = [Site("a1", town="A"), Site("b1", town="B"), Site("b2", town="B")]
    rooms = [room(1, site="a1"), room(2, site="b1"), room(3, site="b2")]
    result = run([person("p", home_town="B"), person("q", home_town="B"), person("s", home_town="A")], rooms, sites)
    assert result.rooms == {"p": 2, "q": 3, "s": 1}
    assert result.home_town == 3 and result.nearest == 3


def test_then_the_nearest_site_by_coordinates_then_the_order_given():
    sites = [Site("west", town="W", x=0, y=0), Site("east", town="E", x=10, y=0), Site("nowhere", town="N")]
    order = r.site_order("M", sites, {"M": (8.0, 1.0)})
    assert [s.id for s in order] == ["east", "west", "nowhere"]
    # A town's default position is the mean of its sites'.
    assert r.town_positions([*sites, Site("east2", town="E", x=12, y=2)])["E"] == (11.0, 1.0)
    rooms = [room(1, site="west"), room(2, site="east"), room(3, site="nowhere")]
    result = run([person("p", home_town="M")], rooms, sites, town_positions={"M": (8.0, 1.0)})
    assert result.rooms == {"p": 2}
    # Unknown home town: the order the sites were given.
    assert run([person("p", home_town="?")], rooms, sites).rooms == {"p": 1}


def test_a_full_nearest_site_sends_people_to_the_next_and_counts_them_as_nearest_with_room():
    sites = [Site("b1", town="B"), Site("b2", town="B")]
    rooms = [room(1, site="b1"), room(2, site="b2"), room(3, site="b2")]
    result = run([person(i, home_town="B") for i in range(3)], rooms, sites)
    assert result.rooms == {0: 1, 1: 2, 2: 3}
    assert result.nearest == 3 and result.nearest_share == 1.0


def test_sites_preferred_places_only_there_in_that_order():
    sites = [Site("a", town="A"), Site("b", town="B"), Site("c", town="C")]
    rooms = [room(1, site="a"), room(2, site="b"), room(3, site="c"), room(4, site="c")]
    people = [person(i, home_town="A") for i in range(4)]
    result = run(people, rooms, sites, sites_preferred=["c", "b"])
    assert result.rooms == {0: 3, 1: 4, 2: 2} and result.refused == {3: r.NO_ROOM}


def test_sites_preferred_that_are_closed_or_unknown_leave_no_open_site():
    sites = [Site("a"), Site("b", open=False)]
    rooms = [room(1, site="a"), room(2, site="b")]
    result = run([person("p")], rooms, sites, sites_preferred=["b", "zz"])
    assert result.refused == {"p": r.NO_OPEN_SITE}


# --- only available rooms at open sites ------------------------------------------------------


@pytest.mark.parametrize("status", ["awaiting_cleaning", "cleaning", "occupied", "out_of_service", "weird"])
def test_a_room_that_is_not_available_is_never_assigned_even_when_it_is_the_only_room(status):
    result = run([person("p")], [room(1, status=status)], [Site("S")])
    assert result.rooms == {} and result.refused == {"p": r.NO_ROOM}
    result = run([person("p")], [room(1, status=status), room(2)], [Site("S")])
    assert result.rooms == {"p": 2}


def test_rooms_of_a_closed_site_are_never_assigned():
    result = run([person("p")], [room(1, site="shut")], [Site("shut", open=False)])
    assert result.refused == {"p": r.NO_OPEN_SITE}
    result = run([person("p")], [room(1, site="shut"), room(2, site="open")], [Site("shut", open=False), Site("open")])
    assert result.rooms == {"p": 2}


# --- every refusal explained ----------------------------------------------------------------


def test_each_reason_has_a_plain_sentence():
    assert set(r.REASONS) == {r.NO_OPEN_SITE, r.NO_ROOM, r.NO_FLOOR_FOR_CATEGORY, r.NO_ACCESSIBLE_ROOM,
                              r.HOUSEHOLD_TOO_LARGE}
    sentences = list(r.REASONS.values())
    assert len(set(sentences)) == len(sentences)
    assert all(s[0].isupper() and s.endswith(".") and "_" not in s for s in sentences)


def test_refused_no_open_site():
    assert run([person("p")], [room(1)], [Site("S", open=False)]).refused == {"p": r.NO_OPEN_SITE}
    assert run([person("p")], [], []).refused == {"p": r.NO_OPEN_SITE}


def test_refused_no_room():
    result = run([person("p"), person("q")], [room(1)], [Site("S")])
    assert result.refused == {"q": r.NO_ROOM}


def test_refused_no_floor_for_category():
    rooms = floor_rooms("S", 1, 3)
    result = run([person("p", CC)], rooms, [Site("S")], floor_categories={Floor("S", "A", 1): INB})
    assert result.refused == {"p": r.NO_FLOOR_FOR_CATEGORY}
    # A floor taken earlier in the same run by another category counts too.
    result = run([person("k", CASE), person("p", CC)], rooms, [Site("S")])
    assert result.refused == {"p": r.NO_FLOOR_FOR_CATEGORY}


def test_refused_no_accessible_room():
    result = run([person("w", needs_accessible=True, household="h"), person("x", household="h")],
                 floor_rooms("S", 1, 5), [Site("S")])
    assert result.refused == {"w": r.NO_ACCESSIBLE_ROOM, "x": r.NO_ACCESSIBLE_ROOM}


def test_refused_household_too_large_though_each_member_would_fit_somewhere():
    rooms = floor_rooms("S", 1, 2) + floor_rooms("S", 2, 2, building="B")
    result = run([person(i, household="h", home_town="A") for i in range(3)], rooms, [Site("S")])
    assert result.refused == dict.fromkeys(range(3), r.HOUSEHOLD_TOO_LARGE)
    # An accessible room is free, but not on a floor that takes the whole household.
    rooms = [room(1, accessible=True), room(2, floor=2), room(3, floor=2)]
    result = run([person(0, household="h", needs_accessible=True), person(1, household="h")], rooms, [Site("S")])
    assert result.refused == dict.fromkeys(range(2), r.HOUSEHOLD_TOO_LARGE)


# --- input -------------------------------------------------------------------------------------


def test_the_same_input_gives_the_same_allocation_and_the_input_is_not_changed():
    people, rooms, sites, held, _preferred = random_city(7)
    snapshot = (list(people), list(rooms), list(sites), dict(held))
    first = allocate(people, rooms, sites, floor_categories=held)
    second = allocate(people, rooms, sites, floor_categories=held)
    assert first == second
    assert (people, rooms, sites, held) == snapshot


@pytest.mark.parametrize("what", ["person", "room", "site"])
def test_an_id_given_twice_is_refused(what):
    people, rooms, sites = [person(1), person(2)], [room(1), room(2)], [Site("S")]
    if what == "person":
        people.append(person(1))
    elif what == "room":
        rooms.append(room(1))
    else:
        sites.append(Site("S"))
    with pytest.raises(ValueError, match="given twice"):
        allocate(people, rooms, sites)


# --- random cities through the checker ------------------------------------------------------


def random_city(seed: int):
    """A small random city, deliberately awkward: big households, many needs, scarce or spare rooms."""
    rng = random.Random(seed)
    sites = []
    for i in range(rng.randint(1, 6)):
        located = rng.random() < 0.7
        sites.append(Site(f"s{i}", town=rng.choice("ABC"), x=rng.uniform(0, 10) if located else None,
                          y=rng.uniform(0, 10) if located else None, open=rng.random() > 0.1,
                          allow_companions=rng.random() > 0.2))
    rooms, held = [], {}
    statuses = ["available"] * 8 + ["awaiting_cleaning", "cleaning", "occupied", "out_of_service"]
    for s in sites:
        for b in ("A", "B")[:rng.randint(1, 2)]:
            for fl in range(1, rng.randint(2, 4)):
                if rng.random() < 0.2:
                    held[Floor(s.id, b, fl)] = rng.choice([CC, SC, INB, CASE])
                for k in range(1, rng.randint(2, 9)):
                    rooms.append(Room(id=len(rooms), site=s.id, building=b, floor=fl, number=f"{fl}{k:02d}",
                                      beds=rng.choice([1, 1, 1, 2, 2, 3, 4]), accessible=rng.random() < 0.15,
                                      status=rng.choice(statuses)))
    rng.shuffle(rooms)
    people = []
    household = 0
    while len(people) < rng.uniform(0.3, 2.0) * len(rooms):
        household += 1
        size, category = rng.choice([1, 1, 2, 2, 3, 4, 5, 7]), rng.choice([CC, SC, INB, CASE])
        for _m in range(size):
            people.append(Person(id=len(people), category=category if rng.random() > 0.05 else CASE,
                                 household=household if size > 1 else None, needs_accessible=rng.random() < 0.1,
                                 needs_companion=rng.random() < 0.25, home_town=rng.choice("ABCD")))
    preferred = None
    if rng.random() < 0.3:
        preferred = [s.id for s in rng.sample(sites, rng.randint(0, len(sites)))] + ["unknown"] * (rng.random() < 0.3)
    return people, rooms, sites, held, preferred


def test_random_cities_keep_every_rule():
    reasons: Counter = Counter()
    opened = kept = 0
    for seed in range(300):
        people, rooms, sites, held, preferred = random_city(seed)
        result = allocate(people, rooms, sites, floor_categories=held, sites_preferred=preferred)
        violations = check(people, rooms, sites, result, floor_categories=held, sites_preferred=preferred)
        assert violations == [], (seed, violations[:3])
        assert set(result.rooms) | set(result.refused) == {p.id for p in people}, seed
        assert not set(result.rooms) & set(result.refused), seed
        reasons.update(result.refused.values())
        opened += result.floors_opened
        kept += result.companions_kept
    # The instances reach every refusal, open floors and keep companions: the test covers the engine.
    assert set(reasons) == set(r.REASONS) and opened > 100 and kept > 100
