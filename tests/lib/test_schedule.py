"""Schedules computed from the shipped protocols, with every date written out by hand from the spec."""

from __future__ import annotations

import ast
import json
from datetime import date, datetime

import pytest

from closedloop.lib import schedule as schedule_module
from closedloop.lib.protocols import load_protocol, shipped
from closedloop.lib.schedule import KEEP, ScheduledCheck, ScheduleError, compute, replan


def D(text: str) -> date:
    return date.fromisoformat(text)


def P(name: str):
    return shipped()[(name, 1)]


def phases_of(schedule):
    return [(p.kind, p.start.isoformat(), p.end.isoformat(), p.days) for p in schedule.phases]


def listed_tests(schedule, which=lambda t: True):
    return [(t.phase_kind, t.day_of_phase, t.date.isoformat()) for t in schedule.tests if which(t)]


# For each shipped protocol: the anchor, then by hand from the spec table —
# phases (kind, first day, last day, days), tests (phase kind, day of phase,
# date), the end of the course and the release day.
EXPECTED = {
    "cn-9-close-contact": (
        "2022-08-03",
        [("centralized", "2022-08-03", "2022-08-09", 7), ("home_monitoring", "2022-08-10", "2022-08-12", 3)],
        [("centralized", 1, "2022-08-03"), ("centralized", 2, "2022-08-04"), ("centralized", 3, "2022-08-05"),
         ("centralized", 5, "2022-08-07"), ("centralized", 7, "2022-08-09"), ("home_monitoring", 3, "2022-08-12")],
        "2022-08-12",
        "2022-08-13",
    ),
    "cn-9-secondary-contact": (
        "2022-08-03",
        [("home_isolation", "2022-08-03", "2022-08-09", 7)],
        [("home_isolation", 1, "2022-08-03"), ("home_isolation", 4, "2022-08-06"), ("home_isolation", 7, "2022-08-09")],
        "2022-08-09",
        "2022-08-10",
    ),
    "cn-9-inbound": (
        "2022-08-03",
        [("centralized", "2022-08-03", "2022-08-09", 7), ("home_monitoring", "2022-08-10", "2022-08-12", 3)],
        [("centralized", 1, "2022-08-03"), ("centralized", 2, "2022-08-04"), ("centralized", 3, "2022-08-05"),
         ("centralized", 5, "2022-08-07"), ("centralized", 7, "2022-08-09"), ("home_monitoring", 3, "2022-08-12")],
        "2022-08-12",
        "2022-08-13",
    ),
    "cn-9-high-risk-area": (
        "2022-08-03",
        [("centralized", "2022-08-03", "2022-08-09", 7)],
        [("centralized", 1, "2022-08-03"), ("centralized", 2, "2022-08-04"), ("centralized", 3, "2022-08-05"),
         ("centralized", 5, "2022-08-07"), ("centralized", 7, "2022-08-09")],
        "2022-08-09",
        "2022-08-10",
    ),
    "cn-9-medium-risk-area": (
        "2022-08-03",
        [("home_isolation", "2022-08-03", "2022-08-09", 7)],
        [("home_isolation", 1, "2022-08-03"), ("home_isolation", 4, "2022-08-06"), ("home_isolation", 7, "2022-08-09")],
        "2022-08-09",
        "2022-08-10",
    ),
    "cn-20m-close-contact": (
        "2022-11-12",
        [("centralized", "2022-11-12", "2022-11-16", 5), ("home_isolation", "2022-11-17", "2022-11-19", 3)],
        [("centralized", 1, "2022-11-12"), ("centralized", 2, "2022-11-13"), ("centralized", 3, "2022-11-14"),
         ("centralized", 5, "2022-11-16"), ("home_isolation", 1, "2022-11-17"), ("home_isolation", 3, "2022-11-19")],
        "2022-11-19",
        "2022-11-20",
    ),
    "cn-20m-inbound": (
        "2022-11-12",
        [("centralized", "2022-11-12", "2022-11-16", 5), ("home_isolation", "2022-11-17", "2022-11-19", 3)],
        [("centralized", 1, "2022-11-12"), ("centralized", 2, "2022-11-13"), ("centralized", 3, "2022-11-14"),
         ("centralized", 5, "2022-11-16"), ("home_isolation", 1, "2022-11-17"), ("home_isolation", 3, "2022-11-19")],
        "2022-11-19",
        "2022-11-20",
    ),
    "cn-20m-high-risk-spillover": (
        "2022-11-12",
        [("home_isolation", "2022-11-12", "2022-11-18", 7)],
        [("home_isolation", 1, "2022-11-12"), ("home_isolation", 3, "2022-11-14"), ("home_isolation", 5, "2022-11-16"),
         ("home_isolation", 7, "2022-11-18")],
        "2022-11-18",
        "2022-11-19",
    ),
    # Last day on duty 3 Aug: centralized 3–9 Aug (tests days 1, 4, 7), home monitoring 10–16 Aug (test day 7).
    "cn-staff-rotation": (
        "2022-08-03",
        [("centralized", "2022-08-03", "2022-08-09", 7), ("home_monitoring", "2022-08-10", "2022-08-16", 7)],
        [("centralized", 1, "2022-08-03"), ("centralized", 4, "2022-08-06"), ("centralized", 7, "2022-08-09"),
         ("home_monitoring", 7, "2022-08-16")],
        "2022-08-16",
        "2022-08-17",
    ),
}


def test_every_shipped_protocol_has_expected_dates():
    assert sorted(EXPECTED) == sorted(name for name, _ in shipped())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dates_of_every_phase_test_and_release(name):
    anchor, phases, tests, ends, release = EXPECTED[name]
    schedule = compute(P(name), anchor=D(anchor))
    assert phases_of(schedule) == phases
    assert listed_tests(schedule) == tests
    assert schedule.ends_at_end_of == D(ends)
    assert schedule.release_on == D(release)
    assert schedule.placed_on == D(anchor)
    assert schedule.tests_due == schedule.tests
    assert schedule.tests_missed_before_control == ()


# Placed on day 4 of the course: (placed on, tests missed before control, tests due).
LATE = {
    "cn-9-close-contact": ("2022-08-06", ["2022-08-03", "2022-08-04", "2022-08-05"],
                           ["2022-08-07", "2022-08-09", "2022-08-12"]),
    "cn-9-secondary-contact": ("2022-08-06", ["2022-08-03"], ["2022-08-06", "2022-08-09"]),
    "cn-9-inbound": ("2022-08-06", ["2022-08-03", "2022-08-04", "2022-08-05"],
                     ["2022-08-07", "2022-08-09", "2022-08-12"]),
    "cn-9-high-risk-area": ("2022-08-06", ["2022-08-03", "2022-08-04", "2022-08-05"], ["2022-08-07", "2022-08-09"]),
    "cn-9-medium-risk-area": ("2022-08-06", ["2022-08-03"], ["2022-08-06", "2022-08-09"]),
    "cn-20m-close-contact": ("2022-11-15", ["2022-11-12", "2022-11-13", "2022-11-14"],
                             ["2022-11-16", "2022-11-17", "2022-11-19"]),
    "cn-20m-inbound": ("2022-11-15", ["2022-11-12", "2022-11-13", "2022-11-14"],
                       ["2022-11-16", "2022-11-17", "2022-11-19"]),
    "cn-20m-high-risk-spillover": ("2022-11-15", ["2022-11-12", "2022-11-14"], ["2022-11-16", "2022-11-18"]),
    "cn-staff-rotation": ("2022-08-06", ["2022-08-03"], ["2022-08-06", "2022-08-09", "2022-08-16"]),
}


@pytest.mark.parametrize("name", sorted(LATE))
def test_late_placement_records_the_tests_missed_before_control(name):
    anchor, phases, tests, ends, release = EXPECTED[name]
    placed, missed, due = LATE[name]
    schedule = compute(P(name), anchor=D(anchor), placed_on=D(placed))
    assert schedule.course_day(D(placed)) == 4
    assert [t.date.isoformat() for t in schedule.tests_missed_before_control] == missed
    assert [t.date.isoformat() for t in schedule.tests_due] == due
    # Nothing is dropped and nothing moves: the same tests, the same phases, the same release.
    assert listed_tests(schedule) == tests
    assert phases_of(schedule) == phases
    assert schedule.release_on == D(release)


def test_spec_example_placed_on_day_4_of_a_close_contact():
    schedule = compute(P("cn-9-close-contact"), anchor=D("2022-08-03"), placed_on=D("2022-08-06"))
    assert [(t.day_of_phase, t.missed_before_control) for t in schedule.phase_tests(0)] == [
        (1, True), (2, True), (3, True), (5, False), (7, False)
    ]
    assert [(t.day_of_phase, t.missed_before_control) for t in schedule.phase_tests(1)] == [(3, False)]


def test_placed_on_a_test_day_takes_that_days_test():
    schedule = compute(P("cn-9-close-contact"), anchor=D("2022-08-03"), placed_on=D("2022-08-05"))
    assert [t.date.isoformat() for t in schedule.tests_missed_before_control] == ["2022-08-03", "2022-08-04"]
    assert schedule.tests_due[0].date == D("2022-08-05")


def test_placed_during_home_monitoring_starts_there():
    schedule = compute(P("cn-9-close-contact"), anchor=D("2022-08-03"), placed_on=D("2022-08-11"))
    assert schedule.phase_on(D("2022-08-11")).kind == "home_monitoring"
    assert len(schedule.tests_missed_before_control) == 5
    assert [t.date.isoformat() for t in schedule.tests_due] == ["2022-08-12"]
    assert schedule.release_on == D("2022-08-13")
    assert schedule.check_count == 4  # 11 and 12 Aug, morning and evening


def test_placed_after_the_course_ended_misses_every_test():
    schedule = compute(P("cn-9-close-contact"), anchor=D("2022-08-03"), placed_on=D("2022-08-20"))
    assert schedule.tests_due == ()
    assert len(schedule.tests_missed_before_control) == 6
    assert schedule.release_on == D("2022-08-13")  # due at once: the caller shows it as overdue
    assert schedule.check_count == 0
    assert list(schedule.checks_between(D("2022-08-01"), D("2022-08-31"))) == []


def test_placed_before_the_anchor_is_refused():
    with pytest.raises(ScheduleError) as info:
        compute(P("cn-9-close-contact"), anchor=D("2022-08-03"), placed_on=D("2022-08-02"))
    assert info.value.reason == (
        "The person was placed under control on 2022-08-02, before the anchor date 2022-08-03; check both dates."
    )
    assert info.value.params == {"placed_on": "2022-08-02", "anchor": "2022-08-03"}


@pytest.mark.parametrize("argument", ["anchor", "placed_on"])
def test_a_datetime_is_refused_the_caller_converts_to_a_local_day(argument):
    values = {"anchor": D("2022-08-03"), argument: datetime(2022, 8, 3, 23, 30)}
    with pytest.raises(TypeError, match=f"{argument} must be a datetime.date"):
        compute(P("cn-9-close-contact"), **values)


# --- month, year and leap-day boundaries -------------------------------------------


def test_year_boundary_cn_9_close_contact():
    schedule = compute(P("cn-9-close-contact"), anchor=D("2022-12-28"))
    assert phases_of(schedule) == [
        ("centralized", "2022-12-28", "2023-01-03", 7), ("home_monitoring", "2023-01-04", "2023-01-06", 3)
    ]
    assert [t.date.isoformat() for t in schedule.tests] == [
        "2022-12-28", "2022-12-29", "2022-12-30", "2023-01-01", "2023-01-03", "2023-01-06"
    ]
    assert (schedule.ends_at_end_of, schedule.release_on) == (D("2023-01-06"), D("2023-01-07"))


def test_year_boundary_cn_20m_close_contact():
    schedule = compute(P("cn-20m-close-contact"), anchor=D("2022-12-28"))
    assert phases_of(schedule) == [
        ("centralized", "2022-12-28", "2023-01-01", 5), ("home_isolation", "2023-01-02", "2023-01-04", 3)
    ]
    assert [t.date.isoformat() for t in schedule.tests] == [
        "2022-12-28", "2022-12-29", "2022-12-30", "2023-01-01", "2023-01-02", "2023-01-04"
    ]
    assert schedule.release_on == D("2023-01-05")


def test_year_boundary_cn_20m_high_risk_spillover():
    schedule = compute(P("cn-20m-high-risk-spillover"), anchor=D("2022-12-28"))
    assert phases_of(schedule) == [("home_isolation", "2022-12-28", "2023-01-03", 7)]
    assert [t.date.isoformat() for t in schedule.tests] == ["2022-12-28", "2022-12-30", "2023-01-01", "2023-01-03"]
    assert schedule.release_on == D("2023-01-04")


def test_month_boundary():
    schedule = compute(P("cn-9-close-contact"), anchor=D("2022-08-28"))
    assert phases_of(schedule) == [
        ("centralized", "2022-08-28", "2022-09-03", 7), ("home_monitoring", "2022-09-04", "2022-09-06", 3)
    ]
    assert [t.date.isoformat() for t in schedule.tests] == [
        "2022-08-28", "2022-08-29", "2022-08-30", "2022-09-01", "2022-09-03", "2022-09-06"
    ]
    assert schedule.release_on == D("2022-09-07")


def test_leap_day():
    schedule = compute(P("cn-9-close-contact"), anchor=D("2024-02-25"))
    assert phases_of(schedule) == [
        ("centralized", "2024-02-25", "2024-03-02", 7), ("home_monitoring", "2024-03-03", "2024-03-05", 3)
    ]
    assert [t.date.isoformat() for t in schedule.tests] == [
        "2024-02-25", "2024-02-26", "2024-02-27", "2024-02-29", "2024-03-02", "2024-03-05"
    ]
    assert schedule.release_on == D("2024-03-06")


# --- days, phases and health checks ------------------------------------------------


@pytest.mark.parametrize(
    ("day", "phase", "day_of", "course_day"),
    [
        ("2022-08-02", None, None, None),
        ("2022-08-03", "centralized", (0, 1), 1),
        ("2022-08-09", "centralized", (0, 7), 7),
        ("2022-08-10", "home_monitoring", (1, 1), 8),
        ("2022-08-12", "home_monitoring", (1, 3), 10),
        ("2022-08-13", None, None, None),
    ],
)
def test_phase_on_and_day_of(day, phase, day_of, course_day):
    schedule = compute(P("cn-9-close-contact"), anchor=D("2022-08-03"))
    found = schedule.phase_on(D(day))
    assert (found.kind if found else None) == phase
    assert schedule.day_of(D(day)) == day_of
    assert schedule.course_day(D(day)) == course_day


def test_tests_on_a_day():
    schedule = compute(P("cn-20m-close-contact"), anchor=D("2022-11-12"))
    assert [(t.phase_kind, t.day_of_phase) for t in schedule.tests_on(D("2022-11-17"))] == [("home_isolation", 1)]
    assert schedule.tests_on(D("2022-11-15")) == ()


def test_health_checks_twice_a_day_from_placement_to_the_end():
    schedule = compute(P("cn-9-close-contact"), anchor=D("2022-08-03"), placed_on=D("2022-08-06"))
    assert schedule.checks_from == D("2022-08-06")
    assert schedule.check_count == 14  # 6..12 Aug
    assert len(list(schedule.checks_between(D("2022-08-01"), D("2022-08-31")))) == 14
    assert schedule.checks_on(D("2022-08-05")) == ()
    assert schedule.checks_on(D("2022-08-10")) == (
        ScheduledCheck(date=D("2022-08-10"), slot="morning", time="08:00", phase_index=1, phase_kind="home_monitoring"),
        ScheduledCheck(date=D("2022-08-10"), slot="evening", time="18:00", phase_index=1, phase_kind="home_monitoring"),
    )
    assert [(c.date.isoformat(), c.slot, c.phase_kind) for c in schedule.checks_between(D("2022-08-09"), D("2022-08-10"))] == [
        ("2022-08-09", "morning", "centralized"),
        ("2022-08-09", "evening", "centralized"),
        ("2022-08-10", "morning", "home_monitoring"),
        ("2022-08-10", "evening", "home_monitoring"),
    ]
    assert schedule.checks_on(D("2022-08-13")) == ()


def test_health_checks_follow_the_protocols_frequency():
    data = P("cn-9-secondary-contact").to_dict()
    data["health_checks"] = {"per_day": 3, "times": ["07:00", "12:00", "19:00"]}
    schedule = compute(load_protocol(data), anchor=D("2022-08-03"))
    assert schedule.check_count == 21
    assert [(c.slot, c.time) for c in schedule.checks_on(D("2022-08-04"))] == [
        ("morning", "07:00"), ("noon", "12:00"), ("evening", "19:00")
    ]


# --- alternatives ------------------------------------------------------------------


def test_medium_risk_area_centralized_when_the_home_is_unsuitable():
    schedule = compute(P("cn-9-medium-risk-area"), anchor=D("2022-08-03"), alternative="home_unsuitable")
    assert schedule.alternative == "home_unsuitable"
    assert phases_of(schedule) == [("centralized", "2022-08-03", "2022-08-09", 7)]
    assert listed_tests(schedule) == [
        ("centralized", 1, "2022-08-03"), ("centralized", 4, "2022-08-06"), ("centralized", 7, "2022-08-09")
    ]
    assert schedule.release_on == D("2022-08-10")


def test_an_alternative_the_protocol_does_not_offer_is_refused():
    with pytest.raises(ScheduleError) as info:
        compute(P("cn-9-close-contact"), anchor=D("2022-08-03"), alternative="home_unsuitable")
    assert info.value.reason == 'Protocol cn-9-close-contact version 1 has no alternative "home_unsuitable".'


# --- a change of protocol mid-course -------------------------------------------------


def test_change_from_cn_9_to_cn_20m_close_contact_on_11_november():
    old = compute(P("cn-9-close-contact"), anchor=D("2022-11-08"))
    # Under the 9th edition: centralized 8..14 Nov, home monitoring 15..17 Nov, release 18 Nov.
    assert phases_of(old) == [
        ("centralized", "2022-11-08", "2022-11-14", 7), ("home_monitoring", "2022-11-15", "2022-11-17", 3)
    ]
    assert old.release_on == D("2022-11-18")

    new = replan(old, P("cn-20m-close-contact"), today=D("2022-11-11"))
    assert phases_of(new) == [
        ("centralized", "2022-11-08", "2022-11-12", 5), ("home_isolation", "2022-11-13", "2022-11-15", 3)
    ]
    assert [(kind, day, when, before) for (kind, day, when), before in zip(
        listed_tests(new), [t.before_change for t in new.tests], strict=True
    )] == [
        ("centralized", 1, "2022-11-08", True),
        ("centralized", 2, "2022-11-09", True),
        ("centralized", 3, "2022-11-10", True),
        ("centralized", 5, "2022-11-12", False),
        ("home_isolation", 1, "2022-11-13", False),
        ("home_isolation", 3, "2022-11-15", False),
    ]
    assert [t.date.isoformat() for t in new.tests_due] == ["2022-11-12", "2022-11-13", "2022-11-15"]
    assert (new.ends_at_end_of, new.release_on) == (D("2022-11-15"), D("2022-11-16"))
    assert new.changed_on == D("2022-11-11")
    assert new.previous_protocol == ("cn-9-close-contact", 1)
    assert new.protocol.key == ("cn-20m-close-contact", 1)
    assert (new.anchor, new.placed_on) == (D("2022-11-08"), D("2022-11-08"))
    assert new.phase_on(D("2022-11-11")).kind == "centralized"
    assert new.day_of(D("2022-11-11")) == (0, 4)


def test_change_with_a_late_placement_keeps_both_marks():
    old = compute(P("cn-9-close-contact"), anchor=D("2022-11-08"), placed_on=D("2022-11-10"))
    new = replan(old, P("cn-20m-close-contact"), today=D("2022-11-11"))
    assert new.placed_on == D("2022-11-10")
    assert [(t.date.isoformat(), t.missed_before_control, t.before_change) for t in new.tests] == [
        ("2022-11-08", True, True),
        ("2022-11-09", True, True),
        ("2022-11-10", False, True),
        ("2022-11-12", False, False),
        ("2022-11-13", False, False),
        ("2022-11-15", False, False),
    ]
    assert new.check_count == 12  # 10..15 Nov


def test_change_late_in_the_course_moves_the_person_home_and_release_to_tomorrow():
    old = compute(P("cn-9-close-contact"), anchor=D("2022-11-04"))
    assert old.phase_on(D("2022-11-11")).kind == "home_monitoring"
    assert old.release_on == D("2022-11-14")
    new = replan(old, P("cn-20m-close-contact"), today=D("2022-11-11"))
    assert phases_of(new) == [
        ("centralized", "2022-11-04", "2022-11-08", 5), ("home_isolation", "2022-11-09", "2022-11-11", 3)
    ]
    assert [t.date.isoformat() for t in new.tests if t.before_change] == [
        "2022-11-04", "2022-11-05", "2022-11-06", "2022-11-08", "2022-11-09"
    ]
    assert [t.date.isoformat() for t in new.tests_due] == ["2022-11-11"]  # today: home isolation day 3
    assert new.release_on == D("2022-11-12")


def test_change_after_the_new_course_would_have_ended_makes_release_due_at_once():
    old = compute(P("cn-9-inbound"), anchor=D("2022-11-01"))
    new = replan(old, P("cn-20m-inbound"), today=D("2022-11-11"))
    assert new.ends_at_end_of == D("2022-11-08")
    assert new.release_on == D("2022-11-09")  # before today: due now
    assert new.tests_due == ()


def test_change_of_high_risk_area_from_centralized_to_home_isolation():
    old = compute(P("cn-9-high-risk-area"), anchor=D("2022-11-08"))
    new = replan(old, P("cn-20m-high-risk-spillover"), today=D("2022-11-11"))
    assert old.phase_on(D("2022-11-11")).kind == "centralized"
    assert new.phase_on(D("2022-11-11")).kind == "home_isolation"
    assert listed_tests(new) == [
        ("home_isolation", 1, "2022-11-08"), ("home_isolation", 3, "2022-11-10"),
        ("home_isolation", 5, "2022-11-12"), ("home_isolation", 7, "2022-11-14"),
    ]
    assert [t.date.isoformat() for t in new.tests_due] == ["2022-11-12", "2022-11-14"]
    assert old.release_on == new.release_on == D("2022-11-15")


def test_change_to_another_category_is_refused():
    old = compute(P("cn-9-close-contact"), anchor=D("2022-11-08"))
    with pytest.raises(ScheduleError) as info:
        replan(old, P("cn-20m-inbound"), today=D("2022-11-11"))
    assert info.value.reason == (
        "Protocol cn-20m-inbound is for the category inbound, not close_contact; "
        "a change of category opens a new episode."
    )


def test_change_to_a_protocol_with_another_anchor_is_refused():
    data = P("cn-9-secondary-contact").to_dict()
    data.update(id="hq-secondary-contact", anchor="control_start")
    old = compute(P("cn-9-secondary-contact"), anchor=D("2022-11-08"))
    with pytest.raises(ScheduleError) as info:
        replan(old, load_protocol(data), today=D("2022-11-11"))
    assert info.value.reason == (
        "Protocol hq-secondary-contact counts from control_start, not last_exposure; "
        "the anchor date would not carry over."
    )


def test_change_keeps_the_alternative_unless_told_otherwise():
    old = compute(P("cn-9-medium-risk-area"), anchor=D("2022-11-08"), alternative="home_unsuitable")
    version2 = P("cn-9-medium-risk-area").to_dict()
    version2["version"] = 2
    version2["phases"][0]["tests"] = [1, 3, 5, 7]
    version2["alternatives"]["home_unsuitable"]["phases"][0]["tests"] = [1, 3, 5, 7]
    new = replan(old, load_protocol(version2), today=D("2022-11-11"))
    assert new.alternative == "home_unsuitable"
    assert [p.kind for p in new.phases] == ["centralized"]
    assert [t.date.isoformat() for t in new.tests_due] == ["2022-11-12", "2022-11-14"]
    assert new.previous_protocol == ("cn-9-medium-risk-area", 1)

    del version2["alternatives"]
    without = load_protocol(version2)
    with pytest.raises(ScheduleError, match='no alternative "home_unsuitable"'):
        replan(old, without, today=D("2022-11-11"), alternative=KEEP)
    assert [p.kind for p in replan(old, without, today=D("2022-11-11"), alternative=None).phases] == [
        "home_isolation"
    ]


# --- plain data ----------------------------------------------------------------------


def test_schedule_to_dict_is_json_ready():
    old = compute(P("cn-9-close-contact"), anchor=D("2022-11-08"))
    data = replan(old, P("cn-20m-close-contact"), today=D("2022-11-11")).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["protocol"] == {"id": "cn-20m-close-contact", "version": 1}
    assert data["previous_protocol"] == {"id": "cn-9-close-contact", "version": 1}
    assert data["phases"][1] == {"index": 1, "kind": "home_isolation", "start": "2022-11-13", "end": "2022-11-15",
                                 "days": 3}
    assert data["tests"][3] == {"phase_index": 0, "phase_kind": "centralized", "day_of_phase": 5,
                                "date": "2022-11-12", "missed_before_control": False, "before_change": False}
    assert data["health_checks"] == {"from": "2022-11-08", "until": "2022-11-15", "per_day": 2,
                                     "times": ["08:00", "18:00"], "slots": ["morning", "evening"]}
    assert (data["ends_at_end_of"], data["release_on"], data["changed_on"]) == ("2022-11-15", "2022-11-16", "2022-11-11")


def test_schedule_module_imports_no_django():
    tree = ast.parse(open(schedule_module.__file__, encoding="utf-8").read())
    imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    imported += [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert imported and not [name for name in imported if name.split(".")[0] == "django"]
