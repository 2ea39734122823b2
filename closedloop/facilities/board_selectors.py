"""Reads of the site board, the check-in desk and the turnaround list (pages and API alike).

The board reads a whole site in a fixed number of queries whatever its size:
one for the rooms, one for who stays in them (counted by room and category).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from closedloop.core.roles import Cap
from closedloop.core.scoping import require
from closedloop.facilities import room_states as rs
from closedloop.facilities.models import Facility, Room, RoomEvent, Stay
from closedloop.facilities.selectors import facilities_visible
from closedloop.people.models import Person
from closedloop.people.selectors import search_q
from closedloop.quarantine import states, worklists
from closedloop.quarantine.models import Episode
from closedloop.quarantine.selectors import episodes_visible

STATUS_ORDER = (rs.AVAILABLE, rs.OCCUPIED, rs.AWAITING_CLEANING, rs.CLEANING, rs.OUT_OF_SERVICE)
TURNAROUND_STATUSES = (rs.AWAITING_CLEANING, rs.CLEANING)
# The desk lists at most this many people awaiting placement; a search finds the others.
AWAITING_SHOWN = 50


def facility_get(user, pk, cap: str = Cap.VIEW_PEOPLE) -> Facility:
    """A facility the user may see, after the capability (403 first, then 404 for one out of scope)."""
    require(user, cap)
    facility = facilities_visible(user).select_related("custodian", "jurisdiction").filter(pk=pk).first()
    if facility is None:
        raise Http404
    return facility


def room_get(user, pk, cap: str = Cap.VIEW_PEOPLE) -> Room:
    require(user, cap)
    room = Room.objects.select_related("facility__custodian").filter(
        pk=pk, facility__in=facilities_visible(user)).first()
    if room is None:
        raise Http404
    return room


# --- the board ---------------------------------------------------------------------------

@dataclass
class Cell:
    room: Room
    occupants: int = 0
    categories: tuple[str, ...] = ()

    @property
    def category(self) -> str:
        return self.categories[0] if self.categories else ""


@dataclass
class FloorRow:
    building: str
    floor: int
    cells: list[Cell] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)  # of the people staying on the floor now
    free: int = 0

    @property
    def mixed(self) -> bool:
        return len(self.categories) > 1


@dataclass
class Building:
    name: str
    floors: list[FloorRow] = field(default_factory=list)


@dataclass
class Board:
    facility: Facility
    buildings: list[Building]
    counts: dict[str, int]  # rooms by status (within the building filter)
    total: int
    occupants: int
    all_buildings: list[str]
    shown: int  # cells after every filter

    @property
    def legend(self) -> list[tuple[str, int]]:
        return [(s, self.counts.get(s, 0)) for s in STATUS_ORDER]


def occupancy(facility_id: int) -> dict[int, Counter]:
    """Who stays in each room now, as {room id: Counter(category: people)} (one query)."""
    out: dict[int, Counter] = defaultdict(Counter)
    rows = (Stay.objects.filter(facility_id=facility_id, checked_out_at__isnull=True)
            .values_list("room_id", "episode__category").annotate(n=Count("id")).order_by())
    for room_id, category, n in rows:
        out[room_id][category] += n
    return out


def board(facility: Facility, *, building: str | None = None, status: str | None = None) -> Board:
    """The facility's rooms by building and floor, with their occupants counted (two queries)."""
    rooms = list(Room.objects.filter(facility=facility).only(
        "id", "facility_id", "building", "floor", "number", "order", "beds", "accessible", "status", "status_since",
        "version").order_by("building", "floor", "order", "number"))
    people = occupancy(facility.pk)
    all_buildings = sorted({r.building for r in rooms})
    if building is not None:
        rooms = [r for r in rooms if r.building == building]
    counts = Counter(r.status for r in rooms)
    floors: dict[tuple[str, int], FloorRow] = {}
    for r in rooms:
        row = floors.get((r.building, r.floor))
        if row is None:
            row = floors[(r.building, r.floor)] = FloorRow(r.building, r.floor)
        here = people.get(r.pk, Counter())
        for category in here:
            if category not in row.categories:
                row.categories.append(category)
        row.free += r.status == rs.AVAILABLE
        if status is None or r.status == status:
            row.cells.append(Cell(r, sum(here.values()), tuple(sorted(here, key=lambda c: -here[c]))))
    buildings: dict[str, Building] = {}
    for (b, _n), row in floors.items():
        if row.cells:
            buildings.setdefault(b, Building(b)).floors.append(row)
    for b in buildings.values():
        b.floors.sort(key=lambda row: -row.floor)  # the top floor on top, as the building stands
    return Board(facility=facility, buildings=list(buildings.values()), counts=dict(counts), total=len(rooms),
                 occupants=sum(sum(people[r.pk].values()) for r in rooms if r.pk in people),
                 all_buildings=all_buildings, shown=sum(len(row.cells) for row in floors.values()))


# --- the room page ------------------------------------------------------------------------

def room_stays(room: Room) -> list[Stay]:
    return list(Stay.objects.filter(room=room, checked_out_at__isnull=True)
                .select_related("episode__person", "episode__protocol").order_by("checked_in_at", "pk"))


def room_events(room: Room, limit: int = 50) -> list[RoomEvent]:
    return list(RoomEvent.objects.filter(room=room).select_related("actor").order_by("-at", "-pk")[:limit])


def room_past_stays(room: Room, limit: int = 20) -> list[Stay]:
    return list(Stay.objects.filter(room=room, checked_out_at__isnull=False)
                .select_related("episode__person").order_by("-checked_out_at", "-pk")[:limit])


# --- the desk ------------------------------------------------------------------------------

def _candidates(facility: Facility) -> Q:
    """On the way here, or held here (without a room: a refused hand-over that came back)."""
    return (Q(state=states.IN_TRANSIT, pending_custodian_id=facility.custodian_id)
            | Q(state=states.IN_CUSTODY, custodian_id=facility.custodian_id))


def desk_episodes(user, facility: Facility) -> QuerySet[Episode]:
    """Everyone the desk may check in: on their way here or held here, and those awaiting placement
    who live in the user's jurisdiction. (Whether each can be taken now is ``custody_problem``'s.)"""
    awaiting = episodes_visible(user).filter(state=states.AWAITING).values("pk")
    return Episode.objects.filter(_candidates(facility) | Q(pk__in=awaiting))


def without_room(rows: QuerySet[Episode]) -> QuerySet[Episode]:
    return rows.exclude(pk__in=Stay.objects.filter(checked_out_at__isnull=True).values("episode_id"))


@dataclass
class Incoming:
    """One giving custodian's people on their way here: one vehicle trip, usually."""

    giver: object
    episodes: list[Episode]

    @property
    def expected_by(self):
        times = [e.expected_by for e in self.episodes if e.expected_by]
        return min(times) if times else None


def incoming(facility: Facility) -> list[Incoming]:
    rows = (Episode.objects.filter(state=states.IN_TRANSIT, pending_custodian_id=facility.custodian_id)
            .select_related("person", "custodian").order_by("expected_by", "custodian_id", "pk"))
    groups: dict[int, Incoming] = {}
    for e in rows:
        groups.setdefault(e.custodian_id, Incoming(e.custodian, [])).episodes.append(e)
    return list(groups.values())


def held_without_room(facility: Facility) -> list[Episode]:
    return list(without_room(Episode.objects.filter(state=states.IN_CUSTODY, custodian_id=facility.custodian_id))
                .select_related("person").order_by("pk"))


def awaiting_placement(user, limit: int = AWAITING_SHOWN) -> tuple[list[Episode], int]:
    rows = episodes_visible(user).filter(state=states.AWAITING).select_related("person").order_by("opened_at", "pk")
    return list(rows[:limit]), rows.count()


def desk_search(user, facility: Facility, text: str) -> list[Episode]:
    """Open episodes whose person matches the text (an ID number by its keyed hash, a name, a phone tail),
    among those the user may reach: the desk says for each whether it can be checked in here."""
    q = search_q(text)
    if not q:
        return []
    people = Person.objects.filter(q).values("pk")
    return list(worklists.episodes_reachable(user).filter(status="open", person__in=people)
                .select_related("person", "custodian", "pending_custodian").order_by("pk")[:20])


def episodes_for_desk(user, facility: Facility, ids) -> list[Episode]:
    """The episodes picked at the desk, in the order given, if the desk may take them."""
    wanted = [int(i) for i in ids]
    found = desk_episodes(user, facility).filter(pk__in=wanted).select_related(
        "person", "custodian", "pending_custodian")
    by_id = {e.pk: e for e in found}
    return [by_id[i] for i in dict.fromkeys(wanted) if i in by_id]


def open_stays_of(episode_ids) -> dict[int, Stay]:
    return {s.episode_id: s for s in Stay.objects.filter(episode_id__in=list(episode_ids),
                                                         checked_out_at__isnull=True).select_related("room")}


def available_rooms(facility: Facility) -> list[Room]:
    return list(Room.objects.filter(facility=facility, status=rs.AVAILABLE).order_by("building", "floor", "order",
                                                                                       "number"))


# --- the turnaround list ---------------------------------------------------------------------

@dataclass
class Turnaround:
    room: Room
    since: dt.datetime  # when the room began to wait for cleaning
    waited: dt.timedelta
    overdue: bool

    @property
    def hours(self) -> float:
        return round(self.waited.total_seconds() / 3600, 1)


def turnaround(facility: Facility, now: dt.datetime | None = None) -> list[Turnaround]:
    """Rooms awaiting cleaning or being cleaned, the longest waiting first (one query).

    The clock starts when the room last began to await cleaning (the last occupant left, or it came
    back into service), not when the cleaning started.
    """
    now = now or timezone.now()
    began = (RoomEvent.objects.filter(room=OuterRef("pk"), to_status=rs.AWAITING_CLEANING)
             .values("room").annotate(at=Max("at")).values("at"))
    rooms = (Room.objects.filter(facility=facility, status__in=TURNAROUND_STATUSES)
             .annotate(waiting_since=Subquery(began)))
    limit = dt.timedelta(hours=facility.turnaround_hours)
    rows = []
    for r in rooms:
        since = r.waiting_since or r.status_since
        rows.append(Turnaround(r, since, now - since, now - since > limit))
    rows.sort(key=lambda t: (t.since, t.room.building, t.room.floor, t.room.order, t.room.number))
    return rows
