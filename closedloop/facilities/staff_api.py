"""JSON API of the staff in the loop: ``/api/v1/sites/staff`` (mounted by facilities.api).

The conventions of the registry's API: a facility or staff member outside the
caller's scope is 404 like one that does not exist; bad input is 422 with
``{"detail": [{"field", "message"}]}``; a refusal of the role is 403; another
desk writing the same record at the same moment is 409. Reading needs
``view_people``, every write ``manage_staff``. Personal data leaves masked.
"""

from __future__ import annotations

from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Status

from closedloop.core.roles import Cap
from closedloop.core.scoping import require
from closedloop.facilities.actions import staff_add, staff_health_record, staff_leave_duty, staff_test_record
from closedloop.facilities.actions.staff import StaffConflict
from closedloop.facilities.choices import PpeLevel, StaffStatus, TaskGroup
from closedloop.facilities.models import Facility, StaffMember
from closedloop.facilities.selectors import facility_in_scope
from closedloop.facilities.staff_schemas import (
    LeaveIn,
    LeaveOut,
    StaffCheckIn,
    StaffCheckOut,
    StaffIn,
    StaffOut,
    StaffPage,
    StaffTestIn,
    StaffTestOut,
    StaffWorklistOut,
)
from closedloop.facilities.staff_worklist import staff_worklist
from closedloop.people.api import MAX_PAGE_SIZE, NotFound, answers
from closedloop.people.models import Person
from closedloop.people.schemas import ErrorOut, FieldErrorsOut, InputError, load, openapi_body
from closedloop.people.selectors import people_visible, search_q
from closedloop.quarantine.api import _page

router = Router(tags=["site staff"])

_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: FieldErrorsOut}
_ACTION_ERRORS = {**_ERRORS, 409: ErrorOut}


_answers = answers(not_found=lambda: _("No such facility."), conflicts=(StaffConflict,))


def _facility(user, facility_id: int, cap: str) -> Facility:
    require(user, cap)
    facility = Facility.objects.filter(pk=facility_id).first()
    if facility is None or not facility_in_scope(user, facility):
        raise NotFound(_("No such facility."))
    return facility


def _staff(user, staff_id: int, cap: str) -> StaffMember:
    require(user, cap)
    staff = StaffMember.objects.select_related("person", "facility", "rotation_episode").filter(pk=staff_id).first()
    if staff is None or not facility_in_scope(user, staff.facility):
        raise NotFound(_("No such staff member."))
    return staff


def _choice_error(field: str, values) -> dict:
    return {"field": field, "message": _("Use one of: %(choices)s.") % {"choices": ", ".join(values)}}


@router.get(
    "/{int:facility_id}",
    response={200: StaffPage, **_ERRORS},
    summary="List the staff of a facility",
    description="Staff on duty (``status=on_duty``, the default), those who left (``off_duty``) or ``all``, by task "
    f"group and name. ``task_group`` one of {', '.join(TaskGroup.values)}; ``ppe_level`` one of "
    f"{', '.join(PpeLevel.values)}; ``q`` a name, pinyin, phone tail or ID number. At most {MAX_PAGE_SIZE} a page.",
)
@_answers
def staff_list_api(request, facility_id: int, q: str = "", task_group: str = "", status: str = "on_duty",
                   ppe_level: str = "", page: str = "1", page_size: str = ""):
    facility = _facility(request.user, facility_id, Cap.VIEW_PEOPLE)
    rows = StaffMember.objects.filter(facility=facility).select_related("person")
    errors = []
    status = status.strip() or StaffStatus.ON_DUTY
    if status not in (*StaffStatus.values, "all"):
        errors.append(_choice_error("status", (*StaffStatus.values, "all")))
    elif status != "all":
        rows = rows.filter(status=status)
    if task_group.strip():
        if task_group.strip() not in TaskGroup.values:
            errors.append(_choice_error("task_group", TaskGroup.values))
        rows = rows.filter(task_group=task_group.strip())
    if ppe_level.strip():
        if ppe_level.strip() not in PpeLevel.values:
            errors.append(_choice_error("ppe_level", PpeLevel.values))
        rows = rows.filter(ppe_level=ppe_level.strip())
    if q.strip():
        rows = rows.filter(person__in=Person.objects.filter(search_q(q)).values("pk"))
    return _page(rows.order_by("task_group", "person__name_pinyin", "pk"), page, page_size, errors)


@router.post(
    "/{int:facility_id}",
    response={201: StaffOut, **_ACTION_ERRORS},
    summary="Put a person on duty",
    description="A registered person of the caller's jurisdictions goes on duty at the facility: one duty at a time, "
    "and nobody under control (with an open episode) goes on duty.",
    openapi_extra=openapi_body(StaffIn),
)
@_answers
def staff_add_api(request, facility_id: int):
    facility = _facility(request.user, facility_id, Cap.MANAGE_STAFF)
    body = load(StaffIn, request.body or b"{}")
    person = people_visible(request.user).filter(pk=body.person).first()
    if person is None:
        raise InputError.one("person", _("No person of your jurisdiction has the id %(id)s.") % {"id": body.person})
    staff = staff_add(facility=facility, person=person, task_group=body.task_group, post=body.post,
                      ppe_level=body.ppe_level, on_duty_from=body.on_duty_from or timezone.localdate(),
                      actor=request.user)
    return Status(201, StaffMember.objects.select_related("person").get(pk=staff.pk))


@router.get(
    "/{int:facility_id}/worklist",
    response={200: StaffWorklistOut, **_ERRORS},
    summary="What is missing about the staff today",
    description="For a day (``day=2022-08-03``, today by default): staff on duty without the day's health "
    "registration, staff whose test is due by the facility's interval, staff with a fever or symptoms that day, "
    "and staff whose last result is positive or needs a risk assessment.",
)
@_answers
def staff_worklist_api(request, facility_id: int, day: str = ""):
    facility = _facility(request.user, facility_id, Cap.VIEW_PEOPLE)
    try:
        when = date.fromisoformat(day.strip()) if day.strip() else timezone.localdate()
    except ValueError:
        raise InputError.one("day", _("Write the date like 2022-08-03.")) from None
    return staff_worklist(facility, when)


@router.post(
    "/members/{int:staff_id}/checks",
    response={200: StaffCheckOut, **_ACTION_ERRORS},
    summary="Record a staff health registration",
    description="Temperature and symptoms of one day; recording the same day again corrects it. 37.3 °C or more, "
    "or any symptom, is flagged on the staff record and on the site's work list.",
    openapi_extra=openapi_body(StaffCheckIn),
)
@_answers
def staff_check_api(request, staff_id: int):
    staff = _staff(request.user, staff_id, Cap.MANAGE_STAFF)
    body = load(StaffCheckIn, request.body or b"{}")
    return staff_health_record(staff=staff, day=body.day or timezone.localdate(), temperature=body.temperature,
                               symptoms=body.symptoms, actor=request.user)


@router.post(
    "/members/{int:staff_id}/tests",
    response={200: StaffTestOut, **_ACTION_ERRORS},
    summary="Record a staff test",
    description="The sample of a day (``pending``), then its result; one test per staff member and day. A positive "
    "or doubtful result shows on the site's work list.",
    openapi_extra=openapi_body(StaffTestIn),
)
@_answers
def staff_test_api(request, staff_id: int):
    staff = _staff(request.user, staff_id, Cap.MANAGE_STAFF)
    body = load(StaffTestIn, request.body or b"{}")
    return staff_test_record(staff=staff, sampled_on=body.sampled_on or timezone.localdate(), result=body.result,
                             actor=request.user)


@router.post(
    "/members/{int:staff_id}/leave",
    response={200: LeaveOut, **_ACTION_ERRORS},
    summary="Leave duty into the rotation",
    description="The staff member leaves duty after their last day: an episode of category ``staff_rotation`` "
    "opens for them, counted from that day, awaiting placement at a site or health station like anyone entering "
    "the loop. Shifts rostered after the last day are removed.",
    openapi_extra=openapi_body(LeaveIn),
)
@_answers
def staff_leave_api(request, staff_id: int):
    staff = _staff(request.user, staff_id, Cap.MANAGE_STAFF)
    body = load(LeaveIn, request.body or b"{}")
    staff_leave_duty(staff=staff, off_duty_on=body.off_duty_on or timezone.localdate(), reason=body.reason.strip(),
                     actor=request.user)
    return StaffMember.objects.select_related("person", "rotation_episode").get(pk=staff.pk)
