"""JSON API of the capacity outlook: ``/api/v1/sites/capacity`` (mounted by facilities.api).

Who sees what is ``facilities.capacity.capacity_scope``: headquarters the city's sites, demand and
reserve; site staff their own sites; anyone else 403. A site outside the caller's outlook is 404 like
one that does not exist. ``days`` (1–60, 14 when omitted) is the horizon; a bad value is 422.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import Field

from closedloop.facilities import capacity as cap
from closedloop.people.api import answers
from closedloop.people.schemas import ErrorOut, FieldErrorsOut, InputError
from closedloop.planning.capacity import DEFAULT_DAYS, Day, RoomsNow

MAX_DAYS = 60

router = Router()

_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: FieldErrorsOut}


# --- shapes ------------------------------------------------------------------------------------------------

class RoomsNowOut(Schema):
    available: int = Field(description="Free and clean (at sites taking people, for the city).")
    occupied: int
    awaiting_cleaning: int
    cleaning: int
    out_of_service: int
    total: int


class DayOut(Schema):
    day: date
    available: int = Field(description="Free and clean at the start of the day (rooms back from turnaround "
                                       "included).")
    occupied: int = Field(description="Occupied at the end of the day.")
    turning: int = Field(description="Awaiting cleaning or being cleaned at the end of the day.")
    arrivals: int = Field(description="Rooms the day's arrivals take.")
    releases: int = Field(description="Rooms freed that day; they turn around before reuse.")
    free_after: int = Field(description="Free rooms after the day's arrivals; below zero, people with no room.")
    required: int = Field(description="Rooms to keep free (the reserve norm; 0 for a single site).")
    short_by: int = Field(description="max(0, required - free_after).")


class SiteSummaryOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    status: str
    takes_people: bool = Field(description="Only an open site's free rooms count.")
    turnaround_hours: int
    rooms_now: RoomsNowOut
    on_the_way: int = Field(description="People in transit to the site.")
    first_short_day: date | None = Field(description="The first day its arrivals outnumber its free rooms.")
    short_by: int | None


class CityOut(Schema):
    id: int
    code: str
    name: str


class CapacityOut(Schema):
    scope: str = Field(description="city (headquarters: every site of the city, its demand and reserve) or "
                                   "sites (site staff: their own sites).")
    city: CityOut | None
    today: date
    days: int
    reserve_per_10k: int = Field(description="The reserve norm: rooms per 10,000 residents.")
    population: int | None = Field(description="The city's resident population; null when not recorded.")
    reserve_required: int
    reserve_known: bool = Field(description="False when the population is unknown (the reserve is then 0).")
    first_short_day: date | None = Field(description="The first day the city (or your sites) runs short.")
    short_by: int | None = Field(description="Rooms short on that day.")
    rooms_now: RoomsNowOut
    idle: int = Field(description="Free rooms at sites that take no one (paused, preparing, closed): not counted.")
    awaiting_placement: int = Field(description="People awaiting placement counted as city demand.")
    on_the_way: int
    outlook: list[DayOut]
    sites: list[SiteSummaryOut]


class SiteCapacityOut(Schema):
    site: SiteSummaryOut
    today: date
    days: int
    outlook: list[DayOut]


# --- helpers -----------------------------------------------------------------------------------------------

_answers = answers(not_found=lambda: _("No such site."))


def parse_days(raw: str) -> int:
    raw = (raw or "").strip()
    if not raw:
        return DEFAULT_DAYS
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        raise InputError.one("days", _("Write a whole number of days from 1 to %(max)s.") % {"max": MAX_DAYS})
    return int(raw)


def _now(now: RoomsNow) -> dict:
    return {"available": now.available, "occupied": now.occupied, "awaiting_cleaning": now.awaiting_cleaning,
            "cleaning": now.cleaning, "out_of_service": now.out_of_service, "total": now.total}


def _days(rows: tuple[Day, ...]) -> list[dict]:
    return [asdict(d) for d in rows]


def _site(line: cap.SiteLine) -> dict:
    f, first = line.facility, line.first_short
    return {"id": f.pk, "code": f.code, "name": f.name, "kind": f.kind, "status": f.status,
            "takes_people": line.outlook.takes_people, "turnaround_hours": f.turnaround_hours,
            "rooms_now": _now(line.outlook.now), "on_the_way": line.on_the_way,
            "first_short_day": first.day if first else None, "short_by": first.short_by if first else None}


# --- endpoints ---------------------------------------------------------------------------------------------

@router.get(
    "",
    response={200: CapacityOut, **_ERRORS},
    summary="Capacity outlook",
    description="Rooms by status now and day by day for ``days`` days (14 when omitted, at most 60) from the "
    "schedules: releases free rooms, expected arrivals take them, turnaround delays them; against the reserve "
    "norm (rooms per 10,000 residents). Headquarters get the city (its sites, the people awaiting placement, "
    "the reserve and the first day the city runs short); site staff their own sites.",
)
@_answers
def capacity_city(request, days: str = ""):
    horizon = parse_days(days)
    out = cap.capacity_outlook(request.user, days=horizon)
    if out is None:
        raise PermissionDenied(_("Only headquarters and site staff see the capacity outlook."))
    first = out.result.first_short
    city = out.city
    return {
        "scope": out.scope, "city": {"id": city.pk, "code": city.code, "name": city.label} if city else None,
        "today": out.today, "days": out.days, "reserve_per_10k": out.reserve_per_10k, "population": out.population,
        "reserve_required": out.result.required, "reserve_known": out.result.reserve_known,
        "first_short_day": first.day if first else None, "short_by": first.short_by if first else None,
        "rooms_now": _now(out.result.city_now), "idle": out.result.idle, "awaiting_placement": out.awaiting,
        "on_the_way": out.on_the_way, "outlook": _days(out.result.city), "sites": [_site(s) for s in out.sites],
    }


@router.get(
    "/{int:facility_id}",
    response={200: SiteCapacityOut, **_ERRORS},
    summary="A site's capacity outlook",
    description="One site's rooms now and day by day (no city demand, no reserve: a site is short when its "
    "arrivals outnumber its free rooms).",
)
@_answers
def capacity_site(request, facility_id: int, days: str = ""):
    horizon = parse_days(days)
    if cap.capacity_scope(request.user) is None:
        raise PermissionDenied(_("Only headquarters and site staff see the capacity outlook."))
    facility = cap.capacity_facility(request.user, facility_id)
    out = cap.site_outlook(facility, days=horizon)
    line = out.sites[0]
    return {"site": _site(line), "today": out.today, "days": out.days, "outlook": _days(line.outlook.days)}
