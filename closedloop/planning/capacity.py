"""The capacity outlook of isolation sites: rooms now, and day by day ahead. Pure: plain data in, plain data out.

``outlook(sites, today=…, days=14, population=…, reserve_per_10k=…, demand=…)`` gives, for every site and
for the city, one row a day from today: free rooms, occupied rooms, rooms turning around, the day's
arrivals and releases, the free rooms left after the arrivals, the reserve required and how many rooms
short of it. For the city it names the first day it runs short, and by how many rooms.

The rules
---------
Days are calendar days in the city's local time; day 0 is today. A day's row reads: rooms back from
turnaround that day are free from its start (``available``); people due to leave that day free their
rooms, which start turning around (``releases``); the day's arrivals take free rooms (``arrivals``);
``free_after`` is what is left (below zero: people with no room). ``occupied`` and ``turning`` are
at the end of the day.

- **A release frees a room** on the day its last occupant leaves: a household sharing a room frees it
  when the last of them leaves. A leave day already past counts as today (they are due out now). An
  occupant with no known leave day keeps the room beyond the horizon.
- **Turnaround delays it**: a room freed on day d is usable from day d + ceil(turnaround_hours / 24) —
  with 24 h a room vacated today is free tomorrow, with 36 h the day after (the day, not the hour: a
  clerk plans rooms by the day). A room already awaiting cleaning or being cleaned counts the same way
  from the day it was vacated; one whose turnaround is already over (the cleaners are late) is counted
  back today. A turning room whose vacating day is unknown counts as vacated today.
- **An arrival takes a room** on its expected day (a day already past counts as today). Each arrival
  takes ``rooms`` rooms: one per person unless the caller knows a household will share (the outlook
  does not guess who shares). An arrival whose leave day is within the horizon frees the room then,
  and it turns around like any other; one leaving on or before the day it arrives takes no room.
- **Out of service never counts**: such a room is in no row and never comes back within the horizon.
- **A site that takes no one** (paused, preparing or closed — the caller says which with
  ``takes_people``): its free rooms are not counted (they stay idle, shown as ``idle``), its occupants
  still leave and their rooms still turn around, and the people on their way to it count as city
  demand, since they will have to be placed elsewhere. A paused site keeps its people but takes no new
  ones, so its rooms are no reserve.
- **City demand** (people who will need a room at some site: awaiting placement under a protocol that
  starts at a site, or on their way to a site that takes no one) takes rooms from the city's free rooms
  on its day; rooms it frees come back after the longest turnaround among the sites taking people
  (24 h when none does).
- **Short.** A site runs short when its arrivals outnumber its free rooms, by that many (the deficit
  carries to the next days until rooms come back). The city must keep ``ceil(population ×
  reserve_per_10k / 10,000)`` rooms free after the day's arrivals; it is short by max(0, required −
  free after arrivals), the free rooms summed over the sites taking people, less the city demand. With
  no population the reserve is 0 and ``reserve_known`` is False (the city is then short only when
  arrivals outnumber its free rooms).

Cost: one pass over the rooms listed one by one (shared rooms), the counts of the others, the turning
rooms and the arrivals, then sites × days sums — no loop over rooms × days.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

from closedloop.lib.protocols import CENTRALIZED

DEFAULT_DAYS = 14
MAX_DAYS = 90
DEFAULT_TURNAROUND_HOURS = 24


# --- input -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Arrival:
    """People expected on ``day``, taking ``rooms`` rooms, leaving on ``leaves_on`` (None: beyond knowing)."""

    day: dt.date
    rooms: int = 1
    leaves_on: dt.date | None = None


@dataclass(frozen=True)
class SiteInput:
    """A site as it stands now.

    ``available`` … ``out_of_service`` count its rooms by status. Occupied rooms are given either way:
    ``occupants`` has one entry per room, the leave days of the people in it (None for a person whose
    leave day is unknown) — for rooms shared by a household; ``rooms_leaving`` counts rooms by the day
    they free (None: unknown) — for rooms of one person each, already counted. Occupied rooms given
    neither way keep their people beyond the horizon. ``turning_since`` has one entry per room awaiting
    cleaning or being cleaned: when it was vacated (a date, or a local datetime).
    """

    key: Hashable
    available: int = 0
    occupied: int = 0
    awaiting_cleaning: int = 0
    cleaning: int = 0
    out_of_service: int = 0
    turnaround_hours: int = DEFAULT_TURNAROUND_HOURS
    takes_people: bool = True
    occupants: Sequence[Sequence[dt.date | None]] = ()
    rooms_leaving: Mapping[dt.date | None, int] = field(default_factory=dict)
    turning_since: Sequence[dt.date | dt.datetime] = ()
    arrivals: Sequence[Arrival] = ()


# --- output ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RoomsNow:
    available: int
    occupied: int
    awaiting_cleaning: int
    cleaning: int
    out_of_service: int

    @property
    def turning(self) -> int:
        return self.awaiting_cleaning + self.cleaning

    @property
    def total(self) -> int:
        return self.available + self.occupied + self.turning + self.out_of_service


@dataclass(frozen=True)
class Day:
    day: dt.date
    available: int  # free and clean at the start of the day (rooms back from turnaround included)
    occupied: int  # at the end of the day
    turning: int  # awaiting cleaning or being cleaned, at the end of the day
    arrivals: int  # rooms the day's arrivals take
    releases: int  # rooms freed that day (they start turning around)
    free_after: int  # free rooms after the day's arrivals; below zero: people with no room
    required: int  # the reserve: free rooms to keep (0 for a site)
    short_by: int  # max(0, required − free_after)


@dataclass(frozen=True)
class SiteOutlook:
    key: Hashable
    takes_people: bool
    turnaround_days: int
    now: RoomsNow
    days: tuple[Day, ...]

    @property
    def first_short(self) -> Day | None:
        return next((d for d in self.days if d.short_by > 0), None)


@dataclass(frozen=True)
class Outlook:
    today: dt.date
    horizon: int
    sites: tuple[SiteOutlook, ...]
    city: tuple[Day, ...]
    city_now: RoomsNow  # every site's rooms; ``available`` only those of sites taking people
    idle: int  # free rooms now at sites that take no one: not counted
    demand: int  # rooms the city demand takes within the horizon
    required: int
    reserve_known: bool  # False when the population is unknown (required is then 0)

    @property
    def first_short(self) -> Day | None:
        return next((d for d in self.city if d.short_by > 0), None)

    @property
    def shortfall(self) -> tuple[dt.date, int] | None:
        """(first day the city runs short, rooms short that day), or None when it never does."""
        first = self.first_short
        return (first.day, first.short_by) if first is not None else None


# --- rules -----------------------------------------------------------------------------------------------

def turnaround_days(hours: int) -> int:
    """Days from vacating to usable: a room freed on day d is usable on d + this."""
    return math.ceil(max(hours, 0) / 24)


def room_freed_on(leave_days: Sequence[dt.date | None]) -> dt.date | None:
    """The day a room frees: its last occupant's leave day; None when any of them has none (or no one is listed)."""
    if not leave_days or any(day is None for day in leave_days):
        return None
    return max(leave_days)


def centralized_days(phases: Sequence[tuple[str, int]]) -> int:
    """Days of a protocol's opening centralized phases ((kind, days) in order): 0 when it opens at home."""
    total = 0
    for kind, days in phases:
        if kind != CENTRALIZED:
            break
        total += days
    return total


def site_leave_day(phases: Sequence[tuple[str, int]] | None, anchor: dt.date | None,
                   release_on: dt.date | None) -> dt.date | None:
    """The day someone held at a site leaves it.

    Under a protocol that opens with centralized isolation: the day after those days (anchor is day 1),
    when they are handed over home — or released, when nothing follows. Under one that opens at home
    (someone whose home was unsuitable): the release day. The earlier of the two when both are known.
    """
    candidates = []
    days = centralized_days(phases) if phases else 0
    if days and anchor is not None:
        candidates.append(anchor + dt.timedelta(days=days))
    if release_on is not None:
        candidates.append(release_on)
    return min(candidates) if candidates else None


def reserve_required(population: int | None, per_10k: float) -> int:
    """Rooms the city keeps free: ceil(population × per_10k / 10,000); 0 when the population is unknown."""
    if not population or population < 0:
        return 0
    return math.ceil(population * per_10k / 10_000)


# --- the forecast ----------------------------------------------------------------------------------------

class _Flows:
    """What happens each day at one site: rooms back from turnaround, rooms freed, rooms taken."""

    __slots__ = ("n", "k", "ready", "releases", "arrivals")

    def __init__(self, n: int, k: int) -> None:
        self.n, self.k = n, k
        self.ready = [0] * n
        self.releases = [0] * n
        self.arrivals = [0] * n

    def free(self, index: int, rooms: int = 1) -> None:
        """``rooms`` freed on day ``index`` (clamped to today): they turn around, then come back."""
        index = max(index, 0)
        if index < self.n:
            self.releases[index] += rooms
            if index + self.k < self.n:
                self.ready[index + self.k] += rooms

    def back(self, index: int, rooms: int = 1) -> None:
        index = max(index, 0)
        if index < self.n:
            self.ready[index] += rooms

    def take(self, arrival: Arrival, today: dt.date) -> None:
        index = max((arrival.day - today).days, 0)
        if index >= self.n or arrival.rooms <= 0:
            return
        if arrival.leaves_on is not None and (arrival.leaves_on - today).days <= index:
            return  # gone before they would need a room
        self.arrivals[index] += arrival.rooms
        if arrival.leaves_on is not None:
            self.free((arrival.leaves_on - today).days, arrival.rooms)


def _day_of(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _check(site: SiteInput) -> None:
    counts = (site.available, site.occupied, site.awaiting_cleaning, site.cleaning, site.out_of_service)
    if min(counts) < 0 or site.turnaround_hours < 0:
        raise ValueError(f"site {site.key!r}: room counts and turnaround cannot be negative")
    listed = len(site.occupants) + sum(site.rooms_leaving.values())
    if listed > site.occupied or min(site.rooms_leaving.values(), default=0) < 0:
        raise ValueError(f"site {site.key!r}: {listed} occupied rooms listed, {site.occupied} counted")
    if len(site.turning_since) > site.awaiting_cleaning + site.cleaning:
        raise ValueError(f"site {site.key!r}: more vacating times than rooms turning around")


def _site_flows(site: SiteInput, today: dt.date, n: int, redirected: list[Arrival]) -> _Flows:
    flows = _Flows(n, turnaround_days(site.turnaround_hours))
    for leave_days in site.occupants:
        freed = room_freed_on(leave_days)
        if freed is not None:
            flows.free((freed - today).days)
    for freed, rooms in site.rooms_leaving.items():
        if freed is not None and rooms:
            flows.free((freed - today).days, rooms)
    for since in site.turning_since:
        flows.back((_day_of(since) - today).days + flows.k)
    unknown = site.awaiting_cleaning + site.cleaning - len(site.turning_since)
    if unknown:
        flows.back(flows.k, unknown)
    if site.takes_people:
        for arrival in site.arrivals:
            flows.take(arrival, today)
    else:
        redirected.extend(site.arrivals)
    return flows


@dataclass
class _Run:
    """One unit's days, with the signed free counts the city sums."""

    days: list[Day]
    before: list[int]  # free at the start of each day, signed
    free: list[int]  # free after arrivals, signed


def _run(flows: _Flows, today: dt.date, *, available: int, occupied: int, turning: int, takes_people: bool,
         required: int = 0) -> _Run:
    free = available if takes_people else 0
    run = _Run([], [], [])
    for d in range(flows.n):
        ready, releases, arrivals = flows.ready[d], flows.releases[d], flows.arrivals[d]
        turning += releases - ready
        occupied += arrivals - releases
        before = free + ready if takes_people else 0
        free = before - arrivals if takes_people else 0
        run.before.append(before)
        run.free.append(free)
        run.days.append(Day(day=today + dt.timedelta(days=d), available=max(before, 0), occupied=occupied,
                            turning=turning, arrivals=arrivals, releases=releases, free_after=free,
                            required=required, short_by=max(required - free, 0) if takes_people else 0))
    return run


def outlook(sites: Sequence[SiteInput], *, today: dt.date, days: int = DEFAULT_DAYS, population: int | None = None,
            reserve_per_10k: float = 20, demand: Sequence[Arrival] = (),
            demand_turnaround_hours: int | None = None) -> Outlook:
    """Every site's days and the city's, against the reserve norm (see the module's rules)."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be from 1 to {MAX_DAYS}")
    if reserve_per_10k < 0:
        raise ValueError("the reserve norm cannot be negative")
    redirected: list[Arrival] = []
    site_runs: list[tuple[SiteInput, _Flows, _Run]] = []
    for site in sites:
        _check(site)
        flows = _site_flows(site, today, days, redirected)
        run = _run(flows, today, available=site.available, occupied=site.occupied,
                   turning=site.awaiting_cleaning + site.cleaning, takes_people=site.takes_people)
        site_runs.append((site, flows, run))

    if demand_turnaround_hours is None:
        taking = [s.turnaround_hours for s in sites if s.takes_people]
        demand_turnaround_hours = max(taking) if taking else DEFAULT_TURNAROUND_HOURS
    pool = _Flows(days, turnaround_days(demand_turnaround_hours))
    for arrival in [*demand, *redirected]:
        pool.take(arrival, today)
    pool_run = _run(pool, today, available=0, occupied=0, turning=0, takes_people=True)

    required = reserve_required(population, reserve_per_10k)
    runs = [run for _site, _flows, run in site_runs] + [pool_run]
    taking_runs = [run for site, _flows, run in site_runs if site.takes_people] + [pool_run]
    city: list[Day] = []
    for d in range(days):
        before = sum(run.before[d] for run in taking_runs)
        free = sum(run.free[d] for run in taking_runs)
        city.append(Day(
            day=today + dt.timedelta(days=d), available=max(before, 0),
            occupied=sum(run.days[d].occupied for run in runs), turning=sum(run.days[d].turning for run in runs),
            arrivals=sum(run.days[d].arrivals for run in runs), releases=sum(run.days[d].releases for run in runs),
            free_after=free, required=required, short_by=max(required - free, 0)))

    def total(field: str, only_taking: bool = False) -> int:
        return sum(getattr(s, field) for s in sites if s.takes_people or not only_taking)

    return Outlook(
        today=today, horizon=days,
        sites=tuple(SiteOutlook(
            key=site.key, takes_people=site.takes_people, turnaround_days=flows.k,
            now=RoomsNow(site.available, site.occupied, site.awaiting_cleaning, site.cleaning, site.out_of_service),
            days=tuple(run.days)) for site, flows, run in site_runs),
        city=tuple(city),
        city_now=RoomsNow(total("available", only_taking=True), total("occupied"), total("awaiting_cleaning"),
                          total("cleaning"), total("out_of_service")),
        idle=sum(s.available for s in sites if not s.takes_people),
        demand=sum(pool.arrivals),
        required=required, reserve_known=bool(population and population > 0),
    )
