"""Room allocation at isolation sites: who goes to which room. Pure: plain data in, plain data out.

``allocate(people, rooms, sites, floor_categories=…, sites_preferred=…)`` gives every person passed
in either a room or the code of the reason they got none (``REASONS``), never both, never neither.
``closedloop.planning.room_rules.check`` checks a result against the rules below, independently.

The rules
---------
Hard (never broken):

- **Available rooms at open sites only.** A room is assigned only when its status is
  ``available`` and its site is open; rooms awaiting cleaning, being cleaned, occupied or out of
  service are ignored, even when nothing else is free.
- **One person per room**, except a household sharing (the site rule "companion"): a room holds
  more than one person only if they are all of one household, no more than its beds, at least one
  of them needs a companion (a child, an elderly or a dependent person), and the site allows
  companions (``Site.allow_companions``).
- **One category per floor.** A floor is (site, building, floor number). Close contacts, secondary
  contacts, inbound travellers, cases (any category string) never share a floor. Floors that already
  hold occupants come with their category in ``floor_categories``, and placements there must match
  it. (A floor with occupants must be listed there: the engine does not guess a category.)
- **Accessible rooms** for those who need them: a person with ``needs_accessible`` gets an
  accessible room, or none.
- **A household stays on one floor.** The unit of placement is a household *within one category*
  (a household with a case and close contacts is two units: the category rule comes first). All
  members of a unit are placed on one floor of one site, or none is and each gets the reason.
- **Fill floors before opening new ones** (staff are allocated per floor), in this precise,
  checkable form. The run records, in order, each floor it opened (one not in ``floor_categories``
  that it placed people on) with a member of the unit it opened it for (``Allocation.opened``).
  *When the run opened floor F at site S for a unit H of category C, no floor in use for C at S
  before that opening (in ``floor_categories`` as C, or opened earlier in the run for C) has, at
  the end of the run, free rooms to hold H laid out as on F*: for each room H holds on F, a distinct
  free room with at least as many beds, accessible if someone in it needs one. The engine keeps it:
  it tries a layout on every floor in use for the category before opening a floor with it, and free
  rooms only decrease during a run. So a floor is opened while a floor in use could take the unit
  only to keep someone with the companion they need, never otherwise.
- With ``sites_preferred`` (a site's check-in desk), placements only in those sites.

Soft (preferences, measured):

- **Near the home town**: a unit tries sites in the order of ``site_order``: same town first, then
  by the distance between the home town and the site when both have a position, then in the order
  the sites were given (or the order of ``sites_preferred``). ``Allocation.nearest`` counts people
  placed at their nearest site with room: the first site in that order with a free room for their
  category (on a floor in use for it, or an empty floor) when their household was placed — what
  keeping households together and filling floors first cost in distance. ``home_town`` counts those
  placed in their home town.
- **Companions**: a unit in which someone needs a companion first tries every site that allows
  it, nearest first, laid out so that each such member shares a room with another member (one who
  needs no companion while there are some); only when no site can do that is it placed one room
  each. ``companions_kept`` / ``companions_needed`` measures it.
- **Accessible rooms are kept** for those who need them: others get them only when no in-use floor
  of the site has enough other rooms for them.
- **Households near each other**: a floor's free rooms are taken in corridor order (``Room.order``,
  or the room number read naturally), so a unit's rooms are neighbours.
- **Floors in use are filled in the order they came into use**; empty floors are opened building
  by building, from the lowest floor.

How
---
A greedy. Units are placed in the order given (the caller's priority, e.g. arrival), except that
those needing an accessible room go first, then those with someone needing a companion: scarce
rooms first for those who cannot do without them. Each unit tries its sites in order, each site its
floors in use for the category, then its empty floors. A floor keeps its free rooms in buckets by
(accessible, beds), each in corridor order with a pointer; a site counts, per category, its floors
with at least k free rooms (k ≤ 8), so a site that cannot take a unit is passed over without
looking at its floors; a site full for a category leaves that category's site orders for good
(free rooms only decrease). Sorting the rooms and the units is the largest cost: no step looks at
every room, and a unit looks at a site's floors only when one of them has room enough.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from closedloop.lib.text import gettext_noop

AVAILABLE = "available"
# The statuses a room can have; only AVAILABLE rooms are ever assigned.
ROOM_STATUSES = (AVAILABLE, "awaiting_cleaning", "cleaning", "occupied", "out_of_service")

NO_OPEN_SITE = "no_open_site"
NO_ROOM = "no_room"
NO_FLOOR_FOR_CATEGORY = "no_floor_for_category"
NO_ACCESSIBLE_ROOM = "no_accessible_room"
HOUSEHOLD_TOO_LARGE = "household_too_large"

# Why a person got no room, for the clerk at the desk. The Django side translates these.
REASONS: dict[str, str] = {
    NO_OPEN_SITE: gettext_noop("None of the isolation sites considered is open."),
    NO_ROOM: gettext_noop("No room is free at the isolation sites considered."),
    NO_FLOOR_FOR_CATEGORY: gettext_noop("The only free rooms are on floors that hold people of another category."),
    NO_ACCESSIBLE_ROOM: gettext_noop("No accessible room is free at the isolation sites considered."),
    HOUSEHOLD_TOO_LARGE: gettext_noop(
        "No floor has enough suitable rooms free to keep the whole household together."
    ),
}

# Sites count their floors with at least k free rooms for k up to this; larger units look at floors.
_K = 8


@dataclass(frozen=True, slots=True)
class Room:
    id: Hashable
    site: Hashable
    building: str
    floor: int
    number: str
    beds: int = 1
    accessible: bool = False
    status: str = AVAILABLE
    order: int | None = None  # position along the corridor; by default read from the number


@dataclass(frozen=True, slots=True)
class Site:
    id: Hashable
    town: str | None = None
    x: float | None = None
    y: float | None = None
    open: bool = True
    allow_companions: bool = True


@dataclass(frozen=True, slots=True)
class Person:
    id: Hashable
    category: str
    household: Hashable | None = None
    needs_accessible: bool = False
    needs_companion: bool = False
    home_town: str | None = None


@dataclass(frozen=True, slots=True)
class Floor:
    site: Hashable
    building: str
    floor: int


@dataclass(slots=True)
class Allocation:
    rooms: dict[Hashable, Hashable] = field(default_factory=dict)  # person id -> room id
    refused: dict[Hashable, str] = field(default_factory=dict)  # person id -> reason code (REASONS)
    # Floors the run opened, in order, each with a person of the unit it was opened for.
    opened: list[tuple[Floor, Hashable]] = field(default_factory=list)
    nearest: int = 0  # people placed at their nearest site with a free room for their category
    home_town: int = 0  # people placed at a site in their home town
    companions_needed: int = 0  # placed people needing a companion, with another member placed
    companions_kept: int = 0  # … of whom share a room with a member of their household

    @property
    def placed(self) -> int:
        return len(self.rooms)

    @property
    def floors_opened(self) -> int:
        return len(self.opened)

    @property
    def nearest_share(self) -> float:
        return self.nearest / len(self.rooms) if self.rooms else 1.0

    @property
    def home_town_share(self) -> float:
        return self.home_town / len(self.rooms) if self.rooms else 1.0

    @property
    def companions_share(self) -> float:
        return self.companions_kept / self.companions_needed if self.companions_needed else 1.0


def floor_of(room: Room) -> Floor:
    return Floor(room.site, room.building, room.floor)


_PARTS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """"2-10" after "2-9": digits compare as numbers."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in _PARTS.split(str(text)) if part)


def corridor_key(room: Room) -> tuple:
    """A room's place along its floor's corridor: ``order`` when given, else its number read naturally."""
    if room.order is not None:
        return (0, room.order, ())
    return (1, 0, natural_key(room.number))


def town_positions(sites: Iterable[Site]) -> dict[str, tuple[float, float]]:
    """A town's position: the mean of the coordinates of its sites that have them."""
    sums: dict[str, list[float]] = {}
    for s in sites:
        if s.town is not None and s.x is not None and s.y is not None:
            acc = sums.setdefault(s.town, [0.0, 0.0, 0])
            acc[0] += s.x
            acc[1] += s.y
            acc[2] += 1
    return {town: (x / n, y / n) for town, (x, y, n) in sums.items()}


def site_order(home_town: str | None, sites: Sequence[Site],
               positions: Mapping[str, tuple[float, float]] | None = None) -> list[Site]:
    """Sites nearest the home town first: same town, then by distance when both have a position,
    then in the order given."""
    if positions is None:
        positions = town_positions(sites)
    home = positions.get(home_town) if home_town is not None else None

    def key(item: tuple[int, Site]) -> tuple:
        index, s = item
        same = 0 if home_town is not None and s.town == home_town else 1
        if home is not None and s.x is not None and s.y is not None:
            return (same, math.hypot(s.x - home[0], s.y - home[1]), index)
        return (same, math.inf, index)

    return [s for _i, s in sorted(enumerate(sites), key=key)]


# --- the engine's state -----------------------------------------------------------------


class _Bucket:
    """A floor's free rooms of one kind (accessible, beds), in corridor order, taken from the front."""

    __slots__ = ("accessible", "beds", "rooms", "i", "free")

    def __init__(self, accessible: bool, beds: int):
        self.accessible, self.beds, self.rooms, self.i, self.free = accessible, beds, [], 0, 0


class _Floor:
    __slots__ = ("key", "category", "plain", "acc", "any", "free", "free_acc", "sort_key")

    def __init__(self, key: Floor, category: str | None):
        self.key, self.category = key, category
        self.plain: list[_Bucket] = []  # not accessible, fewest beds first
        self.acc: list[_Bucket] = []  # accessible, fewest beds first
        self.any: list[_Bucket] = []  # plain, then accessible
        self.free = self.free_acc = 0
        self.sort_key = (natural_key(key.building), key.floor)


class _Site:
    __slots__ = ("site", "inuse", "empty", "hist", "hist_empty", "free")

    def __init__(self, site: Site):
        self.site = site
        self.inuse: dict[str, list[_Floor]] = {}  # category -> floors in use, in the order they came into use
        self.empty: list[_Floor] = []  # floors holding no category, building by building, lowest first
        self.hist: dict[str, list[int]] = {}  # category -> [_, floors with >= 1 free room, >= 2, … >= _K]
        self.hist_empty = [0] * (_K + 1)
        self.free = 0


class _Plan:
    """One way to lay a unit out in rooms: groups of members, each group one room."""

    __slots__ = ("groups", "spec", "rooms", "simple", "passes")

    def __init__(self, groups: list[tuple[Person, ...]]):
        def needs_acc(g):
            return any(p.needs_accessible for p in g)

        # Accessible groups first, larger first: a best fit in that order is exact (see _fit).
        self.groups = sorted(groups, key=lambda g: (not needs_acc(g), -len(g)))
        self.spec = tuple((len(g), needs_acc(g)) for g in self.groups)
        self.rooms = len(groups)
        self.simple = all(spec == (1, False) for spec in self.spec)
        # First sparing accessible rooms, then not; the same thing when every group needs one.
        self.passes = (False,) if all(acc for _size, acc in self.spec) else (True, False)


def _together(members: list[Person]) -> list[_Plan]:
    """Layouts keeping each member who needs a companion with another member, preferred first:
    each with a member who needs none while there are some, then with each other; an odd one out
    joins the last pair in a three-bed room, or else sleeps alone."""
    needers = [p for p in members if p.needs_companion]
    if len(members) < 2 or not needers:
        return []
    others = [p for p in members if not p.needs_companion]
    pairs = min(len(needers), len(others))
    groups = [(needers[i], others[i]) for i in range(pairs)]
    rest = needers[pairs:]
    while len(rest) >= 2:
        groups.append((rest[0], rest[1]))
        rest = rest[2:]
    alone = [(p,) for p in others[pairs:]]
    if rest:
        return [_Plan([*groups[:-1], groups[-1] + (rest[0],), *alone]), _Plan([*groups, (rest[0],), *alone])]
    return [_Plan(groups + alone)]


class _Unit:
    """A household within one category (or one person without a household)."""

    __slots__ = ("members", "category", "home_town", "acc", "index", "together", "alone")

    def __init__(self, members: list[Person], index: int):
        self.members = members
        self.category = members[0].category
        self.home_town = members[0].home_town
        self.acc = any(p.needs_accessible for p in members)
        self.index = index
        self.together = _together(members)  # empty when no one needs a companion
        self.alone = [_Plan([(p,) for p in members])]  # one room each


class _Order:
    """The candidate sites of one home town, nearest first; per category, a skip list of full sites."""

    __slots__ = ("sites", "_next")

    def __init__(self, sites: list[_Site]):
        self.sites = sites
        self._next: dict[str, list[int]] = {}

    def skips(self, category: str) -> list[int]:
        nxt = self._next.get(category)
        if nxt is None:
            nxt = self._next[category] = list(range(len(self.sites) + 1))
        return nxt


def _find(nxt: list[int], i: int) -> int:
    """The first index >= i not known to be full (with path compression)."""
    root = i
    while nxt[root] != root:
        root = nxt[root]
    while nxt[i] != root:
        nxt[i], i = root, nxt[i]
    return root


def _fit(floor: _Floor, plan: _Plan, spare_accessible: bool) -> list[_Bucket] | None:
    """The buckets the plan's groups would take on this floor, or None if it does not fit.

    Groups needing an accessible room go first, larger first, each into the accessible room with the
    fewest beds that suffice; then the others, larger first, fewest beds first (accessible rooms last,
    or not at all when sparing them). Largest-first best fit is exact here: a room that fits a group
    fits every smaller one after it.
    """
    cands_plain = floor.plain if spare_accessible else floor.any
    if plan.simple:
        need = plan.rooms
        picks: list[_Bucket] = []
        for b in cands_plain:
            take = b.free if b.free < need else need
            if take:
                picks.extend([b] * take)
                need -= take
                if not need:
                    return picks
        return None
    used: dict[_Bucket, int] = {}
    picks = []
    for size, acc in plan.spec:
        for b in floor.acc if acc else cands_plain:
            if b.beds >= size and b.free > used.get(b, 0):
                used[b] = used.get(b, 0) + 1
                picks.append(b)
                break
        else:
            return None
    return picks


# --- the engine --------------------------------------------------------------------------


class _Engine:
    def __init__(self, people, rooms, sites, floor_categories, sites_preferred, positions):
        self.result = Allocation()
        self.people = list(people)
        self.sites = list(sites)
        seen: set = set()
        for s in self.sites:
            if s.id in seen:
                raise ValueError(f"Site {s.id!r} is given twice.")
            seen.add(s.id)
        self.state: dict[Hashable, _Site] = {s.id: _Site(s) for s in self.sites if s.open}
        self._build_floors(rooms, floor_categories or {})
        self.total_free = sum(st.free for st in self.state.values())
        if sites_preferred is None:
            self.candidates = [self.state[s.id] for s in self.sites if s.id in self.state]
            self.positions = town_positions(self.sites) if positions is None else positions
        else:
            wanted = list(dict.fromkeys(sites_preferred))
            self.candidates = [self.state[i] for i in wanted if i in self.state]
        self.preferred = sites_preferred is not None
        self.orders: dict[str | None, _Order] = {}

    def _build_floors(self, rooms: Iterable[Room], floor_categories: Mapping[Floor, str]) -> None:
        by_floor: dict[Floor, list[Room]] = {}
        seen: set = set()
        for room in rooms:
            if room.id in seen:
                raise ValueError(f"Room {room.id!r} is given twice.")
            seen.add(room.id)
            if room.status != AVAILABLE or room.site not in self.state:
                continue
            key = Floor(room.site, room.building, room.floor)
            found = by_floor.get(key)
            if found is None:
                by_floor[key] = [room]
            else:
                found.append(room)
        for key, floor_rooms in by_floor.items():
            floor_rooms.sort(key=corridor_key)
            f = _Floor(key, floor_categories.get(key))
            buckets: dict[tuple[bool, int], _Bucket] = {}
            for room in floor_rooms:
                kind = (room.accessible, room.beds)
                b = buckets.get(kind)
                if b is None:
                    b = buckets[kind] = _Bucket(*kind)
                b.rooms.append(room)
            for b in buckets.values():
                b.free = len(b.rooms)
            f.plain = sorted((b for b in buckets.values() if not b.accessible), key=lambda b: b.beds)
            f.acc = sorted((b for b in buckets.values() if b.accessible), key=lambda b: b.beds)
            f.any = f.plain + f.acc
            f.free = len(floor_rooms)
            f.free_acc = sum(b.free for b in f.acc)
            st = self.state[key.site]
            st.free += f.free
            if f.category is None:
                st.empty.append(f)
                hist = st.hist_empty
            else:
                st.inuse.setdefault(f.category, []).append(f)
                hist = st.hist.setdefault(f.category, [0] * (_K + 1))
            for k in range(1, min(f.free, _K) + 1):
                hist[k] += 1
        for st in self.state.values():
            st.empty.sort(key=lambda f: f.sort_key)
            for floors in st.inuse.values():
                floors.sort(key=lambda f: f.sort_key)

    def order(self, home_town: str | None) -> _Order:
        key = None if self.preferred else home_town
        found = self.orders.get(key)
        if found is None:
            if self.preferred:
                found = _Order(self.candidates)
            else:
                by_id = {st.site.id: st for st in self.candidates}
                ordered = site_order(home_town, [st.site for st in self.candidates], self.positions)
                found = _Order([by_id[s.id] for s in ordered])
            self.orders[key] = found
        return found

    def units(self) -> list[_Unit]:
        groups: dict[Hashable, list[Person]] = {}
        seen: set = set()
        for p in self.people:
            if p.id in seen:
                raise ValueError(f"Person {p.id!r} is given twice.")
            seen.add(p.id)
            key = (p.id,) if p.household is None else (p.household, p.category, None)
            found = groups.get(key)
            if found is None:
                groups[key] = [p]
            else:
                found.append(p)
        units = [_Unit(members, i) for i, members in enumerate(groups.values())]
        units.sort(key=lambda u: (not u.acc, not u.together, u.index))
        return units

    def run(self) -> Allocation:
        for unit in self.units():
            self.place(unit)
        return self.result

    def place(self, unit: _Unit) -> None:
        order = self.order(unit.home_town)
        sites, cat = order.sites, unit.category
        nxt = order.skips(cat)
        end = len(sites)
        nearest = None  # the first site with a free room for the category
        # Keeping companions together comes before the distance: first every site that allows it.
        for plans in (unit.together, unit.alone) if unit.together else (unit.alone,):
            sharing = plans is unit.together
            i = _find(nxt, 0)
            while i < end:
                st = sites[i]
                hist = st.hist.get(cat)
                if (hist is None or not hist[1]) and not st.hist_empty[1]:
                    nxt[i] = i + 1  # full for this category, for good: free rooms only decrease
                    i = _find(nxt, i)
                    continue
                if nearest is None:
                    nearest = st
                if not sharing or st.site.allow_companions:
                    plan = self.try_site(st, cat, plans)
                    if plan is not None:
                        self.count(unit, plan, st, nearest)
                        return
                i = _find(nxt, i + 1)
        reason = self.why(unit, sites, nearest is not None)
        for p in unit.members:
            self.result.refused[p.id] = reason

    def try_site(self, st: _Site, cat: str, plans: list[_Plan]) -> _Plan | None:
        """Place the unit at this site in one of these layouts if it can: on a floor in use for its
        category, else on an empty floor, which it opens."""
        least = min(_K, min(plan.rooms for plan in plans))
        hist = st.hist.get(cat)
        if hist is not None and hist[least]:
            for plan in plans:
                if hist[min(_K, plan.rooms)]:
                    found = self.first_fit(st.inuse[cat], plan)
                    if found is not None:
                        self.take(st, found[0], plan, found[1])
                        return plan
        if st.hist_empty[least]:
            for plan in plans:
                if st.hist_empty[min(_K, plan.rooms)]:
                    found = self.first_fit(st.empty, plan)
                    if found is not None:
                        self.open(st, found[0], cat, plans[0].groups[0][0].id)
                        self.take(st, found[0], plan, found[1])
                        return plan
        return None

    @staticmethod
    def first_fit(floors: list[_Floor], plan: _Plan) -> tuple[_Floor, list[_Bucket]] | None:
        """The first floor the plan fits, sparing accessible rooms if any floor allows it."""
        for second, spare in enumerate(plan.passes):
            for f in floors:
                # Without accessible rooms free, not sparing them is the pass already tried.
                if f.free < plan.rooms or (second and not f.free_acc):
                    continue
                picks = _fit(f, plan, spare)
                if picks is not None:
                    return f, picks
        return None

    def open(self, st: _Site, f: _Floor, category: str, opener: Hashable) -> None:
        st.empty.remove(f)
        f.category = category
        st.inuse.setdefault(category, []).append(f)
        hist = st.hist.setdefault(category, [0] * (_K + 1))
        for k in range(1, min(f.free, _K) + 1):
            st.hist_empty[k] -= 1
            hist[k] += 1
        self.result.opened.append((f.key, opener))

    def take(self, st: _Site, f: _Floor, plan: _Plan, picks: list[_Bucket]) -> None:
        rooms = self.result.rooms
        acc = 0
        for group, b in zip(plan.groups, picks, strict=True):
            room_id = b.rooms[b.i].id
            b.i += 1
            b.free -= 1
            acc += b.accessible
            for p in group:
                rooms[p.id] = room_id
        old = f.free
        f.free = new = old - plan.rooms
        f.free_acc -= acc
        hist = st.hist[f.category]
        for k in range(new + 1, min(old, _K) + 1):
            hist[k] -= 1
        if not new:
            st.inuse[f.category].remove(f)
        st.free -= plan.rooms
        self.total_free -= plan.rooms

    def count(self, unit: _Unit, plan: _Plan, st: _Site, nearest: _Site) -> None:
        result = self.result
        if st is nearest:
            result.nearest += len(unit.members)
        if unit.home_town is not None and st.site.town == unit.home_town:
            result.home_town += len(unit.members)
        if len(unit.members) > 1:
            for group in plan.groups:
                for p in group:
                    if p.needs_companion:
                        result.companions_needed += 1
                        result.companions_kept += len(group) > 1

    def why(self, unit: _Unit, sites: list[_Site], alive: bool) -> str:
        if not sites:
            return NO_OPEN_SITE
        if not alive:
            free = self.total_free if not self.preferred else sum(st.free for st in sites)
            return NO_FLOOR_FOR_CATEGORY if free else NO_ROOM
        if unit.acc and not any(f.free_acc for st in sites
                                for f in (*st.inuse.get(unit.category, ()), *st.empty)):
            return NO_ACCESSIBLE_ROOM
        return HOUSEHOLD_TOO_LARGE


def allocate(
    people: Iterable[Person],
    rooms: Iterable[Room],
    sites: Iterable[Site],
    *,
    floor_categories: Mapping[Floor, str] | None = None,
    sites_preferred: Sequence[Hashable] | None = None,
    town_positions: Mapping[str, tuple[float, float]] | None = None,
) -> Allocation:
    """Place people in rooms; see the module's docstring for the rules.

    ``floor_categories``: the category of each floor that already holds occupants.
    ``sites_preferred``: place only in these sites, tried in this order (the home town is then not
    looked at). ``town_positions``: where each town is, for the distance to a site; by default the
    mean position of the town's sites.
    """
    return _Engine(people, rooms, sites, floor_categories, sites_preferred, town_positions).run()
