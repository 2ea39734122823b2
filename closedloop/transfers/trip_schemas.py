"""Shapes of the trip API (``/api/v1/transfers/trips``): strict input that refuses unknown fields; out, a trip
with its passengers (names only: no ID numbers or phones), where their custody stands, and its checks."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field

from closedloop.quarantine.schemas import CustodianRef
from closedloop.transfers import trip_states as ts
from closedloop.transfers.actions.trips import (
    DRIVER_MAX,
    ESCORTS_MAX,
    OVERRIDE_MAX,
    PLATE_MAX,
    REASON_MAX,
    SIGNATURE_MAX,
)

# --- input ---------------------------------------------------------------------------------------

_VERSION = Field(None, ge=0, description="The trip's version as the caller read it: if another desk changed the "
                 "trip since, the answer is 409 and nothing is written. Omitted: the trip as it is now.")


class DispatchIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", title="TripDispatchIn")

    plate: str = Field(max_length=PLATE_MAX + 10, description="The vehicle's plate; spaces are dropped.")
    driver: str = Field(max_length=DRIVER_MAX)
    escorts: str = Field(max_length=ESCORTS_MAX, description="The escort staff's names.")
    version: int | None = _VERSION


class CancelIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", title="TripCancelIn")

    reason: str = Field(max_length=REASON_MAX)
    version: int | None = _VERSION


class HandoverIn(BaseModel):
    """The checklist of one hand-over (``checklists/handover.json``, the stage's items) and both signatures."""

    model_config = ConfigDict(strict=True, extra="forbid", title="TripHandoverIn")

    answers: dict[str, dict[str, bool]] = Field(
        default_factory=dict, description="By episode id: each per-person item of the stage, true or false. An item "
        "left out counts as not confirmed.")
    trip_answers: dict[str, bool] = Field(
        default_factory=dict, description="Each per-trip item of the stage, true or false. Counted items "
        "(half_seats, shuttle_load) are computed from the list; a value given for them is ignored.")
    giver: str = Field(max_length=SIGNATURE_MAX, description="The name of who hands over.")
    receiver: str = Field(max_length=SIGNATURE_MAX, description="The name of who receives.")
    override_reason: str = Field("", max_length=OVERRIDE_MAX, description="Headquarters only: go ahead despite "
                                 "the failed blocking items, for this reason (kept with the checks).")
    version: int | None = _VERSION


class HomeIn(HandoverIn):
    model_config = ConfigDict(strict=True, extra="forbid", title="TripHomeIn")

    passengers: list[int] | None = Field(None, description="Episode ids of the people handed over at this stop; "
                                         "null: everyone on board.")


# --- output --------------------------------------------------------------------------------------

class FacilityRef(Schema):
    id: int
    code: str
    name: str


class TownRef(Schema):
    id: int
    code: str
    name: str


class PassengerOut(Schema):
    episode_id: int
    person_id: int
    name: str
    group: str = Field(description="The household group; a group travels together.")
    status: str = Field(description="planned, boarded, left_behind or delivered.")
    status_label: str
    lane: int | None = Field(description="The screening lane at the station, 0-based (coaches).")
    screen_from: datetime | None
    screen_until: datetime | None
    note: str
    custody_state: str = Field(description="The episode's custody state now (in_custody, in_transit, …).")
    custodian: CustodianRef | None = Field(description="Who holds the person now (the giver, while in transit).")
    pending_custodian: CustodianRef | None = Field(description="Who is to receive them, while in transit.")

    @staticmethod
    def resolve_person_id(obj) -> int:
        return obj.episode.person_id

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.episode.person.name

    @staticmethod
    def resolve_status_label(obj) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_custody_state(obj) -> str:
        return obj.episode.state

    @staticmethod
    def resolve_custodian(obj):
        return obj.episode.custodian

    @staticmethod
    def resolve_pending_custodian(obj):
        return obj.episode.pending_custodian


class CheckOut(Schema):
    id: int
    stage: str = Field(description=f"One of {', '.join(ts.STAGES)}.")
    episode_id: int | None = Field(description="The person checked; null: the trip's own items.")
    answers: dict[str, bool]
    override_reason: str
    giver_signature: str
    receiver_signature: str
    at: datetime
    actor: str

    @staticmethod
    def resolve_actor(obj) -> str:
        return str(obj.actor or "")


class TripOut(Schema):
    id: int
    plan_id: int
    kind: str = Field(description="coach (origin site → station) or shuttle (station → home district).")
    kind_label: str
    vehicle: int = Field(description="The planner's 0-based coach or shuttle index.")
    origin: FacilityRef | None = Field(description="The coach's origin site.")
    town: TownRef | None = Field(description="The shuttle's home town.")
    start_at: datetime | None = Field(description="A coach leaves the station for its origin.")
    depart_at: datetime
    arrive_at: datetime
    state: str = Field(description=f"One of {', '.join(ts.STATES)}.")
    state_label: str
    version: int
    next_step: str | None = Field(description="dispatch, boarding, station, shuttle, home, or null when over.")
    plate: str
    driver: str
    escorts: str
    custodian: CustodianRef | None = Field(description="The trip as a custodian (made at dispatch).")

    @staticmethod
    def resolve_kind_label(obj) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_state_label(obj) -> str:
        return str(obj.get_state_display())

    @staticmethod
    def resolve_next_step(obj) -> str | None:
        return ts.next_step(obj.kind, obj.state)


class TripRowOut(TripOut):
    people: int = Field(description="On the list, not counting who stayed behind.")
    left_behind: int
    delivered: int = Field(description="Handed over at the destination.")


class TripDetailOut(TripOut):
    counts: dict[str, int] = Field(description="Passengers by status, with all and on_the_list.")
    passengers: list[PassengerOut]
    checks: list[CheckOut]

    @staticmethod
    def resolve_passengers(obj) -> list:
        return obj.passengers_now

    @staticmethod
    def resolve_checks(obj) -> list:
        return obj.checks_now


class TripsPage(Schema):
    count: int
    page: int
    page_size: int
    items: list[TripRowOut]


class HandoverOut(Schema):
    stage: str
    handed_over: list[int] = Field(description="Episode ids handed over (on board, at a boarding).")
    waiting: list[int] = Field(description="Episode ids still with the giver: an item of their own failed.")
    left_behind: list[int] = Field(description="Episode ids that stayed behind: they need a new trip.")
    waived: list[str] = Field(description="Codes of the failed items the override waived.")
    trip: TripDetailOut
