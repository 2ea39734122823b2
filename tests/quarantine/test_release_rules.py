"""The release rule as plain data: every kind of blocker, without a database."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from closedloop.lib.protocols import ReleaseRule, shipped
from closedloop.lib.schedule import compute, replan
from closedloop.quarantine import release_rules as rules
from closedloop.quarantine.release_rules import AlertFact, SpecimenFact, release_blockers

ANCHOR = date(2022, 8, 3)
# cn-9-close-contact from 3 Aug: centralized 3–9 Aug (tests 3, 4, 5, 7, 9), home 10–12 Aug (test 12), release 13 Aug.
TEST_DAYS = [date(2022, 8, d) for d in (3, 4, 5, 7, 9, 12)]
RELEASE_DAY = date(2022, 8, 13)


def protocol(code="cn-9-close-contact"):
    return shipped()[(code, 1)]


def schedule(placed_on=ANCHOR, code="cn-9-close-contact"):
    return compute(protocol(code), anchor=ANCHOR, placed_on=placed_on)


def negatives(days=TEST_DAYS, **changed):
    """A negative PCR sample for each day, except those given as {iso day: result or None (no sample)}."""
    out = []
    for day in days:
        result = changed.get(day.isoformat(), "negative")
        if result is not None:
            out.append(SpecimenFact(result=result, scheduled_for=day, sampled_on=day))
    return out


def codes(blockers):
    return [b.code for b in blockers]


def test_a_complete_course_has_no_blocker_on_the_release_day():
    assert release_blockers(schedule(), negatives(), [], RELEASE_DAY) == []
    assert release_blockers(schedule(), negatives(), [], date(2022, 8, 20)) == []  # kept too long: still releasable


def test_days_not_served_until_the_day_after_the_last_day():
    blockers = release_blockers(schedule(), negatives(), [], date(2022, 8, 12))
    assert codes(blockers) == [rules.DAYS_NOT_SERVED]
    assert blockers[0].detail == {"ends": date(2022, 8, 12), "release_on": RELEASE_DAY}
    assert str(blockers[0]) == ("Not all days are served: the last day is 2022-08-12, "
                                "so release is possible from 2022-08-13.")


@pytest.mark.parametrize(("result", "code"), [
    (None, rules.TEST_MISSING),
    ("pending", rules.TEST_PENDING),
    ("invalid", rules.TEST_INVALID),
    ("assess", rules.TEST_ASSESS),
    ("positive", rules.TEST_POSITIVE),
])
def test_each_kind_of_bad_test_is_its_own_blocker_naming_the_day(result, code):
    blockers = release_blockers(schedule(), negatives(**{"2022-08-07": result}), [], RELEASE_DAY)
    assert codes(blockers) == [code]
    assert blockers[0].detail["date"] == date(2022, 8, 7)
    assert blockers[0].detail["day"] == 5 and blockers[0].detail["phase"] == "centralized"
    assert "centralized isolation day 5 (2022-08-07)" in str(blockers[0])


def test_the_messages_of_the_test_blockers_differ():
    texts = {
        result: str(release_blockers(schedule(), negatives(**{"2022-08-07": result}), [], RELEASE_DAY)[0])
        for result in (None, "pending", "invalid", "assess", "positive")
    }
    assert len(set(texts.values())) == 5
    assert "positive" in texts["positive"] and "risk assessment" in texts["assess"]


def test_a_positive_sticks_but_a_retest_replaces_an_invalid_or_assess_sample():
    day = date(2022, 8, 7)
    base = negatives(**{"2022-08-07": None})
    for first, second, expected in [
        ("positive", "negative", [rules.TEST_POSITIVE]),
        ("negative", "positive", [rules.TEST_POSITIVE]),
        ("invalid", "negative", []),
        ("assess", "negative", []),
        ("negative", "pending", [rules.TEST_PENDING]),  # a retest under way: wait for it
    ]:
        samples = [*base, SpecimenFact(first, scheduled_for=day), SpecimenFact(second, scheduled_for=day)]
        assert codes(release_blockers(schedule(), samples, [], RELEASE_DAY)) == expected, (first, second)


def test_a_test_still_to_come_is_missing_with_its_own_message():
    blockers = release_blockers(schedule(), negatives(TEST_DAYS[:5]), [], date(2022, 8, 10))
    assert codes(blockers) == [rules.DAYS_NOT_SERVED, rules.TEST_MISSING]
    assert str(blockers[1]) == "The test of home health monitoring day 3 (2022-08-12) is still to come."


def test_late_placement_tests_missed_before_control_block_until_waived_or_recorded():
    late = schedule(placed_on=date(2022, 8, 6))
    samples = negatives(TEST_DAYS[3:])  # 7, 9, 12 Aug taken under control
    blockers = release_blockers(late, samples, [], RELEASE_DAY)
    assert codes(blockers) == [rules.TEST_MISSED_BEFORE_CONTROL] * 3
    assert [b.detail["date"] for b in blockers] == TEST_DAYS[:3]
    assert "missed before control" in str(blockers[0]) and "override" in str(blockers[0])
    # A result brought in for a missed day (a test taken elsewhere) satisfies it.
    recorded = [SpecimenFact("negative", scheduled_for=date(2022, 8, 3)), *samples]
    assert len(release_blockers(late, recorded, [], RELEASE_DAY)) == 2


def test_tests_before_a_change_of_protocol_are_not_required():
    # cn-9 close contact exposed 8 Nov, moved to the 20 measures on 11 Nov: release on 16 Nov.
    old = compute(protocol(), anchor=date(2022, 11, 8))
    new = replan(old, protocol("cn-20m-close-contact"), today=date(2022, 11, 11))
    due = [t.date for t in new.tests if t.due]
    samples = [SpecimenFact("negative", scheduled_for=d) for d in due]
    assert release_blockers(new, samples, [], date(2022, 11, 16)) == []
    rows = rules.checklist(new, samples, [], date(2022, 11, 16)).tests
    assert [r.status for r in rows if r.test.before_change] == [rules.NOT_REQUIRED] * 3


def test_a_sample_without_a_scheduled_day_answers_the_test_of_the_day_it_was_taken():
    samples = negatives(**{"2022-08-07": None}) + [SpecimenFact("negative", sampled_on=date(2022, 8, 7))]
    assert release_blockers(schedule(), samples, [], RELEASE_DAY) == []


def test_antigen_results_do_not_stand_for_a_pcr_test_and_a_positive_one_blocks():
    antigen_negative = SpecimenFact("negative", scheduled_for=date(2022, 8, 7), kind="antigen")
    samples = [*negatives(**{"2022-08-07": None}), antigen_negative]
    assert codes(release_blockers(schedule(), samples, [], RELEASE_DAY)) == [rules.TEST_MISSING]
    antigen_positive = SpecimenFact("positive", sampled_on=date(2022, 8, 11), kind="antigen")
    blockers = release_blockers(schedule(), [*negatives(), antigen_positive], [], RELEASE_DAY)
    assert codes(blockers) == [rules.EXTRA_TEST_POSITIVE]
    assert str(blockers[0]) == "A test taken on 2022-08-11 is positive."


def test_extra_tests_block_when_positive_or_assess_and_not_when_negative():
    for result, expected in [("positive", [rules.EXTRA_TEST_POSITIVE]), ("assess", [rules.EXTRA_TEST_ASSESS]),
                             ("negative", []), ("pending", [])]:
        extra = {"result": result, "sampled_on": date(2022, 8, 8)}  # a dict works as well as an object
        assert codes(release_blockers(schedule(), [*negatives(), extra], [], RELEASE_DAY)) == expected
    undated = SpecimenFact("positive", kind="antigen")
    assert str(release_blockers(schedule(), [*negatives(), undated], [], RELEASE_DAY)[0]) == "An extra test is positive."


def test_open_fever_and_symptom_alerts_block_other_alerts_do_not():
    alerts = ["fever", AlertFact("symptom"), {"kind": "lost_in_transit"}, AlertFact("overdue_release")]
    blockers = release_blockers(schedule(), negatives(), alerts, RELEASE_DAY)
    assert codes(blockers) == [rules.OPEN_ALERT, rules.OPEN_ALERT]
    assert [b.detail["alert"] for b in blockers] == ["fever", "symptom"]
    assert str(blockers[0]) == "An alert is still open: fever. Resolve it first."


def test_every_blocker_is_listed_together():
    samples = negatives(TEST_DAYS[:5], **{"2022-08-04": None, "2022-08-05": "pending", "2022-08-09": "positive"})
    blockers = release_blockers(schedule(), samples, ["fever"], date(2022, 8, 11))
    assert codes(blockers) == [rules.DAYS_NOT_SERVED, rules.TEST_MISSING, rules.TEST_PENDING, rules.TEST_POSITIVE,
                               rules.TEST_MISSING, rules.OPEN_ALERT]


def test_one_phase_alone():
    # The centralized phase of cn-9: its own days (to 9 Aug) and its own tests; the home test does not count.
    samples = negatives(TEST_DAYS[:5])
    assert release_blockers(schedule(), samples, [], date(2022, 8, 10), phase_index=0) == []
    blockers = release_blockers(schedule(), samples, [], date(2022, 8, 9), phase_index=0)
    assert codes(blockers) == [rules.DAYS_NOT_SERVED]
    assert str(blockers[0]) == "Not all days of centralized isolation are served: its last day is 2022-08-09."
    assert codes(release_blockers(schedule(), samples, [], date(2022, 8, 10), phase_index=1)) == [
        rules.DAYS_NOT_SERVED, rules.TEST_MISSING]


def test_the_protocol_release_flags_are_honoured_but_a_positive_always_blocks():
    lenient = dataclasses.replace(protocol(), release=ReleaseRule(False, False, False))
    course = compute(lenient, anchor=ANCHOR)
    samples = negatives(**{"2022-08-04": None, "2022-08-05": "pending"})
    assert release_blockers(course, samples, ["fever"], date(2022, 8, 5)) == []
    positive = negatives(**{"2022-08-05": "positive"})
    assert codes(release_blockers(course, positive, [], date(2022, 8, 5))) == [rules.TEST_POSITIVE]


def test_the_checklist_says_what_is_met():
    samples = negatives(**{"2022-08-07": "assess"})
    check = rules.checklist(schedule(), samples, ["fever"], RELEASE_DAY)
    assert check.days_served and not check.tests_met and not check.alerts_met and not check.releasable
    assert [r.status for r in check.tests] == ["negative"] * 3 + ["assess", "negative", "negative"]
    assert check.release_on == RELEASE_DAY


def test_blocker_text_in_another_language_and_as_json():
    blocker = release_blockers(schedule(), negatives(**{"2022-08-07": "positive"}), [], RELEASE_DAY)[0]
    catalogue = {
        "The test of %(phase)s day %(day)s (%(date)s) is positive.": "%(phase)s第%(day)s天（%(date)s）的检测结果为阳性。",
        "centralized isolation": "集中隔离",
    }
    text = blocker.text(lambda s: catalogue.get(s, s), lambda d: f"{d.year}年{d.month}月{d.day}日")
    assert text == "集中隔离第5天（2022年8月7日）的检测结果为阳性。"
    assert blocker.as_dict() == {
        "code": "test_positive",
        "message": "The test of centralized isolation day 5 (2022-08-07) is positive.",
        "detail": {"phase": "centralized", "day": 5, "date": "2022-08-07"},
    }


def test_centralized_then_home_is_a_transfer_while_held_centrally():
    course = schedule()
    assert rules.home_transfer_phase(course, date(2022, 8, 5), held_centrally=True) == 0
    assert rules.home_transfer_phase(course, date(2022, 8, 10), held_centrally=True) == 0  # still at the site
    assert rules.home_transfer_phase(course, date(2022, 8, 10), held_centrally=False) is None  # at home
    assert rules.home_transfer_phase(course, RELEASE_DAY, held_centrally=True) is None  # the course is over
    only_centralized = compute(protocol("cn-9-high-risk-area"), anchor=ANCHOR)
    assert rules.home_transfer_phase(only_centralized, date(2022, 8, 5), held_centrally=True) is None
    blocker = rules.transfer_blocker(course, 0)
    assert blocker.code == rules.TRANSFER_HOME
    assert blocker.detail == {"ends": date(2022, 8, 9), "phase": "home_monitoring", "starts": date(2022, 8, 10)}
    assert "home health monitoring follows from 2022-08-10" in str(blocker)


def test_certificate_codes_names_and_their_forms():
    code = rules.new_certificate_code()
    assert len(code) == 12 and set(code) <= set(rules.CODE_ALPHABET)
    assert not set("01IOL") & set(rules.CODE_ALPHABET)
    assert len({rules.new_certificate_code() for _ in range(200)}) == 200
    assert rules.format_code("ABCDEFGHJKMN") == "ABCD-EFGH-JKMN"
    assert rules.normalize_code(" abcd-efgh jkmn ") == "ABCDEFGHJKMN"
    assert [rules.mask_name(n) for n in ("张三", "欧阳娜娜", "李", "", "Smith")] == ["张*", "欧***", "李*", "", "S****"]
