"""Release from control: the rule, the override, the move home, the release certificate.

``episode_release`` releases a person whose course is complete — every day
served, every scheduled test negative, no open fever or symptom alert
(``release_rules``) — and issues the release certificate (解除医学观察意见书)
with a verification code. Whatever blocks is listed in the refusal. An
authorised role (``Cap.OVERRIDE_RELEASE``) may release against the rule with a
written reason: audited as ``episode.release_override`` with what was waived.

The end of a centralized phase followed by a home phase is not a release but
a hand-over to the home community (``next_custody`` says to whom); the action
refuses it and says so.

Reads used by the release page live here too (``release_check``,
``episode_schedule``, ``certificate_lookup``), so the page and the action
apply one rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from closedloop.core.audit import audit_record
from closedloop.core.models import Jurisdiction
from closedloop.core.roles import Cap
from closedloop.lib.dates import format_cn
from closedloop.lib.schedule import Schedule, ScheduleError, compute
from closedloop.lib.schedule import replan as replan_schedule
from closedloop.quarantine import release_rules as rules
from closedloop.quarantine import states
from closedloop.quarantine.actions.custody import advance, in_reach
from closedloop.quarantine.choices import CustodianKind
from closedloop.quarantine.models import Alert, Custodian, Episode, ReleaseCertificate, Specimen


class ReleaseBlocked(ValidationError):
    """The release rule refuses: ``blockers`` lists every reason, ``transfer`` the hand-over home when
    that is the next step instead. Nothing was written."""

    def __init__(self, blockers: list[rules.Blocker], *, transfer: NextCustody | None = None) -> None:
        self.blockers = list(blockers)
        self.transfer = transfer
        super().__init__([blocker_text(b) for b in self.blockers])


@dataclass(frozen=True)
class NextCustody:
    """Who takes the person next when a centralized phase ends and a home phase follows."""

    kind: str  # CustodianKind.HOME_COMMUNITY
    jurisdiction: Jurisdiction | None  # the person's community (their town when no community is known)
    custodian: Custodian | None  # the active home-community custodian of that place, when one exists
    phase_index: int  # the centralized phase that ends
    ends: date  # its last day
    phase_kind: str  # the home phase that follows
    starts: date  # its first day: the day of the hand-over

    def due(self, today: date) -> bool:
        return today >= self.starts


@dataclass(frozen=True)
class ReleaseCheck:
    """The release rule applied to one episode on one day: what the release page shows."""

    episode: Episode
    schedule: Schedule
    today: date
    checklist: rules.Checklist  # the conditions shown: the centralized phase's before a hand-over, else the course's
    course: rules.Checklist  # the whole course's conditions: what an override waives
    transfer: NextCustody | None  # the hand-over home that comes next instead of a release

    @property
    def blockers(self) -> list[rules.Blocker]:
        """Why a release is refused now (empty: the person may be released)."""
        if self.transfer is not None:
            return [rules.transfer_blocker(self.schedule, self.transfer.phase_index), *self.checklist.blockers]
        return list(self.course.blockers)

    @property
    def waived_by_override(self) -> list[rules.Blocker]:
        """What an override of a release now would waive: everything the course still needs."""
        if self.transfer is not None:
            return [rules.transfer_blocker(self.schedule, self.transfer.phase_index), *self.course.blockers]
        return list(self.course.blockers)

    @property
    def releasable(self) -> bool:
        return not self.blockers


# --- texts ---------------------------------------------------------------------------------

def _date_text(value: date) -> str:
    return format_cn(value) if (get_language() or "").lower().startswith("zh") else value.isoformat()


def blocker_text(blocker: rules.Blocker) -> str:
    """A blocker in the active language, dates the Chinese way in Chinese."""
    return blocker.text(_, _date_text)


# --- reads ---------------------------------------------------------------------------------

def episode_schedule(episode: Episode) -> Schedule | None:
    """The episode's schedule under its protocol, from its anchor and placement day.

    After a re-plan, the new protocol's tests dated before the change are
    marked ``before_change`` (not due), as ``lib.schedule.replan`` says.
    """
    if episode.protocol_id is None:
        return None
    anchor = episode.anchor_date or episode.placed_on
    if anchor is None:
        return None
    placed = max(episode.placed_on or anchor, anchor)
    spec = episode.protocol.spec()
    change = (
        episode.replans.select_related("replan", "old_protocol").order_by("-replan__at", "-pk").first()
        if episode.pk else None
    )
    if change is not None and change.replan.to_protocol_id == episode.protocol_id:
        try:
            old = compute(change.old_protocol.spec(), anchor=anchor, placed_on=placed)
            return replan_schedule(old, spec, today=timezone.localtime(change.replan.at).date())
        except ScheduleError:
            pass  # a change the schedule library refuses: count the new protocol from the anchor
    return compute(spec, anchor=anchor, placed_on=placed)


def _facts(episode: Episode) -> tuple[list[rules.SpecimenFact], list[rules.AlertFact]]:
    specimens = [
        rules.SpecimenFact(
            result=s.result, scheduled_for=s.scheduled_for, kind=s.kind,
            sampled_on=timezone.localtime(s.sampled_at).date(), ct=float(s.ct) if s.ct is not None else None,
        )
        for s in Specimen.objects.filter(episode=episode).order_by("sampled_at", "pk")
    ]
    alerts = [
        rules.AlertFact(kind=a.kind, raised_on=timezone.localtime(a.raised_at).date())
        for a in Alert.objects.filter(episode=episode, status="open", kind__in=rules.BLOCKING_ALERTS)
    ]
    return specimens, alerts


def _held_centrally(episode: Episode) -> bool:
    custodian = episode.custodian
    return custodian is not None and custodian.kind != CustodianKind.HOME_COMMUNITY


def _home_custody(episode: Episode, schedule: Schedule, phase_index: int) -> NextCustody:
    person = episode.person
    place = person.community or person.town
    custodian = None
    if place is not None:
        custodian = (
            Custodian.objects.filter(kind=CustodianKind.HOME_COMMUNITY, jurisdiction=place, active=True)
            .order_by("pk").first()
        )
    phase, following = schedule.phases[phase_index], schedule.phases[phase_index + 1]
    return NextCustody(
        kind=CustodianKind.HOME_COMMUNITY, jurisdiction=place, custodian=custodian, phase_index=phase_index,
        ends=phase.end, phase_kind=following.kind, starts=following.start,
    )


def release_check(episode: Episode, today: date | None = None) -> ReleaseCheck | None:
    """The release rule for an episode in custody under a protocol; None when it has no schedule."""
    schedule = episode_schedule(episode)
    if schedule is None:
        return None
    today = today or timezone.localdate()
    specimens, alerts = _facts(episode)
    course = rules.checklist(schedule, specimens, alerts, today)
    transfer = None
    index = rules.home_transfer_phase(schedule, today, held_centrally=_held_centrally(episode))
    if index is not None and episode.state == states.IN_CUSTODY:
        transfer = _home_custody(episode, schedule, index)
        shown = rules.checklist(schedule, specimens, alerts, today, phase_index=index)
    else:
        shown = course
    return ReleaseCheck(episode=episode, schedule=schedule, today=today, checklist=shown, course=course,
                        transfer=transfer)


def next_custody(episode: Episode, today: date | None = None) -> NextCustody | None:
    """The hand-over home that comes next for a person held centrally, or None.

    For cn-9-close-contact: during the 7 centralized days (and after them, as
    long as the site still holds the person) the home community of the
    person's community takes over for the 3 days of home health monitoring.
    ``custodian`` is None when that community has no custodian yet.
    """
    if episode.state != states.IN_CUSTODY:
        return None
    schedule = episode_schedule(episode)
    if schedule is None:
        return None
    index = rules.home_transfer_phase(schedule, today or timezone.localdate(), held_centrally=_held_centrally(episode))
    return None if index is None else _home_custody(episode, schedule, index)


def may_release(actor, episode: Episode) -> None:
    if actor is None:
        return  # the system itself (the demo)
    if not actor.can(Cap.RELEASE):
        raise PermissionDenied(_("Your role may not release people from control."))
    if not in_reach(actor, episode):
        raise PermissionDenied(_("This person and their custodian are outside your jurisdiction."))


@dataclass(frozen=True)
class Verification:
    """All the public may learn from a verification code."""

    code: str
    masked_name: str
    released_on: date
    city: str


def certificate_lookup(code: str) -> Verification | None:
    """The public answer for a code: a masked name, the release day, the issuing city — nothing more."""
    code = rules.normalize_code(code)
    if len(code) != rules.CODE_LENGTH or any(ch not in rules.CODE_ALPHABET for ch in code):
        return None
    certificate = ReleaseCertificate.objects.select_related("episode__person", "episode__city").filter(code=code).first()
    if certificate is None:
        return None
    return Verification(
        code=rules.format_code(certificate.code),
        masked_name=rules.mask_name(certificate.episode.person.name),
        released_on=timezone.localtime(certificate.issued_at).date(),
        city=certificate.episode.city.label,
    )


# --- the action ----------------------------------------------------------------------------

def _new_code() -> str:
    for _attempt in range(10):
        code = rules.new_certificate_code()
        if not ReleaseCertificate.objects.filter(code=code).exists():
            return code
    raise RuntimeError("no free certificate code after 10 draws")  # 31**12 codes: never in practice


@transaction.atomic
def episode_release(*, episode: Episode, actor, override_reason: str = "") -> ReleaseCertificate:
    """Release a person from control and issue the release certificate.

    Refused (``ReleaseBlocked``, listing every blocker) unless the course is
    complete — or ``override_reason`` is given by a role that may override
    (``PermissionDenied`` otherwise; a blank reason is refused). The end of a
    centralized phase followed by a home phase is refused with the hand-over
    home it calls for (an override there releases from the whole course).
    """
    reason = (override_reason or "").strip()
    if override_reason and not reason:
        raise ValidationError(_("Write the reason for releasing against the rule."))
    current = Episode.objects.select_related("person", "protocol", "custodian__jurisdiction", "city").get(pk=episode.pk)
    may_release(actor, current)
    if reason and actor is not None and not actor.can(Cap.OVERRIDE_RELEASE):
        raise PermissionDenied(_("Only headquarters may release a person against the rule."))
    if current.state == states.BECAME_CASE:
        raise ValidationError(_("This person became a case (a positive result): the course ended without a release."))
    if current.state == states.RELEASED:
        raise ValidationError(_("This person has already been released."))
    if current.state != states.IN_CUSTODY:
        raise ValidationError(
            _("Only a person in custody can be released; this episode is %(state)s.")
            % {"state": current.get_state_display()}
        )
    check = release_check(current, timezone.localdate())
    if check is None:
        raise ValidationError(_("This episode has no protocol or no start date, so no rule can release it."))
    waived = [] if check.releasable else check.waived_by_override
    if waived and not reason:
        raise ReleaseBlocked(check.blockers, transfer=check.transfer)

    holder = current.custodian
    released = advance(current, states.RELEASE, actor=actor, reason=reason)
    certificate = ReleaseCertificate.objects.create(
        episode=released, code=_new_code(), issued_by=actor if getattr(actor, "pk", None) else None,
        override_reason=reason if waived else "",
    )
    audit_record(
        actor=actor, action="certificate.issue", target=certificate,
        after={"episode": released.pk, "custodian": holder.pk if holder else None},
    )
    if waived:
        audit_record(
            actor=actor, action="episode.release_override", target=released, reason=reason,
            before={"waived": [b.as_dict() for b in waived]},
            after={"state": released.state, "certificate": certificate.code},
        )
    return certificate
