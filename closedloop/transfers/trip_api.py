"""JSON API of trips (mounted by transfers.api at ``/api/v1/transfers/trips``).

Reads go through ``trip_selectors`` (a trip outside the caller's reach is 404, like one that does not exist);
the role is checked next (403 without the hand-over capability); bad input is 422 with
``{"detail": [{"field", "message"}]}``; a trip another desk changed first is 409 and nothing is written.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Router

from closedloop.core.roles import Cap
from closedloop.core.scoping import require
from closedloop.people.api import MAX_PAGE_SIZE, NotFound, _whole_number, answers
from closedloop.people.schemas import ErrorOut, FieldErrorsOut, InputError, load, openapi_body
from closedloop.transfers import trip_selectors as sel
from closedloop.transfers.actions.trips import (
    TripConflict,
    shuttle_arrive_home,
    shuttle_board,
    trip_arrive_station,
    trip_board,
    trip_cancel,
    trip_dispatch,
)
from closedloop.transfers.choices import TripState
from closedloop.transfers.trip_schemas import (
    CancelIn,
    DispatchIn,
    HandoverIn,
    HandoverOut,
    HomeIn,
    TripDetailOut,
    TripsPage,
)

router = Router(tags=["trips"])

_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: FieldErrorsOut}
_ACTION_ERRORS = {**_ERRORS, 409: ErrorOut}
_answers = answers(not_found=lambda: _("No such trip."), conflicts=(TripConflict,))


def _trip(user, pk: int):
    try:
        return sel.trip_get(user, pk)
    except Http404:
        raise NotFound(_("No such trip.")) from None


def _detail(user, pk: int):
    """One trip with its passengers, counts and checks (the schema resolves the rest)."""
    trip = _trip(user, pk)
    trip.passengers_now = sel.passengers_of(trip)
    trip.counts = sel.counts(trip.passengers_now)
    trip.checks_now = sel.checks_of(trip)
    return trip


def _acting(request, pk: int, version: int | None):
    trip = _trip(request.user, pk)
    require(request.user, Cap.HANDOVER)
    if version is not None:
        trip.version = version
    return trip


@router.get(
    "",
    response={200: TripsPage, **_ERRORS},
    summary="List trips",
    description="Trips in the caller's reach (the plan's city, a shuttle to the caller's town, or the transfer "
    "station's staff), soonest departure first. ``kind`` coach or shuttle; ``state`` one of "
    f"{', '.join(TripState.values)}; ``day`` a departure day (2022-08-03); ``q`` part of a plate. "
    f"At most {MAX_PAGE_SIZE} a page.",
)
@_answers
def trip_list(request, kind: str = "", state: str = "", day: str = "", q: str = "", page: str = "1",
              page_size: str = ""):
    filters, errors = sel.parse_filters({"kind": kind, "state": state, "day": day, "q": q})
    rows = sel.trip_search(request.user, filters)  # the role is checked before the input
    numbers = {}
    for field, raw, default, maximum in (("page", page, 1, None),
                                         ("page_size", page_size, settings.PAGE_SIZE, MAX_PAGE_SIZE)):
        try:
            numbers[field] = _whole_number(field, raw, default, maximum)
        except InputError as exc:
            errors += exc.errors
    if errors:
        raise InputError(errors)
    number, size = numbers["page"], numbers["page_size"]
    start = (number - 1) * size
    return {"count": rows.count(), "page": number, "page_size": size, "items": list(rows[start:start + size])}


@router.get("/{int:trip_id}", response={200: TripDetailOut, **_ERRORS}, summary="One trip",
            description="With its passengers (where their custody stands now) and every hand-over check.")
@_answers
def trip_detail(request, trip_id: int):
    return _detail(request.user, trip_id)


@router.post(
    "/{int:trip_id}/dispatch",
    response={200: TripDetailOut, **_ACTION_ERRORS},
    summary="Dispatch a trip",
    description="Name the vehicle, the driver and the escorts: planned → boarding; the trip becomes a custodian. "
    "Only a trip of the adopted plan.",
    openapi_extra=openapi_body(DispatchIn),
)
@_answers
def trip_dispatch_api(request, trip_id: int):
    body = load(DispatchIn, request.body or b"{}")
    trip = _acting(request, trip_id, body.version)
    trip_dispatch(trip=trip, plate=body.plate, driver=body.driver, escorts=body.escorts, actor=request.user)
    return _detail(request.user, trip_id)


@router.post(
    "/{int:trip_id}/cancel",
    response={200: TripDetailOut, **_ACTION_ERRORS},
    summary="Cancel a trip that has not left",
    description="Planned or boarding only; whoever was to travel on it stays where they are (left_behind).",
    openapi_extra=openapi_body(CancelIn),
)
@_answers
def trip_cancel_api(request, trip_id: int):
    body = load(CancelIn, request.body or b"{}")
    trip = _acting(request, trip_id, body.version)
    trip_cancel(trip=trip, reason=body.reason, actor=request.user)
    return _detail(request.user, trip_id)


def _handover(request, trip_id: int, action, schema=HandoverIn):
    body = load(schema, request.body or b"{}")
    trip = _acting(request, trip_id, body.version)
    extra = {"passengers": body.passengers} if schema is HomeIn else {}
    result = action(trip=trip, answers=body.answers, trip_answers=body.trip_answers, giver=body.giver,
                    receiver=body.receiver, override_reason=body.override_reason, actor=request.user, **extra)
    return {"stage": result.stage, "handed_over": [p.episode_id for p in result.handed_over],
            "waiting": [p.episode_id for p in result.waiting],
            "left_behind": [p.episode_id for p in result.left_behind], "waived": result.waived,
            "trip": _detail(request.user, trip_id)}


_HANDOVER_DOC = ("Both signatures are required. A failed blocking item of the trip is refused (422, by "
                 "``trip_answers.<item>``) unless headquarters gives ``override_reason``. ")


@router.post(
    "/{int:trip_id}/board",
    response={200: HandoverOut, **_ACTION_ERRORS},
    summary="Board a coach at its origin site",
    description=_HANDOVER_DOC + "Items: temperature and negative_test_24h per person; crew_negative_test_24h, "
    "documents, vehicle_disinfected (recorded only) and the counted half_seats per trip. Whoever fails an item of "
    "their own stays behind with their household (left_behind). boarding → under_way.",
    openapi_extra=openapi_body(HandoverIn),
)
@_answers
def trip_board_api(request, trip_id: int):
    return _handover(request, trip_id, trip_board)


@router.post(
    "/{int:trip_id}/arrive",
    response={200: HandoverOut, **_ACTION_ERRORS},
    summary="Hand a coach's passengers to the transfer station",
    description=_HANDOVER_DOC + "Items: screening per person; documents and headcount per trip. Everyone on board "
    "is handed over; whoever is not screened yet waits in transit (the trip's). under_way → arrived → done once "
    "everyone is received.",
    openapi_extra=openapi_body(HandoverIn),
)
@_answers
def trip_arrive_api(request, trip_id: int):
    return _handover(request, trip_id, trip_arrive_station)


@router.post(
    "/{int:trip_id}/shuttle-board",
    response={200: HandoverOut, **_ACTION_ERRORS},
    summary="Board a shuttle at the transfer station",
    description=_HANDOVER_DOC + "Items per trip: crew_negative_test_24h, headcount, vehicle_disinfected (recorded "
    "only) and the counted shuttle_load. Whoever is not at the station stays behind. boarding → under_way.",
    openapi_extra=openapi_body(HandoverIn),
)
@_answers
def shuttle_board_api(request, trip_id: int):
    return _handover(request, trip_id, shuttle_board)


@router.post(
    "/{int:trip_id}/home",
    response={200: HandoverOut, **_ACTION_ERRORS},
    summary="Hand a shuttle's passengers to their home community",
    description=_HANDOVER_DOC + "``passengers``: who is handed over at this stop. Items: home_notice per person; "
    "documents and headcount per trip. under_way → arrived → done once everyone on board is home.",
    openapi_extra=openapi_body(HomeIn),
)
@_answers
def shuttle_home_api(request, trip_id: int):
    return _handover(request, trip_id, shuttle_arrive_home, HomeIn)

