"""Shapes of the facility registry's JSON API (``/api/v1/sites``).

The conventions are the person registry's (``closedloop.people.schemas``):
input is read with its ``load`` into strict models that refuse unknown
fields, so every bad value comes back as ``{"detail": [{"field", "message"}]}``.
"""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field

from closedloop.facilities.choices import FacilityKind, FacilityStatus

# --- input -----------------------------------------------------------------------


class _In(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class FacilityIn(_In):
    """A facility to register. Its town is given by code; without one it belongs to the caller's city."""

    model_config = ConfigDict(title="FacilityIn")

    kind: str = Field(description=f"One of {', '.join(FacilityKind.values)}.")
    name: str = Field(max_length=120)
    code: str = Field(max_length=60, description="A short unique code; it never changes.")
    town: str = Field("", description="Code of the town or street the facility lies in, e.g. 330782001.")
    other_city: str = Field("", max_length=60, description="Required for an isolation site in another city.")
    address: str = Field("", max_length=200)
    contact_name: str = Field("", max_length=60)
    contact_phone: str = Field("", max_length=40, description="A mainland mobile or a landline with its area code.")
    status: str = Field(FacilityStatus.PREPARING.value, description=f"One of {', '.join(FacilityStatus.values)}.")
    turnaround_hours: int = Field(24, ge=1, le=240, description="Terminal disinfection after check-out, in hours.")
    allow_companions: bool = True
    staff_test_every_days: int = Field(1, ge=1, le=14)
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)


class StatusIn(_In):
    """Open, pause or close a facility."""

    model_config = ConfigDict(title="StatusIn")

    status: str = Field(description=f"One of {', '.join(FacilityStatus.values)}.")
    reason: str = Field("", max_length=300, description="Kept in the audit log; needed to pause or close.")


class BulkRoomsIn(_In):
    """Every room of a range of floors: floors 3–12 and rooms 1–30 make 301 … 1230."""

    model_config = ConfigDict(title="BulkRoomsIn")

    building: str = Field("", max_length=20)
    floor_from: int = Field(ge=-5, le=200)
    floor_to: int = Field(ge=-5, le=200)
    room_from: int = Field(1, ge=0, le=99, description="The last two digits of the first room number.")
    room_to: int = Field(ge=0, le=99)
    beds: int = Field(1, ge=1, le=8)
    accessible_rooms: list[int] = Field(default_factory=list,
                                        description="Room numbers on each floor (01–99) that are accessible.")


# --- output ----------------------------------------------------------------------

class RoomCountsOut(Schema):
    available: int
    occupied: int
    awaiting_cleaning: int
    cleaning: int
    out_of_service: int
    total: int


class FacilityOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    kind_label: str
    status: str
    status_label: str
    town_code: str | None = Field(description="The town or street the facility lies in.")
    town_name: str | None
    other_city: str
    address: str
    contact_name: str
    contact_phone: str
    rooms: RoomCountsOut

    @staticmethod
    def resolve_kind_label(obj) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_status_label(obj) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_town_code(obj) -> str | None:
        return obj.jurisdiction.code if obj.jurisdiction_id else None

    @staticmethod
    def resolve_town_name(obj) -> str | None:
        return obj.jurisdiction.name if obj.jurisdiction_id else None

    @staticmethod
    def resolve_rooms(obj) -> dict:
        return obj.room_counts


class FacilityDetailOut(FacilityOut):
    city_code: str
    custodian_id: int = Field(description="The custodian the custody ledger names for this facility.")
    turnaround_hours: int
    allow_companions: bool
    staff_test_every_days: int
    latitude: float | None
    longitude: float | None
    members: list[str] = Field(description="User names of the staff accounts assigned here.")
    created_at: datetime

    @staticmethod
    def resolve_city_code(obj) -> str:
        return obj.city.code

    @staticmethod
    def resolve_members(obj) -> list[str]:
        return [u.username for u in obj.members.order_by("username")]


class FacilitiesPage(Schema):
    count: int
    page: int
    page_size: int
    items: list[FacilityOut]


class RoomOut(Schema):
    id: int
    building: str
    floor: int
    number: str
    label: str
    beds: int
    accessible: bool
    status: str
    status_label: str
    status_since: datetime
    version: int = Field(description="Changes with every change of status.")
    note: str

    @staticmethod
    def resolve_status_label(obj) -> str:
        return str(obj.get_status_display())


class RoomsPage(Schema):
    count: int
    page: int
    page_size: int
    items: list[RoomOut]


class BulkRoomsOut(Schema):
    created: int
    skipped: list[str] = Field(description="Room numbers that existed already and were left as they are.")
    rooms: RoomCountsOut = Field(description="The facility's rooms by status afterwards.")
