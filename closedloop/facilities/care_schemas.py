"""Shapes of the care-request API (``/api/v1/sites/care``), with the conventions of the person registry:
strict input that refuses unknown fields, personal data masked on the way out."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field

from closedloop.facilities.actions.care import DETAIL_MAX, OUTCOME_MAX
from closedloop.facilities.choices import CareKind, CareStatus
from closedloop.people.choices import FLAGS
from closedloop.quarantine.schemas import CustodianRef

# --- input ---------------------------------------------------------------------------------------


class CareCreateIn(BaseModel):
    """A need of a person under control (in custody, or on the way)."""

    model_config = ConfigDict(strict=True, extra="forbid", title="CareCreateIn")

    episode: int = Field(description="The id of the person's open episode.")
    kind: str = Field(description=f"One of {', '.join(CareKind.values)}.")
    detail: str = Field(max_length=DETAIL_MAX, description="What is needed: the medicine and dose, the food …")
    urgent: bool = Field(False, description="Answer within CARE_URGENT_HOURS instead of CARE_ANSWER_HOURS.")


class CareCloseIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", title="CareCloseIn")

    outcome: str = Field(max_length=OUTCOME_MAX, description="What was done.")


# --- output --------------------------------------------------------------------------------------

class CarePersonOut(Schema):
    """The person of a request, masked, with the vulnerability flags of the registry."""

    id: int
    name: str
    doc_number_masked: str
    phone_masked: str
    flags: list[str] = Field(description="is_elderly, is_child, is_pregnant, has_chronic_illness, has_disability, "
                             "needs_medication: those set.")

    @staticmethod
    def resolve_flags(obj) -> list[str]:
        return [name for name, _label in FLAGS if getattr(obj, name, False)]


class FacilityRef(Schema):
    id: int
    code: str
    name: str


class CareRequestOut(Schema):
    id: int
    episode_id: int
    person: CarePersonOut
    kind: str
    kind_label: str
    detail: str
    urgent: bool
    status: str = Field(description=f"{CareStatus.OPEN} or {CareStatus.CLOSED}.")
    status_label: str
    facility: FacilityRef | None = Field(description="The facility holding the person when it was recorded; "
                                         "null: home custody (the community answers) or a vehicle.")
    custodian: CustodianRef | None = Field(description="The custodian holding the person when it was recorded.")
    created_at: datetime
    created_by: str
    due_at: datetime = Field(description="The deadline of the answer.")
    overdue: bool = Field(description="Open with its deadline passed.")
    minutes_overdue: int | None = Field(description="Minutes since the deadline, while overdue.")
    closed_at: datetime | None
    closed_by: str
    outcome: str = Field(description="What was done (once closed).")

    @staticmethod
    def resolve_person(obj):
        return obj.episode.person

    @staticmethod
    def resolve_kind_label(obj) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_status_label(obj) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_created_by(obj) -> str:
        return str(obj.created_by or "")

    @staticmethod
    def resolve_closed_by(obj) -> str:
        return str(obj.closed_by or "")

    @staticmethod
    def resolve_overdue(obj) -> bool:
        return obj.status == CareStatus.OPEN and obj.due_at < timezone.now()

    @staticmethod
    def resolve_minutes_overdue(obj) -> int | None:
        if obj.status != CareStatus.OPEN or obj.due_at >= timezone.now():
            return None
        return int((timezone.now() - obj.due_at).total_seconds() // 60)


class CareRequestsPage(Schema):
    count: int
    page: int
    page_size: int
    items: list[CareRequestOut]
