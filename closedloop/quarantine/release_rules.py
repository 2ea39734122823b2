"""The release rule as a function of plain data: what still stands between a person and release.

Pure: no Django import, no database. The action (``actions/release.py``)
turns an episode's rows into the plain facts below and asks
``release_blockers``; the release page shows the same ``checklist``. The rule
(docs/protocols.md, "Results and release"): a release needs

- **all days served**: today is after the last day (release is possible from
  the day after it, ``release_on``);
- **every scheduled test done and negative**: a missing sample, a result not
  back yet, an invalid sample, a result needing a risk assessment and a
  positive result are distinct blockers, each naming the day; a test whose day
  came before the person was placed under control (late placement) blocks too,
  until an override waives it; a test dated before a change of protocol was
  never due and does not;
- **no open fever or symptom alert**.

A positive (or needs-assessment) result anywhere in the episode's record — an
extra test, an antigen test — blocks as well: nobody is released on top of a
positive result. Whatever blocks can only be waived by an override (an
authorised role, a written reason), which is the action's business, not this
module's.

Moving from a centralized phase to a home phase is a transfer, not a release:
``home_transfer_phase`` says when an episode's next step is that hand-over.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from closedloop.lib.protocols import CENTRALIZED, HOME_ISOLATION, HOME_MONITORING
from closedloop.lib.schedule import Schedule, ScheduledTest
from closedloop.lib.text import gettext_noop

ONE_DAY = dt.timedelta(days=1)

# Test kinds and results (the values of quarantine.choices.TestKind / TestResult).
PCR = "pcr"
PENDING, NEGATIVE, ASSESS, POSITIVE, INVALID = "pending", "negative", "assess", "positive", "invalid"
# Statuses of a scheduled test on the checklist, beyond the results.
MISSING = "missing"  # no sample recorded for its day (yet)
MISSED_BEFORE_CONTROL = "missed_before_control"  # its day came before the placement; nothing recorded
NOT_REQUIRED = "not_required"  # dated before a change of protocol: never due

# Alerts that keep a person in control while open (quarantine.choices.AlertKind values).
BLOCKING_ALERTS = ("fever", "symptom")

# Blocker codes.
DAYS_NOT_SERVED = "days_not_served"
TEST_MISSING = "test_missing"
TEST_MISSED_BEFORE_CONTROL = "test_missed_before_control"
TEST_PENDING = "test_pending"
TEST_INVALID = "test_invalid"
TEST_ASSESS = "test_assess"
TEST_POSITIVE = "test_positive"
EXTRA_TEST_ASSESS = "extra_test_assess"
EXTRA_TEST_POSITIVE = "extra_test_positive"
OPEN_ALERT = "open_alert"
TRANSFER_HOME = "transfer_home"

PHASE_LABELS = {
    CENTRALIZED: gettext_noop("centralized isolation"),
    HOME_ISOLATION: gettext_noop("home isolation"),
    HOME_MONITORING: gettext_noop("home health monitoring"),
}
ALERT_LABELS = {
    "fever": gettext_noop("fever"),
    "symptom": gettext_noop("symptoms"),
}
HOME_KINDS = (HOME_ISOLATION, HOME_MONITORING)

_COURSE_NOT_SERVED = gettext_noop(
    "Not all days are served: the last day is %(ends)s, so release is possible from %(release_on)s."
)
_PHASE_NOT_SERVED = gettext_noop("Not all days of %(phase)s are served: its last day is %(ends)s.")
_MESSAGES = {
    TEST_MISSING: gettext_noop("No sample is recorded for the test of %(phase)s day %(day)s (%(date)s)."),
    "upcoming": gettext_noop("The test of %(phase)s day %(day)s (%(date)s) is still to come."),
    TEST_MISSED_BEFORE_CONTROL: gettext_noop(
        "The test of %(phase)s day %(day)s (%(date)s) was missed before control began; only an override can waive it."
    ),
    TEST_PENDING: gettext_noop("The result of the test of %(phase)s day %(day)s (%(date)s) has not come back yet."),
    TEST_INVALID: gettext_noop("The sample of %(phase)s day %(day)s (%(date)s) was invalid; take another one."),
    TEST_ASSESS: gettext_noop("The test of %(phase)s day %(day)s (%(date)s) needs a risk assessment."),
    TEST_POSITIVE: gettext_noop("The test of %(phase)s day %(day)s (%(date)s) is positive."),
    EXTRA_TEST_ASSESS: gettext_noop("A test taken on %(date)s needs a risk assessment."),
    EXTRA_TEST_POSITIVE: gettext_noop("A test taken on %(date)s is positive."),
    EXTRA_TEST_ASSESS + "_undated": gettext_noop("An extra test needs a risk assessment."),
    EXTRA_TEST_POSITIVE + "_undated": gettext_noop("An extra test is positive."),
    OPEN_ALERT: gettext_noop("An alert is still open: %(alert)s. Resolve it first."),
    TRANSFER_HOME: gettext_noop(
        "Centralized isolation ends at the end of %(ends)s and %(phase)s follows from %(starts)s: "
        "hand the person over to their home community (a transfer in the closed loop). This is not a release."
    ),
}
_STATUS_BLOCKER = {
    MISSING: TEST_MISSING,
    MISSED_BEFORE_CONTROL: TEST_MISSED_BEFORE_CONTROL,
    PENDING: TEST_PENDING,
    INVALID: TEST_INVALID,
    ASSESS: TEST_ASSESS,
    POSITIVE: TEST_POSITIVE,
}
_DATE_KEYS = ("date", "ends", "starts", "release_on")


def _iso(value: dt.date) -> str:
    return value.isoformat()


def _same(text: str) -> str:
    return text


@dataclass(frozen=True)
class Blocker:
    """One thing that stands between the person and release.

    ``message`` is the English msgid (marked with gettext_noop) with
    ``%(name)s`` placeholders; ``detail`` its values: dates as ``date``,
    ``phase`` as a phase kind, ``alert`` as an alert kind. ``text()`` fills it
    in, in the caller's language.
    """

    code: str
    message: str
    detail: Mapping[str, object] = field(default_factory=dict)

    def text(self, gettext: Callable[[str], str] = _same, date_format: Callable[[dt.date], str] = _iso) -> str:
        params = dict(self.detail)
        for key in _DATE_KEYS:
            if isinstance(params.get(key), dt.date):
                params[key] = date_format(params[key])
        if "phase" in params:
            params["phase"] = gettext(PHASE_LABELS.get(params["phase"], str(params["phase"])))
        if "alert" in params:
            params["alert"] = gettext(ALERT_LABELS.get(params["alert"], str(params["alert"])))
        return gettext(self.message) % params

    def __str__(self) -> str:
        return self.text()

    def as_dict(self) -> dict:
        """JSON-ready: code, English message, detail with ISO dates."""
        detail = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in self.detail.items()}
        return {"code": self.code, "message": self.text(), "detail": detail}


@dataclass(frozen=True)
class SpecimenFact:
    """What the rule needs of a specimen. Model rows and dicts with these names work too."""

    result: str
    scheduled_for: dt.date | None = None
    kind: str = PCR
    sampled_on: dt.date | None = None
    ct: float | None = None


@dataclass(frozen=True)
class AlertFact:
    kind: str
    raised_on: dt.date | None = None


@dataclass(frozen=True)
class TestRow:
    """A scheduled test on the checklist: its status and whether it lets the release through."""

    test: ScheduledTest
    status: str
    specimen: object | None = None  # the sample that decided the status
    upcoming: bool = False  # no sample yet and its day is after today

    @property
    def met(self) -> bool:
        return self.status in (NEGATIVE, NOT_REQUIRED)


@dataclass(frozen=True)
class Checklist:
    """Every condition of a release, met or not, for one phase (``phase_index``) or the whole course (None)."""

    today: dt.date
    phase_index: int | None
    ends: dt.date  # the last day to serve
    days_served: bool
    tests: tuple[TestRow, ...]
    extra_results: tuple[object, ...]  # positive or needs-assessment samples outside the scheduled tests
    open_alerts: tuple[object, ...]  # the blocking ones
    blockers: tuple[Blocker, ...]

    @property
    def release_on(self) -> dt.date:
        return self.ends + ONE_DAY

    @property
    def tests_met(self) -> bool:
        return all(row.met for row in self.tests) and not self.extra_results

    @property
    def alerts_met(self) -> bool:
        return not self.open_alerts

    @property
    def releasable(self) -> bool:
        return not self.blockers


def _get(obj: object, name: str, default: object = None) -> object:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _day_status(samples: list) -> tuple[str, object | None]:
    """A positive result sticks; otherwise the latest sample of the day decides (a retest replaces
    an invalid or needs-assessment one)."""
    if not samples:
        return MISSING, None
    for sample in samples:
        if _get(sample, "result") == POSITIVE:
            return POSITIVE, sample
    latest = samples[-1]
    return str(_get(latest, "result") or PENDING), latest


def checklist(
    schedule: Schedule,
    specimens: Iterable[object],
    open_alerts: Iterable[object],
    today: dt.date,
    phase_index: int | None = None,
) -> Checklist:
    """Every release condition for the whole course (``phase_index`` None) or for one phase.

    ``specimens``: objects (or dicts) with ``result`` and optionally
    ``scheduled_for``, ``kind`` (default PCR), ``sampled_on``, in the order
    they were sampled. A PCR sample answers the scheduled test of its
    ``scheduled_for`` day, or of the day it was sampled when it names none.
    ``open_alerts``: alert kinds, or objects/dicts with ``kind``.
    """
    rule = schedule.protocol.release
    if phase_index is None:
        ends, scope = schedule.ends_at_end_of, schedule.tests
    else:
        ends, scope = schedule.phases[phase_index].end, schedule.phase_tests(phase_index)
    blockers: list[Blocker] = []

    days_served = today > ends
    if not days_served and rule.requires_all_days:
        if phase_index is None:
            blockers.append(Blocker(DAYS_NOT_SERVED, _COURSE_NOT_SERVED, {"ends": ends, "release_on": ends + ONE_DAY}))
        else:
            kind = schedule.phases[phase_index].kind
            blockers.append(Blocker(DAYS_NOT_SERVED, _PHASE_NOT_SERVED, {"phase": kind, "ends": ends}))

    samples = list(specimens)
    by_day: dict[dt.date, list] = {}
    for sample in samples:
        if (_get(sample, "kind") or PCR) != PCR:
            continue
        day = _get(sample, "scheduled_for") or _get(sample, "sampled_on")
        if isinstance(day, dt.date):
            by_day.setdefault(day, []).append(sample)

    rows: list[TestRow] = []
    used: set[int] = set()
    for test in scope:
        if test.before_change:
            rows.append(TestRow(test, NOT_REQUIRED))
            continue
        day_samples = by_day.get(test.date, [])
        used.update(id(s) for s in day_samples)
        status, decisive = _day_status(day_samples)
        if status == MISSING and test.missed_before_control:
            status = MISSED_BEFORE_CONTROL
        upcoming = status == MISSING and test.date > today
        rows.append(TestRow(test, status, decisive, upcoming))
        code = _STATUS_BLOCKER.get(status)
        if code is None:
            continue
        if not rule.requires_all_tests_negative and status != POSITIVE:
            continue
        detail = {"phase": test.phase_kind, "day": test.day_of_phase, "date": test.date}
        if decisive is not None and _get(decisive, "ct") is not None:
            detail["ct"] = _get(decisive, "ct")
        blockers.append(Blocker(code, _MESSAGES["upcoming" if upcoming else code], detail))

    extras = []
    for sample in samples:
        result = _get(sample, "result")
        if id(sample) in used or result not in (POSITIVE, ASSESS):
            continue
        extras.append(sample)
        day = _get(sample, "sampled_on") or _get(sample, "scheduled_for")
        code = EXTRA_TEST_POSITIVE if result == POSITIVE else EXTRA_TEST_ASSESS
        detail = {"kind": _get(sample, "kind") or PCR}
        if isinstance(day, dt.date):
            detail["date"] = day
        blockers.append(Blocker(code, _MESSAGES[code if "date" in detail else code + "_undated"], detail))

    alerts = []
    for alert in open_alerts:
        kind = alert if isinstance(alert, str) else _get(alert, "kind")
        if kind not in BLOCKING_ALERTS:
            continue
        alerts.append(alert)
        if rule.requires_no_open_symptom_alert:
            blockers.append(Blocker(OPEN_ALERT, _MESSAGES[OPEN_ALERT], {"alert": kind}))

    return Checklist(
        today=today, phase_index=phase_index, ends=ends, days_served=days_served, tests=tuple(rows),
        extra_results=tuple(extras), open_alerts=tuple(alerts), blockers=tuple(blockers),
    )


def release_blockers(
    schedule: Schedule,
    specimens: Iterable[object],
    open_alerts: Iterable[object],
    today: dt.date,
    phase_index: int | None = None,
) -> list[Blocker]:
    """What stands between the person and release on ``today``; an empty list means release.

    ``phase_index`` None asks for the release from control (the whole course:
    every phase's days and tests); an index asks about that phase alone.
    """
    return list(checklist(schedule, specimens, open_alerts, today, phase_index).blockers)


# --- centralized → home: a transfer, not a release ------------------------------------

def home_transfer_phase(schedule: Schedule, today: dt.date, *, held_centrally: bool) -> int | None:
    """The index of the centralized phase whose end hands the person over to a home phase, or None.

    Someone held centrally (at a site, in a vehicle — anywhere but their home
    community) while the course has a home phase still to come is, for the
    closed loop, in that centralized phase until the hand-over: ending it is a
    transfer home, not a release. Once the whole course is over there is no
    transfer left to make: the release applies where the person is.
    """
    if not held_centrally or today > schedule.ends_at_end_of:
        return None
    reached = max(today, schedule.anchor)
    started = [p for p in schedule.phases if p.kind == CENTRALIZED and p.start <= reached]
    if not started:
        return None
    phase = started[-1]
    following = schedule.phases[phase.index + 1] if phase.index + 1 < len(schedule.phases) else None
    if following is None or following.kind not in HOME_KINDS:
        return None
    return phase.index


def transfer_blocker(schedule: Schedule, phase_index: int) -> Blocker:
    phase, following = schedule.phases[phase_index], schedule.phases[phase_index + 1]
    return Blocker(TRANSFER_HOME, _MESSAGES[TRANSFER_HOME],
                   {"ends": phase.end, "phase": following.kind, "starts": following.start})


# --- release certificates: verification codes and what the public may see -------------

# No 0/O, 1/I/L: a code read aloud or typed from paper cannot be mistaken.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12


def new_certificate_code(choice: Callable[[str], str] = secrets.choice) -> str:
    return "".join(choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: object) -> str:
    """What a person typed, as stored: upper case, without spaces or hyphens."""
    raw = str(text or "").upper()
    return "".join(ch for ch in raw if ch not in " -\t\u3000—–_")


def format_code(code: str) -> str:
    """ABCD-EFGH-JKMN: easier to read off paper and to type."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def mask_name(name: str) -> str:
    """张* / 欧** / J***: the first character, one star per character hidden."""
    name = (name or "").strip()
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)
