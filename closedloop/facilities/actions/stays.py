"""Check-in and check-out: custody and rooms move together, or nothing moves.

Check-in takes custody (the receiving side of a hand-over, or the first
placement) and assigns rooms with a compare-and-swap on each room, so two desks
giving away the last free room cannot both win. Check-out is a hand-over or a
release; whichever path a person leaves by, ``stay_close_on_custody_change``
(told by the custody ledger) closes the stay and, when the room is empty, sends
it to terminal disinfection.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from closedloop.core.audit import audit_record
from closedloop.core.roles import Cap
from closedloop.facilities import room_states as rs
from closedloop.facilities.actions.rooms import RoomConflict, move_room
from closedloop.facilities.choices import FacilityStatus
from closedloop.facilities.models import Facility, Room, Stay
from closedloop.quarantine import states
from closedloop.quarantine.actions import episode_place, episode_release, handover_give, handover_receive
from closedloop.quarantine.models import Custodian, Episode

# Custody events after which the person is no longer in the room.
LEAVING_EVENTS = {states.GIVE, states.RELEASE, states.BECOME_CASE, states.CLOSE}


@dataclass
class CheckIn:
    facility: Facility
    stays: list[Stay]


def may_check_in(actor, facility: Facility) -> None:
    from closedloop.facilities.selectors import facility_in_scope

    if actor is None:
        return
    if not actor.can(Cap.CHECK_IN):
        raise PermissionDenied(_("Your role may not check people in or out."))
    if not facility_in_scope(actor, facility):
        raise PermissionDenied(_("This facility is outside your jurisdiction."))


def custody_problem(episode: Episode, facility: Facility) -> str:
    """Why the site cannot take this person now ("" when it can): only a person on their way to it, one
    awaiting placement, or one it already holds without a room can be checked in."""
    mine = facility.custodian_id
    if episode.state == states.IN_TRANSIT and episode.pending_custodian_id == mine:
        return ""
    if episode.state == states.AWAITING:
        return ""
    if episode.state == states.IN_CUSTODY and episode.custodian_id == mine:
        return ""
    if episode.state not in states.OPEN_STATES:
        return _("%(name)s is no longer under control (%(state)s).") % {
            "name": episode.person.name, "state": episode.get_state_display()}
    holder = episode.pending_custodian if episode.state == states.IN_TRANSIT else episode.custodian
    return (_("%(name)s is not on the way to this site (custodian: %(holder)s). They must be handed over to it "
              "first.") % {"name": episode.person.name, "holder": holder or "—"})


def _take_custody(episode: Episode, facility: Facility, actor, signed_by: str) -> Episode:
    """The site becomes the custodian: receive a hand-over to it, or place the person here first."""
    episode = Episode.objects.select_related("person", "custodian", "pending_custodian").get(pk=episode.pk)
    problem = custody_problem(episode, facility)
    if problem:
        raise ValidationError(problem)
    if episode.state == states.IN_TRANSIT:
        return handover_receive(episode=episode, actor=actor, signed_by=signed_by)
    if episode.state == states.AWAITING:
        return episode_place(episode=episode, custodian=facility.custodian, actor=actor, signed_by=signed_by)
    return episode  # already ours (e.g. a refused hand-over came back): a room is all it needs


def _rule_violations(facility: Facility, groups: dict[int, list[Episode]], rooms: dict[int, Room]) -> list[str]:
    """The allocation rules (planning.room_rules) on the rooms chosen, with the floors as they stand."""
    from closedloop.facilities.allocation import check_manual_choice

    return check_manual_choice(facility, groups, rooms)


@transaction.atomic
def checkin(*, facility: Facility, assignments: list[tuple[Episode, Room]], actor, signed_by: str = "") -> CheckIn:
    """Take custody of each person and put them in the room chosen for them, all or nothing.

    ``assignments`` pairs episodes with rooms as the desk saw them (their
    ``version``): a room that changed since is refused with ``RoomConflict``.
    Several people share a room only as the site's rules allow (one household,
    a companion needed, beds enough). Check-ins at one facility are taken one
    at a time (a lock on the facility's row), so the rules are judged on the
    floors as they stand, not as two desks each believe them to be.
    """
    may_check_in(actor, facility)
    facility = (Facility.objects.select_for_update(of=("self",)).select_related("custodian")
                .get(pk=facility.pk))
    if facility.status != FacilityStatus.OPEN:
        raise ValidationError(_("%(site)s is not open; it takes nobody in.") % {"site": facility.name})
    if not assignments:
        raise ValidationError(_("Choose at least one person and a room."))
    seen: set[int] = set()
    groups: dict[int, list[Episode]] = defaultdict(list)
    shown: dict[int, Room] = {}
    for episode, room in assignments:
        if episode.pk in seen:
            raise ValidationError(_("%(name)s is listed twice.") % {"name": episode.person.name})
        seen.add(episode.pk)
        if room.facility_id != facility.pk:
            raise ValidationError(_("Room %(room)s is not in this facility.") % {"room": room.label})
        groups[room.pk].append(episode)
        shown.setdefault(room.pk, room)
    # The rooms as they are now; one that changed since the desk saw it is another desk's (or a cleaner's).
    rooms = Room.objects.in_bulk(list(shown))
    for room_id, seen_room in shown.items():
        current = rooms[room_id]
        if current.version != seen_room.version:
            raise RoomConflict(_("Room %(room)s is %(status)s now; reload and choose again.")
                               % {"room": current.label, "status": current.get_status_display()})
    open_stay = Stay.objects.filter(episode_id__in=seen, checked_out_at__isnull=True).select_related(
        "episode__person", "room").first()
    if open_stay is not None:
        raise ValidationError(_("%(name)s is already checked in, in room %(room)s.")
                              % {"name": open_stay.episode.person.name, "room": open_stay.room.label})
    people = Episode.objects.select_related("person", "custodian", "pending_custodian").in_bulk(list(seen))
    problems = [p for p in (custody_problem(people[e.pk], facility) for e, _room in assignments) if p]
    problems += _rule_violations(facility, {rid: [people[e.pk] for e in members] for rid, members in groups.items()},
                                 rooms)
    if problems:
        raise ValidationError(problems)
    now = timezone.now()
    made: list[Stay] = []
    for room_id, episodes in groups.items():
        moved = move_room(rooms[room_id], rs.ASSIGN, actor=actor, at=now)
        seen_room = shown[room_id]  # the caller's instance follows, as move_room's own does
        seen_room.status, seen_room.version, seen_room.status_since = moved.status, moved.version, moved.status_since
        for episode in episodes:
            episode = _take_custody(episode, facility, actor, signed_by)
            try:
                with transaction.atomic():
                    stay = Stay.objects.create(episode=episode, room_id=room_id, facility=facility, checked_in_at=now,
                                               checked_in_by=actor if getattr(actor, "pk", None) else None)
            except IntegrityError:
                raise ValidationError(_("%(name)s was checked in by another desk at the same moment.")
                                      % {"name": episode.person.name}) from None
            made.append(stay)
            audit_record(actor=actor, action="stay.check_in", target=episode,
                         after={"facility": facility.pk, "room": rooms[room_id].label})
    return CheckIn(facility=facility, stays=made)


def _leaving(episode: Episode, actor):
    stay = Stay.objects.filter(episode=episode, checked_out_at__isnull=True).select_related("facility").first()
    if stay is None:
        raise ValidationError(_("This person is not checked in anywhere."))
    may_check_in(actor, stay.facility)
    return stay


@transaction.atomic
def checkout_handover(*, episode: Episode, to_custodian: Custodian, expected_by: datetime, actor,
                      signed_by: str = "", reason: str = "") -> Episode:
    """Check out to a trip, a hospital, another site or the home community: a hand-over; the room is freed."""
    _leaving(episode, actor)
    return handover_give(episode=episode, to_custodian=to_custodian, expected_by=expected_by, actor=actor,
                         signed_by=signed_by, reason=reason)


@transaction.atomic
def checkout_release(*, episode: Episode, actor, override_reason: str = ""):
    """Check out at the end of the course: the release rule decides; the room is freed. Returns the certificate."""
    _leaving(episode, actor)
    return episode_release(episode=episode, actor=actor, override_reason=override_reason)


def stay_close_on_custody_change(episode: Episode, kind: str, before, actor) -> None:
    """Custody listener: whoever leaves custody of the site leaves its room; an emptied room awaits cleaning."""
    if kind not in LEAVING_EVENTS:
        return
    stay = Stay.objects.filter(episode_id=episode.pk, checked_out_at__isnull=True).first()
    if stay is None:
        return
    # The room's row is locked first, so of two people leaving one room at once the second sees the first gone.
    room = Room.objects.select_for_update().get(pk=stay.room_id)
    now = timezone.now()
    Stay.objects.filter(pk=stay.pk).update(checked_out_at=now, out_reason=kind,
                                           checked_out_by=actor if getattr(actor, "pk", None) else None)
    if not Stay.objects.filter(room_id=stay.room_id, checked_out_at__isnull=True).exists():
        move_room(room, rs.VACATE, actor=actor, at=now)
    audit_record(actor=actor, action="stay.check_out", target=episode,
                 after={"facility": stay.facility_id, "room": stay.room_id, "because": kind})
