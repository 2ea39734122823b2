"""Reads of trips: who may see which trip, the trip list with its filters, one trip with its passengers
and checks, who waits for a trip's next hand-over.

Scope (``trips_visible`` and its one-row twin ``trip_in_reach``): a trip is in a user's reach when its
plan's city is one of the user's jurisdictions (headquarters, the transfer desk), when it is a shuttle to
the user's town or to the town of the user's community (the town receives its people), or when the user is
staff of the city's transfer station (every trip passes through it). Anything else is 404, like a trip that
does not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from closedloop.core.models import Jurisdiction
from closedloop.core.roles import Cap
from closedloop.core.scoping import require, user_jurisdictions
from closedloop.transfers import trip_states as ts
from closedloop.transfers.choices import PassengerStatus, TripKind, TripState
from closedloop.transfers.models import Fleet, HandoverCheck, Passenger, Trip

SEARCH_MAX = 20
ROW_RELATED = ("plan", "origin", "town", "custodian")


# --- scope ---------------------------------------------------------------------------------------

def _scope(user) -> tuple[list[int], list[int]]:
    """(cities, towns) of the user's jurisdictions; a community counts as its town (shuttles go to towns)."""
    cities, towns = [], []
    for j in user_jurisdictions(user):
        if j.level == Jurisdiction.Level.CITY:
            cities.append(j.pk)
        elif j.level == Jurisdiction.Level.TOWN:
            towns.append(j.pk)
        elif j.parent_id:
            towns.append(j.parent_id)
    return cities, towns


def _trip_q(user) -> Q:
    cities, towns = _scope(user)
    station_cities = Fleet.objects.filter(station__members=user).values("city_id")
    return (Q(plan__city_id__in=cities) | Q(kind=TripKind.SHUTTLE, town_id__in=towns)
            | Q(plan__city_id__in=station_cities))


def trips_visible(user) -> QuerySet[Trip]:
    require(user, Cap.VIEW_PEOPLE)
    return Trip.objects.filter(_trip_q(user))


def trip_in_reach(user, trip: Trip) -> bool:
    """The Python twin of ``trips_visible`` for one trip."""
    if not user.is_authenticated:
        return False
    cities, towns = _scope(user)
    city_id = trip.plan.city_id
    if city_id in cities or (trip.kind == TripKind.SHUTTLE and trip.town_id in towns):
        return True
    return Fleet.objects.filter(city_id=city_id, station__members=user).exists()


def trip_get(user, pk) -> Trip:
    """One trip in the user's reach, or 404 (also when it does not exist)."""
    trip = trips_visible(user).select_related(*ROW_RELATED, "plan__city", "custodian__jurisdiction").filter(
        pk=pk).first()
    if trip is None:
        raise Http404
    return trip


# --- the list ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TripFilters:
    kind: str = ""
    state: str = ""
    day: dt.date | None = None
    q: str = ""

    @property
    def narrowed(self) -> bool:
        return bool(self.kind or self.state or self.day or self.q)


def parse_filters(params) -> tuple[TripFilters, list[dict]]:
    """Filters from a query string; what cannot be read is dropped and reported as ``{"field", "message"}``."""
    errors: list[dict] = []
    kind = (params.get("kind") or "").strip()
    if kind and kind not in TripKind.values:
        errors.append({"field": "kind", "message": _("Choose coach or shuttle.")})
        kind = ""
    state = (params.get("state") or "").strip()
    if state and state not in TripState.values:
        errors.append({"field": "state", "message": _("Choose one of the trip states.")})
        state = ""
    day = None
    raw_day = (params.get("day") or "").strip()
    if raw_day:
        try:
            day = dt.date.fromisoformat(raw_day)
        except ValueError:
            errors.append({"field": "day", "message": _("Write the date like 2022-08-03.")})
    q = (params.get("q") or "").strip()[:SEARCH_MAX]
    return TripFilters(kind=kind, state=state, day=day, q=q), errors


def trip_search(user, filters: TripFilters) -> QuerySet[Trip]:
    """Trips in reach, soonest departure first, each with its passengers counted by status."""
    rows = trips_visible(user)
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.state:
        rows = rows.filter(state=filters.state)
    if filters.day:
        start = timezone.make_aware(dt.datetime.combine(filters.day, dt.time.min))
        rows = rows.filter(depart_at__gte=start, depart_at__lt=start + dt.timedelta(days=1))
    if filters.q:
        plate = filters.q.replace(" ", "")
        rows = rows.filter(plate__icontains=plate)
    return rows.select_related(*ROW_RELATED).annotate(
        people=Count("passengers", filter=~Q(passengers__status=PassengerStatus.LEFT_BEHIND)),
        left_behind=Count("passengers", filter=Q(passengers__status=PassengerStatus.LEFT_BEHIND)),
        delivered=Count("passengers", filter=Q(passengers__status=PassengerStatus.DELIVERED)),
    ).order_by("depart_at", "kind", "vehicle", "pk")


def is_late(trip: Trip, now: dt.datetime) -> bool:
    """Under way past its arrival time: someone should call the escorts."""
    return trip.state == TripState.UNDER_WAY and trip.arrive_at < now


def mark_late(trips, now: dt.datetime):
    trips = list(trips)
    for trip in trips:
        trip.late = is_late(trip, now)
    return trips


# --- one trip ------------------------------------------------------------------------------------

def passengers_of(trip: Trip) -> list[Passenger]:
    """The trip's passengers with their person and where their custody stands, by group."""
    return list(
        Passenger.objects.filter(trip=trip)
        .select_related("episode__person", "episode__custodian", "episode__pending_custodian")
        .order_by("group", "pk")
    )


def counts(passengers: list[Passenger]) -> dict[str, int]:
    out = {status: 0 for status in PassengerStatus.values}
    for p in passengers:
        out[p.status] += 1
    out["all"] = len(passengers)
    out["on_the_list"] = len(passengers) - out[PassengerStatus.LEFT_BEHIND]
    return out


def checks_of(trip: Trip) -> list[HandoverCheck]:
    return list(HandoverCheck.objects.filter(trip=trip).select_related("episode__person", "actor")
                .order_by("at", "pk"))


def waiting_for(stage: str, passengers: list[Passenger]) -> list[Passenger]:
    """Who the next hand-over of a trip is about: not yet on board at a boarding, on board at an arrival."""
    wanted = PassengerStatus.PLANNED if stage in ts.STAYS_BEHIND else PassengerStatus.BOARDED
    return [p for p in passengers if p.status == wanted]
