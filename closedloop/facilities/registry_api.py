"""The facility registry's JSON API, mounted at ``/api/v1/sites`` (by facilities.api).

The conventions of the closed loop's API (``closedloop.quarantine.api``):
token or session authentication; every read goes through
``facilities_visible``, so a facility outside the caller's scope is 404 like
one that does not exist; bad input and an action's refusal are 422 with
``{"detail": [{"field", "message"}]}``; a role without the capability is 403.
Each write calls one action of ``closedloop.facilities.actions``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _
from ninja import Router, Status

from closedloop.core.models import Jurisdiction
from closedloop.core.roles import Cap
from closedloop.core.scoping import jurisdictions_visible, require
from closedloop.facilities import actions
from closedloop.facilities.choices import FacilityKind, FacilityStatus, RoomStatus
from closedloop.facilities.models import Facility, Room
from closedloop.facilities.registry_forms import REASON_NEEDED, clean_contact_phone, user_city
from closedloop.facilities.schemas import (
    BulkRoomsIn,
    BulkRoomsOut,
    FacilitiesPage,
    FacilityDetailOut,
    FacilityIn,
    RoomsPage,
    StatusIn,
)
from closedloop.facilities.selectors import facilities_visible, room_counts
from closedloop.people.api import MAX_PAGE_SIZE, NotFound, answers
from closedloop.people.schemas import ErrorOut, FieldErrorsOut, InputError, load, openapi_body
from closedloop.quarantine.api import _page

router = Router(tags=["sites"])

_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: FieldErrorsOut}


_answers = answers(not_found=lambda: _("No such facility."))


def _counts(counts: dict[str, int]) -> dict[str, int]:
    out = {status: counts.get(status, 0) for status in RoomStatus.values}
    out["total"] = sum(counts.values())
    return out


def _with_counts(facilities: list[Facility]) -> list[Facility]:
    counts = room_counts([f.pk for f in facilities])
    for facility in facilities:
        facility.room_counts = _counts(counts.get(facility.pk, {}))
    return facilities


def _visible(user):
    """The caller's facilities as a plain filter (the scope's join on staff accounts multiplies nothing)."""
    return Facility.objects.filter(pk__in=facilities_visible(user).values("pk"))


def _facility(user, facility_id: int) -> Facility:
    facility = _visible(user).select_related("jurisdiction", "city").filter(pk=facility_id).first()
    if facility is None:
        raise NotFound(_("No such facility."))
    return facility


def _detail(user, facility_id: int) -> Facility:
    return _with_counts([_facility(user, facility_id)])[0]


def _choice(errors: list, field: str, value: str, choices: list[str]) -> str:
    value = value.strip()
    if value and value not in choices:
        errors.append({"field": field, "message": _("Use one of: %(choices)s.") % {"choices": ", ".join(choices)}})
    return value


def _town(user, field: str, code: str) -> Jurisdiction | None:
    """A town or street of the caller's scope by code, or a 422 on ``field``."""
    code = code.strip()
    if not code:
        return None
    town = jurisdictions_visible(user).filter(code=code, level=Jurisdiction.Level.TOWN).first()
    if town is None:
        raise InputError.one(field, _("No town or street of your jurisdiction has the code %(code)s.")
                             % {"code": code})
    return town


# --- facilities ---------------------------------------------------------------------------------

@router.get(
    "",
    response={200: FacilitiesPage, **_ERRORS},
    summary="List facilities",
    description="The facilities in the caller's scope, by name, each with its rooms by status. ``kind`` one of "
    f"{', '.join(FacilityKind.values)}; ``status`` one of {', '.join(FacilityStatus.values)}; ``town`` the code of "
    f"a town or street; ``q`` part of a name, code or address. At most {MAX_PAGE_SIZE} a page.",
)
@_answers
def facilities_list(request, kind: str = "", status: str = "", town: str = "", q: str = "", page: str = "1",
                    page_size: str = ""):
    rows = _visible(request.user).select_related("jurisdiction").order_by("name", "pk")
    errors: list[dict] = []
    if kind := _choice(errors, "kind", kind, FacilityKind.values):
        rows = rows.filter(kind=kind)
    if status := _choice(errors, "status", status, FacilityStatus.values):
        rows = rows.filter(status=status)
    if town.strip():
        found = Jurisdiction.objects.filter(code=town.strip(), level=Jurisdiction.Level.TOWN).first()
        if found is None:
            errors.append({"field": "town", "message": _("No town or street has the code %(code)s.")
                           % {"code": town.strip()}})
        rows = rows.filter(jurisdiction=found)
    if q.strip():
        text = q.strip()
        rows = rows.filter(Q(name__icontains=text) | Q(code__icontains=text) | Q(address__icontains=text))
    result = _page(rows, page, page_size, errors)
    _with_counts(result["items"])
    return result


@router.get("/{int:facility_id}", response={200: FacilityDetailOut, **_ERRORS}, summary="One facility",
            description="The facility's registry data and settings, with its rooms by status.")
@_answers
def facility_detail(request, facility_id: int):
    return _detail(request.user, facility_id)


@router.post(
    "",
    response={201: FacilityDetailOut, **_ERRORS},
    summary="Register a facility",
    description="Headquarters only (manage_facilities). The town by code, from the caller's scope; without one "
    "the facility belongs to the caller's city (the transfer station, a site in another city: then "
    "``other_city`` is required). The facility answers in the custody ledger through a custodian made with it.",
    openapi_extra=openapi_body(FacilityIn),
)
@_answers
def facility_register(request):
    user = request.user
    require(user, Cap.MANAGE_FACILITIES)
    body = load(FacilityIn, request.body or b"{}")
    errors: list[dict] = []
    _choice(errors, "kind", body.kind, FacilityKind.values)
    _choice(errors, "status", body.status, FacilityStatus.values)
    town = None
    try:
        town = _town(user, "town", body.town)
    except InputError as exc:
        errors += exc.errors
    try:
        phone = clean_contact_phone(body.contact_phone)
    except ValidationError as exc:
        errors.append({"field": "contact_phone", "message": exc.messages[0]})
    if errors:
        raise InputError(errors)
    city = Jurisdiction.objects.get(pk=town.city_id) if town is not None and town.city_id else user_city(user)
    if city is None:
        raise InputError.one(None, _("Your account belongs to no city; ask an administrator."))
    facility = actions.facility_create(
        kind=body.kind, name=body.name, code=body.code, city=city, jurisdiction=town, status=body.status,
        other_city=body.other_city.strip(), address=body.address.strip(), contact_name=body.contact_name.strip(),
        contact_phone=phone, turnaround_hours=body.turnaround_hours, allow_companions=body.allow_companions,
        staff_test_every_days=body.staff_test_every_days, latitude=body.latitude, longitude=body.longitude,
        actor=user)
    return Status(201, _detail(user, facility.pk))


@router.post(
    "/{int:facility_id}/status",
    response={200: FacilityDetailOut, **_ERRORS},
    summary="Open, pause or close a facility",
    description="Headquarters only. A paused or closed facility takes nobody in; pausing and closing need a "
    "``reason``; a facility is closed only when nobody stays there.",
    openapi_extra=openapi_body(StatusIn),
)
@_answers
def facility_status(request, facility_id: int):
    user = request.user
    facility = _facility(user, facility_id)
    require(user, Cap.MANAGE_FACILITIES)
    body = load(StatusIn, request.body or b"{}")
    errors: list[dict] = []
    status = _choice(errors, "status", body.status, FacilityStatus.values)
    if not status and not errors:
        errors.append({"field": "status", "message": _("This field is required.")})
    if status in REASON_NEEDED and not body.reason.strip():
        errors.append({"field": "reason", "message": _("Say why the site is paused or closed.")})
    if errors:
        raise InputError(errors)
    actions.facility_set_status(facility=facility, status=status, reason=body.reason.strip(), actor=user)
    return _detail(user, facility_id)


# --- rooms --------------------------------------------------------------------------------------

@router.get(
    "/{int:facility_id}/rooms",
    response={200: RoomsPage, **_ERRORS},
    summary="A facility's rooms",
    description="By building, floor and position along the corridor. ``status`` one of "
    f"{', '.join(RoomStatus.values)}; ``floor`` a number; ``building`` as registered (empty: all). "
    f"At most {MAX_PAGE_SIZE} a page.",
)
@_answers
def rooms_list(request, facility_id: int, status: str = "", floor: str = "", building: str = "", page: str = "1",
               page_size: str = ""):
    facility = _facility(request.user, facility_id)
    rows = Room.objects.filter(facility=facility).order_by("building", "floor", "order", "number", "pk")
    errors: list[dict] = []
    if status := _choice(errors, "status", status, RoomStatus.values):
        rows = rows.filter(status=status)
    if floor.strip():
        text = floor.strip()
        if not text.lstrip("-").isdigit():
            errors.append({"field": "floor", "message": _("Write the floor as a whole number, like 3 or -1.")})
        else:
            rows = rows.filter(floor=int(text))
    if building.strip():
        rows = rows.filter(building=building.strip())
    return _page(rows, page, page_size, errors)


@router.post(
    "/{int:facility_id}/rooms/bulk",
    response={201: BulkRoomsOut, **_ERRORS},
    summary="Make rooms in bulk",
    description="Every room of a range of floors (floors 3–12, rooms 1–30 make 301 … 1230), with the beds of each "
    "and the room numbers on each floor that are accessible. Rooms that exist already are left as they are and "
    "named in ``skipped``. Headquarters only.",
    openapi_extra=openapi_body(BulkRoomsIn),
)
@_answers
def rooms_bulk(request, facility_id: int):
    user = request.user
    facility = _facility(user, facility_id)
    require(user, Cap.MANAGE_FACILITIES)
    body = load(BulkRoomsIn, request.body or b"{}")
    bad = [n for n in body.accessible_rooms if not 0 <= n <= 99]
    if bad:
        raise InputError.one("accessible_rooms", _("“%(value)s” is not a room number on a floor (01 to 99).")
                             % {"value": bad[0]})
    result = actions.rooms_bulk_create(
        facility=facility, building=body.building, floor_from=body.floor_from, floor_to=body.floor_to,
        room_from=body.room_from, room_to=body.room_to, beds=body.beds,
        accessible_rooms=frozenset(body.accessible_rooms), actor=user)
    counts = _counts(room_counts([facility.pk]).get(facility.pk, {}))
    return Status(201, {"created": result.created, "skipped": result.skipped, "rooms": counts})
