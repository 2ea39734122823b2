"""The room rules, checked on a finished allocation, independently of the engine that made it.

``check(people, rooms, sites, allocation, floor_categories=…, sites_preferred=…)`` returns one
``Violation(rule, subject, message)`` per broken rule and person (or room); an empty list means
every rule is kept. It shares only the data types and the reason codes with
``closedloop.planning.rooms``: it recomputes everything else from the input, so a bug in the engine
shows here instead of hiding behind the same code.

The rules (``RULES``), as the engine's docstring states them:

- ``unknown_person`` / ``unknown_room``: the allocation names a person or room not given.
- ``placed_and_refused`` / ``neither_placed_nor_refused``: every person gets a room or a reason.
- ``unknown_reason``: a refusal's reason is not one of ``rooms.REASONS``.
- ``room_not_available``: the room's status is not ``available`` (awaiting cleaning, cleaning,
  occupied, out of service …).
- ``site_not_open``: the room's site is closed or unknown.
- ``site_not_preferred``: with ``sites_preferred``, a room outside those sites.
- ``over_beds``: more people in a room than beds.
- ``sharing_not_allowed``: people share a room without all being of one household, or with none
  of them needing a companion, or at a site that does not allow companions.
- ``categories_mixed``: a floor holds two categories, counting the category it held before the run.
- ``accessible_unmet``: a person needing an accessible room is in a room that is not.
- ``household_split``: a household (within one category) is partly placed, or on more than one floor.
- ``fill_floors_first``: when the run opened floor F at site S for household H of category C
  (``Allocation.opened``, in order), a floor in use for C at S before that opening (in
  ``floor_categories``, or opened earlier in the run) still has, at the end, free rooms to hold H
  laid out as on F: for each room H holds on F, a distinct free room with at least as many beds,
  accessible if someone in it needs one. Free rooms only decrease during a run, so that floor could
  have taken H then. Also: a floor the run placed people on without recording its opening, a floor
  recorded as opened twice or while already in use, or an opening whose household is not on it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from closedloop.planning.rooms import AVAILABLE, REASONS, Allocation, Floor, Person, Room, Site

RULES: dict[str, str] = {
    "unknown_person": "The allocation names a person who was not given.",
    "unknown_room": "A person is given a room that does not exist.",
    "placed_and_refused": "A person has both a room and a reason for having none.",
    "neither_placed_nor_refused": "A person has neither a room nor a reason.",
    "unknown_reason": "A refusal gives a reason that is not one of the reason codes.",
    "room_not_available": "A room that is not available is assigned.",
    "site_not_open": "A room at a closed or unknown site is assigned.",
    "site_not_preferred": "A room outside the preferred sites is assigned.",
    "over_beds": "A room holds more people than beds.",
    "sharing_not_allowed": "People share a room without the companion rule allowing it.",
    "categories_mixed": "A floor holds people of two categories.",
    "accessible_unmet": "A person needing an accessible room is in a room that is not.",
    "household_split": "A household is partly placed, or placed on more than one floor.",
    "fill_floors_first": "A floor was opened while a floor in use for the category could take the household.",
}


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str  # a key of RULES
    subject: Hashable  # the person's id, or the room's id for rules about a room
    message: str


def check(
    people: Iterable[Person],
    rooms: Iterable[Room],
    sites: Iterable[Site],
    allocation: Allocation,
    *,
    floor_categories: Mapping[Floor, str] | None = None,
    sites_preferred: Sequence[Hashable] | None = None,
) -> list[Violation]:
    people = list(people)
    person = {p.id: p for p in people}
    room = {r.id: r for r in rooms}
    site = {s.id: s for s in sites}
    before = dict(floor_categories or {})
    out: list[Violation] = []

    def flag(rule: str, subject: Hashable, message: str) -> None:
        out.append(Violation(rule, subject, message))

    # Every person: a room or a reason, not both.
    for pid in [*allocation.rooms, *allocation.refused]:
        if pid not in person:
            flag("unknown_person", pid, f"Person {pid!r} is in the allocation but was not given.")
    for p in people:
        placed, refused = p.id in allocation.rooms, p.id in allocation.refused
        if placed and refused:
            flag("placed_and_refused", p.id, f"Person {p.id!r} has room {allocation.rooms[p.id]!r} "
                                             f"and the reason {allocation.refused[p.id]!r}.")
        elif not placed and not refused:
            flag("neither_placed_nor_refused", p.id, f"Person {p.id!r} has neither a room nor a reason.")
        if refused and allocation.refused[p.id] not in REASONS:
            flag("unknown_reason", p.id, f"Person {p.id!r} is refused for {allocation.refused[p.id]!r}.")

    # Each room: available, at an open (preferred) site, within its beds, shared only by the rule.
    occupants: dict[Hashable, list[Person]] = {}
    for pid, rid in allocation.rooms.items():
        if pid not in person:
            continue
        if rid not in room:
            flag("unknown_room", pid, f"Person {pid!r} is given room {rid!r}, which does not exist.")
            continue
        occupants.setdefault(rid, []).append(person[pid])
    preferred = None if sites_preferred is None else set(sites_preferred)
    for rid, inside in occupants.items():
        r = room[rid]
        s = site.get(r.site)
        if r.status != AVAILABLE:
            flag("room_not_available", rid, f"Room {r.number} ({rid!r}) is {r.status}, not available.")
        if s is None or not s.open:
            flag("site_not_open", rid, f"Room {rid!r} is at site {r.site!r}, which is "
                                       f"{'unknown' if s is None else 'closed'}.")
        if preferred is not None and r.site not in preferred:
            flag("site_not_preferred", rid, f"Room {rid!r} is at site {r.site!r}, not a preferred site.")
        if len(inside) > r.beds:
            flag("over_beds", rid, f"Room {rid!r} has {r.beds} bed(s) and {len(inside)} people.")
        if len(inside) > 1:
            households = {p.household for p in inside}
            if None in households or len(households) > 1:
                flag("sharing_not_allowed", rid, f"Room {rid!r} holds people of different households.")
            elif not any(p.needs_companion for p in inside):
                flag("sharing_not_allowed", rid, f"Room {rid!r} is shared, and no one in it needs a companion.")
            elif s is not None and not s.allow_companions:
                flag("sharing_not_allowed", rid, f"Room {rid!r} is shared at site {r.site!r}, "
                                                 "which does not allow companions.")
        for p in inside:
            if p.needs_accessible and not r.accessible:
                flag("accessible_unmet", p.id, f"Person {p.id!r} needs an accessible room; {rid!r} is not one.")

    # Each floor: one category, counting the one it held before.
    floor_of: dict[Hashable, Floor] = {}
    on_floor: dict[Floor, list[Person]] = {}
    for p in people:
        rid = allocation.rooms.get(p.id)
        if rid in room:
            r = room[rid]
            floor_of[p.id] = f = Floor(r.site, r.building, r.floor)
            on_floor.setdefault(f, []).append(p)
    for f, placed in on_floor.items():
        held = before.get(f, placed[0].category)
        for p in placed:
            if p.category != held:
                flag("categories_mixed", p.id, f"Person {p.id!r} ({p.category}) is on floor {f.floor} of "
                                               f"{f.building} at site {f.site!r}, which holds {held}.")

    # Each household (within one category): all placed on one floor, or none placed.
    units: dict[Hashable, list[Person]] = {}
    for p in people:
        units.setdefault((p.id,) if p.household is None else (p.household, p.category, None), []).append(p)
    unit_of = {p.id: members for members in units.values() for p in members}
    for members in units.values():
        floors = {floor_of[p.id] for p in members if p.id in floor_of}
        if not floors:
            continue
        if len(floors) > 1:
            flag("household_split", members[0].id, f"Household {members[0].household!r} ({members[0].category}) "
                                                   f"is on {len(floors)} floors.")
        for p in members:
            if p.id not in floor_of:
                flag("household_split", p.id, f"Person {p.id!r} is not placed; others of household "
                                              f"{p.household!r} are.")

    _check_fill_floors_first(allocation, before, room, site, person, unit_of, floor_of, on_floor, flag)
    return out


def _check_fill_floors_first(allocation, before, room, site, person, unit_of, floor_of, on_floor, flag) -> None:
    taken = set(allocation.rooms.values())
    free: dict[Floor, list[tuple[int, bool]]] = {}  # floor -> its free rooms at the end, (beds, accessible)
    for r in room.values():
        s = site.get(r.site)
        if r.status == AVAILABLE and s is not None and s.open and r.id not in taken:
            free.setdefault(Floor(r.site, r.building, r.floor), []).append((r.beds, r.accessible))
    in_use: dict[tuple, list[Floor]] = {}
    for f, category in before.items():
        in_use.setdefault((f.site, category), []).append(f)
    opened: set[Floor] = set()
    for f, pid in allocation.opened:
        where = f"floor {f.floor} of {f.building} at site {f.site!r}"
        if f in before:
            flag("fill_floors_first", pid, f"The run lists {where} as opened, but it was in use already.")
            continue
        if f in opened:
            flag("fill_floors_first", pid, f"The run lists {where} as opened twice.")
            continue
        opened.add(f)
        p = person.get(pid)
        if p is None or floor_of.get(pid) != f:
            flag("fill_floors_first", pid, f"The run opened {where} for person {pid!r}, who is not on it.")
            continue
        rooms_held: dict[Hashable, list[Person]] = {}
        for m in unit_of[pid]:
            if floor_of.get(m.id) == f:
                rooms_held.setdefault(allocation.rooms[m.id], []).append(m)
        layout = [(len(ms), any(m.needs_accessible for m in ms)) for ms in rooms_held.values()]
        for g in in_use.get((f.site, p.category), ()):
            if _could_hold(layout, free.get(g, [])):
                flag("fill_floors_first", pid,
                     f"The run opened {where} for the household of {pid!r} while floor {g.floor} of "
                     f"{g.building}, in use for {p.category}, still has free rooms to hold it the same way.")
        in_use.setdefault((f.site, p.category), []).append(f)
    for f, placed in on_floor.items():
        if f not in before and f not in opened:
            flag("fill_floors_first", placed[0].id, f"People are placed on floor {f.floor} of {f.building} "
                                                    f"at site {f.site!r}, whose opening the run did not record.")


def _could_hold(layout: list[tuple[int, bool]], free_rooms: list[tuple[int, bool]]) -> bool:
    """Whether each group (people, needs accessible) can have its own room among these (beds, accessible).

    Exact: groups needing an accessible room first, larger first, each in the accessible room with
    the fewest beds that suffice; then the others, larger first, each in the room with the fewest
    beds that suffice. A room large enough for a group is large enough for every later one, so
    which of them a group takes does not matter, except that an accessible group should leave the
    larger accessible rooms, which the others may also use.
    """
    left = sorted(free_rooms)
    for size, needs_accessible in sorted(layout, key=lambda g: (not g[1], -g[0])):
        for j, (beds, accessible) in enumerate(left):
            if beds >= size and (accessible or not needs_accessible):
                del left[j]
                break
        else:
            return False
    return True
