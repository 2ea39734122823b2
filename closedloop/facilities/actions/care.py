"""Care requests: a need of a person under control, recorded by staff, routed to the care group,
answered by a deadline and closed with what was done.

A request is recorded for a person who is held: in custody, or in transit — the giver still answers for
them until the receiver confirms, and a need on the way (medicine on a bus) cannot wait for that. A person
awaiting placement has nobody to answer yet; a closed episode has nobody any more.

The request names the custodian holding the person when it was recorded and, when that custodian is a
facility, the facility (no facility: home custody, where the community answers, or a vehicle). That
custodian answers for it until it is closed; whoever holds the person later sees it too
(``care_selectors``). The deadline is ``CARE_URGENT_HOURS`` or ``CARE_ANSWER_HOURS`` from the moment it
was recorded.

Who may record and close: a role with ``Cap.CARE`` (site staff, community staff, the task groups,
headquarters) whose jurisdiction holds the person or the custodian (``care_selectors.care_in_reach``).
Closing is a compare-and-swap on the status: of two desks closing one request, one wins.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from closedloop.core.audit import audit_record
from closedloop.core.roles import Cap
from closedloop.facilities.care_selectors import HELD_STATES, care_in_reach
from closedloop.facilities.choices import CareKind, CareStatus
from closedloop.facilities.models import CareRequest, Facility
from closedloop.quarantine.choices import EpisodeStatus
from closedloop.quarantine.models import Custodian, Episode

DETAIL_MAX = 2000
OUTCOME_MAX = 2000


class CareConflict(ValidationError):
    """The request was closed already (by another desk, perhaps at the same moment); nothing was written."""


def care_deadline(*, urgent: bool, at: datetime) -> datetime:
    hours = settings.CARE_URGENT_HOURS if urgent else settings.CARE_ANSWER_HOURS
    return at + timedelta(hours=hours)


def may_care(actor, episode: Episode, recorded_for: Custodian | None = None) -> None:
    if actor is None:
        return  # the system itself (the demo, imports)
    if not actor.can(Cap.CARE):
        raise PermissionDenied(_("Your role may not record or answer care requests."))
    if not care_in_reach(actor, episode, recorded_for):
        raise PermissionDenied(_("This person and their custodian are outside your jurisdiction."))


def _label(care: CareRequest, person_name: str) -> str:
    return f"{person_name} · {care.get_kind_display()}"


@transaction.atomic
def care_request_create(*, episode: Episode, kind: str, detail: str, urgent: bool, actor) -> CareRequest:
    """Record what a held person needs; it is due in CARE_URGENT_HOURS (urgent) or CARE_ANSWER_HOURS."""
    current = (
        Episode.objects.select_related("person", "custodian__jurisdiction", "pending_custodian__jurisdiction")
        .get(pk=episode.pk)
    )
    may_care(actor, current)
    detail = (detail or "").strip()
    problems: dict[str, str] = {}
    if kind not in CareKind.values:
        problems["kind"] = _("Choose what the person needs.")
    if not detail:
        problems["detail"] = _("Say what the person needs.")
    elif len(detail) > DETAIL_MAX:
        problems["detail"] = _("At most %(max)s characters.") % {"max": DETAIL_MAX}
    if problems:
        raise ValidationError(problems)
    if current.status != EpisodeStatus.OPEN or current.state not in HELD_STATES:
        raise ValidationError(
            _("Care requests are recorded for people under control (in custody or on the way); "
              "%(name)s is %(state)s.") % {"name": current.person.name, "state": current.get_state_display()})
    now = timezone.now()
    care = CareRequest.objects.create(
        episode=current,
        facility=Facility.objects.filter(custodian_id=current.custodian_id).first(),
        custodian=current.custodian,
        kind=kind,
        detail=detail,
        urgent=bool(urgent),
        due_at=care_deadline(urgent=bool(urgent), at=now),
        created_at=now,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    audit_record(
        actor=actor, action="care.create", target=care, target_label=_label(care, current.person.name),
        after={"episode": current.pk, "kind": kind, "urgent": care.urgent, "custodian": current.custodian_id,
               "facility": care.facility_id, "due_at": care.due_at.isoformat()},
    )
    return care


@transaction.atomic
def care_request_close(*, request: CareRequest, outcome: str, actor) -> CareRequest:
    """Close an open request with what was done. Exactly one of two desks closing it at once wins."""
    current = (
        CareRequest.objects.select_related(
            "episode__person", "episode__custodian__jurisdiction", "episode__pending_custodian__jurisdiction",
            "custodian__jurisdiction", "closed_by",
        ).get(pk=request.pk)
    )
    may_care(actor, current.episode, current.custodian)
    outcome = (outcome or "").strip()
    if not outcome:
        raise ValidationError({"outcome": _("Say what was done.")})
    if len(outcome) > OUTCOME_MAX:
        raise ValidationError({"outcome": _("At most %(max)s characters.") % {"max": OUTCOME_MAX}})
    if current.status != CareStatus.OPEN:
        raise CareConflict(_("This request was closed already, by %(who)s.")
                           % {"who": current.closed_by or _("the system")})
    now = timezone.now()
    closer = actor if getattr(actor, "pk", None) else None
    won = CareRequest.objects.filter(pk=current.pk, status=CareStatus.OPEN).update(
        status=CareStatus.CLOSED, closed_at=now, closed_by=closer, outcome=outcome)
    if not won:
        raise CareConflict(_("Someone else closed this request at the same moment."))
    current.status, current.closed_at, current.closed_by, current.outcome = CareStatus.CLOSED, now, closer, outcome
    audit_record(
        actor=actor, action="care.close", target=current, target_label=_label(current, current.episode.person.name),
        before={"status": CareStatus.OPEN}, reason=outcome,
        after={"status": CareStatus.CLOSED, "episode": current.episode_id, "late": now > current.due_at},
    )
    return current
