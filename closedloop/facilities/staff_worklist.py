"""What is missing today about a site's staff: the section of the site's work list.

``staff_worklist(facility, day)`` returns plain data in two queries whatever the
number of staff. Who counts: **everyone on duty that day** (first day on duty
on or before it, last day — if they left — on or after it), whether or not they
work a shift that day: staff on closed-loop duty live at the site, so their
health is registered daily and their tests follow the site's interval on rest
days too. The roster says who works when; it does not excuse a check.

- ``checks_missing``: on duty, without the day's health registration;
- ``tests_due``: on duty, whose last sample on or before the day (any result but
  an invalid sample; a sample awaiting its result counts) is
  ``facility.staff_test_every_days`` days old or more, or who was never tested;
- ``unwell``: the day's registration shows a fever (37.3 °C or more) or symptoms;
- ``flagged_tests``: the last result is positive or needs a risk assessment.

The caller checks that the user may see the facility.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import OuterRef, Q, QuerySet, Subquery

from closedloop.facilities.actions.staff import FLAGGED_RESULTS, check_flags
from closedloop.facilities.models import Facility, StaffHealthCheck, StaffMember, StaffTest
from closedloop.quarantine.actions.observations import symptom_labels
from closedloop.quarantine.choices import TestResult


@dataclass
class TestDue:
    staff: StaffMember
    last_sampled_on: dt.date | None  # None: never tested
    days_since: int | None  # days from the last sample to the work list's day


@dataclass
class Unwell:
    staff: StaffMember
    check: StaffHealthCheck
    flags: list[str]  # 'fever', 'symptoms'
    symptoms: list[str]  # labels in the active language


@dataclass
class FlaggedTest:
    staff: StaffMember
    sampled_on: dt.date
    result: str

    @property
    def result_label(self) -> str:
        return str(TestResult(self.result).label) if self.result in TestResult.values else self.result


@dataclass
class StaffWorklist:
    facility: Facility
    day: dt.date
    test_every_days: int
    on_duty: list[StaffMember]
    checks_missing: list[StaffMember]
    tests_due: list[TestDue]
    unwell: list[Unwell]
    flagged_tests: list[FlaggedTest]

    @property
    def missing_count(self) -> int:
        """Everything the site still owes for the day (the figure of the section's card)."""
        return len(self.checks_missing) + len(self.tests_due)

    @property
    def alarm_count(self) -> int:
        return len(self.unwell) + len(self.flagged_tests)


def on_duty_q(day: dt.date, prefix: str = "") -> Q:
    """Staff on duty on ``day``: started on or before it, and not left before it."""
    return Q(**{f"{prefix}on_duty_from__lte": day}) & (
        Q(**{f"{prefix}off_duty_on__isnull": True}) | Q(**{f"{prefix}off_duty_on__gte": day})
    )


def staff_on_duty(facility: Facility, day: dt.date) -> QuerySet[StaffMember]:
    return (StaffMember.objects.filter(on_duty_q(day), facility=facility).select_related("person")
            .order_by("task_group", "person__name_pinyin", "pk"))


def _last_test(day: dt.date, column: str) -> Subquery:
    return Subquery(
        StaffTest.objects.filter(staff=OuterRef("pk"), sampled_on__lte=day).exclude(result=TestResult.INVALID)
        .order_by("-sampled_on").values(column)[:1]
    )


def staff_worklist(facility: Facility, day: dt.date) -> StaffWorklist:
    """The staff section of a site's work list for ``day`` (two queries)."""
    every = facility.staff_test_every_days or 1
    staff = list(staff_on_duty(facility, day).annotate(last_sampled_on=_last_test(day, "sampled_on"),
                                                       last_result=_last_test(day, "result")))
    checks = {c.staff_id: c for c in StaffHealthCheck.objects.filter(staff__in=[s.pk for s in staff], day=day)}
    due_before = day - dt.timedelta(days=every - 1)  # the last sample must be on or after this day
    missing, due, unwell, flagged = [], [], [], []
    for member in staff:
        check = checks.get(member.pk)
        if check is None:
            missing.append(member)
        else:
            flags = check_flags(check.temperature, check.symptoms or [])
            if flags:
                unwell.append(Unwell(staff=member, check=check, flags=flags,
                                     symptoms=symptom_labels(check.symptoms or [])))
        last = member.last_sampled_on
        if last is None or last < due_before:
            due.append(TestDue(staff=member, last_sampled_on=last,
                               days_since=None if last is None else (day - last).days))
        if member.last_result in FLAGGED_RESULTS:
            flagged.append(FlaggedTest(staff=member, sampled_on=last, result=member.last_result))
    return StaffWorklist(facility=facility, day=day, test_every_days=every, on_duty=staff, checks_missing=missing,
                         tests_due=due, unwell=unwell, flagged_tests=flagged)
