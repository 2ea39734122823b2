"""Staff in the loop: every action with its audit row, its refusals, and leaving duty into the rotation."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from closedloop.core.models import AuditEvent
from closedloop.facilities.actions import (
    facility_set_status,
    roster_fill,
    roster_update,
    shift_assign,
    shift_remove,
    staff_add,
    staff_checks_record,
    staff_health_record,
    staff_leave_duty,
    staff_test_record,
    staff_tests_record,
    staff_update_post,
)
from closedloop.facilities.models import DutyShift, StaffHealthCheck, StaffMember, StaffTest
from closedloop.quarantine import states
from closedloop.quarantine.actions import episode_open, episode_place
from closedloop.quarantine.models import Episode

START = date(2022, 7, 20)
LAST = date(2022, 8, 3)


def audits(action: str, staff=None) -> list[AuditEvent]:
    rows = AuditEvent.objects.filter(action=action)
    if staff is not None:
        rows = rows.filter(target_type="staffmember", target_id=str(staff.pk))
    return list(rows.order_by("id"))


@pytest.fixture
def nurse(person_factory):
    return person_factory("王护士", female=True)


@pytest.fixture
def staff(facility_a, nurse, site_a):
    return staff_add(facility=facility_a, person=nurse, task_group="health_observation", post="3楼护士站",
                     ppe_level="2", on_duty_from=START, actor=site_a)


# --- staff on duty ------------------------------------------------------------------------------

def test_staff_add_puts_a_registered_person_on_duty_with_its_audit_row(staff, facility_a, nurse, site_a):
    assert (staff.facility, staff.person, staff.status) == (facility_a, nurse, "on_duty")
    assert (staff.task_group, staff.post, staff.ppe_level, staff.on_duty_from) == (
        "health_observation", "3楼护士站", "2", START)
    [row] = audits("staff.add", staff)
    assert row.actor == site_a
    assert row.after == {"facility": facility_a.pk, "person": nurse.pk, "task_group": "health_observation",
                         "post": "3楼护士站", "ppe_level": "2", "on_duty_from": "2022-07-20"}


def test_headquarters_may_add_staff_at_any_site_of_the_city(facility_b, person_factory, commander):
    member = staff_add(facility=facility_b, person=person_factory("李保安"), task_group="security",
                       on_duty_from=START, actor=commander)
    assert member.ppe_level == "2"  # the default post protection


def test_outsider_may_not_add_staff(facility_a, nurse, site_b):
    with pytest.raises(PermissionDenied):
        staff_add(facility=facility_a, person=nurse, task_group="security", on_duty_from=START, actor=site_b)
    assert not StaffMember.objects.exists() and not audits("staff.add")


@pytest.mark.parametrize("who", ["community_worker", "analyst"])
def test_a_role_without_the_roster_may_not_add_staff(request, facility_a, nurse, who):
    with pytest.raises(PermissionDenied, match="may not keep the duty roster"):
        staff_add(facility=facility_a, person=nurse, task_group="security", on_duty_from=START,
                  actor=request.getfixturevalue(who))


def test_one_duty_at_a_time(staff, facility_b, nurse, commander):
    with pytest.raises(ValidationError, match="already on duty at 稠城隔离点A"):
        staff_add(facility=facility_b, person=nurse, task_group="care", on_duty_from=LAST, actor=commander)
    assert StaffMember.objects.filter(person=nurse).count() == 1


def test_the_database_holds_one_duty_per_person(staff, facility_b, nurse):
    with pytest.raises(IntegrityError), transaction.atomic():
        StaffMember.objects.create(facility=facility_b, person=nurse, task_group="care", on_duty_from=LAST)


def test_a_person_under_control_may_not_go_on_duty(facility_a, nurse, site_a):
    episode_open(person=nurse, category="close_contact", anchor_date=LAST, actor=None)
    with pytest.raises(ValidationError, match="under control now"):
        staff_add(facility=facility_a, person=nurse, task_group="care", on_duty_from=LAST, actor=site_a)


@pytest.mark.parametrize(("fields", "field"), [
    ({"task_group": "cooking"}, "task_group"),
    ({"ppe_level": "4"}, "ppe_level"),
    ({"post": "x" * 61}, "post"),
])
def test_staff_add_refuses_bad_input_next_to_its_field(facility_a, nurse, site_a, fields, field):
    values = {"task_group": "care", "ppe_level": "2", "post": "", **fields}
    with pytest.raises(ValidationError) as info:
        staff_add(facility=facility_a, person=nurse, on_duty_from=START, actor=site_a, **values)
    assert list(info.value.message_dict) == [field]


def test_a_closed_site_takes_no_staff(city, nurse, commander):
    from closedloop.facilities.actions import facility_create

    site = facility_create(kind="isolation_site", name="已关闭点", code="closed-1", city=city, actor=None)
    facility_set_status(facility=site, status="closed", reason="任务结束", actor=None)
    with pytest.raises(ValidationError, match="is closed"):
        staff_add(facility=site, person=nurse, task_group="care", on_duty_from=START, actor=commander)


def test_staff_update_post_changes_post_protection_and_group_with_before_and_after(staff, site_a):
    staff_update_post(staff=staff, post="污染区", ppe_level="3", task_group="disinfection", actor=site_a)
    staff.refresh_from_db()
    assert (staff.post, staff.ppe_level, staff.task_group) == ("污染区", "3", "disinfection")
    [row] = audits("staff.update", staff)
    assert row.before == {"task_group": "health_observation", "post": "3楼护士站", "ppe_level": "2"}
    assert row.after == {"task_group": "disinfection", "post": "污染区", "ppe_level": "3"}
    staff_update_post(staff=staff, ppe_level="3", actor=site_a)  # nothing changes: no audit row
    assert len(audits("staff.update", staff)) == 1


def test_staff_update_post_refused_to_outsider_and_after_leaving(staff, site_a, site_b):
    with pytest.raises(PermissionDenied):
        staff_update_post(staff=staff, ppe_level="3", actor=site_b)
    staff_leave_duty(staff=staff, off_duty_on=LAST, actor=site_a)
    with pytest.raises(ValidationError, match="has left duty"):
        staff_update_post(staff=staff, ppe_level="3", actor=site_a)
    with pytest.raises(ValidationError) as info:
        staff_update_post(staff=StaffMember.objects.get(pk=staff.pk), ppe_level="x", actor=site_a)
    assert "left duty" in str(info.value)


# --- the roster -----------------------------------------------------------------------------------

def test_shift_assign_and_remove_with_audit_rows(staff, site_a):
    row = shift_assign(staff=staff, day=LAST, shift="night", actor=site_a)
    assert (row.facility_id, row.day, row.shift) == (staff.facility_id, LAST, "night")
    [assigned] = audits("shift.assign", staff)
    assert assigned.after == {"day": "2022-08-03", "shift": "night"}
    shift_remove(staff=staff, day=LAST, shift="night", actor=site_a)
    assert not DutyShift.objects.exists()
    [removed] = audits("shift.remove", staff)
    assert removed.before == {"day": "2022-08-03", "shift": "night"}


def test_shift_refusals(staff, site_a, site_b):
    shift_assign(staff=staff, day=LAST, shift="day", actor=site_a)
    with pytest.raises(ValidationError, match="already on this shift"):
        shift_assign(staff=staff, day=LAST, shift="day", actor=site_a)
    with pytest.raises(ValidationError, match="on duty from 2022-07-20, not on 2022-07-19"):
        shift_assign(staff=staff, day=START - timedelta(days=1), shift="day", actor=site_a)
    with pytest.raises(ValidationError, match="Unknown shift"):
        shift_assign(staff=staff, day=LAST, shift="afternoon", actor=site_a)
    with pytest.raises(ValidationError, match="not on this shift"):
        shift_remove(staff=staff, day=LAST, shift="night", actor=site_a)
    with pytest.raises(PermissionDenied):
        shift_assign(staff=staff, day=LAST, shift="night", actor=site_b)
    with pytest.raises(PermissionDenied):
        shift_remove(staff=staff, day=LAST, shift="day", actor=site_b)
    assert DutyShift.objects.count() == 1 and len(audits("shift.assign")) == 1


def test_roster_update_saves_a_grid_all_or_nothing(staff, facility_a, person_factory, site_a):
    other = staff_add(facility=facility_a, person=person_factory("赵消杀"), task_group="disinfection",
                      on_duty_from=LAST, actor=site_a)
    shift_assign(staff=staff, day=LAST, shift="day", actor=site_a)
    change = roster_update(facility=facility_a, actor=site_a,
                           assign=[(staff.pk, LAST, "evening"), (other.pk, LAST, "day")],
                           remove=[(staff.pk, LAST, "day")])
    assert (change.added, change.removed) == (2, 1)
    assert set(DutyShift.objects.values_list("staff_id", "shift")) == {(staff.pk, "evening"), (other.pk, "day")}
    [row] = audits("roster.update")
    assert row.after["removed"] == [[staff.pk, "2022-08-03", "day"]]
    # The same change again (another desk did it already): nothing to do, no audit row.
    again = roster_update(facility=facility_a, actor=site_a, assign=[(other.pk, LAST, "day")], remove=[])
    assert (again.added, again.removed) == (0, 0) and len(audits("roster.update")) == 1
    # One bad cell refuses the whole grid.
    with pytest.raises(ValidationError, match="on duty from 2022-08-03"):
        roster_update(facility=facility_a, actor=site_a,
                      assign=[(staff.pk, LAST, "night"), (other.pk, LAST - timedelta(days=1), "night")], remove=[])
    assert not DutyShift.objects.filter(shift="night").exists()


def test_roster_update_refuses_staff_of_another_site(staff, facility_b, commander):
    with pytest.raises(ValidationError, match="does not work at 北苑隔离点B"):
        roster_update(facility=facility_b, actor=commander, assign=[(staff.pk, LAST, "day")], remove=[])


def test_roster_fill_puts_a_group_on_a_shift_for_days(staff, facility_a, person_factory, site_a):
    late = staff_add(facility=facility_a, person=person_factory("钱后勤"), task_group="logistics",
                     on_duty_from=LAST, actor=site_a)
    days = [LAST - timedelta(days=1), LAST]
    change = roster_fill(facility=facility_a, staff=[staff, late], days=days, shift="day", actor=site_a)
    assert change.added == 3  # the late starter only from their first day
    assert DutyShift.objects.filter(staff=late).count() == 1
    with pytest.raises(ValidationError):
        roster_fill(facility=facility_a, staff=[], days=days, shift="day", actor=site_a)


# --- health registration ----------------------------------------------------------------------------

def test_staff_health_record_with_audit_and_flags(staff, site_a):
    check = staff_health_record(staff=staff, day=LAST, temperature="36.6", symptoms=[], actor=site_a)
    assert (check.temperature, check.symptoms, check.recorded_by) == (Decimal("36.6"), [], site_a)
    [row] = audits("staff_check.record", staff)
    assert row.after == {"day": "2022-08-03", "temperature": "36.6", "symptoms": [], "flags": []}
    # Corrected the same day: one check, the audit row has before and after.
    check = staff_health_record(staff=staff, day=LAST, temperature="37.3", symptoms=["cough"], actor=site_a)
    assert StaffHealthCheck.objects.count() == 1
    last = audits("staff_check.record", staff)[-1]
    assert last.before["flags"] == [] and last.after["flags"] == ["fever", "symptoms"]
    # The same values again write nothing.
    staff_health_record(staff=staff, day=LAST, temperature="37.3", symptoms=["cough"], actor=site_a)
    assert len(audits("staff_check.record", staff)) == 2


def test_fever_starts_at_37_3(staff, site_a):
    from closedloop.facilities.actions.staff import check_flags

    assert check_flags(Decimal("37.2"), []) == []
    assert check_flags(Decimal("37.3"), []) == ["fever"]
    assert check_flags(Decimal("36.5"), ["fatigue"]) == ["symptoms"]


def test_staff_health_record_refusals(staff, site_a, site_b):
    with pytest.raises(ValidationError) as info:
        staff_health_record(staff=staff, day=timezone.localdate() + timedelta(days=1), temperature="36.5",
                            actor=site_a)
    assert "in the future" in info.value.message_dict["day"][0]
    with pytest.raises(ValidationError) as info:
        staff_health_record(staff=staff, day=START - timedelta(days=1), temperature="hot", symptoms=["hiccups"],
                            actor=site_a)
    assert set(info.value.message_dict) == {"day", "temperature", "symptoms"}
    assert "was not on duty on 2022-07-19" in info.value.message_dict["day"][0]
    with pytest.raises(PermissionDenied):
        staff_health_record(staff=staff, day=LAST, temperature="36.5", actor=site_b)
    assert not StaffHealthCheck.objects.exists() and not audits("staff_check.record")


def test_staff_checks_record_a_round(staff, facility_a, facility_b, person_factory, site_a, commander):
    second = staff_add(facility=facility_a, person=person_factory("孙医生"), task_group="health_observation",
                       on_duty_from=START, actor=site_a)
    third = staff_add(facility=facility_a, person=person_factory("周司机"), task_group="transfer",
                      on_duty_from=START, actor=site_a)
    elsewhere = staff_add(facility=facility_b, person=person_factory("吴外援"), task_group="care",
                          on_duty_from=START, actor=commander)
    result = staff_checks_record(facility=facility_a, day=LAST, actor=site_a, rows=[
        {"staff": staff.pk, "temperature": "36.5", "symptoms": []},
        {"staff": second.pk, "temperature": "38.1", "symptoms": ["cough"]},
        {"staff": third.pk, "temperature": "", "symptoms": []},
        {"staff": elsewhere.pk, "temperature": "36.5"},
        {"staff": staff.pk, "temperature": "36.6"},
        {"staff": "x", "temperature": "36.6"},
    ])
    assert (result.created, result.updated, result.skipped, result.flagged) == (2, 0, 1, 1)
    assert [p.field for p in result.problems] == ["staff", "staff", "staff"]
    assert set(result.problems_by_staff()) == {elsewhere.pk, staff.pk}
    assert set(StaffHealthCheck.objects.values_list("staff_id", flat=True)) == {staff.pk, second.pk}
    assert len(audits("staff_check.record")) == 2
    [summary] = audits("staff_check.round")
    assert summary.target_id == str(facility_a.pk) and summary.after["flagged"] == 1
    # A bad temperature refuses its row only; the same values again are unchanged.
    again = staff_checks_record(facility=facility_a, day=LAST, actor=site_a, rows=[
        {"staff": staff.pk, "temperature": "36.5"}, {"staff": third.pk, "temperature": "99"}])
    assert (again.unchanged, again.written, [p.field for p in again.problems]) == (1, 0, ["temperature"])


def test_staff_checks_round_refused_to_outsider_and_for_the_future(facility_a, site_b, site_a):
    with pytest.raises(PermissionDenied):
        staff_checks_record(facility=facility_a, day=LAST, rows=[], actor=site_b)
    with pytest.raises(ValidationError):
        staff_checks_record(facility=facility_a, day=timezone.localdate() + timedelta(days=1), rows=[], actor=site_a)


def test_a_round_costs_the_same_queries_for_3_or_30_staff(facility_a, person_factory, site_a,
                                                          django_assert_max_num_queries):
    staff = [staff_add(facility=facility_a, person=person_factory(f"员工{i}"), task_group="logistics",
                       on_duty_from=START, actor=site_a) for i in range(30)]
    rows = [{"staff": s.pk, "temperature": "36.5"} for s in staff]
    with django_assert_max_num_queries(12):
        staff_checks_record(facility=facility_a, day=LAST, rows=rows[:3], actor=site_a)
    with django_assert_max_num_queries(12):
        staff_checks_record(facility=facility_a, day=LAST - timedelta(days=1), rows=rows, actor=site_a)


# --- tests -----------------------------------------------------------------------------------------

def test_staff_test_from_sample_to_result(staff, site_a):
    test = staff_test_record(staff=staff, sampled_on=LAST, actor=site_a)
    assert test.result == "pending"
    test = staff_test_record(staff=staff, sampled_on=LAST, result="阴性", actor=site_a)
    assert test.result == "negative" and StaffTest.objects.count() == 1
    first, second = audits("staff_test.record", staff)
    assert first.before is None and first.after == {"sampled_on": "2022-08-03", "result": "pending"}
    assert second.before == {"result": "pending"} and second.after["result"] == "negative"


def test_a_ct_value_is_read_by_the_national_thresholds(staff, site_a):
    test = staff_test_record(staff=staff, sampled_on=LAST, result="28.5", actor=site_a)
    assert test.result == "positive"
    assert audits("staff_test.record", staff)[-1].after["ct"] == "28.5"
    assert staff_test_record(staff=staff, sampled_on=LAST, result="37", actor=site_a).result == "assess"


def test_staff_test_refusals(staff, site_a, site_b):
    staff_test_record(staff=staff, sampled_on=LAST, result="negative", actor=site_a)
    with pytest.raises(ValidationError, match="already has its result"):
        staff_test_record(staff=staff, sampled_on=LAST, result="pending", actor=site_a)
    with pytest.raises(ValidationError) as info:
        staff_test_record(staff=staff, sampled_on=LAST, result="maybe", actor=site_a)
    assert list(info.value.message_dict) == ["result"]
    with pytest.raises(ValidationError) as info:
        staff_test_record(staff=staff, sampled_on=timezone.localdate() + timedelta(days=2), actor=site_a)
    assert list(info.value.message_dict) == ["sampled_on"]
    with pytest.raises(PermissionDenied):
        staff_test_record(staff=staff, sampled_on=LAST, result="positive", actor=site_b)
    assert StaffTest.objects.get().result == "negative"


def test_staff_tests_round(staff, facility_a, person_factory, site_a):
    second = staff_add(facility=facility_a, person=person_factory("孙医生"), task_group="care", on_duty_from=START,
                       actor=site_a)
    third = staff_add(facility=facility_a, person=person_factory("周司机"), task_group="care", on_duty_from=START,
                      actor=site_a)
    result = staff_tests_record(facility=facility_a, sampled_on=LAST, actor=site_a, rows=[
        {"staff": staff.pk, "result": "pending"}, {"staff": second.pk, "result": "positive"},
        {"staff": third.pk, "result": ""}])
    assert (result.created, result.skipped, result.flagged, result.problems) == (2, 1, 1, [])
    again = staff_tests_record(facility=facility_a, sampled_on=LAST, actor=site_a, rows=[
        {"staff": staff.pk, "result": "negative"}, {"staff": second.pk, "result": "pending"},
        {"staff": third.pk, "result": "nonsense"}])
    assert again.updated == 1 and [p.field for p in again.problems] == ["result", "result"]
    assert dict(StaffTest.objects.values_list("staff_id", "result")) == {staff.pk: "negative", second.pk: "positive"}
    assert len(audits("staff_test.record")) == 3 and len(audits("staff_test.round")) == 2


# --- leaving duty into the rotation ---------------------------------------------------------------------

def test_leaving_duty_opens_a_rotation_episode_counted_from_the_last_day(staff, site_a, nurse):
    shift_assign(staff=staff, day=LAST, shift="day", actor=site_a)
    shift_assign(staff=staff, day=LAST + timedelta(days=1), shift="day", actor=site_a)
    left = staff_leave_duty(staff=staff, off_duty_on=LAST, actor=site_a, reason="14天闭环期满")
    assert (left.status, left.off_duty_on) == ("off_duty", LAST)
    episode = Episode.objects.get(person=nurse, status="open")
    assert StaffMember.objects.get(pk=staff.pk).rotation_episode == episode
    assert (episode.category, episode.anchor_kind, episode.anchor_date, episode.state) == (
        "staff_rotation", "control_start", LAST, states.AWAITING)
    assert episode.details["facility"] == "site-a" and episode.details["on_duty_from"] == "2022-07-20"
    # The shift after the last day is gone; the last day's stays in the record.
    assert list(DutyShift.objects.values_list("day", flat=True)) == [LAST]
    [row] = audits("staff.leave_duty", staff)
    assert row.reason == "14天闭环期满"
    assert row.after == {"status": "off_duty", "off_duty_on": "2022-08-03", "episode": episode.pk, "shifts_removed": 1}
    assert AuditEvent.objects.filter(action="episode.open", target_id=str(episode.pk)).exists()


def test_the_rotation_protocol_gives_the_release_day_when_placed(staff, site_a, facility_b):
    staff_leave_duty(staff=staff, off_duty_on=LAST, actor=site_a)
    episode = StaffMember.objects.get(pk=staff.pk).rotation_episode
    placed = episode_place(episode=episode, custodian=facility_b.custodian, placed_on=LAST + timedelta(days=1),
                           actor=None)
    assert placed.protocol.code == "cn-staff-rotation"
    # Day 1 = 3 Aug (last day on duty); 7 days centralized to 9 Aug, 7 days home monitoring to 16 Aug.
    assert placed.release_on == date(2022, 8, 17)


def test_leave_duty_refusals(staff, site_a, site_b, nurse):
    with pytest.raises(PermissionDenied):
        staff_leave_duty(staff=staff, off_duty_on=LAST, actor=site_b)
    with pytest.raises(ValidationError) as info:
        staff_leave_duty(staff=staff, off_duty_on=START - timedelta(days=1), actor=site_a)
    assert "before the first (2022-07-20)" in info.value.message_dict["off_duty_on"][0]
    with pytest.raises(ValidationError, match="in the future"):
        staff_leave_duty(staff=staff, off_duty_on=timezone.localdate() + timedelta(days=1), actor=site_a)
    assert not Episode.objects.filter(person=nurse).exists()
    staff_leave_duty(staff=staff, off_duty_on=LAST, actor=site_a)
    with pytest.raises(ValidationError, match="has left duty"):
        staff_leave_duty(staff=staff, off_duty_on=LAST, actor=site_a)
    assert Episode.objects.filter(person=nurse).count() == 1


def test_leave_duty_changes_nothing_when_the_person_is_already_under_control(staff, site_a, nurse):
    """Identified as a close contact while on duty: the rotation cannot open a second episode."""
    episode_open(person=nurse, category="close_contact", anchor_date=LAST, actor=None)
    with pytest.raises(ValidationError, match="already has an open episode"):
        staff_leave_duty(staff=staff, off_duty_on=LAST, actor=site_a)
    staff.refresh_from_db()
    assert (staff.status, staff.rotation_episode) == ("on_duty", None)
    assert not audits("staff.leave_duty")


def test_after_leaving_the_person_can_not_go_on_duty_while_in_rotation(staff, site_a, facility_b, nurse, commander):
    staff_leave_duty(staff=staff, off_duty_on=LAST, actor=site_a)
    with pytest.raises(ValidationError, match="under control now"):
        staff_add(facility=facility_b, person=nurse, task_group="care", on_duty_from=LAST + timedelta(days=1),
                  actor=commander)
