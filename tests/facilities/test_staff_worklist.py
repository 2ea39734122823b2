"""What is missing about a site's staff on a day: checks, tests due, the unwell, flagged results."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory

from closedloop.facilities.actions import (
    facility_update,
    staff_add,
    staff_health_record,
    staff_leave_duty,
    staff_test_record,
)
from closedloop.facilities.staff_worklist import staff_worklist

DAY = date(2022, 8, 3)
START = date(2022, 7, 20)


@pytest.fixture
def crew(facility_a, person_factory, site_a):
    """Four staff on duty at site A since 20 Jul, one who starts after the day, one who left before it."""
    def add(name, group, start=START):
        return staff_add(facility=facility_a, person=person_factory(name), task_group=group, on_duty_from=start,
                         actor=site_a)

    staff = {
        "nurse": add("王护士", "health_observation"),
        "cleaner": add("赵消杀", "disinfection"),
        "guard": add("李保安", "security"),
        "driver": add("周司机", "transfer"),
        "later": add("钱后勤", "logistics", DAY + timedelta(days=1)),
        "gone": add("吴医生", "care"),
    }
    staff_leave_duty(staff=staff["gone"], off_duty_on=DAY - timedelta(days=1), actor=site_a)
    return staff


def names(rows) -> list[str]:
    return sorted(getattr(r, "staff", r).person.name for r in rows)


def test_who_is_on_duty_that_day(crew, facility_a):
    wl = staff_worklist(facility_a, DAY)
    assert names(wl.on_duty) == sorted(["王护士", "赵消杀", "李保安", "周司机"])
    # The one who left is counted on the days they worked.
    assert "吴医生" in names(staff_worklist(facility_a, DAY - timedelta(days=1)).on_duty)


def test_missing_checks_and_the_unwell(crew, facility_a, site_a):
    staff_health_record(staff=crew["nurse"], day=DAY, temperature="36.5", actor=site_a)
    staff_health_record(staff=crew["cleaner"], day=DAY, temperature="37.3", actor=site_a)
    staff_health_record(staff=crew["guard"], day=DAY, temperature="36.8", symptoms=["cough", "fatigue"], actor=site_a)
    staff_health_record(staff=crew["driver"], day=DAY - timedelta(days=1), temperature="38.5", actor=site_a)
    wl = staff_worklist(facility_a, DAY)
    assert names(wl.checks_missing) == ["周司机"]  # yesterday's check does not count today
    unwell = {u.staff.person.name: (u.flags, u.symptoms) for u in wl.unwell}
    assert unwell == {"赵消杀": (["fever"], []), "李保安": (["symptoms"], ["Cough", "Fatigue"])}


def test_tests_due_every_day(crew, facility_a, site_a):
    staff_test_record(staff=crew["nurse"], sampled_on=DAY, actor=site_a)  # sampled, result awaited: done
    staff_test_record(staff=crew["cleaner"], sampled_on=DAY - timedelta(days=1), result="negative", actor=site_a)
    staff_test_record(staff=crew["guard"], sampled_on=DAY, result="invalid", actor=site_a)  # must be taken again
    wl = staff_worklist(facility_a, DAY)
    due = {t.staff.person.name: (t.last_sampled_on, t.days_since) for t in wl.tests_due}
    assert due == {"赵消杀": (DAY - timedelta(days=1), 1), "李保安": (None, None), "周司机": (None, None)}


def test_tests_due_by_the_sites_interval(crew, facility_a, site_a):
    facility_update(facility=facility_a, staff_test_every_days=3, actor=None)
    staff_test_record(staff=crew["nurse"], sampled_on=DAY - timedelta(days=2), result="negative", actor=site_a)
    staff_test_record(staff=crew["cleaner"], sampled_on=DAY - timedelta(days=3), result="negative", actor=site_a)
    staff_test_record(staff=crew["guard"], sampled_on=DAY + timedelta(days=1), result="negative", actor=site_a)
    facility_a.refresh_from_db()
    wl = staff_worklist(facility_a, DAY)
    assert wl.test_every_days == 3
    # 2 days ago: not yet due; 3 days ago: due; a later sample does not count for this day.
    assert names(wl.tests_due) == sorted(["赵消杀", "李保安", "周司机"])


def test_positive_and_doubtful_last_results_are_flagged(crew, facility_a, site_a):
    staff_test_record(staff=crew["nurse"], sampled_on=DAY - timedelta(days=1), result="positive", actor=site_a)
    staff_test_record(staff=crew["cleaner"], sampled_on=DAY - timedelta(days=2), result="positive", actor=site_a)
    staff_test_record(staff=crew["cleaner"], sampled_on=DAY - timedelta(days=1), result="negative", actor=site_a)
    staff_test_record(staff=crew["guard"], sampled_on=DAY, result="36", actor=site_a)
    wl = staff_worklist(facility_a, DAY)
    assert {(f.staff.person.name, f.result, f.sampled_on) for f in wl.flagged_tests} == {
        ("王护士", "positive", DAY - timedelta(days=1)), ("李保安", "assess", DAY)}
    assert wl.alarm_count == 2


def test_the_work_list_costs_two_queries_whatever_the_staff(crew, facility_a, person_factory, site_a,
                                                            django_assert_num_queries):
    with django_assert_num_queries(2):
        small = staff_worklist(facility_a, DAY)
    for i in range(20):
        member = staff_add(facility=facility_a, person=person_factory(f"员工{i}"), task_group="logistics",
                           on_duty_from=START, actor=site_a)
        staff_health_record(staff=member, day=DAY, temperature="36.5", actor=site_a)
        staff_test_record(staff=member, sampled_on=DAY, actor=site_a)
    with django_assert_num_queries(2):
        big = staff_worklist(facility_a, DAY)
    assert len(big.on_duty) == len(small.on_duty) + 20


def test_the_section_fragment_renders_the_lists(crew, facility_a, site_a):
    staff_health_record(staff=crew["cleaner"], day=DAY, temperature="38.2", symptoms=["cough"], actor=site_a)
    request = RequestFactory().get("/")
    request.user = site_a
    html = render_to_string("facilities/staff_worklist_section.html",
                            {"staff_wl": staff_worklist(facility_a, DAY), "caps": {"manage_staff": True}},
                            request=request)
    assert 'id="staff-checks-missing"' in html and "王护士" in html
    assert "fever 38.2 °C" in html and "Cough" in html
    assert "never tested" in html
    assert f"/sites/staff/{facility_a.pk}/checks/?day=2022-08-03" in html


def test_the_sheets_for_the_work_list_export(crew, facility_a, site_a):
    from closedloop.facilities.staff_views import staff_worklist_sheets

    staff_health_record(staff=crew["cleaner"], day=DAY, temperature="38.2", symptoms=["cough"], actor=site_a)
    staff_test_record(staff=crew["guard"], sampled_on=DAY, result="positive", actor=site_a)
    sheets = {title: rows for title, _columns, rows in staff_worklist_sheets(staff_worklist(facility_a, DAY))}
    assert sorted(r[0] for r in sheets["Health registration missing"]) == sorted(["王护士", "李保安", "周司机"])
    assert sheets["Staff with fever or symptoms"] == [
        ["赵消杀", crew["cleaner"].person.doc_number_masked, "Disinfection", "", 38.2, "Cough"]]
    assert sheets["Staff positive or doubtful"][0][-2:] == [DAY, "Positive"]
    assert len(sheets["Staff tests due"]) == 3
