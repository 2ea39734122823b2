"""Shapes of the staff API (``/api/v1/sites/staff``).

The conventions of the person registry (``closedloop.people.schemas``): input is
read with its ``load`` into strict models that refuse unknown fields; personal
data leaves masked.
"""

from __future__ import annotations

from datetime import date

from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field

from closedloop.facilities.actions.staff import check_flags
from closedloop.quarantine.choices import TestResult


class _In(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class StaffIn(_In):
    """A registered person put on duty at the facility."""

    model_config = ConfigDict(title="StaffIn")

    person: int = Field(description="The person's id in the registry (GET /api/v1/people?q=… finds it).")
    task_group: str = Field(description="disinfection, health_observation, liaison, security, logistics, transfer "
                                        "or care.")
    post: str = Field("", max_length=60, description="Where they work, e.g. floor 3 nurses' station.")
    ppe_level: str = Field("2", description="Personal protection level of the post: 1, 2 or 3.")
    on_duty_from: date | None = Field(None, description="The first day on duty; today when omitted.")


class StaffCheckIn(_In):
    """The day's health registration of one staff member; recording the same day again corrects it."""

    model_config = ConfigDict(title="StaffCheckIn")

    day: date | None = Field(None, description="The day; today when omitted.")
    temperature: float | str = Field(description="In °C, e.g. 36.5. 37.3 or more is a fever.")
    symptoms: list[str] = Field(default_factory=list, description="Symptom codes, as for people under control.")


class StaffTestIn(_In):
    """A staff test of one day: the sample (``pending``), then its result."""

    model_config = ConfigDict(title="StaffTestIn")

    sampled_on: date | None = Field(None, description="The day the sample was taken; today when omitted.")
    result: float | str = Field("pending", description="pending, negative, positive, assess, invalid (or a word "
                                                        "such as 阴性), or a Ct value read by the national "
                                                        "thresholds (positive below 35, assess below 40).")


class LeaveIn(_In):
    """The staff member leaves duty: an episode of the staff rotation opens for them."""

    model_config = ConfigDict(title="LeaveIn")

    off_duty_on: date | None = Field(None, description="The last day on duty (day 1 of the rotation); today "
                                                       "when omitted.")
    reason: str = Field("", max_length=300, description="Kept in the audit log.")


# --- output ----------------------------------------------------------------------

class StaffOut(Schema):
    id: int
    facility_id: int
    person_id: int
    name: str
    doc_number_masked: str
    phone_masked: str
    task_group: str
    task_group_label: str
    post: str
    ppe_level: str
    status: str = Field(description="on_duty or off_duty.")
    on_duty_from: date
    off_duty_on: date | None = Field(description="The last day on duty, once they left.")
    rotation_episode_id: int | None = Field(description="The episode opened when they left duty.")

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.person.name

    @staticmethod
    def resolve_doc_number_masked(obj) -> str:
        return obj.person.doc_number_masked

    @staticmethod
    def resolve_phone_masked(obj) -> str:
        return obj.person.phone_masked

    @staticmethod
    def resolve_task_group_label(obj) -> str:
        return str(obj.get_task_group_display())


class StaffPage(Schema):
    count: int
    page: int
    page_size: int
    items: list[StaffOut]


class StaffCheckOut(Schema):
    id: int
    staff_id: int
    day: date
    temperature: float
    symptoms: list[str]
    flags: list[str] = Field(description="fever and/or symptoms: shown on the site's work list.")

    @staticmethod
    def resolve_flags(obj) -> list[str]:
        return check_flags(obj.temperature, obj.symptoms or [])


class StaffTestOut(Schema):
    id: int
    staff_id: int
    sampled_on: date
    result: str = Field(description="pending, negative, assess, positive or invalid.")
    result_label: str

    @staticmethod
    def resolve_result_label(obj) -> str:
        return str(TestResult(obj.result).label) if obj.result in TestResult.values else obj.result


class LeaveOut(StaffOut):
    rotation_release_on: date | None = Field(description="The release day once the person is placed; null until "
                                                         "then.")

    @staticmethod
    def resolve_rotation_release_on(obj) -> date | None:
        return obj.rotation_episode.release_on if obj.rotation_episode_id else None


class MissingStaffOut(Schema):
    """One staff member in a list of the work list."""

    id: int
    name: str
    task_group: str

    @staticmethod
    def resolve_id(obj) -> int:
        return getattr(obj, "staff", obj).pk

    @staticmethod
    def resolve_name(obj) -> str:
        return getattr(obj, "staff", obj).person.name

    @staticmethod
    def resolve_task_group(obj) -> str:
        return getattr(obj, "staff", obj).task_group


class TestDueOut(MissingStaffOut):
    last_sampled_on: date | None


class UnwellOut(MissingStaffOut):
    temperature: float
    flags: list[str]
    symptoms: list[str] = Field(description="Symptom codes.")

    @staticmethod
    def resolve_temperature(obj) -> float:
        return float(obj.check.temperature)

    @staticmethod
    def resolve_symptoms(obj) -> list[str]:
        return list(obj.check.symptoms or [])


class FlaggedTestOut(MissingStaffOut):
    sampled_on: date
    result: str


class StaffWorklistOut(Schema):
    facility_id: int
    day: date
    test_every_days: int
    on_duty: int
    checks_missing: list[MissingStaffOut]
    tests_due: list[TestDueOut]
    unwell: list[UnwellOut]
    flagged_tests: list[FlaggedTestOut]

    @staticmethod
    def resolve_facility_id(obj) -> int:
        return obj.facility.pk

    @staticmethod
    def resolve_on_duty(obj) -> int:
        return len(obj.on_duty)
