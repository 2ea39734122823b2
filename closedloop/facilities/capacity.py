"""The capacity outlook from the database: who sees which sites, the plain input of ``planning.capacity``.

Reads only (selectors), in a fixed number of queries whatever the number of sites, rooms and people:
the sites, their rooms by status, the people in occupied rooms with their schedules, the rooms turning
around with when they were vacated, the people on their way to each site, the protocols, and (for the
city) the people awaiting placement.

Who sees what (decided here, one rule for the pages, the API and the overview's headline):

- **Headquarters** — an account with the city among its jurisdictions that may see people or manage
  facilities (commander, duty officer, analyst, administrator, a city-level task group): every isolation
  site and health station of the city, the city's demand, the reserve norm and the first short day.
  The outlook holds no personal data, so the read-only analyst sees it too.
- **Site staff** (may check people in): the sites they may see (``facilities_visible``), without the
  city's demand or reserve — those are headquarters' to weigh.
- Anyone else is refused.

What the schedules say (see ``planning.capacity`` for the day rules):

- a person in a room leaves it on the day after the opening centralized phase of their protocol (the
  hand-over home, or the release when nothing follows), counted from their anchor; under a protocol that
  opens at home (a home found unsuitable), on their release day;
- the people on their way to a site (in transit, the site the receiving custodian) arrive on the local
  day of their expected arrival (today when late or not given), one room each;
- the city's demand: people awaiting placement whose protocol (their own, or the one in force for their
  category today) opens with centralized isolation still to come, one room each, arriving today (nothing
  in the record dates a placement not yet made);
- rooms awaiting cleaning or being cleaned count their turnaround from their last move to "awaiting
  cleaning" (the room's event log), or from their status time when the log has none.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db.models import Case, Count, F, IntegerField, Max, Q, When
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from closedloop.core.models import Jurisdiction
from closedloop.core.roles import Cap
from closedloop.core.scoping import user_jurisdictions
from closedloop.facilities import room_states as rs
from closedloop.facilities.choices import ROOMED_KINDS, FacilityStatus
from closedloop.facilities.models import Facility, Room, Stay
from closedloop.facilities.selectors import facilities_visible, room_counts
from closedloop.planning.capacity import (
    DEFAULT_DAYS,
    Arrival,
    Outlook,
    SiteInput,
    SiteOutlook,
    centralized_days,
    outlook,
    site_leave_day,
)
from closedloop.quarantine import states
from closedloop.quarantine.models import Episode, Protocol

CITY = "city"
SITES = "sites"
SITE = "site"


@dataclass(frozen=True)
class Scope:
    kind: str  # CITY or SITES
    city: Jurisdiction | None  # the city, for headquarters


def capacity_scope(user) -> Scope | None:
    """What the user may see of the outlook: the city's, their own sites', or nothing (None)."""
    if not user.is_authenticated:
        return None
    cities = [j for j in user_jurisdictions(user) if j.level == Jurisdiction.Level.CITY]
    if cities and (user.can(Cap.VIEW_PEOPLE) or user.can(Cap.MANAGE_FACILITIES)):
        return Scope(CITY, cities[0])
    if user.can(Cap.CHECK_IN) or user.can(Cap.MANAGE_FACILITIES):
        return Scope(SITES, None)
    return None


def sites_in_scope(user, scope: Scope):
    """The roomed facilities (isolation sites, health stations) the scope covers, by name."""
    if scope.kind == CITY:
        rows = Facility.objects.filter(city=scope.city)
    else:
        rows = Facility.objects.filter(pk__in=facilities_visible(user).values("pk"))
    return rows.filter(kind__in=ROOMED_KINDS).order_by("name", "pk")


def capacity_facility(user, pk: int) -> Facility:
    """A roomed facility in the user's outlook, or 404 (outside the scope looks like nothing there)."""
    scope = capacity_scope(user)
    facility = sites_in_scope(user, scope).filter(pk=pk).first() if scope is not None else None
    if facility is None:
        raise Http404
    return facility


# --- gathering ---------------------------------------------------------------------------------------------

@dataclass
class SiteLine:
    """A site with its outlook and the people on their way to it."""

    facility: Facility
    outlook: SiteOutlook
    on_the_way: int

    @property
    def first_short(self):
        return self.outlook.first_short


@dataclass
class CapacityOutlook:
    scope: str  # CITY, SITES or SITE
    city: Jurisdiction | None
    today: dt.date
    days: int
    reserve_per_10k: int
    population: int | None
    result: Outlook
    sites: list[SiteLine] = field(default_factory=list)
    awaiting: int = 0  # people awaiting placement counted as city demand
    on_the_way: int = 0  # people in transit to the sites

    @property
    def shortfall(self) -> tuple[dt.date, int] | None:
        return self.result.shortfall

    @property
    def reserve_applies(self) -> bool:
        return self.scope == CITY


def _local_day(moment: dt.datetime | None, today: dt.date) -> dt.date:
    return timezone.localtime(moment).date() if moment is not None else today


class _Protocols:
    """The phases of every protocol, and which is in force for a category on a day (one query)."""

    def __init__(self) -> None:
        self.phases: dict[int, list[tuple[str, int]]] = {}
        self._by_category: dict[str, list[tuple[dt.date, int, int]]] = defaultdict(list)
        for pk, category, effective, version, definition in Protocol.objects.values_list(
                "pk", "category", "effective_from", "version", "definition"):
            self.phases[pk] = [(p.get("kind", ""), int(p.get("days", 0))) for p in (definition or {}).get("phases", [])]
            self._by_category[category].append((effective, version, pk))

    def in_force(self, category: str, on: dt.date) -> int | None:
        """As ``quarantine.actions.protocol_for``: the latest effective, at its highest version."""
        rows = [row for row in self._by_category.get(category, ()) if row[0] <= on]
        return max(rows)[2] if rows else None


def _leave_day(protocols: _Protocols, protocol_id, anchor, placed_on, release_on) -> dt.date | None:
    return site_leave_day(protocols.phases.get(protocol_id), anchor or placed_on, release_on)


def gather(facilities: list[Facility], *, today: dt.date, city: Jurisdiction | None = None,
           days: int = DEFAULT_DAYS) -> CapacityOutlook:
    """The outlook of ``facilities`` (and, with ``city``, the city's demand and reserve): 5 queries, 6 with a city."""
    ids = [f.pk for f in facilities]
    by_custodian = {f.custodian_id: f.pk for f in facilities}
    counts = room_counts(ids)
    protocols = _Protocols()

    # Rooms of one person are counted by (protocol, start, release) in the database; a shared room's people
    # come one by one (keyed by the room), as it frees only when the last of them leaves.
    occupants: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    leaving: dict[int, Counter] = defaultdict(Counter)
    leave_days: dict[tuple, dt.date | None] = {}
    open_stays = Stay.objects.filter(facility_id__in=ids, checked_out_at__isnull=True)
    shared_rooms = open_stays.values("room_id").annotate(n=Count("pk")).filter(n__gt=1).values("room_id").order_by()
    stays = (open_stays.filter(room__status=rs.OCCUPIED)
             .annotate(shared=Case(When(room_id__in=shared_rooms, then=F("room_id")), default=None,
                                   output_field=IntegerField()),
                       start=Coalesce("episode__anchor_date", "episode__placed_on"))
             .values_list("facility_id", "shared", "episode__protocol_id", "start", "episode__release_on")
             .annotate(n=Count("pk")).order_by())
    for facility_id, shared, protocol_id, start, release_on, n in stays:
        key = (protocol_id, start, release_on)
        if key not in leave_days:
            leave_days[key] = site_leave_day(protocols.phases.get(protocol_id), start, release_on)
        if shared is None:
            leaving[facility_id][leave_days[key]] += n
        else:
            occupants[facility_id][shared].extend([leave_days[key]] * n)

    turning: dict[int, list[dt.date]] = defaultdict(list)
    rooms = (Room.objects.filter(facility_id__in=ids, status__in=[rs.AWAITING_CLEANING, rs.CLEANING])
             .annotate(vacated=Max("events__at", filter=Q(events__to_status=rs.AWAITING_CLEANING)))
             .values_list("facility_id", "status_since", "vacated"))
    for facility_id, since, vacated in rooms:
        turning[facility_id].append(_local_day(vacated or since, today))

    arrivals: dict[int, list[Arrival]] = defaultdict(list)
    transit = (Episode.objects.filter(state=states.IN_TRANSIT, pending_custodian_id__in=list(by_custodian))
               .values_list("pending_custodian_id", "expected_by", "protocol_id", "anchor_date", "placed_on",
                            "release_on"))
    for custodian_id, expected_by, protocol_id, anchor, placed_on, release_on in transit:
        arrivals[by_custodian[custodian_id]].append(Arrival(
            day=_local_day(expected_by, today), leaves_on=_leave_day(protocols, protocol_id, anchor, placed_on,
                                                                     release_on)))

    demand: list[Arrival] = []
    awaiting = 0
    if city is not None:
        groups = (Episode.objects.filter(city=city, state=states.AWAITING)
                  .values_list("category", "protocol_id", "anchor_date").annotate(n=Count("pk")).order_by())
        for category, protocol_id, anchor, n in groups:
            phases = protocols.phases.get(protocol_id or protocols.in_force(category, today))
            if not phases or not centralized_days(phases):
                continue  # home isolation, a hospital case, no protocol: no room at a site
            leaves = site_leave_day(phases, anchor or today, None)
            if leaves is not None and leaves <= today:
                continue  # their centralized days are over: they go straight home
            demand.append(Arrival(day=today, rooms=n, leaves_on=leaves))
            awaiting += n

    inputs = []
    for f in facilities:
        c = counts.get(f.pk, {})
        inputs.append(SiteInput(
            key=f.pk, available=c.get(rs.AVAILABLE, 0), occupied=c.get(rs.OCCUPIED, 0),
            awaiting_cleaning=c.get(rs.AWAITING_CLEANING, 0), cleaning=c.get(rs.CLEANING, 0),
            out_of_service=c.get(rs.OUT_OF_SERVICE, 0), turnaround_hours=f.turnaround_hours,
            takes_people=f.status == FacilityStatus.OPEN, occupants=list(occupants[f.pk].values()),
            rooms_leaving=leaving[f.pk], turning_since=turning[f.pk], arrivals=arrivals[f.pk]))
    population = city.population if city is not None else None
    per_10k = settings.RESERVE_ROOMS_PER_10K
    result = outlook(inputs, today=today, days=days, population=population, reserve_per_10k=per_10k,
                     demand=demand)
    lines = [SiteLine(facility=f, outlook=o, on_the_way=len(arrivals[f.pk]))
             for f, o in zip(facilities, result.sites, strict=True)]
    return CapacityOutlook(
        scope=CITY if city is not None else SITES, city=city, today=today, days=days, reserve_per_10k=per_10k,
        population=population, result=result, sites=lines, awaiting=awaiting,
        on_the_way=sum(line.on_the_way for line in lines))


# --- what the pages, the API and the overview call -----------------------------------------------------------

def capacity_outlook(user, *, days: int = DEFAULT_DAYS, today: dt.date | None = None) -> CapacityOutlook | None:
    """The outlook the user may see (the city's for headquarters, their sites' for site staff); None if refused."""
    scope = capacity_scope(user)
    if scope is None:
        return None
    facilities = list(sites_in_scope(user, scope))
    return gather(facilities, today=today or timezone.localdate(), city=scope.city, days=days)


def site_outlook(facility: Facility, *, days: int = DEFAULT_DAYS, today: dt.date | None = None) -> CapacityOutlook:
    """One site's outlook (no city demand, no reserve). The caller checked the scope (``capacity_facility``)."""
    out = gather([facility], today=today or timezone.localdate(), days=days)
    out.scope = SITE
    return out


@dataclass(frozen=True)
class Headline:
    """The overview's line: the first day the city runs short and by how many rooms (None: enough)."""

    shortfall: tuple[dt.date, int] | None
    days: int
    reserve_known: bool


def capacity_headline(user, *, days: int = DEFAULT_DAYS) -> Headline | None:
    """For headquarters only (None for anyone else): whether and when the city runs short."""
    scope = capacity_scope(user)
    if scope is None or scope.kind != CITY:
        return None
    out = gather(list(sites_in_scope(user, scope)), today=timezone.localdate(), city=scope.city, days=days)
    return Headline(shortfall=out.shortfall, days=days, reserve_known=out.result.reserve_known)


HEADLINE_SECONDS = 60


def capacity_headline_cached(user) -> Headline | None:
    """``capacity_headline`` for the overview page, kept a minute per city: the outlook reads every room
    of the city (about half a second at 45,000 rooms), and the overview is the most visited page."""
    scope = capacity_scope(user)
    if scope is None or scope.kind != CITY:
        return None
    key = f"capacity-headline:{scope.city.pk}:{timezone.localdate():%Y%m%d}"
    headline = cache.get(key)
    if headline is None:
        headline = capacity_headline(user)
        cache.set(key, headline, HEADLINE_SECONDS)
    return headline


def city_shortfall(user) -> tuple[dt.date, int] | None:
    """(first day the city runs short, rooms short) within the next 14 days; None when it never does,
    or when the user is not headquarters."""
    headline = capacity_headline(user)
    return headline.shortfall if headline is not None else None
