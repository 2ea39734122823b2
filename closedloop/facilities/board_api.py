"""JSON API of the site board and the check-in desk (mounted by facilities.api under /api/v1/sites).

The conventions of the closed loop's API: reads go through the scoped selectors, so a facility outside
the caller's jurisdictions answers 404 like one that does not exist; a role without the capability is
403; bad input is 422 with ``{"detail": [{"field", "message"}]}``, and so is a check-in the allocation
rules refuse; a room (or a person) another desk changed first is 409, and nothing is written. The board
carries no personal data: rooms, statuses, how many stay and their categories.
"""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router

from closedloop.core.roles import Cap
from closedloop.facilities import board_selectors as sel
from closedloop.facilities.actions import RoomConflict, checkin, room_transition
from closedloop.facilities.actions.rooms import MANUAL_EVENTS
from closedloop.facilities.actions.stays import custody_problem
from closedloop.facilities.allocation import suggest
from closedloop.facilities.board_schemas import (
    BoardOut,
    CheckinIn,
    CheckinOut,
    RoomOut,
    SuggestIn,
    SuggestionOut,
    TransitionIn,
    TurnaroundListOut,
)
from closedloop.facilities.models import Room
from closedloop.people.api import NotFound, answers
from closedloop.people.schemas import ErrorOut, FieldErrorsOut, InputError, load, openapi_body
from closedloop.quarantine.actions import CustodyConflict

router = Router()

_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: FieldErrorsOut}
_ACTION_ERRORS = {**_ERRORS, 409: ErrorOut}


_answers = answers(not_found=lambda: _("No such facility."), conflicts=(RoomConflict, CustodyConflict,))


def _facility(user, pk: int, cap: str):
    try:
        return sel.facility_get(user, pk, cap)
    except Http404:
        raise NotFound(_("No such facility.")) from None


def _room_out(room: Room) -> dict:
    return {"id": room.pk, "building": room.building, "floor": room.floor, "number": room.number,
            "label": room.label, "beds": room.beds, "accessible": room.accessible, "status": room.status,
            "status_since": room.status_since, "version": room.version}


# --- the board ------------------------------------------------------------------------------------

@router.get(
    "/{int:facility_id}/board",
    response={200: BoardOut, **_ERRORS},
    summary="Site board",
    description="The facility's rooms by building and floor with their status, how many people stay in each "
    "and their categories (no personal data), and the rooms counted by status.",
)
@_answers
def board_api(request, facility_id: int):
    facility = _facility(request.user, facility_id, Cap.VIEW_PEOPLE)
    grid = sel.board(facility)
    return {
        "facility": facility.pk, "name": facility.name, "status": facility.status,
        "turnaround_hours": facility.turnaround_hours, "rooms": grid.total, "occupants": grid.occupants,
        "counts": {s: n for s, n in grid.legend},
        "buildings": [{
            "building": b.name,
            "floors": [{
                "floor": f.floor, "categories": f.categories, "free": f.free,
                "rooms": [{"id": c.room.pk, "number": c.room.number, "label": c.room.label, "beds": c.room.beds,
                           "accessible": c.room.accessible, "status": c.room.status, "version": c.room.version,
                           "occupants": c.occupants, "categories": list(c.categories)} for c in f.cells],
            } for f in b.floors],
        } for b in grid.buildings],
    }


# --- the desk ---------------------------------------------------------------------------------------

def _episodes(user, facility, ids: list[int]) -> list:
    found = sel.episodes_for_desk(user, facility, ids)
    missing = sorted(set(ids) - {e.pk for e in found})
    if missing:
        raise InputError.one("episodes", _("No one you may check in here has the episode id(s) %(ids)s.")
                             % {"ids": ", ".join(map(str, missing))})
    return found


@router.post(
    "/{int:facility_id}/suggest",
    response={200: list[SuggestionOut], **_ERRORS},
    summary="Suggest rooms",
    description="For each episode (people on their way to this site, held here, or awaiting placement in the "
    "caller's jurisdictions): the room the allocation engine suggests at this site, or why none was found; "
    "``problem`` says when the person cannot be checked in here now. Nothing is written.",
    openapi_extra=openapi_body(SuggestIn),
)
@_answers
def suggest_api(request, facility_id: int):
    facility = _facility(request.user, facility_id, Cap.CHECK_IN)
    body = load(SuggestIn, request.body or b"{}")
    episodes = _episodes(request.user, facility, body.episodes)
    stays = sel.open_stays_of([e.pk for e in episodes])
    problems = {}
    for e in episodes:
        if e.pk in stays:
            problems[e.pk] = _("Already checked in, in room %(room)s.") % {"room": stays[e.pk].room.label}
        else:
            problems[e.pk] = custody_problem(e, facility)
    ready = [e for e in episodes if not problems[e.pk]]
    found = {s.episode.pk: s for s in suggest(ready, [facility])} if ready else {}
    out = []
    for e in episodes:
        s = found.get(e.pk)
        out.append({"episode": e.pk, "room": _room_out(s.room) if s and s.room else None,
                    "reason": s.reason if s else "", "problem": problems[e.pk]})
    return out


@router.post(
    "/{int:facility_id}/checkin",
    response={200: CheckinOut, **_ACTION_ERRORS},
    summary="Check in",
    description="Take custody of each person (receive the hand-over to this site, or place them here) and put "
    "them in the room given, all or nothing. Each room comes with the ``version`` read: a room changed since "
    "(another desk took it, a cleaner started) is 409. Rooms the allocation rules refuse (not available, "
    "categories mixed on a floor, sharing without the companion rule, too few beds, not accessible) are 422 "
    "with every reason.",
    openapi_extra=openapi_body(CheckinIn),
)
@_answers
def checkin_api(request, facility_id: int):
    facility = _facility(request.user, facility_id, Cap.CHECK_IN)
    body = load(CheckinIn, request.body or b"{}")
    episodes = {e.pk: e for e in _episodes(request.user, facility, [a.episode for a in body.assignments])}
    rooms = Room.objects.filter(facility=facility).in_bulk([a.room for a in body.assignments])
    missing = sorted({a.room for a in body.assignments} - set(rooms))
    if missing:
        raise InputError.one("assignments", _("This site has no room with the id(s) %(ids)s.")
                             % {"ids": ", ".join(map(str, missing))})
    versions: dict[int, set[int]] = {}
    for a in body.assignments:
        versions.setdefault(a.room, set()).add(a.version)
    for room_id, seen in versions.items():
        if len(seen) > 1:
            raise InputError.one("assignments", _("Room %(room)s is given twice with different versions.")
                                 % {"room": rooms[room_id].label})
        rooms[room_id].version = seen.pop()  # as the caller read it: a room changed since is refused
    done = checkin(facility=facility, assignments=[(episodes[a.episode], rooms[a.room]) for a in body.assignments],
                   actor=request.user, signed_by=body.signed_by.strip())
    now = Room.objects.in_bulk([s.room_id for s in done.stays])
    return {"stays": [{"id": s.pk, "episode": s.episode_id, "room": _room_out(now[s.room_id]),
                       "checked_in_at": s.checked_in_at, "card": reverse("sites:card", args=[s.pk])}
                      for s in done.stays]}


# --- rooms and the turnaround list --------------------------------------------------------------------

@router.post(
    "/rooms/{int:room_id}/transition",
    response={200: RoomOut, **_ACTION_ERRORS},
    summary="Change a room's status",
    description="Cleaning started (``clean_start``) or done (``clean_done``), out of service with a note "
    "(``take_out``), back in service (``bring_back``, then it awaits cleaning). Assigning and vacating are "
    "check-in's and check-out's. With ``version``, the room must still be at it (409 otherwise).",
    openapi_extra=openapi_body(TransitionIn),
)
@_answers
def transition_api(request, room_id: int):
    try:
        room = sel.room_get(request.user, room_id, Cap.CLEAN_ROOMS)
    except Http404:
        raise NotFound(_("No such room.")) from None
    body = load(TransitionIn, request.body or b"{}")
    if body.event not in MANUAL_EVENTS:
        raise InputError.one("event", _("Use one of: %(choices)s.") % {"choices": ", ".join(sorted(MANUAL_EVENTS))})
    if body.version is not None:
        room.version = body.version
    return _room_out(room_transition(room=room, event=body.event, actor=request.user, note=body.note.strip()))


@router.get(
    "/{int:facility_id}/turnaround",
    response={200: TurnaroundListOut, **_ERRORS},
    summary="Rooms to clean",
    description="Rooms awaiting cleaning or being cleaned, the longest waiting first, with the hours since each "
    "began to wait and whether that is over the site's turnaround time.",
)
@_answers
def turnaround_api(request, facility_id: int):
    facility = _facility(request.user, facility_id, Cap.CLEAN_ROOMS)
    rows = sel.turnaround(facility, timezone.now())
    return {"turnaround_hours": facility.turnaround_hours, "items": [
        {"room": _room_out(t.room), "waiting_since": t.since, "hours_waiting": t.hours, "overdue": t.overdue}
        for t in rows]}
