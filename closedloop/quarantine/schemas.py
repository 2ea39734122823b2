"""Shapes of the closed loop's JSON API (``/api/v1/loop``).

The conventions are those of the person registry (``closedloop.people.schemas``):
input is read with its ``load`` into strict models that refuse unknown
fields, so every bad value comes back as ``{"detail": [{"field", "message"}]}``;
personal data leaves masked (``doc_number_masked``, ``phone_masked``).

Every custody action accepts an optional ``version``: the episode's version as
the caller read it. When given and the episode has changed since, nothing is
done and the answer is 409 — a desk acting on a stale page learns so instead
of acting on a person whose custody moved under it.
"""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone
from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field

VERSION_HELP = (
    "The episode's version as you read it. When given and the episode has changed since, "
    "nothing is done and the answer is 409."
)


# --- input -----------------------------------------------------------------------

class _In(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class PlaceIn(_In):
    """The first custodian takes the person."""

    model_config = ConfigDict(title="PlaceIn")

    custodian: int | str = Field(description="The custodian's id (a number) or code (text).")
    placed_on: date | None = Field(None, description="The day control began; today when omitted.")
    signed_by: str = Field("", max_length=60, description="Who signed for the receiving side.")
    version: int | None = Field(None, ge=0, description=VERSION_HELP)


class GiveIn(_In):
    """The holding side hands the person over: in transit until the receiver confirms."""

    model_config = ConfigDict(title="GiveIn")

    to_custodian: int | str = Field(description="The receiving custodian's id (a number) or code (text).")
    expected_by: datetime = Field(
        description="Expected arrival, e.g. 2022-08-03T15:30:00+08:00; without an offset it is local time."
    )
    signed_by: str = Field("", max_length=60, description="Who signed for the giving side.")
    reason: str = Field("", max_length=500)
    version: int | None = Field(None, ge=0, description=VERSION_HELP)


class ReceiveIn(_In):
    """The receiver confirms the person arrived. An empty body is allowed."""

    model_config = ConfigDict(title="ReceiveIn")

    signed_by: str = Field("", max_length=60, description="Who signed for the receiving side.")
    version: int | None = Field(None, ge=0, description=VERSION_HELP)


class RefuseIn(_In):
    """The receiver refuses the person, who goes back to the giver."""

    model_config = ConfigDict(title="RefuseIn")

    reason: str = Field(max_length=500, description="Why the person is refused; kept in the ledger.")
    version: int | None = Field(None, ge=0, description=VERSION_HELP)


class CloseIn(_In):
    """End an episode listed in error (never a release). Headquarters only."""

    model_config = ConfigDict(title="CloseIn")

    reason: str = Field(max_length=500, description="Why the episode is closed; kept in the ledger.")
    version: int | None = Field(None, ge=0, description=VERSION_HELP)


# --- output: custodians ------------------------------------------------------------

class CustodianRef(Schema):
    id: int
    code: str
    name: str
    kind: str


class CustodianOut(CustodianRef):
    kind_label: str
    jurisdiction_code: str | None = Field(description="The community (home custody) or town of the custodian.")
    jurisdiction_name: str | None
    active: bool

    @staticmethod
    def resolve_kind_label(obj) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_jurisdiction_code(obj) -> str | None:
        return obj.jurisdiction.code if obj.jurisdiction_id else None

    @staticmethod
    def resolve_jurisdiction_name(obj) -> str | None:
        return obj.jurisdiction.name if obj.jurisdiction_id else None


class CustodiansPage(Schema):
    count: int
    page: int
    page_size: int
    items: list[CustodianOut]


# --- output: episodes ---------------------------------------------------------------

class EpisodePersonOut(Schema):
    """The person of an episode, masked."""

    id: int
    name: str
    doc_type: str
    doc_number_masked: str
    phone_masked: str
    town_name: str | None
    community_name: str | None

    @staticmethod
    def resolve_town_name(obj) -> str | None:
        return obj.town.name if obj.town_id else None

    @staticmethod
    def resolve_community_name(obj) -> str | None:
        return obj.community.name if obj.community_id else None


class ProtocolRef(Schema):
    code: str
    version: int
    title: str


class EpisodeOut(Schema):
    id: int
    person: EpisodePersonOut
    category: str
    category_label: str
    state: str = Field(description="awaiting, in_custody, in_transit, released, became_case or closed.")
    state_label: str
    status: str = Field(description="open or closed.")
    custodian: CustodianRef | None = Field(description="Who answers for the person now (the giver while in transit).")
    pending_custodian: CustodianRef | None = Field(description="The receiver while in transit.")
    expected_by: datetime | None = Field(description="Expected arrival while in transit.")
    protocol: ProtocolRef | None
    anchor_kind: str
    anchor_date: date | None
    placed_on: date | None
    release_on: date | None = Field(description="The day the release is due.")
    version: int = Field(description="Grows by one with every ledger row; send it back to act on what you read.")
    opened_at: datetime

    @staticmethod
    def resolve_category_label(obj) -> str:
        return str(obj.get_category_display())

    @staticmethod
    def resolve_state_label(obj) -> str:
        return str(obj.get_state_display())


class EpisodesPage(Schema):
    count: int
    page: int
    page_size: int
    items: list[EpisodeOut]


class LostOut(EpisodeOut):
    minutes_overdue: int = Field(description="Minutes since the expected arrival.")

    @staticmethod
    def resolve_minutes_overdue(obj) -> int:
        return max(int((timezone.now() - obj.expected_by).total_seconds() // 60), 0)


class LostPage(Schema):
    count: int
    page: int
    page_size: int
    items: list[LostOut]


class LedgerEventOut(Schema):
    seq: int
    kind: str
    kind_label: str
    from_custodian: CustodianRef | None
    to_custodian: CustodianRef | None
    at: datetime
    expected_by: datetime | None
    reason: str
    signatures: dict[str, str] = Field(description="Who signed for each side of a hand-over (giver, receiver).")
    actor_label: str

    @staticmethod
    def resolve_kind_label(obj) -> str:
        return str(obj.get_kind_display())


# The schedule, as ``closedloop.lib.schedule.Schedule.to_dict()`` gives it.

class ScheduleProtocolOut(Schema):
    id: str
    version: int


class SchedulePhaseOut(Schema):
    index: int
    kind: str = Field(description="centralized, home_isolation or home_monitoring.")
    start: date
    end: date = Field(description="The last day of the phase, included.")
    days: int


class ScheduleTestOut(Schema):
    phase_index: int
    phase_kind: str
    day_of_phase: int
    date: date
    missed_before_control: bool = Field(description="The day came before the person was placed under control.")
    before_change: bool = Field(description="The day came before a change of protocol.")


class ScheduleChecksOut(Schema):
    from_: date = Field(alias="from")
    until: date
    per_day: int
    times: list[str]
    slots: list[str]


class ScheduleOut(Schema):
    protocol: ScheduleProtocolOut
    anchor: date
    placed_on: date
    alternative: str | None
    phases: list[SchedulePhaseOut]
    tests: list[ScheduleTestOut]
    health_checks: ScheduleChecksOut
    ends_at_end_of: date
    release_on: date = Field(description="The earliest day of release: the day after the last phase.")
    changed_on: date | None = Field(description="After a change of protocol: its first day.")
    previous_protocol: ScheduleProtocolOut | None


class EpisodeDetailOut(EpisodeOut):
    schedule: ScheduleOut | None = Field(description="Null until the episode has a protocol and an anchor date.")
    ledger: list[LedgerEventOut] = Field(description="The custody ledger, oldest first.")

    @staticmethod
    def resolve_schedule(obj) -> dict | None:
        return getattr(obj, "schedule_data", None)

    @staticmethod
    def resolve_ledger(obj) -> list:
        return getattr(obj, "ledger_rows", [])


# --- observations and release: input ---------------------------------------------------------

class HealthCheckIn(_In):
    """One health check: recording the same day and slot again updates it."""

    model_config = ConfigDict(title="HealthCheckIn")

    day: date | None = Field(None, description="The day of the check; today when omitted.")
    slot: str = Field(description="morning, evening … (the slots of the episode's protocol).")
    temperature: float | str = Field(description="In °C, e.g. 36.5. 37.3 or more raises a fever alert.")
    symptoms: list[str] = Field(default_factory=list, description="Symptom codes; any raises a symptom alert.")
    note: str = Field("", max_length=200)


class SpecimenIn(_In):
    """A sample taken. A nucleic-acid sample on one of the schedule's test days answers that test."""

    model_config = ConfigDict(title="SpecimenIn")

    kind: str = Field("pcr", description="pcr or antigen.")
    sampled_at: datetime | None = Field(None, description="When the sample was taken; now when omitted. "
                                        "Without an offset it is local time.")
    barcode: str = Field("", max_length=40)
    scheduled_for: date | None = Field(None, description="The schedule's test day the sample answers, when known.")


class ResultIn(_In):
    """The lab's answer for a sample."""

    model_config = ConfigDict(title="ResultIn")

    result: float | str = Field(description="A Ct value (a number, read by the protocol's rule) or a result word: "
                                "negative, positive, assess, invalid (阴性, 阳性 … too).")
    lab: str = Field("", max_length=120)


class ReleaseIn(_In):
    """Release from control; ``override_reason`` releases against the rule (headquarters only)."""

    model_config = ConfigDict(title="ReleaseIn")

    override_reason: str = Field("", max_length=2000, description="Only to release against the rule; audited.")
    version: int | None = Field(None, ge=0, description=VERSION_HELP)


class AlertResolveIn(_In):
    model_config = ConfigDict(title="AlertResolveIn")

    resolution: str = Field(max_length=2000, description="What was done about the alert.")


class RoundRowIn(_In):
    model_config = ConfigDict(title="RoundRowIn")

    episode: int = Field(description="The episode's id.")
    temperature: float | str | None = Field(None, description="Left out (with no symptom): not checked yet.")
    symptoms: list[str] = Field(default_factory=list)
    note: str | None = Field(None, max_length=200, description="Left out: the note recorded before is kept.")


class RoundIn(_In):
    """A custodian's round: every row checked on its own; good rows are written, bad ones returned."""

    model_config = ConfigDict(title="RoundIn")

    day: date | None = Field(None, description="The day of the round; today when omitted.")
    slot: str = Field(description="morning, evening …")
    rows: list[RoundRowIn] = Field(max_length=2000)


# --- observations and release: output -------------------------------------------------------------

class AlertOut(Schema):
    id: int
    episode_id: int
    kind: str
    kind_label: str
    status: str
    detail: str
    custodian_id: int | None = Field(description="Who must answer; null: headquarters.")
    raised_at: datetime
    resolved_at: datetime | None
    resolution: str

    @staticmethod
    def resolve_kind_label(obj) -> str:
        return str(obj.get_kind_display())


class HealthCheckOut(Schema):
    id: int
    episode_id: int
    day: date
    slot: str
    temperature: float | None
    symptoms: list[str]
    note: str
    recorded_at: datetime
    open_alerts: list[AlertOut] = Field(description="The episode's open alerts after this check.")

    @staticmethod
    def resolve_open_alerts(obj) -> list:
        return getattr(obj, "open_alerts", [])


class SpecimenOut(Schema):
    id: int
    episode_id: int
    kind: str
    barcode: str
    scheduled_for: date | None
    sampled_at: datetime
    result: str = Field(description="pending, negative, assess, positive or invalid.")
    result_label: str
    ct: float | None
    lab: str
    reported_at: datetime | None
    open_alerts: list[AlertOut] = Field(description="The episode's open alerts after this record.")

    @staticmethod
    def resolve_result_label(obj) -> str:
        return str(obj.get_result_display())

    @staticmethod
    def resolve_open_alerts(obj) -> list:
        return getattr(obj, "open_alerts", [])


class ReleaseOut(Schema):
    certificate_code: str = Field(description="The verification code of the release certificate.")
    issued_at: datetime
    override_reason: str = Field(description="Empty for a release by the rule.")
    episode: EpisodeDetailOut


class RoundProblemOut(Schema):
    row: int = Field(description="Position in the rows given, from 0.")
    episode_id: int | None
    field: str
    reason: str


class RoundOut(Schema):
    custodian_id: int
    day: date
    slot: str
    created: int
    updated: int
    unchanged: int
    skipped: int = Field(description="Rows left empty: not checked yet.")
    alerts: int = Field(description="Alerts raised.")
    problems: list[RoundProblemOut]

    @staticmethod
    def resolve_custodian_id(obj) -> int:
        return obj.custodian.pk


# --- work lists ---------------------------------------------------------------------------------------

class PersonRefOut(Schema):
    id: int
    name: str
    doc_number_masked: str
    phone_masked: str


class WorkEpisodeOut(Schema):
    id: int
    person: PersonRefOut
    category: str
    state: str
    release_on: date | None
    expected_by: datetime | None


class LateEpisodeOut(WorkEpisodeOut):
    late_days: int = Field(description="Days since the release was due.")

    @staticmethod
    def resolve_late_days(obj) -> int:
        return getattr(obj, "late_days", 0)


class ArrivalOut(WorkEpisodeOut):
    custodian: CustodianRef | None = Field(description="Who hands the person over.")


class WorkTestOut(Schema):
    episode: WorkEpisodeOut
    date: date
    phase_kind: str
    day_of_phase: int
    taken: bool = Field(description="A sample answers this test (an invalid one does not).")
    late_days: int

    @staticmethod
    def resolve_date(obj) -> date:
        return obj.test.date

    @staticmethod
    def resolve_phase_kind(obj) -> str:
        return obj.test.phase_kind

    @staticmethod
    def resolve_day_of_phase(obj) -> int:
        return obj.test.day_of_phase


class WorkCheckDoneOut(Schema):
    episode: WorkEpisodeOut
    temperature: float | None
    symptoms: list[str]


class WorkSlotOut(Schema):
    slot: str
    time: str
    due: int
    done: list[WorkCheckDoneOut]
    missing: list[WorkEpisodeOut]

    @staticmethod
    def resolve_done(obj) -> list[dict]:
        return [{"episode": e, "temperature": c.temperature, "symptoms": c.symptoms} for e, c in obj.done]


class WorkAlertOut(Schema):
    id: int
    kind: str
    kind_label: str
    detail: str
    raised_at: datetime
    episode: WorkEpisodeOut

    @staticmethod
    def resolve_kind_label(obj) -> str:
        return str(obj.get_kind_display())


class WorklistOut(Schema):
    day: date
    custodians: list[CustodianRef]
    held: int = Field(description="People the custodian holds.")
    tests_due: list[WorkTestOut] = Field(description="Tests due on the day.")
    checks: list[WorkSlotOut] = Field(description="Health checks of the day, per slot: done and missing.")
    releases_due: list[WorkEpisodeOut]
    arrivals: list[ArrivalOut] = Field(description="People in transit to the custodian.")
    overdue_tests: list[WorkTestOut] = Field(description="Tests of earlier days without a sample.")
    overdue_releases: list[LateEpisodeOut] = Field(description="Kept beyond the release day.")
    alerts: list[WorkAlertOut] = Field(description="Open alerts the custodian must answer.")
    unscheduled: list[WorkEpisodeOut] = Field(description="Held without a protocol or dates.")

    @staticmethod
    def resolve_held(obj) -> int:
        return len(obj.held)
