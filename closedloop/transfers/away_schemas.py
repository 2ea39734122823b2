"""Shapes of the out-of-city registry's API (``/api/v1/transfers``): strict input that refuses unknown
fields, personal data masked on the way out."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone
from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field

from closedloop.transfers.actions.away import NOTE_MAX, REPORTABLE
from closedloop.transfers.away_selectors import READINESS, readiness_of

# --- input -------------------------------------------------------------------------------------------


class AwayReportIn(BaseModel):
    """What the other city reports of one resident."""

    model_config = ConfigDict(strict=True, extra="forbid", title="AwayReportIn")

    status: str = Field(description=f"One of {', '.join(s.value for s in REPORTABLE)}.")
    release_on: date | None = Field(None, description="The release day there (YYYY-MM-DD); omitted keeps the one "
                                    "recorded (released: today unless one is recorded and past).")
    origin: int | None = Field(None, description="Moved: the id of the site (a facility of kind out_of_city_site) "
                               "the person was moved to.")
    note: str = Field("", max_length=NOTE_MAX, description="Who reported it, and how (kept in the audit log).")


# --- output ------------------------------------------------------------------------------------------

class AwayPersonOut(Schema):
    id: int
    name: str
    doc_number_masked: str
    phone_masked: str
    community_code: str | None
    community_name: str | None

    @staticmethod
    def resolve_community_code(obj) -> str | None:
        return obj.community.code if obj.community_id else None

    @staticmethod
    def resolve_community_name(obj) -> str | None:
        return obj.community.name if obj.community_id else None


class SiteOut(Schema):
    id: int
    code: str
    name: str
    city: str = Field(description="The other city the site is in.")

    @staticmethod
    def resolve_city(obj) -> str:
        return obj.other_city


class AwayRecordOut(Schema):
    id: int
    episode_id: int
    person: AwayPersonOut
    origin: SiteOut
    home_town_code: str
    home_town_name: str
    release_on: date | None = Field(description="The release day there, as the other city last said.")
    status: str
    status_label: str
    readiness: str | None = Field(description=f"One of {', '.join(READINESS)}; null: no longer out of the city.")
    held_by: str | None = Field(description="The custodian holding the person now.")
    reported_at: datetime
    source: str

    @staticmethod
    def resolve_person(obj):
        return obj.episode.person

    @staticmethod
    def resolve_home_town_code(obj) -> str:
        return obj.home_town.code

    @staticmethod
    def resolve_home_town_name(obj) -> str:
        return obj.home_town.name

    @staticmethod
    def resolve_status_label(obj) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_readiness(obj) -> str | None:
        return readiness_of(obj, timezone.localdate())

    @staticmethod
    def resolve_held_by(obj) -> str | None:
        return obj.episode.custodian.name if obj.episode.custodian_id else None


class AwayPage(Schema):
    count: int
    page: int
    page_size: int
    items: list[AwayRecordOut]


class TallyOut(Schema):
    total: int = Field(description="Still out of the city.")
    now: int = Field(description="At their site, ready now: released there, or their release day has come.")
    tomorrow: int
    later: int
    unknown: int = Field(description="At their site, no release day known.")
    positive: int = Field(description="Tested positive there: never planned.")
    on_the_way: int = Field(description="Held by a coach, the transfer station or a shuttle: not home yet.")


class SiteTallyOut(TallyOut):
    site_id: int
    name: str
    city: str
    travel_minutes: int | None = Field(description="Coach minutes to the transfer station; null: no route yet.")


class CityTallyOut(TallyOut):
    city: str


class TownTallyOut(TallyOut):
    town_id: int
    code: str
    name: str


class PlanFigureOut(Schema):
    plan_id: int
    last_home_at: datetime = Field(description="When the last one is home, as the adopted plan has it.")
    bound_at: datetime = Field(description="No plan can bring the last one home before this.")
    people: int
    makespan: int
    lower_bound: int


class HeadlineOut(Schema):
    today: date
    all: TallyOut
    cities: list[CityTallyOut]
    sites: list[SiteTallyOut]
    towns: list[TownTallyOut]
    plan: PlanFigureOut | None = Field(description="The adopted return plan; null when none is adopted.")
