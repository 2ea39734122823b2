"""Staff in the loop: who works at a site, on which shift, how they are, and how they leave.

Front-line staff are the other way infection crosses the loop, so the site keeps:

- the staff on duty (a registered person, one duty at a time: the database's
  ``staff_one_duty_per_person``), by task group, post and protection level;
- the duty roster: who works which shift on which day (``shift_assign``,
  ``shift_remove``, ``roster_update`` for a week's grid, ``roster_fill``);
- the daily health registration (``staff_health_record``, ``staff_checks_record``
  for the whole site at once) and the staff tests (``staff_test_record``,
  ``staff_tests_record``).

A fever (37.3 °C or more, as for everyone in the loop) or any symptom is kept on
the staff member's own record: the quarantine ``Alert`` belongs to an episode,
and staff on duty have none. The check itself is the flag (``check_flags``); the
site's work list shows it (``facilities.staff_worklist``) until the person is
well on a later day. A positive or doubtful staff test shows there the same way.

Leaving duty (``staff_leave_duty``) opens an episode of category
``staff_rotation`` for the person, counted from their last day on duty, so they
enter the loop like anyone else: placement at a site or health station follows
through the usual hand-over and check-in, and the rotation protocol in force on
that day gives their schedule and release day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from closedloop.core.audit import actor_label, audit_record
from closedloop.core.models import AuditEvent
from closedloop.core.roles import Cap
from closedloop.facilities.choices import FacilityStatus, PpeLevel, Shift, StaffStatus, TaskGroup
from closedloop.facilities.models import DutyShift, Facility, StaffHealthCheck, StaffMember, StaffTest
from closedloop.lib.categories import STAFF_ROTATION
from closedloop.lib.text import clean_cell
from closedloop.quarantine.actions import episode_open
from closedloop.quarantine.actions.observations import (
    DEFAULT_CT_RULE,
    FEVER_FROM,
    day_text,
    parse_result,
    parse_symptoms,
    parse_temperature,
)
from closedloop.quarantine.choices import TestKind, TestResult
from closedloop.quarantine.models import Episode

POST_MAX = 60
# Results a staff test can carry; "pending" is a sample taken whose result is awaited.
STAFF_RESULTS = (TestResult.PENDING, TestResult.NEGATIVE, TestResult.ASSESS, TestResult.POSITIVE,
                 TestResult.INVALID)
FLAGGED_RESULTS = (TestResult.POSITIVE, TestResult.ASSESS)


class StaffConflict(ValidationError):
    """Another desk changed the same staff record at the same moment; nothing was written."""


# --- who may act --------------------------------------------------------------------------

def may_manage_staff(actor, facility: Facility) -> None:
    """The actor keeps staff records (MANAGE_STAFF) and the facility is theirs; PermissionDenied otherwise."""
    from closedloop.facilities.selectors import facility_in_scope

    if actor is None:
        return  # the system itself (the demo, commands)
    if not actor.can(Cap.MANAGE_STAFF):
        raise PermissionDenied(_("Your role may not keep the duty roster or staff health records."))
    if not facility_in_scope(actor, facility):
        raise PermissionDenied(_("This facility is outside your jurisdiction."))


def _today() -> date:
    return timezone.localdate()


def _recorder(actor):
    return actor if getattr(actor, "pk", None) else None


def on_duty_on(staff: StaffMember, day: date) -> bool:
    """The staff member was (or is) on duty on that day: from their first day to their last."""
    return staff.on_duty_from <= day and (staff.off_duty_on is None or day <= staff.off_duty_on)


def check_flags(temperature: Decimal | None, symptoms: Iterable[str]) -> list[str]:
    """'fever' and/or 'symptoms': what a staff health check says is wrong (empty when well)."""
    flags = []
    if temperature is not None and temperature >= FEVER_FROM:
        flags.append("fever")
    if list(symptoms or ()):
        flags.append("symptoms")
    return flags


def _choice(value: str, allowed, field: str, message: str) -> str:
    value = (value or "").strip()
    if value not in allowed:
        raise ValidationError({field: message})
    return value


def _post(value: str) -> str:
    post = clean_cell(value)
    if len(post) > POST_MAX:
        raise ValidationError({"post": _("Keep the post under %(max)s characters.") % {"max": POST_MAX}})
    return post


def _task_group(value: str) -> str:
    return _choice(value, TaskGroup.values, "task_group", _("Choose the task group."))


def _ppe_level(value: str) -> str:
    return _choice(value, PpeLevel.values, "ppe_level", _("Choose the protection level: 1, 2 or 3."))


def _on_duty(staff: StaffMember) -> None:
    if staff.status != StaffStatus.ON_DUTY:
        raise ValidationError(_("%(name)s has left duty; their records are kept as they were.")
                              % {"name": staff.person.name})


# --- staff on duty ---------------------------------------------------------------------------

@transaction.atomic
def staff_add(*, facility: Facility, person, task_group: str, on_duty_from: date, actor, post: str = "",
              ppe_level: str = PpeLevel.LEVEL_2) -> StaffMember:
    """Put a registered person on duty at a facility. One duty at a time; nobody under control works."""
    may_manage_staff(actor, facility)
    facility = Facility.objects.get(pk=facility.pk)
    if facility.status == FacilityStatus.CLOSED:
        raise ValidationError(_("%(site)s is closed; it has no staff on duty.") % {"site": facility.name})
    task_group, ppe_level, post = _task_group(task_group), _ppe_level(ppe_level), _post(post)
    if not isinstance(on_duty_from, date):
        raise ValidationError({"on_duty_from": _("Enter the first day on duty.")})
    other = StaffMember.objects.filter(person=person, status=StaffStatus.ON_DUTY).select_related("facility").first()
    if other is not None:
        raise ValidationError(_("%(name)s is already on duty at %(site)s; they must leave that duty first.")
                              % {"name": person.name, "site": other.facility.name})
    if Episode.objects.filter(person=person, status="open").exists():
        raise ValidationError(_("%(name)s is under control now (an open episode); they cannot go on duty.")
                              % {"name": person.name})
    try:
        with transaction.atomic():
            staff = StaffMember.objects.create(facility=facility, person=person, task_group=task_group, post=post,
                                               ppe_level=ppe_level, on_duty_from=on_duty_from)
    except IntegrityError:
        raise StaffConflict(_("%(name)s was put on duty by another desk at the same moment.")
                            % {"name": person.name}) from None
    audit_record(actor=actor, action="staff.add", target=staff,
                 after={"facility": facility.pk, "person": person.pk, "task_group": task_group, "post": post,
                        "ppe_level": ppe_level, "on_duty_from": on_duty_from.isoformat()})
    return staff


@transaction.atomic
def staff_update_post(*, staff: StaffMember, actor, task_group: str | None = None, post: str | None = None,
                      ppe_level: str | None = None) -> StaffMember:
    """Change a staff member's task group, post or protection level (only while on duty)."""
    staff = StaffMember.objects.select_for_update().select_related("person", "facility").get(pk=staff.pk)
    may_manage_staff(actor, staff.facility)
    _on_duty(staff)
    changes = {}
    if task_group is not None:
        changes["task_group"] = _task_group(task_group)
    if post is not None:
        changes["post"] = _post(post)
    if ppe_level is not None:
        changes["ppe_level"] = _ppe_level(ppe_level)
    changes = {k: v for k, v in changes.items() if getattr(staff, k) != v}
    if not changes:
        return staff
    before = {k: getattr(staff, k) for k in changes}
    for k, v in changes.items():
        setattr(staff, k, v)
    staff.save(update_fields=list(changes))
    audit_record(actor=actor, action="staff.update", target=staff, before=before, after=changes)
    return staff


# --- the roster ------------------------------------------------------------------------------

def _shift_problem(staff: StaffMember, day: date, shift: str) -> str | None:
    """Why this staff member cannot be put on this shift, or None."""
    if shift not in Shift.values:
        return _("Unknown shift “%(value)s”.") % {"value": shift}
    if staff.status != StaffStatus.ON_DUTY:
        return _("%(name)s has left duty; their records are kept as they were.") % {"name": staff.person.name}
    if day < staff.on_duty_from:
        return _("%(name)s is on duty from %(from)s, not on %(day)s.") % {
            "name": staff.person.name, "from": day_text(staff.on_duty_from), "day": day_text(day)}
    return None


@transaction.atomic
def shift_assign(*, staff: StaffMember, day: date, shift: str, actor) -> DutyShift:
    """Put a staff member on one shift of one day."""
    staff = StaffMember.objects.select_related("person", "facility").get(pk=staff.pk)
    may_manage_staff(actor, staff.facility)
    problem = _shift_problem(staff, day, shift)
    if problem:
        raise ValidationError(problem)
    if DutyShift.objects.filter(staff=staff, day=day, shift=shift).exists():
        raise ValidationError(_("%(name)s is already on this shift.") % {"name": staff.person.name})
    try:
        with transaction.atomic():
            row = DutyShift.objects.create(staff=staff, facility=staff.facility, day=day, shift=shift)
    except IntegrityError:
        raise StaffConflict(_("%(name)s was put on this shift by another desk at the same moment.")
                            % {"name": staff.person.name}) from None
    audit_record(actor=actor, action="shift.assign", target=staff, after={"day": day.isoformat(), "shift": shift})
    return row


@transaction.atomic
def shift_remove(*, staff: StaffMember, day: date, shift: str, actor) -> None:
    """Take a staff member off one shift (a past shift of someone who left duty stays in the record)."""
    staff = StaffMember.objects.select_related("person", "facility").get(pk=staff.pk)
    may_manage_staff(actor, staff.facility)
    _on_duty(staff)
    deleted, _rows = DutyShift.objects.filter(staff=staff, day=day, shift=shift).delete()
    if not deleted:
        raise ValidationError(_("%(name)s is not on this shift.") % {"name": staff.person.name})
    audit_record(actor=actor, action="shift.remove", target=staff, before={"day": day.isoformat(), "shift": shift})


@dataclass
class RosterChange:
    added: int = 0
    removed: int = 0
    problems: list[str] = field(default_factory=list)


Cell = tuple[int, date, str]  # (staff id, day, shift)


@transaction.atomic
def roster_update(*, facility: Facility, assign: Iterable[Cell], remove: Iterable[Cell], actor) -> RosterChange:
    """Save a roster grid: the cells ticked and unticked since the page was drawn, all or nothing.

    A cell already as asked (another desk did the same) is left alone; a cell
    that cannot be changed (someone who left duty, a day before their first)
    refuses the whole change with its reason.
    """
    may_manage_staff(actor, facility)
    assign, remove = set(assign), set(remove)
    ids = {c[0] for c in assign | remove}
    staff = {s.pk: s for s in StaffMember.objects.filter(pk__in=ids, facility=facility).select_related("person")}
    result = RosterChange()
    for staff_id, day, shift in sorted(assign | remove, key=lambda c: (c[1], c[2], c[0])):
        member = staff.get(staff_id)
        if member is None:
            result.problems.append(_("A staff member of the grid does not work at %(site)s.") % {"site": facility.name})
            continue
        problem = _shift_problem(member, day, shift)
        if problem and problem not in result.problems:
            result.problems.append(problem)
    if result.problems:
        raise ValidationError(result.problems)
    existing = set(DutyShift.objects.filter(staff_id__in=ids, day__in={c[1] for c in assign | remove})
                   .values_list("staff_id", "day", "shift"))
    new = sorted(assign - existing, key=lambda c: (c[1], c[2], c[0]))
    gone = (remove - assign) & existing
    if new:
        DutyShift.objects.bulk_create([DutyShift(staff_id=s, facility=facility, day=d, shift=sh) for s, d, sh in new],
                                      ignore_conflicts=True)
    for staff_id, day, shift in gone:
        DutyShift.objects.filter(staff_id=staff_id, day=day, shift=shift).delete()
    result.added, result.removed = len(new), len(gone)
    if new or gone:
        audit_record(actor=actor, action="roster.update", target=facility,
                     after={"added": [[s, d.isoformat(), sh] for s, d, sh in new],
                            "removed": [[s, d.isoformat(), sh] for s, d, sh in sorted(gone, key=str)]})
    return result


@transaction.atomic
def roster_fill(*, facility: Facility, staff: Iterable[StaffMember], days: Iterable[date], shift: str,
                actor) -> RosterChange:
    """Put several staff on one shift for several days (those already on it are left alone)."""
    staff, days = list(staff), sorted(set(days))
    if not staff:
        raise ValidationError({"staff": _("Choose the staff to put on the shift.")})
    if not days:
        raise ValidationError({"days": _("Choose the days.")})
    cells = {(s.pk, d, shift) for s in staff for d in days if d >= s.on_duty_from}
    if not cells:
        raise ValidationError({"days": _("None of these staff is on duty on these days.")})
    return roster_update(facility=facility, assign=cells, remove=(), actor=actor)


# --- daily health registration --------------------------------------------------------------

def _check_day_problem(staff: StaffMember, day: date, today: date) -> str | None:
    if day > today:
        return _("%(day)s is in the future.") % {"day": day_text(day)}
    if not on_duty_on(staff, day):
        return _("%(name)s was not on duty on %(day)s.") % {"name": staff.person.name, "day": day_text(day)}
    return None


def _check_after(check_temperature, symptoms) -> dict:
    return {"temperature": str(check_temperature), "symptoms": list(symptoms),
            "flags": check_flags(check_temperature, symptoms)}


@transaction.atomic
def staff_health_record(*, staff: StaffMember, day: date, temperature, actor, symptoms=()) -> StaffHealthCheck:
    """The day's health registration of one staff member: recorded, or (same day again) corrected.

    A fever or a symptom is the check's own flag (``check_flags``): it shows on
    the site's work list, not as an episode's alert — staff on duty have no episode.
    """
    staff = StaffMember.objects.select_related("person", "facility").get(pk=staff.pk)
    may_manage_staff(actor, staff.facility)
    errors: dict[str, list[str]] = {}
    problem = _check_day_problem(staff, day, _today())
    if problem:
        errors.setdefault("day", []).append(problem)
    try:
        temperature = parse_temperature(temperature)
    except ValidationError as exc:
        errors.setdefault("temperature", []).extend(exc.messages)
    try:
        symptoms = parse_symptoms(symptoms)
    except ValidationError as exc:
        errors.setdefault("symptoms", []).extend(exc.messages)
    if errors:
        raise ValidationError(errors)
    check = StaffHealthCheck.objects.select_for_update().filter(staff=staff, day=day).first()
    if check is not None and check.temperature == temperature and list(check.symptoms or []) == symptoms:
        return check
    if check is None:
        try:
            with transaction.atomic():
                check = StaffHealthCheck.objects.create(staff=staff, day=day, temperature=temperature,
                                                        symptoms=symptoms, recorded_by=_recorder(actor))
        except IntegrityError:
            raise StaffConflict(_("Someone else recorded this check at the same moment; "
                                  "reload the page and check before trying again.")) from None
        before = None
    else:
        before = _check_after(check.temperature, check.symptoms or [])
        check.temperature, check.symptoms, check.recorded_by = temperature, symptoms, _recorder(actor)
        check.save(update_fields=["temperature", "symptoms", "recorded_by"])
    audit_record(actor=actor, action="staff_check.record", target=staff, before=before,
                 after={"day": day.isoformat(), **_check_after(temperature, symptoms)})
    return check


@dataclass
class RowProblem:
    """One refused row of a round: whose, which field, why."""

    staff_id: int | None
    field: str
    reason: str


@dataclass
class StaffRound:
    facility: Facility
    day: date
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # rows left empty
    flagged: int = 0  # rows written with a fever, a symptom or a positive or doubtful result
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def written(self) -> int:
        return self.created + self.updated

    @property
    def rejected(self) -> int:
        return len({p.staff_id for p in self.problems})

    def problems_by_staff(self) -> dict[int, list[RowProblem]]:
        out: dict[int, list[RowProblem]] = {}
        for p in self.problems:
            if p.staff_id is not None:
                out.setdefault(p.staff_id, []).append(p)
        return out


def _row_id(value) -> int | None:
    if isinstance(value, StaffMember):
        return value.pk
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _round_staff(facility: Facility, rows: list[dict]) -> tuple[list[int | None], dict[int, StaffMember]]:
    ids = [_row_id(r.get("staff")) for r in rows]
    staff = {s.pk: s for s in StaffMember.objects.filter(pk__in=[i for i in ids if i is not None], facility=facility)
             .select_related("person")}
    return ids, staff


def _empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _round_audit(actor, action: str, facility: Facility, after: dict) -> AuditEvent:
    return AuditEvent(actor=_recorder(actor), actor_label=actor_label(actor), action=action,
                      target_type="facility", target_id=str(facility.pk), target_label=facility.name[:200],
                      after=after)


def _staff_audit(actor, action: str, staff: StaffMember, before, after) -> AuditEvent:
    return AuditEvent(actor=_recorder(actor), actor_label=actor_label(actor), action=action,
                      target_type="staffmember", target_id=str(staff.pk), target_label=str(staff)[:200],
                      before=before, after=after)


@transaction.atomic
def staff_checks_record(*, facility: Facility, day: date, rows: list[dict], actor) -> StaffRound:
    """The site's daily registration round: every row checked alone, the good ones written together.

    A row is ``{"staff": StaffMember or id, "temperature": ..., "symptoms": [...]}``;
    a row with neither a temperature nor a symptom is skipped (not registered yet).
    The number of queries does not grow with the number of rows.
    """
    may_manage_staff(actor, facility)
    today = _today()
    if day > today:
        raise ValidationError({"day": _("%(day)s is in the future.") % {"day": day_text(day)}})
    result = StaffRound(facility=facility, day=day)
    ids, staff = _round_staff(facility, rows)
    existing = {c.staff_id: c for c in StaffHealthCheck.objects.filter(staff_id__in=list(staff), day=day)}
    seen: set[int] = set()
    good: list[tuple[StaffMember, Decimal, list[str]]] = []
    for row, pk in zip(rows, ids, strict=True):
        member = staff.get(pk) if pk is not None else None
        if member is None:
            result.problems.append(RowProblem(pk, "staff", _("This person does not work at %(site)s.")
                                              % {"site": facility.name}))
            continue
        if pk in seen:
            result.problems.append(RowProblem(pk, "staff", _("This person appears twice in the round.")))
            continue
        seen.add(pk)
        raw_temperature, raw_symptoms = row.get("temperature"), row.get("symptoms") or ()
        if _empty(raw_temperature) and not raw_symptoms:
            result.skipped += 1
            continue
        problems = []
        problem = _check_day_problem(member, day, today)
        if problem:
            problems.append(RowProblem(pk, "day", problem))
        temperature = symptoms = None
        try:
            temperature = parse_temperature(raw_temperature)
        except ValidationError as exc:
            problems.append(RowProblem(pk, "temperature", " ".join(exc.messages)))
        try:
            symptoms = parse_symptoms(raw_symptoms)
        except ValidationError as exc:
            problems.append(RowProblem(pk, "symptoms", " ".join(exc.messages)))
        if problems:
            result.problems.extend(problems)
            continue
        good.append((member, temperature, symptoms))

    to_create, to_update, audits = [], [], []
    for member, temperature, symptoms in good:
        check = existing.get(member.pk)
        if check is not None and check.temperature == temperature and list(check.symptoms or []) == symptoms:
            result.unchanged += 1
            continue
        before = None if check is None else _check_after(check.temperature, check.symptoms or [])
        if check is None:
            to_create.append(StaffHealthCheck(staff=member, day=day, temperature=temperature, symptoms=symptoms,
                                              recorded_by=_recorder(actor)))
        else:
            check.temperature, check.symptoms, check.recorded_by = temperature, symptoms, _recorder(actor)
            to_update.append(check)
        if check_flags(temperature, symptoms):
            result.flagged += 1
        audits.append(_staff_audit(actor, "staff_check.record", member, before,
                                   {"day": day.isoformat(), "round": True, **_check_after(temperature, symptoms)}))
    try:
        with transaction.atomic():
            if to_create:
                StaffHealthCheck.objects.bulk_create(to_create)
    except IntegrityError:
        raise StaffConflict(_("Someone else recorded part of this round at the same moment; "
                              "reload the page and check before trying again.")) from None
    if to_update:
        StaffHealthCheck.objects.bulk_update(to_update, ["temperature", "symptoms", "recorded_by"])
    result.created, result.updated = len(to_create), len(to_update)
    if result.written or result.problems:
        audits.append(_round_audit(actor, "staff_check.round", facility, {
            "day": day.isoformat(), "created": result.created, "updated": result.updated,
            "unchanged": result.unchanged, "skipped": result.skipped, "rejected": result.rejected,
            "flagged": result.flagged}))
    AuditEvent.objects.bulk_create(audits)
    return result


# --- staff tests ------------------------------------------------------------------------------

def parse_staff_result(value) -> tuple[str, Decimal | None]:
    """(result, ct): empty or "pending" is a sample awaiting its result; else a result word or a Ct."""
    if _empty(value) or (isinstance(value, str) and value.strip().lower() == TestResult.PENDING):
        return TestResult.PENDING, None
    return parse_result(TestKind.PCR, value, DEFAULT_CT_RULE)


def _test_problem(staff: StaffMember, sampled_on: date, today: date) -> str | None:
    if sampled_on > today:
        return _("%(day)s is in the future.") % {"day": day_text(sampled_on)}
    if not on_duty_on(staff, sampled_on):
        return _("%(name)s was not on duty on %(day)s.") % {"name": staff.person.name, "day": day_text(sampled_on)}
    return None


def _result_change_problem(test: StaffTest | None, result: str) -> str | None:
    if test is not None and result == TestResult.PENDING and test.result != TestResult.PENDING:
        return _("This sample already has its result (%(result)s); enter the corrected result instead.") % {
            "result": TestResult(test.result).label if test.result in TestResult.values else test.result}
    return None


def _test_after(sampled_on: date, result: str, ct: Decimal | None) -> dict:
    after = {"sampled_on": sampled_on.isoformat(), "result": result}
    if ct is not None:
        after["ct"] = str(ct)
    return after


@transaction.atomic
def staff_test_record(*, staff: StaffMember, sampled_on: date, actor, result="pending") -> StaffTest:
    """A staff member's test of one day: the sample ("pending"), then its result (a word or a Ct value).

    A positive or doubtful result is kept on the staff record and shown on the
    site's work list; what follows (the case path) is headquarters' decision.
    """
    staff = StaffMember.objects.select_related("person", "facility").get(pk=staff.pk)
    may_manage_staff(actor, staff.facility)
    errors: dict[str, list[str]] = {}
    problem = _test_problem(staff, sampled_on, _today())
    if problem:
        errors.setdefault("sampled_on", []).append(problem)
    word, ct = TestResult.PENDING, None
    try:
        word, ct = parse_staff_result(result)
    except ValidationError as exc:
        errors.setdefault("result", []).extend(exc.messages)
    if errors:
        raise ValidationError(errors)
    test = StaffTest.objects.select_for_update().filter(staff=staff, sampled_on=sampled_on).first()
    problem = _result_change_problem(test, word)
    if problem:
        raise ValidationError({"result": problem})
    if test is not None and test.result == word:
        return test
    if test is None:
        try:
            with transaction.atomic():
                test = StaffTest.objects.create(staff=staff, sampled_on=sampled_on, result=word,
                                                recorded_by=_recorder(actor))
        except IntegrityError:
            raise StaffConflict(_("Someone else recorded this test at the same moment; "
                                  "reload the page and check before trying again.")) from None
        before = None
    else:
        before = {"result": test.result}
        test.result, test.recorded_by = word, _recorder(actor)
        test.save(update_fields=["result", "recorded_by"])
    audit_record(actor=actor, action="staff_test.record", target=staff, before=before,
                 after=_test_after(sampled_on, word, ct))
    return test


@transaction.atomic
def staff_tests_record(*, facility: Facility, sampled_on: date, rows: list[dict], actor) -> StaffRound:
    """The site's test round of one day: ``{"staff": …, "result": …}`` per row; an empty result is skipped.

    ``result`` is "pending" (sampled, result awaited), a result word or a Ct value.
    """
    may_manage_staff(actor, facility)
    today = _today()
    if sampled_on > today:
        raise ValidationError({"day": _("%(day)s is in the future.") % {"day": day_text(sampled_on)}})
    result = StaffRound(facility=facility, day=sampled_on)
    ids, staff = _round_staff(facility, rows)
    existing = {t.staff_id: t for t in StaffTest.objects.filter(staff_id__in=list(staff), sampled_on=sampled_on)}
    seen: set[int] = set()
    to_create, to_update, audits = [], [], []
    for row, pk in zip(rows, ids, strict=True):
        member = staff.get(pk) if pk is not None else None
        if member is None:
            result.problems.append(RowProblem(pk, "staff", _("This person does not work at %(site)s.")
                                              % {"site": facility.name}))
            continue
        if pk in seen:
            result.problems.append(RowProblem(pk, "staff", _("This person appears twice in the round.")))
            continue
        seen.add(pk)
        raw = row.get("result")
        if _empty(raw):
            result.skipped += 1
            continue
        problem = _test_problem(member, sampled_on, today)
        if problem:
            result.problems.append(RowProblem(pk, "day", problem))
            continue
        try:
            word, ct = parse_staff_result(raw)
        except ValidationError as exc:
            result.problems.append(RowProblem(pk, "result", " ".join(exc.messages)))
            continue
        test = existing.get(pk)
        problem = _result_change_problem(test, word)
        if problem:
            result.problems.append(RowProblem(pk, "result", problem))
            continue
        if test is not None and test.result == word:
            result.unchanged += 1
            continue
        before = None if test is None else {"result": test.result}
        if test is None:
            to_create.append(StaffTest(staff=member, sampled_on=sampled_on, result=word, recorded_by=_recorder(actor)))
        else:
            test.result, test.recorded_by = word, _recorder(actor)
            to_update.append(test)
        if word in FLAGGED_RESULTS:
            result.flagged += 1
        audits.append(_staff_audit(actor, "staff_test.record", member, before,
                                   {**_test_after(sampled_on, word, ct), "round": True}))
    try:
        with transaction.atomic():
            if to_create:
                StaffTest.objects.bulk_create(to_create)
    except IntegrityError:
        raise StaffConflict(_("Someone else recorded part of this round at the same moment; "
                              "reload the page and check before trying again.")) from None
    if to_update:
        StaffTest.objects.bulk_update(to_update, ["result", "recorded_by"])
    result.created, result.updated = len(to_create), len(to_update)
    if result.written or result.problems:
        audits.append(_round_audit(actor, "staff_test.round", facility, {
            "day": sampled_on.isoformat(), "created": result.created, "updated": result.updated,
            "unchanged": result.unchanged, "skipped": result.skipped, "rejected": result.rejected,
            "flagged": result.flagged}))
    AuditEvent.objects.bulk_create(audits)
    return result


# --- leaving duty -----------------------------------------------------------------------------

@transaction.atomic
def staff_leave_duty(*, staff: StaffMember, off_duty_on: date, actor, reason: str = "") -> StaffMember:
    """End a duty on its last day and put the person in the loop: an episode of the staff rotation.

    The episode counts from ``off_duty_on`` (day 1 of the rotation is the last
    day on duty). It awaits placement like any other; the rotation protocol in
    force when they are placed gives the schedule. Shifts rostered after the
    last day are removed.
    """
    staff = StaffMember.objects.select_for_update().select_related("person", "facility").get(pk=staff.pk)
    may_manage_staff(actor, staff.facility)
    _on_duty(staff)
    if not isinstance(off_duty_on, date):
        raise ValidationError({"off_duty_on": _("Enter the last day on duty.")})
    if off_duty_on < staff.on_duty_from:
        raise ValidationError({"off_duty_on": _("The last day on duty cannot be before the first (%(from)s).")
                                              % {"from": day_text(staff.on_duty_from)}})
    if off_duty_on > _today():
        raise ValidationError({"off_duty_on": _("The last day on duty cannot be in the future; "
                                                "record the leave on that day.")})
    person = staff.person
    episode = episode_open(
        person=person, category=STAFF_ROTATION, anchor_date=off_duty_on, actor=actor, reason=reason,
        details={"facility": staff.facility.code, "staff": staff.pk, "task_group": staff.task_group,
                 "on_duty_from": staff.on_duty_from.isoformat(), "off_duty_on": off_duty_on.isoformat()},
    )
    won = StaffMember.objects.filter(pk=staff.pk, status=StaffStatus.ON_DUTY).update(
        status=StaffStatus.OFF_DUTY, off_duty_on=off_duty_on, rotation_episode=episode)
    if not won:  # the row lock above already serialises desks; this is the compare-and-swap behind it
        raise StaffConflict(_("Someone else recorded this leave at the same moment; reload the page."))
    removed, _rows = DutyShift.objects.filter(staff=staff, day__gt=off_duty_on).delete()
    staff.status, staff.off_duty_on, staff.rotation_episode = StaffStatus.OFF_DUTY, off_duty_on, episode
    audit_record(actor=actor, action="staff.leave_duty", target=staff, reason=reason,
                 before={"status": StaffStatus.ON_DUTY},
                 after={"status": StaffStatus.OFF_DUTY, "off_duty_on": off_duty_on.isoformat(),
                        "episode": episode.pk, "shifts_removed": removed})
    return staff
