"""Rooms: made in bulk or one by one, and moved through their life (room_states) with a compare-and-swap."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from closedloop.core.audit import audit_record
from closedloop.core.roles import Cap
from closedloop.facilities import room_states as rs
from closedloop.facilities.models import Facility, Room, RoomEvent

MAX_BULK_ROOMS = 5000


class RoomConflict(ValidationError):
    """The room changed under the desk (another desk took it, a cleaner finished); nothing was written."""


def corridor_order(number: str) -> int:
    """Position along the corridor from the room number: its last digits (1203 → 3), else 0."""
    digits = re.findall(r"\d+", number)
    if not digits:
        return 0
    tail = digits[-1]
    return int(tail[-2:]) if len(tail) > 2 else int(tail)


def may_manage_rooms(actor, facility: Facility) -> None:
    from closedloop.facilities.selectors import facility_in_scope

    if actor is None:
        return
    if not actor.can(Cap.MANAGE_FACILITIES):
        raise PermissionDenied(_("Only headquarters may register facilities and their rooms."))
    if not facility_in_scope(actor, facility):
        raise PermissionDenied(_("This facility is outside your jurisdiction."))


def _valid_room(facility: Facility, building: str, floor: int, number: str, beds: int) -> None:
    if not number.strip():
        raise ValidationError({"number": _("Give the room number.")})
    if not -5 <= floor <= 200:
        raise ValidationError({"floor": _("The floor must be between -5 and 200.")})
    if not 1 <= beds <= 8:
        raise ValidationError({"beds": _("A room has between 1 and 8 beds.")})


@transaction.atomic
def room_create(*, facility: Facility, floor: int, number: str, actor, building: str = "", beds: int = 1,
                accessible: bool = False, note: str = "") -> Room:
    may_manage_rooms(actor, facility)
    building, number = building.strip(), number.strip()
    _valid_room(facility, building, floor, number, beds)
    if Room.objects.filter(facility=facility, building=building, number=number).exists():
        raise ValidationError({"number": _("This room already exists in this building.")})
    room = Room.objects.create(facility=facility, building=building, floor=floor, number=number, beds=beds,
                               accessible=accessible, note=note, order=corridor_order(number))
    audit_record(actor=actor, action="room.create", target=room, after={"facility": facility.pk, "beds": beds})
    return room


@dataclass
class BulkRooms:
    created: int
    skipped: list[str]  # numbers that already existed


def bulk_numbers(floor_from: int, floor_to: int, room_from: int, room_to: int) -> list[tuple[int, str]]:
    """ "floors 3–12, rooms 01–30" → (3, "301") … (12, "1230")."""
    if floor_from > floor_to:
        raise ValidationError({"floor_to": _("The last floor comes before the first.")})
    if room_from > room_to:
        raise ValidationError({"room_to": _("The last room comes before the first.")})
    if not (0 <= room_from and room_to <= 99):
        raise ValidationError({"room_to": _("Room numbers on a floor run from 01 to 99.")})
    count = (floor_to - floor_from + 1) * (room_to - room_from + 1)
    if count > MAX_BULK_ROOMS:
        raise ValidationError(_("That is %(count)s rooms; make at most %(max)s at once.")
                              % {"count": count, "max": MAX_BULK_ROOMS})
    return [(f, f"{f}{r:02d}") for f in range(floor_from, floor_to + 1) for r in range(room_from, room_to + 1)]


@transaction.atomic
def rooms_bulk_create(*, facility: Facility, floor_from: int, floor_to: int, room_from: int, room_to: int, actor,
                      building: str = "", beds: int = 1, accessible_rooms: frozenset[int] = frozenset()) -> BulkRooms:
    """Make every room of a range of floors; rooms that exist already are left as they are and named."""
    may_manage_rooms(actor, facility)
    # Desks adding rooms to one site take turns (the room import takes the same lock).
    Facility.objects.select_for_update().filter(pk=facility.pk).first()
    building = building.strip()
    wanted = bulk_numbers(floor_from, floor_to, room_from, room_to)
    _valid_room(facility, building, floor_from, wanted[0][1], beds)
    _valid_room(facility, building, floor_to, wanted[-1][1], beds)
    existing = set(Room.objects.filter(facility=facility, building=building).values_list("number", flat=True))
    new = [Room(facility=facility, building=building, floor=f, number=n, beds=beds, order=corridor_order(n),
                accessible=corridor_order(n) in accessible_rooms) for f, n in wanted if n not in existing]
    Room.objects.bulk_create(new, batch_size=1000)
    skipped = [n for _f, n in wanted if n in existing]
    audit_record(actor=actor, action="room.bulk_create", target=facility,
                 after={"building": building, "floors": [floor_from, floor_to], "rooms": [room_from, room_to],
                        "created": len(new), "skipped": len(skipped)})
    return BulkRooms(created=len(new), skipped=skipped)


def move_room(room: Room, event: str, *, actor, note: str = "", at=None) -> Room:
    """The one writer of a room's status: one event, compare-and-swap on version, one RoomEvent row.

    Call inside a transaction. Raises RoomConflict when the room is not in a
    state the event may follow, or changed since it was read.
    """
    current = Room.objects.get(pk=room.pk)
    if current.version != room.version or not rs.can_transition(current.status, event):
        raise RoomConflict(_("Room %(room)s is %(status)s now; reload and choose again.")
                           % {"room": current.label, "status": current.get_status_display()})
    to = rs.next_state(current.status, event)
    at = at or timezone.now()
    won = Room.objects.filter(pk=current.pk, version=current.version, status=current.status).update(
        status=to, version=current.version + 1, status_since=at)
    if not won:
        raise RoomConflict(_("Another desk changed room %(room)s at the same moment; reload and choose again.")
                           % {"room": current.label})
    RoomEvent.objects.create(room=current, kind=event, from_status=current.status, to_status=to, at=at,
                             actor=actor if getattr(actor, "pk", None) else None, note=note[:200])
    current.status, current.version, current.status_since = to, current.version + 1, at
    room.status, room.version, room.status_since = current.status, current.version, at
    return current


# Room events a cleaner or site staff may record by hand; assign and vacate follow check-in and check-out.
MANUAL_EVENTS = {rs.CLEAN_START, rs.CLEAN_DONE, rs.TAKE_OUT, rs.BRING_BACK}


@transaction.atomic
def room_transition(*, room: Room, event: str, actor, note: str = "") -> Room:
    """Cleaning started or done, out of service and back: by site staff, for the rooms of their facility."""
    from closedloop.facilities.selectors import facility_in_scope

    if event not in MANUAL_EVENTS:
        raise ValidationError(_("Rooms are assigned and vacated by check-in and check-out."))
    if actor is not None:
        if not actor.can(Cap.CLEAN_ROOMS):
            raise PermissionDenied(_("Your role may not change the status of rooms."))
        if not facility_in_scope(actor, room.facility):
            raise PermissionDenied(_("This facility is outside your jurisdiction."))
    if event == rs.TAKE_OUT and not note.strip():
        raise ValidationError({"note": _("Say why the room is taken out of service.")})
    before = room.status
    room = move_room(room, event, actor=actor, note=note)
    audit_record(actor=actor, action=f"room.{event}", target=room, before={"status": before},
                 after={"status": room.status}, reason=note)
    return room
