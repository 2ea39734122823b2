"""Observations of the closed loop: health checks, specimens and results, alerts, the case path.

- ``health_check_record`` — one morning or evening check (temperature, symptoms);
  recording the same slot again updates it. A temperature of 37.3 °C or more
  raises a fever alert, any symptom a symptom alert, each answered by the
  custodian holding the person; one open alert per kind per episode.
- ``check_round_record`` — a site's round: every row checked on its own, the
  good rows written in bulk (a constant number of queries for 300 rows), the
  bad ones returned with their reasons.
- ``specimen_record`` / ``result_record`` — a sample and its result. A Ct is
  read by the protocol's rule; a positive result starts the case path in the
  same transaction (see ``docs/observations.md``).
- ``results_import`` — a lab's result file, every row with an outcome.
- ``alert_resolve`` — someone answered the alert.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from closedloop.core.audit import actor_label, audit_record
from closedloop.core.models import AuditEvent
from closedloop.core.roles import Cap
from closedloop.lib.dates import format_cn
from closedloop.lib.protocols import CT_ASSESS, CT_POSITIVE, SLOT_LABELS, CtRule
from closedloop.lib.text import clean_cell
from closedloop.quarantine import states
from closedloop.quarantine.actions.custody import (
    advance,
    custodian_in_scope,
    episode_open,
    episode_place,
    handover_give,
    in_reach,
)
from closedloop.quarantine.choices import (
    AlertKind,
    AlertStatus,
    Category,
    CheckSlot,
    CustodianKind,
    TestKind,
    TestResult,
)
from closedloop.quarantine.models import Alert, Custodian, Episode, HealthCheck, Specimen

# --- the rules of this module ----------------------------------------------------------------

TEMPERATURE_MIN = Decimal("34.0")
TEMPERATURE_MAX = Decimal("43.0")
FEVER_FROM = Decimal("37.3")  # 37.3 °C and above is a fever (axillary)
ONE_DECIMAL = Decimal("0.1")
CT_MAX = Decimal("50")
# A sample time this far ahead of the server's clock is a typing error, not a clock drift.
CLOCK_SKEW = timedelta(minutes=5)
# How long the closed-loop transfer of a new case to the designated hospital may take.
CASE_TRANSFER_HOURS = 4
# An episode without a protocol (a case in hospital) is checked morning and evening.
DEFAULT_SLOTS = SLOT_LABELS[2]
# A Ct without a protocol to read it (a case episode): the national thresholds.
DEFAULT_CT_RULE = CtRule(positive_below=35, assess_below=40)

# The symptoms a health check records (national protocol, 9th edition). Fever is the temperature.
SYMPTOMS = (
    ("cough", gettext_lazy("Cough")),
    ("sore_throat", gettext_lazy("Dry or sore throat")),
    ("fatigue", gettext_lazy("Fatigue")),
    ("smell_taste", gettext_lazy("Loss of smell or taste")),
    ("nose", gettext_lazy("Blocked or runny nose")),
    ("muscle_pain", gettext_lazy("Muscle aches")),
    ("diarrhoea", gettext_lazy("Diarrhoea")),
    ("conjunctivitis", gettext_lazy("Conjunctivitis")),
    ("breathing", gettext_lazy("Shortness of breath")),
)
SYMPTOM_CODES = tuple(code for code, _label in SYMPTOMS)

# Result words as labs and clerks write them (compared lower-case, without spaces).
_NEGATIVE_WORDS = {"negative", "neg", "阴性", "阴", "未检出", "阴性(-)", "阴性（-）", "(-)", "-"}
_POSITIVE_WORDS = {"positive", "pos", "阳性", "阳", "检出", "阳性(+)", "阳性（+）", "(+)", "+"}
_ASSESS_WORDS = {"可疑", "灰区", "待复核", "待复检", "suspect", "suspicious", "inconclusive", "indeterminate"}
_INVALID_WORDS = {"invalid", "无效", "样本无效", "不合格", "样本不合格", "需重采", "重采", "rejected"}


class ObservationConflict(ValidationError):
    """Someone else wrote the same record at the same moment; nothing was written."""


# --- who may record --------------------------------------------------------------------------

def may_record(actor, episode: Episode) -> None:
    """The actor may record observations of this episode, or PermissionDenied says why not."""
    if actor is None:
        return  # the system itself (imports run by a command, the demo)
    if not actor.can(Cap.RECORD_OBSERVATIONS):
        raise PermissionDenied(_("Your role may not record health checks, samples or results."))
    if not in_reach(actor, episode):
        raise PermissionDenied(_("This person and their custodian are outside your jurisdiction."))


def may_record_at(actor, custodian: Custodian) -> None:
    if actor is None:
        return
    if not actor.can(Cap.RECORD_OBSERVATIONS):
        raise PermissionDenied(_("Your role may not record health checks, samples or results."))
    if not custodian_in_scope(actor, custodian):
        raise PermissionDenied(_("This custodian is outside your jurisdiction."))


# --- small helpers -------------------------------------------------------------------------

def day_text(value: date) -> str:
    """A day in the active language: 2022年8月3日 in Chinese, 2022-08-03 in English."""
    return format_cn(value) if (get_language() or "").lower().startswith("zh") else value.isoformat()


def slot_label(slot: str) -> str:
    return str(CheckSlot(slot).label) if slot in CheckSlot.values else slot


def symptom_labels(codes: Iterable[str]) -> list[str]:
    labels = dict(SYMPTOMS)
    return [str(labels.get(code, code)) for code in codes]


def _key(text: object) -> str:
    return re.sub(r"\s+", "", clean_cell(text).lower())


def _now_local_day() -> date:
    return timezone.localdate()


def _local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    tz = ZoneInfo(settings.TIME_ZONE)
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    return start, start + timedelta(days=1)


def _audit_row(*, actor, action: str, episode: Episode, before=None, after=None, reason: str = "") -> AuditEvent:
    """An audit row about an episode, unsaved: for bulk_create (same fields as ``audit_record``)."""
    return AuditEvent(
        actor=actor if getattr(actor, "pk", None) else None, actor_label=actor_label(actor), action=action,
        target_type="episode", target_id=str(episode.pk), target_label=str(episode)[:200],
        before=before, after=after, reason=reason,
    )


def episode_slots(episode: Episode, _specs: dict | None = None) -> tuple[str, ...]:
    """The check slots of the episode's protocol: ('morning', 'evening') for two a day."""
    if episode.protocol_id is None:
        return DEFAULT_SLOTS
    if _specs is not None:
        spec = _specs.get(episode.protocol_id)
        if spec is None:
            spec = _specs[episode.protocol_id] = episode.protocol.spec()
    else:
        spec = episode.protocol.spec()
    return spec.health_checks.slots


def ct_rule(episode: Episode) -> CtRule:
    return episode.protocol.spec().ct if episode.protocol_id else DEFAULT_CT_RULE


# --- parsing what was typed -------------------------------------------------------------------

def parse_temperature(value) -> Decimal:
    """36.5, "36.5", "36,5", "36.5℃" → Decimal('36.5'); ValidationError on the temperature field otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError({"temperature": _("Enter the temperature.")})
    if isinstance(value, bool):
        raise ValidationError({"temperature": _("Enter the temperature.")})
    if isinstance(value, (int, float, Decimal)):
        text = str(value)
    else:
        text = clean_cell(value).lower()
        for noise in ("℃", "°c", "°", "度", " "):
            text = text.replace(noise, "")
        text = text.replace(",", ".").replace("。", ".").rstrip("c")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValidationError({"temperature": _("“%(value)s” is not a temperature; write it like 36.5.")
                                               % {"value": clean_cell(value)}}) from None
    if not number.is_finite():
        raise ValidationError({"temperature": _("“%(value)s” is not a temperature; write it like 36.5.")
                                               % {"value": clean_cell(value)}})
    number = number.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)
    if not TEMPERATURE_MIN <= number <= TEMPERATURE_MAX:
        raise ValidationError({"temperature": _(
            "A temperature of %(value)s °C is not plausible (%(low)s–%(high)s °C); measure again."
        ) % {"value": number, "low": TEMPERATURE_MIN, "high": TEMPERATURE_MAX}})
    return number


def parse_symptoms(values) -> list[str]:
    """Symptom codes, known ones only, each once, in the order of SYMPTOMS."""
    given = [clean_cell(v) for v in (values or ()) if clean_cell(v)]
    unknown = [v for v in given if v not in SYMPTOM_CODES]
    if unknown:
        raise ValidationError({"symptoms": _("Unknown symptom “%(value)s”.") % {"value": unknown[0]}})
    return [code for code in SYMPTOM_CODES if code in given]


def _result_word(text: str) -> str | None:
    key = _key(text)
    if key in _NEGATIVE_WORDS:
        return TestResult.NEGATIVE
    if key in _POSITIVE_WORDS:
        return TestResult.POSITIVE
    if key in _ASSESS_WORDS:
        return TestResult.ASSESS
    if key in _INVALID_WORDS:
        return TestResult.INVALID
    return None


def parse_ct(value) -> Decimal:
    """A Ct value: a number above 0 and at most 50, to one decimal."""
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ValidationError({"result": _("“%(value)s” is neither a result nor a Ct value.")
                                          % {"value": clean_cell(value)}}) from None
    if not number.is_finite() or not Decimal(0) < number <= CT_MAX:
        raise ValidationError({"result": _("A Ct value must lie between 0 and %(max)s; “%(value)s” does not.")
                                          % {"max": CT_MAX, "value": clean_cell(value)}})
    return number.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def parse_result(kind: str, result_or_ct, rule: CtRule) -> tuple[str, Decimal | None]:
    """(result, ct) from a Ct value or a result word; a Ct is read by the protocol's ``rule``.

    A nucleic-acid test takes a Ct (number) or a word (negative, positive, needs
    assessment, invalid); an antigen test only a word, and no "needs assessment".
    """
    if result_or_ct is None or (isinstance(result_or_ct, str) and not result_or_ct.strip()):
        raise ValidationError({"result": _("Enter the result or the Ct value.")})
    if isinstance(result_or_ct, bool):
        raise ValidationError({"result": _("Enter the result or the Ct value.")})
    numeric = isinstance(result_or_ct, (int, float, Decimal))
    if not numeric:
        word = _result_word(result_or_ct)
        if word is None:
            text = clean_cell(result_or_ct)
            try:
                Decimal(text)
            except InvalidOperation:
                if text in TestResult.values and text != TestResult.PENDING:
                    word = text
                else:
                    raise ValidationError({"result": _("“%(value)s” is neither a result nor a Ct value.")
                                                      % {"value": text}}) from None
            else:
                numeric = True
        if word is not None:
            if kind == TestKind.ANTIGEN and word == TestResult.ASSESS:
                raise ValidationError({"result": _("An antigen test is positive, negative or invalid.")})
            return word, None
    if kind == TestKind.ANTIGEN:
        raise ValidationError({"result": _("An antigen test has no Ct value; enter positive or negative.")})
    ct = parse_ct(result_or_ct)
    verdict = rule.classify(float(ct))
    result = {CT_POSITIVE: TestResult.POSITIVE, CT_ASSESS: TestResult.ASSESS}.get(verdict, TestResult.NEGATIVE)
    return result, ct


# --- alerts ------------------------------------------------------------------------------------

def _raise_alert(*, episode: Episode, kind: str, custodian: Custodian | None, detail: str, actor) -> tuple[Alert, bool]:
    """The open alert of this kind on the episode, raised now if there is none (one open per kind)."""
    existing = Alert.objects.filter(episode=episode, kind=kind, status=AlertStatus.OPEN).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            alert = Alert.objects.create(episode=episode, kind=kind, custodian=custodian, detail=detail[:300])
    except IntegrityError:  # raised by another desk a moment ago
        return Alert.objects.get(episode=episode, kind=kind, status=AlertStatus.OPEN), False
    audit_record(actor=actor, action="alert.raise", target=episode,
                 after={"alert": alert.pk, "kind": kind, "custodian": custodian.pk if custodian else None,
                        "detail": alert.detail})
    return alert, True


def _check_alerts(episode: Episode, day: date, slot: str, temperature: Decimal, symptoms: list[str]):
    """(kind, detail) of the alerts a check raises."""
    when = f"{day_text(day)} {slot_label(slot)}"
    alerts = []
    if temperature >= FEVER_FROM:
        alerts.append((AlertKind.FEVER, _("%(temperature)s °C at the %(when)s check.")
                       % {"temperature": temperature, "when": when}))
    if symptoms:
        alerts.append((AlertKind.SYMPTOM, _("%(symptoms)s at the %(when)s check.")
                       % {"symptoms": "、".join(symptom_labels(symptoms)), "when": when}))
    return alerts


@transaction.atomic
def alert_resolve(*, alert: Alert, resolution: str, actor) -> Alert:
    """Someone answered the alert: open → resolved, with what was done. Exactly one desk wins."""
    resolution = (resolution or "").strip()
    current = Alert.objects.select_related(
        "episode__person", "episode__custodian__jurisdiction", "custodian__jurisdiction",
    ).get(pk=alert.pk)
    may_record(actor, current.episode)
    if (actor is not None and current.kind == AlertKind.POSITIVE and current.custodian_id is None
            and not actor.can(Cap.CLOSE_EPISODES)):
        raise PermissionDenied(_("A positive result is answered by headquarters."))
    if not resolution:
        raise ValidationError({"resolution": _("Say what was done about the alert.")})
    if current.status != AlertStatus.OPEN:
        raise ValidationError(_("This alert has already been resolved."))
    now = timezone.now()
    won = Alert.objects.filter(pk=current.pk, status=AlertStatus.OPEN).update(
        status=AlertStatus.RESOLVED, resolved_at=now, resolved_by=actor if getattr(actor, "pk", None) else None,
        resolution=resolution,
    )
    if not won:
        raise ObservationConflict(_("Someone else resolved this alert at the same moment."))
    current.status, current.resolved_at, current.resolution = AlertStatus.RESOLVED, now, resolution
    current.resolved_by = actor if getattr(actor, "pk", None) else None
    audit_record(actor=actor, action="alert.resolve", target=current, reason=resolution,
                 before={"status": AlertStatus.OPEN}, after={"status": AlertStatus.RESOLVED, "episode": current.episode_id})
    return current


# --- health checks -------------------------------------------------------------------------------

def _check_problems(episode: Episode, day: date, slot: str, today: date, specs: dict | None = None) -> dict:
    """Field → reason for what makes a check impossible for this episode on this day and slot."""
    problems: dict[str, str] = {}
    if episode.state != states.IN_CUSTODY:
        problems["episode"] = _("Health checks are recorded for people in custody; this person is %(state)s.") % {
            "state": episode.get_state_display()}
        return problems
    if day > today:
        problems["day"] = _("%(day)s is in the future.") % {"day": day_text(day)}
    else:
        start = episode.placed_on
        if start is not None and day < start:
            problems["day"] = _("Health checks run from the day of placement (%(start)s); %(day)s is before it.") % {
                "start": day_text(start), "day": day_text(day)}
    slots = episode_slots(episode, specs)
    if slot not in slots:
        problems["slot"] = _("This person's protocol checks %(slots)s, not %(slot)s.") % {
            "slots": "、".join(slot_label(s) for s in slots), "slot": slot_label(slot)}
    return problems


def _same_check(check: HealthCheck, temperature: Decimal, symptoms: list[str], note: str | None) -> bool:
    return (check.temperature == temperature and list(check.symptoms or []) == symptoms
            and (note is None or check.note == note))


def _check_dict(temperature, symptoms, note) -> dict:
    return {"temperature": str(temperature) if temperature is not None else None, "symptoms": list(symptoms),
            "note": note}


@transaction.atomic
def health_check_record(
    *, episode: Episode, day: date, slot: str, temperature, symptoms=(), note: str = "", actor,
) -> HealthCheck:
    """One check of one person: recorded, or (same slot again) updated; a fever or symptom raises an alert."""
    current = Episode.objects.select_related("person", "protocol", "custodian__jurisdiction").get(pk=episode.pk)
    may_record(actor, current)
    errors: dict[str, list[str]] = {}
    for name, reason in _check_problems(current, day, slot, _now_local_day()).items():
        errors.setdefault(name if name != "episode" else "__all__", []).append(reason)
    try:
        temperature = parse_temperature(temperature)
    except ValidationError as exc:
        errors.setdefault("temperature", []).extend(exc.messages)
    try:
        symptoms = parse_symptoms(symptoms)
    except ValidationError as exc:
        errors.setdefault("symptoms", []).extend(exc.messages)
    note = clean_cell(note)
    if len(note) > 200:
        errors.setdefault("note", []).append(_("Keep the note under 200 characters."))
    if errors:
        raise ValidationError(errors)
    check = HealthCheck.objects.filter(episode=current, day=day, slot=slot).first()
    if check is not None and _same_check(check, temperature, symptoms, note):
        return check
    recorder = actor if getattr(actor, "pk", None) else None
    if check is None:
        try:
            with transaction.atomic():
                check = HealthCheck.objects.create(episode=current, day=day, slot=slot, temperature=temperature,
                                                   symptoms=symptoms, note=note, recorded_by=recorder)
        except IntegrityError:
            raise ObservationConflict(_("Someone else recorded this check at the same moment; "
                                        "reload the page and check before trying again.")) from None
        before = None
    else:
        before = _check_dict(check.temperature, check.symptoms, check.note)
        check.temperature, check.symptoms, check.note, check.recorded_by = temperature, symptoms, note, recorder
        check.save(update_fields=["temperature", "symptoms", "note", "recorded_by"])
    audit_record(actor=actor, action="health_check.record", target=current, before=before,
                 after={"check": check.pk, "day": day.isoformat(), "slot": slot,
                        **_check_dict(temperature, symptoms, note)})
    for kind, detail in _check_alerts(current, day, slot, temperature, symptoms):
        _raise_alert(episode=current, kind=kind, custodian=current.custodian, detail=detail, actor=actor)
    return check


@dataclass
class RoundProblem:
    """One refused row of a round: which episode, which field, why."""

    episode_id: int | None
    field: str  # 'episode', 'day', 'slot', 'temperature', 'symptoms'
    reason: str
    row: int  # position in the rows given, from 0


@dataclass
class RoundResult:
    custodian: Custodian
    day: date
    slot: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # rows left empty: not checked yet
    alerts: int = 0  # alerts raised
    problems: list[RoundProblem] = field(default_factory=list)

    @property
    def written(self) -> int:
        return self.created + self.updated

    @property
    def rejected(self) -> int:
        return len({p.row for p in self.problems})

    def problems_by_episode(self) -> dict[int, list[RoundProblem]]:
        out: dict[int, list[RoundProblem]] = {}
        for p in self.problems:
            if p.episode_id is not None:
                out.setdefault(p.episode_id, []).append(p)
        return out


def _row_episode_id(row: dict) -> int | None:
    value = row.get("episode")
    if isinstance(value, Episode):
        return value.pk
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@transaction.atomic
def check_round_record(*, custodian: Custodian, day: date, slot: str, rows: list[dict], actor) -> RoundResult:
    """A custodian's round: every row checked alone; the good ones written together, the bad ones returned.

    A row is ``{"episode": Episode or id, "temperature": ..., "symptoms": [...], "note": optional}``.
    A row with neither a temperature nor a symptom is skipped (not checked yet).
    The number of queries does not grow with the number of rows.
    """
    may_record_at(actor, custodian)
    today = _now_local_day()
    if slot not in CheckSlot.values:
        raise ValidationError({"slot": _("Choose the check: morning, evening …")})
    if day > today:
        raise ValidationError({"day": _("%(day)s is in the future.") % {"day": day_text(day)}})
    result = RoundResult(custodian=custodian, day=day, slot=slot)
    ids = [_row_episode_id(r) for r in rows]
    episodes = {
        e.pk: e for e in Episode.objects.filter(pk__in=[i for i in ids if i is not None])
        .select_related("person", "protocol")
    }
    existing = {c.episode_id: c for c in HealthCheck.objects.filter(episode_id__in=list(episodes), day=day, slot=slot)}
    specs: dict = {}
    seen: set[int] = set()
    good: list[tuple[Episode, Decimal, list[str], str | None]] = []
    for index, (row, pk) in enumerate(zip(rows, ids, strict=True)):
        episode = episodes.get(pk) if pk is not None else None
        if episode is None or episode.custodian_id != custodian.pk or episode.state != states.IN_CUSTODY:
            result.problems.append(RoundProblem(pk, "episode", _("This person is not held by %(custodian)s.")
                                                % {"custodian": custodian.name}, index))
            continue
        if pk in seen:
            result.problems.append(RoundProblem(pk, "episode", _("This person appears twice in the round."), index))
            continue
        seen.add(pk)
        raw_temperature, raw_symptoms = row.get("temperature"), row.get("symptoms") or ()
        if (raw_temperature is None or str(raw_temperature).strip() == "") and not raw_symptoms:
            result.skipped += 1
            continue
        row_problems = [RoundProblem(pk, f, r, index) for f, r in _check_problems(episode, day, slot, today, specs).items()]
        temperature = symptoms = None
        try:
            temperature = parse_temperature(raw_temperature)
        except ValidationError as exc:
            row_problems.append(RoundProblem(pk, "temperature", " ".join(exc.messages), index))
        try:
            symptoms = parse_symptoms(raw_symptoms)
        except ValidationError as exc:
            row_problems.append(RoundProblem(pk, "symptoms", " ".join(exc.messages), index))
        note = clean_cell(row["note"])[:200] if "note" in row else None
        if row_problems:
            result.problems.extend(row_problems)
            continue
        good.append((episode, temperature, symptoms, note))

    recorder = actor if getattr(actor, "pk", None) else None
    to_create, to_update, audits = [], [], []
    written: list[tuple[Episode, Decimal, list[str]]] = []
    for episode, temperature, symptoms, note in good:
        check = existing.get(episode.pk)
        if check is not None and _same_check(check, temperature, symptoms, note):
            result.unchanged += 1
            continue
        if check is None:
            to_create.append(HealthCheck(episode=episode, day=day, slot=slot, temperature=temperature,
                                         symptoms=symptoms, note=note or "", recorded_by=recorder))
            before = None
        else:
            before = _check_dict(check.temperature, check.symptoms, check.note)
            check.temperature, check.symptoms, check.recorded_by = temperature, symptoms, recorder
            if note is not None:
                check.note = note
            to_update.append(check)
        audits.append(_audit_row(actor=actor, action="health_check.record", episode=episode, before=before,
                                 after={"day": day.isoformat(), "slot": slot, "round": custodian.pk,
                                        **_check_dict(temperature, symptoms, note if note is not None
                                                      else (check.note if check else ""))}))
        written.append((episode, temperature, symptoms))
    try:
        with transaction.atomic():
            if to_create:
                HealthCheck.objects.bulk_create(to_create)
    except IntegrityError:
        raise ObservationConflict(_("Someone else recorded part of this round at the same moment; "
                                    "reload the page and check before trying again.")) from None
    if to_update:
        HealthCheck.objects.bulk_update(to_update, ["temperature", "symptoms", "note", "recorded_by"])
    result.created, result.updated = len(to_create), len(to_update)

    # Alerts: one open per kind per episode, raised in bulk.
    wanted = [(episode, kind, detail) for episode, temperature, symptoms in written
              for kind, detail in _check_alerts(episode, day, slot, temperature, symptoms)]
    if wanted:
        open_now = set(Alert.objects.filter(
            episode_id__in={e.pk for e, _k, _d in wanted}, kind__in=[AlertKind.FEVER, AlertKind.SYMPTOM],
            status=AlertStatus.OPEN,
        ).values_list("episode_id", "kind"))
        new = [(e, k, d) for e, k, d in wanted if (e.pk, k) not in open_now]
        if new:
            Alert.objects.bulk_create(
                [Alert(episode=e, kind=k, custodian=custodian, detail=d[:300]) for e, k, d in new],
                ignore_conflicts=True,  # raised by another desk a moment ago: theirs stands
            )
            audits.extend(_audit_row(actor=actor, action="alert.raise", episode=e,
                                     after={"kind": k, "custodian": custodian.pk, "detail": d[:300]})
                          for e, k, d in new)
            result.alerts = len(new)
    if result.written or result.problems:
        audits.append(AuditEvent(
            actor=recorder, actor_label=actor_label(actor), action="health_check.round",
            target_type="custodian", target_id=str(custodian.pk), target_label=custodian.name[:200],
            after={"day": day.isoformat(), "slot": slot, "created": result.created, "updated": result.updated,
                   "unchanged": result.unchanged, "skipped": result.skipped, "rejected": result.rejected,
                   "alerts": result.alerts},
        ))
    AuditEvent.objects.bulk_create(audits)
    return result


# --- specimens and results -------------------------------------------------------------------

def schedule_of(episode: Episode):
    from closedloop.quarantine.actions.release import episode_schedule

    return episode_schedule(episode)


def _clean_barcode(barcode) -> str:
    text = clean_cell(barcode).replace(" ", "")
    if len(text) > 40:
        raise ValidationError({"barcode": _("A barcode has at most 40 characters.")})
    return text


@transaction.atomic
def specimen_record(
    *, episode: Episode, kind: str, sampled_at: datetime, barcode: str = "", scheduled_for: date | None = None,
    actor,
) -> Specimen:
    """A sample taken. A nucleic-acid sample on one of the schedule's test days answers that test."""
    current = Episode.objects.select_related("person", "protocol", "custodian__jurisdiction").get(pk=episode.pk)
    may_record(actor, current)
    errors: dict[str, list[str]] = {}
    if current.status != "open":
        errors.setdefault("__all__", []).append(
            _("This episode has ended (%(state)s); no sample can be added to it.") % {
                "state": current.get_state_display()})
    if kind not in TestKind.values:
        errors.setdefault("kind", []).append(_("Choose the kind of test."))
    if sampled_at is None or timezone.is_naive(sampled_at):
        errors.setdefault("sampled_at", []).append(_("Enter when the sample was taken."))
    elif sampled_at > timezone.now() + CLOCK_SKEW:
        errors.setdefault("sampled_at", []).append(_("The sample time is in the future."))
    elif current.anchor_date and _local_day(sampled_at) < current.anchor_date:
        errors.setdefault("sampled_at", []).append(
            _("The sample was taken before the day this person's control counts from (%(day)s).") % {
                "day": day_text(current.anchor_date)})
    try:
        barcode = _clean_barcode(barcode)
    except ValidationError as exc:
        errors.setdefault("barcode", []).extend(exc.messages)
        barcode = ""
    if barcode and Specimen.objects.filter(barcode=barcode).exists():
        errors.setdefault("barcode", []).append(
            _("The barcode %(barcode)s is already on another sample.") % {"barcode": barcode})
    if errors:
        raise ValidationError(errors)
    schedule = schedule_of(current)
    test_days = {t.date for t in schedule.tests} if schedule is not None else set()
    if scheduled_for is not None:
        if kind != TestKind.PCR:
            raise ValidationError({"scheduled_for": _("Only a nucleic-acid test answers a scheduled test day.")})
        if scheduled_for not in test_days:
            raise ValidationError({"scheduled_for": _("%(day)s is not a test day of this person's schedule.")
                                                    % {"day": day_text(scheduled_for)}})
    elif kind == TestKind.PCR and _local_day(sampled_at) in test_days:
        scheduled_for = _local_day(sampled_at)
    try:
        with transaction.atomic():
            specimen = Specimen.objects.create(
                episode=current, kind=kind, barcode=barcode, scheduled_for=scheduled_for, sampled_at=sampled_at,
                recorded_by=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError:
        raise ValidationError({"barcode": _("The barcode %(barcode)s is already on another sample.")
                                           % {"barcode": barcode}}) from None
    audit_record(actor=actor, action="specimen.record", target=current,
                 after={"specimen": specimen.pk, "kind": kind, "barcode": barcode,
                        "sampled_at": sampled_at.isoformat(),
                        "scheduled_for": scheduled_for.isoformat() if scheduled_for else None})
    return specimen


def _ct_text(ct: Decimal | None) -> str:
    return f"Ct {ct}" if ct is not None else ""


def _designated_hospital(episode: Episode) -> Custodian | None:
    """The city's designated hospital: its first active hospital custodian."""
    return (Custodian.objects.filter(kind=CustodianKind.HOSPITAL, city_id=episode.city_id, active=True)
            .order_by("pk").first())


def _case_path(*, episode: Episode, specimen: Specimen, actor) -> tuple[Episode | None, str]:
    """A positive result ends the course: the person becomes a case, opens a case episode with the same
    custodian and is handed over to the designated hospital. Returns (the case episode, what happened)."""
    sampled_on = _local_day(specimen.sampled_at)
    what = _("Positive result (%(test)s%(ct)s) of the sample taken on %(day)s.") % {
        "test": specimen.get_kind_display(), "ct": f", {_ct_text(specimen.ct)}" if specimen.ct is not None else "",
        "day": day_text(sampled_on)}
    if episode.state not in (states.IN_CUSTODY, states.IN_TRANSIT):
        if episode.state == states.AWAITING:
            return None, what + " " + _("The person is not yet held by anyone: place them under control and "
                                        "transfer them to the designated hospital.")
        return None, what + " " + _("This episode had already ended (%(state)s): find the person and transfer "
                                    "them to the designated hospital.") % {"state": episode.get_state_display()}
    holder = Custodian.objects.get(pk=episode.custodian_id)
    advance(episode, states.BECOME_CASE, actor=actor, reason=what)
    case = episode_open(person=episode.person, category=Category.CASE, anchor_date=sampled_on, actor=actor,
                        details={"from_episode": episode.pk, "specimen": specimen.pk}, reason=what)
    case = episode_place(episode=case, custodian=holder, actor=actor, placed_on=max(_now_local_day(), sampled_on))
    hospital = _designated_hospital(episode)
    if hospital is None:
        return case, what + " " + _("Case episode #%(case)s opened with %(holder)s. No designated hospital is set "
                                    "up: the person stays with %(holder)s until one is.") % {
            "case": case.pk, "holder": holder.name}
    if hospital.pk == holder.pk:
        return case, what + " " + _("Case episode #%(case)s opened; the person is already at %(hospital)s.") % {
            "case": case.pk, "hospital": hospital.name}
    expected_by = timezone.now() + timedelta(hours=CASE_TRANSFER_HOURS)
    case = handover_give(episode=case, to_custodian=hospital, expected_by=expected_by, actor=actor,
                         reason=_("Positive result: closed-loop transfer to the designated hospital."))
    return case, what + " " + _("Case episode #%(case)s opened and handed over by %(holder)s to %(hospital)s, "
                                "expected by %(time)s.") % {
        "case": case.pk, "holder": holder.name, "hospital": hospital.name,
        "time": timezone.localtime(expected_by).strftime("%H:%M")}


def _record_result(*, specimen: Specimen, result_or_ct, lab: str, actor) -> tuple[Specimen, bool]:
    """(specimen, changed): the result recorded, or the same result already there (unchanged)."""
    current = Specimen.objects.select_related(
        "episode__person", "episode__protocol", "episode__custodian__jurisdiction",
    ).get(pk=specimen.pk)
    episode = current.episode
    may_record(actor, episode)
    result, ct = parse_result(current.kind, result_or_ct, ct_rule(episode))
    lab = clean_cell(lab)[:120]
    if current.result != TestResult.PENDING:
        if current.result == result and current.ct == ct:
            return current, False
        raise ValidationError({"result": _(
            "This sample already has the result %(result)s%(ct)s; a different result must be checked with the lab."
        ) % {"result": current.get_result_display(), "ct": f" ({_ct_text(current.ct)})" if current.ct is not None else ""}})
    now = timezone.now()
    won = Specimen.objects.filter(pk=current.pk, result=TestResult.PENDING).update(
        result=result, ct=ct, lab=lab, reported_at=now, recorded_by=actor if getattr(actor, "pk", None) else None,
    )
    if not won:
        raise ObservationConflict(_("Someone else recorded this result at the same moment; "
                                    "reload the page and check before trying again."))
    current.result, current.ct, current.lab, current.reported_at = result, ct, lab, now
    audit_record(actor=actor, action="specimen.result", target=episode,
                 after={"specimen": current.pk, "barcode": current.barcode, "result": result,
                        "ct": str(ct) if ct is not None else None, "lab": lab})
    if result == TestResult.ASSESS and episode.category != Category.CASE:
        detail = _("%(ct)s on the sample taken on %(day)s: between the positive and negative thresholds; "
                   "assess the risk.") % {"ct": _ct_text(ct), "day": day_text(_local_day(current.sampled_at))}
        _raise_alert(episode=episode, kind=AlertKind.ASSESS, custodian=episode.custodian, detail=detail, actor=actor)
    elif result == TestResult.POSITIVE and episode.category != Category.CASE and episode.state != states.BECAME_CASE:
        _case, detail = _case_path(episode=episode, specimen=current, actor=actor)
        # Headquarters answers a positive result (no custodian), on the episode whose test it was.
        _raise_alert(episode=episode, kind=AlertKind.POSITIVE, custodian=None, detail=detail, actor=actor)
    return current, True


@transaction.atomic
def result_record(*, specimen: Specimen, result_or_ct, lab: str = "", actor) -> Specimen:
    """The lab's answer for a sample: a Ct value (read by the protocol's rule) or a result word.

    Needs assessment raises an alert; positive starts the case path in the same
    transaction. The same result again changes nothing; a different one is refused.
    """
    return _record_result(specimen=specimen, result_or_ct=result_or_ct, lab=lab, actor=actor)[0]


# --- a lab's result file -----------------------------------------------------------------------

@dataclass
class ResultRow:
    row: int  # the file's row number
    outcome: str  # 'recorded', 'unchanged', 'rejected'
    reason: str = ""
    column: str = ""
    value: str = ""  # masked when it is an ID number
    specimen_id: int | None = None
    result: str = ""
    specimen_created: bool = False


@dataclass
class ResultImport:
    file_name: str
    sha256: str
    header_row: int
    rows: list[ResultRow] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.rows if r.outcome == outcome)

    @property
    def read(self) -> int:
        return len(self.rows)

    @property
    def recorded(self) -> int:
        return self.count("recorded")

    @property
    def unchanged(self) -> int:
        return self.count("unchanged")

    @property
    def rejected(self) -> int:
        return self.count("rejected")

    @property
    def specimens_created(self) -> int:
        return sum(1 for r in self.rows if r.specimen_created)

    @property
    def positive(self) -> int:
        return sum(1 for r in self.rows if r.outcome == "recorded" and r.result == TestResult.POSITIVE)

    @property
    def assess(self) -> int:
        return sum(1 for r in self.rows if r.outcome == "recorded" and r.result == TestResult.ASSESS)

    @property
    def problems(self) -> list[ResultRow]:
        return [r for r in self.rows if r.outcome == "rejected"]

    def as_dict(self) -> dict:
        return {
            "file": self.file_name, "sha256": self.sha256, "header_row": self.header_row, "read": self.read,
            "recorded": self.recorded, "unchanged": self.unchanged, "rejected": self.rejected,
            "specimens_created": self.specimens_created, "positive": self.positive, "assess": self.assess,
            "rows": [r.__dict__ for r in self.rows],
        }


class _Reject(Exception):
    def __init__(self, reason: str, column: str = "", value: str = "") -> None:
        super().__init__(reason)
        self.reason, self.column, self.value = reason, column, value


def _person_hashes(candidates: list[tuple[str, str]]) -> list[str]:
    from closedloop.people.derive import document_hash

    return [h for h in (document_hash(t, n) for t, n in candidates) if h]


def _match_specimen(line, kind: str, actor, labels: dict) -> tuple[Specimen | None, Episode | None, datetime | None]:
    """The specimen a row answers, or (None, open episode, sample time) when one must be created."""
    from closedloop.quarantine.labfile import id_candidates

    hashes = None
    if line.doc_number:
        candidates, reason = id_candidates(line.doc_raw)
        if not candidates:
            raise _Reject(reason, labels["doc_number"], line.doc_number_masked)
        hashes = _person_hashes(candidates)
    if line.barcode:
        specimen = (Specimen.objects.select_related("episode__person", "episode__custodian__jurisdiction")
                    .filter(barcode=line.barcode).first())
        if specimen is not None and in_reach(actor, specimen.episode):
            if hashes is not None and specimen.episode.person.id_hash not in hashes:
                raise _Reject(_("The sample with this barcode belongs to another person than the ID number says."),
                              labels["barcode"], line.barcode)
            return specimen, specimen.episode, None
        if hashes is None:
            raise _Reject(_("No sample with the barcode %(barcode)s is known in your jurisdiction.")
                          % {"barcode": line.barcode}, labels["barcode"], line.barcode)
    if hashes is None:
        raise _Reject(_("The row has neither a barcode nor an ID number."))
    if line.sampled_at is None:
        raise _Reject(line.sampled_problem or _("To match a row by ID number, the sample date is needed."),
                      labels["sampled"], line.sampled_raw)
    from closedloop.people.models import Person

    episodes = [
        e for e in Episode.objects.filter(person__id_hash__in=hashes)
        .select_related("person", "protocol", "custodian__jurisdiction")
        .order_by("-opened_at", "-pk")
        if in_reach(actor, e)
    ]
    if not episodes:
        known = Person.objects.filter(id_hash__in=hashes).exists()
        raise _Reject(_("Nobody under control in your jurisdiction has this ID number.") if not known
                      else _("This person has no episode in your jurisdiction."),
                      labels["doc_number"], line.doc_number_masked)
    start, end = _day_bounds(_local_day(line.sampled_at))
    same_day = list(Specimen.objects.filter(episode__in=episodes, kind=kind, sampled_at__gte=start, sampled_at__lt=end)
                    .select_related("episode").order_by("sampled_at", "pk"))
    pending = [s for s in same_day if s.result == TestResult.PENDING]
    if pending:
        return pending[0], pending[0].episode, None
    if same_day:
        return same_day[0], same_day[0].episode, None
    open_episode = next((e for e in episodes if e.status == "open"), None)
    if open_episode is None:
        raise _Reject(_("This person has no open episode and no sample taken on %(day)s.")
                      % {"day": day_text(_local_day(line.sampled_at))}, labels["sampled"], line.sampled_raw)
    return None, open_episode, line.sampled_at


def _import_row(line, actor, labels: dict) -> ResultRow:
    out = ResultRow(row=line.row, outcome="rejected")
    if line.problem:
        out.reason, out.column, out.value = line.problem, line.problem_column, line.problem_value
        return out
    try:
        with transaction.atomic():
            specimen, episode, sampled_at = _match_specimen(line, line.kind, actor, labels)
            kind = specimen.kind if specimen is not None else line.kind
            result_or_ct = line.result_or_ct
            try:
                result, ct = parse_result(kind, result_or_ct, ct_rule(episode))
            except ValidationError as exc:
                raise _Reject(" ".join(exc.messages), labels["ct"] if line.ct is not None else labels["result"],
                              str(result_or_ct)) from None
            stated = _result_word(line.result_text) if line.result_text else None
            if line.ct is not None and stated in (TestResult.POSITIVE, TestResult.NEGATIVE) and stated != result \
                    and result != TestResult.ASSESS:
                raise _Reject(_("The result column says %(stated)s but the Ct value %(ct)s means %(result)s; "
                                "check the row with the lab.") % {
                    "stated": TestResult(stated).label, "ct": ct, "result": TestResult(result).label},
                    labels["result"], line.result_text)
            if specimen is None:
                specimen = specimen_record(episode=episode, kind=kind, sampled_at=sampled_at, barcode=line.barcode,
                                           actor=actor)
                out.specimen_created = True
            specimen, changed = _record_result(specimen=specimen, result_or_ct=result_or_ct, lab=line.lab, actor=actor)
    except _Reject as exc:
        out.reason, out.column, out.value = exc.reason, exc.column, exc.value
        return out
    except (ValidationError, PermissionDenied) as exc:
        messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
        out.reason = " ".join(messages)
        return out
    out.outcome = "recorded" if changed else "unchanged"
    out.specimen_id, out.result = specimen.pk, specimen.result
    return out


@transaction.atomic
def results_import(*, path: Path, file_name: str, actor) -> ResultImport:
    """A lab's result file (.xlsx/.csv), keyed by specimen barcode or by ID number and sample date.

    Every row gets an outcome: recorded, unchanged (the same result is already
    there) or rejected with its reason; a rejected row writes nothing. Importing
    the same file again changes nothing. A file that cannot be read at all is
    refused with a ValidationError on ``file``.
    """
    from closedloop.people.importing.reader import UnreadableFile
    from closedloop.quarantine.labfile import read_lab_file

    if actor is not None and not actor.can(Cap.RECORD_OBSERVATIONS):
        raise PermissionDenied(_("Your role may not record health checks, samples or results."))
    path = Path(path)
    try:
        data = path.read_bytes()
        lab_file = read_lab_file(path, today=_now_local_day())
    except UnreadableFile as exc:
        raise ValidationError({"file": str(exc)}) from None
    except OSError:
        raise ValidationError({"file": _("The file cannot be read.")}) from None
    report = ResultImport(file_name=file_name, sha256=hashlib.sha256(data).hexdigest(), header_row=lab_file.header_row)
    labels = {f: lab_file.label(f) for f in ("barcode", "doc_number", "sampled", "result", "ct")}
    for line in lab_file.lines:
        report.rows.append(_import_row(line, actor, labels))
    audit_record(actor=actor, action="results.import", target_type="lab_file", target_id=report.sha256[:40],
                 target_label=file_name[:200],
                 after={k: v for k, v in report.as_dict().items() if k != "rows"})
    return report
