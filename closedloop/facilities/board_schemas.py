"""Shapes of the board's JSON API: the board (no personal data), suggestions, check-in, room transitions,
the turnaround list. Input is read with ``people.schemas.load`` (strict, unknown fields refused)."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


# --- input -----------------------------------------------------------------------------------

class SuggestIn(_In):
    """People to place at this site: the engine suggests a room for each, or says why there is none."""

    model_config = ConfigDict(title="SuggestIn")

    episodes: list[int] = Field(min_length=1, max_length=200, description="Episode ids.")


class AssignmentIn(_In):
    model_config = ConfigDict(title="AssignmentIn")

    episode: int
    room: int
    version: int = Field(ge=0, description="The room's version as read (from the board or a suggestion): a room "
                                           "changed since is refused with 409.")


class CheckinIn(_In):
    """Everyone checked in at once, or no one."""

    model_config = ConfigDict(title="CheckinIn")

    assignments: list[AssignmentIn] = Field(min_length=1, max_length=200)
    signed_by: str = Field("", max_length=60, description="Who signed for the site.")


class TransitionIn(_In):
    model_config = ConfigDict(title="TransitionIn")

    event: str = Field(description="clean_start, clean_done, take_out (needs a note) or bring_back.")
    note: str = Field("", max_length=200)
    version: int | None = Field(None, ge=0, description="The room's version as read; 409 when it changed since.")


# --- output ----------------------------------------------------------------------------------

class RoomOut(Schema):
    id: int
    building: str
    floor: int
    number: str
    label: str
    beds: int
    accessible: bool
    status: str
    status_since: datetime
    version: int


class BoardRoomOut(Schema):
    id: int
    number: str
    label: str
    beds: int
    accessible: bool
    status: str
    version: int
    occupants: int = Field(description="People staying in the room now.")
    categories: list[str] = Field(description="Their categories (codes); no personal data.")


class BoardFloorOut(Schema):
    floor: int
    categories: list[str] = Field(description="The categories staying on the floor; more than one is a breach.")
    free: int
    rooms: list[BoardRoomOut]


class BoardBuildingOut(Schema):
    building: str
    floors: list[BoardFloorOut]


class BoardOut(Schema):
    facility: int
    name: str
    status: str
    turnaround_hours: int
    rooms: int
    occupants: int
    counts: dict[str, int] = Field(description="Rooms by status.")
    buildings: list[BoardBuildingOut]


class SuggestionOut(Schema):
    episode: int
    room: RoomOut | None
    reason: str = Field(description="Why no room was found; empty when one was.")
    problem: str = Field(description="Why the person cannot be checked in here now (custody, already in a room); "
                                     "empty when they can.")


class StayOut(Schema):
    id: int
    episode: int
    room: RoomOut
    checked_in_at: datetime
    card: str = Field(description="The printable room card's page.")


class CheckinOut(Schema):
    stays: list[StayOut]


class TurnaroundOut(Schema):
    room: RoomOut
    waiting_since: datetime
    hours_waiting: float
    overdue: bool


class TurnaroundListOut(Schema):
    turnaround_hours: int
    items: list[TurnaroundOut]
