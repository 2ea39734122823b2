"""Shapes of the transfer-plan API (``/api/v1/transfers/plans``): strict input that refuses unknown fields;
figures, trips and the timeline on the way out. No ID number or phone appears here."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field

from closedloop.transfers.actions.plans import NOTE_MAX

# --- input ---------------------------------------------------------------------------------------


class PlanMakeIn(BaseModel):
    """Make a draft plan from today's data. An empty body is allowed."""

    model_config = ConfigDict(strict=True, extra="forbid", title="PlanMakeIn")

    city: str = Field("", description="The city's code; the caller's city when omitted.")
    note: str = Field("", max_length=NOTE_MAX, description="Why this plan is made (shown in the plans list).")


class NotReadyIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", title="NotReadyIn")

    group: str = Field(max_length=40, description="The household group, as the plan and the manifests name it.")
    ready_at: datetime = Field(description="When it is ready again, e.g. 2022-08-03T15:30:00+08:00; without an "
                               "offset it is local time.")


class CoachOutIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", title="CoachOutIn")

    coach: int = Field(ge=1, description="The coach's number, from 1.")
    out_from: datetime = Field(description="Out of service from this moment.")


class ReplanIn(BaseModel):
    """What changed; the re-plan keeps every trip that has started."""

    model_config = ConfigDict(strict=True, extra="forbid", title="ReplanIn")

    not_ready: list[NotReadyIn] = Field(default_factory=list, description="Households left behind at boarding, "
                                        "or released later than the plan assumed.")
    coach_out: list[CoachOutIn] = Field(default_factory=list, description="Coaches out of service.")
    note: str = Field("", max_length=NOTE_MAX)


# --- output --------------------------------------------------------------------------------------

class CityRef(Schema):
    id: int
    code: str
    name: str


class PlaceRef(Schema):
    id: int
    code: str
    name: str


class UnplannedOut(Schema):
    name: str
    site: str
    reason: str


class OriginOut(Schema):
    code: str
    name: str
    city: str
    travel_minutes: int
    people: int
    groups: int
    trips: int
    first_coach: datetime | None = Field(description="When the first coach leaves the site.")
    last_coach: datetime | None


class PlanOut(Schema):
    id: int
    city: CityRef
    status: str = Field(description="draft, adopted or superseded.")
    status_label: str
    epoch: datetime = Field(description="Minute 0 of the plan.")
    people: int
    groups: int
    coach_trips: int
    shuttle_trips: int
    makespan: int = Field(description="Minutes from the epoch until the last one is home.")
    lower_bound: int = Field(description="Minutes no plan can beat.")
    last_home_at: datetime
    bound_at: datetime = Field(description="No plan can bring the last one home before this.")
    method: str
    greedy_makespan: int | None
    replaces: int | None = Field(description="The plan this one re-plans.")
    created_at: datetime
    created_by: str
    note: str
    cannot_plan: list[UnplannedOut] = Field(description="People out of the city left out of the plan, and why "
                                            "(the first 200; none in the list of plans).")
    cannot_plan_count: int = Field(description="How many were left out in all.")


class TripRowOut(Schema):
    id: int
    kind: str
    vehicle: int = Field(description="The coach's or shuttle's number, from 1 (shuttles per district).")
    origin: PlaceRef | None
    town: PlaceRef | None
    start_at: datetime | None = Field(description="Coaches: when it leaves the station for the site.")
    depart_at: datetime
    arrive_at: datetime
    state: str
    state_label: str
    people: int = Field(description="Passengers not left behind.")
    plate: str
    manifest: str = Field(description="The printable manifest's address.")


class PlanDetailOut(PlanOut):
    origins: list[OriginOut]
    trips: list[TripRowOut]


class PlansPage(Schema):
    count: int
    page: int
    page_size: int
    items: list[PlanOut]


class BarOut(Schema):
    start: datetime
    end: datetime
    label: str
    title: str
    state: str
    trip: int | None


class RowOut(Schema):
    section: str = Field(description="coach, lane or shuttle.")
    label: str
    bars: list[BarOut]


class TimelineOut(Schema):
    plan: int
    start: datetime
    end: datetime
    rows: list[RowOut]


class NothingToPlanOut(Schema):
    detail: str
    cannot_plan: list[UnplannedOut]
    cannot_plan_count: int
