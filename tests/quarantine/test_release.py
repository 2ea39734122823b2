"""Release: the rule applied to an episode, the override, the move home, the certificate.

Episodes run under cn-9-close-contact (7 days centralized, then 3 days home
health monitoring), placed at site A on day 1 (the full course) and handed
over to their home community after the centralized days. Dates are counted
back from today, so "release due today" is real time; samples, results and
health checks are recorded with the observations actions.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from closedloop.core.models import AuditEvent
from closedloop.quarantine import release_rules as rules
from closedloop.quarantine import states
from closedloop.quarantine.actions import (
    ReleaseBlocked,
    custodian_create,
    episode_open,
    episode_place,
    episode_release,
    episode_schedule,
    handover_give,
    handover_receive,
    next_custody,
    release_check,
    replan_apply,
)
from closedloop.quarantine.actions.observations import (
    alert_resolve,
    health_check_record,
    result_record,
    specimen_record,
)
from closedloop.quarantine.models import Alert, CustodyEvent, Episode, Protocol, ReleaseCertificate


def cn9() -> Protocol:
    return Protocol.objects.get(code="cn-9-close-contact", version=1)


def fresh(episode) -> Episode:
    return Episode.objects.get(pk=episode.pk)


def sampled_at(day):
    """09:00 local on ``day``, or a minute ago when that is still to come today."""
    moment = timezone.make_aware(datetime.combine(day, time(9)))
    return min(moment, timezone.now() - timedelta(minutes=1))


def sample(episode, day, result, *, actor, scheduled=True):
    """A nucleic-acid sample on ``day`` and, unless ``result`` is None, its result (a word or a Ct value)."""
    specimen = specimen_record(episode=episode, kind="pcr", sampled_at=sampled_at(day),
                               scheduled_for=day if scheduled else None, actor=actor)
    if result is not None:
        result_record(specimen=specimen, result_or_ct=result, actor=actor)
    return specimen


def make_course(person_factory, site, home, actor, *, release_in: int = 0, home_now: bool = True,
                results: dict | None = None, name: str = "张三"):
    """A cn-9 close contact placed at ``site`` on day 1, release due ``release_in`` days from today.

    ``home_now``: handed over to ``home`` (the centralized days are over, or not — the caller chooses).
    Every scheduled test up to today gets a negative result unless ``results`` says otherwise for its
    test number (0-based): a result word or Ct, or ``"skip"`` for no sample.
    """
    today = timezone.localdate()
    anchor = today - timedelta(days=10 - release_in)
    person = person_factory(name)
    episode = episode_open(person=person, category="close_contact", anchor_date=anchor, actor=None)
    episode = episode_place(episode=episode, custodian=site, placed_on=anchor, protocol=cn9(), actor=actor)
    if home_now:
        handover_give(episode=fresh(episode), to_custodian=home, expected_by=timezone.now() + timedelta(hours=2),
                      actor=actor, signed_by="李医生")
        handover_receive(episode=fresh(episode), actor=actor, signed_by="王社工")
    results = results or {}
    for number, test in enumerate(episode_schedule(fresh(episode)).tests):
        result = results.get(number, "negative")
        if test.date <= today and result != "skip":
            sample(fresh(episode), test.date, result, actor=actor)
    return fresh(episode)


@pytest.fixture
def home_a1(city, community_a1):
    return custodian_create(kind="home_community", name="香溪社区居家监测", code="home-a1", city=city,
                            jurisdiction=community_a1, actor=None)


@pytest.fixture
def course(person_factory, site_a_custodian, home_a1, site_a):
    def make(**kwargs):
        return make_course(person_factory, site_a_custodian, home_a1, site_a, **kwargs)
    return make


def nothing_written(episode):
    episode = fresh(episode)
    assert episode.state == states.IN_CUSTODY and episode.status == "open"
    assert not ReleaseCertificate.objects.filter(episode=episode).exists()
    assert not CustodyEvent.objects.filter(episode=episode, kind="release").exists()
    assert not AuditEvent.objects.filter(action__in=["episode.release", "episode.release_override",
                                                     "certificate.issue"]).exists()


def test_the_schedule_of_a_placed_episode(course):
    episode = course()
    schedule = episode_schedule(episode)
    assert schedule.release_on == timezone.localdate() == episode.release_on
    assert [t.date for t in schedule.tests] == [episode.anchor_date + timedelta(days=d) for d in (0, 1, 2, 4, 6, 9)]


def test_release_is_refused_before_the_last_day_is_served(course, site_a):
    episode = course(release_in=1)  # today is home day 3, the last day; its test is done and negative
    with pytest.raises(ReleaseBlocked) as refused:
        episode_release(episode=episode, actor=site_a)
    assert [b.code for b in refused.value.blockers] == [rules.DAYS_NOT_SERVED]
    today = timezone.localdate()
    assert refused.value.messages == [
        f"Not all days are served: the last day is {today.isoformat()}, "
        f"so release is possible from {(today + timedelta(days=1)).isoformat()}."
    ]
    nothing_written(episode)


def test_release_is_refused_with_a_missing_test_naming_its_day(course, site_a):
    episode = course(results={3: "skip"})  # centralized day 5
    day = episode.anchor_date + timedelta(days=4)
    with pytest.raises(ReleaseBlocked) as refused:
        episode_release(episode=episode, actor=site_a)
    assert [(b.code, b.detail["date"]) for b in refused.value.blockers] == [(rules.TEST_MISSING, day)]
    assert f"centralized isolation day 5 ({day.isoformat()})" in refused.value.messages[0]
    nothing_written(episode)


def test_release_is_refused_with_a_pending_or_assess_result_each_named(course, site_a):
    episode = course(results={1: None, 4: "37.5"})  # day 2 awaiting its result; day 7 Ct 37.5 needs an assessment
    with pytest.raises(ReleaseBlocked) as refused:
        episode_release(episode=episode, actor=site_a)
    anchor = episode.anchor_date
    assert [(b.code, b.detail["date"]) for b in refused.value.blockers] == [
        (rules.TEST_PENDING, anchor + timedelta(days=1)), (rules.TEST_ASSESS, anchor + timedelta(days=6))]
    nothing_written(episode)


def test_a_positive_result_ends_the_course_so_there_is_nothing_to_release(course, site_a, duty_officer):
    episode = course(results={5: "28"})  # home day 3, Ct 28: positive, the case path runs
    assert fresh(episode).state == states.BECAME_CASE
    for actor, reason in ((site_a, ""), (duty_officer, "误判")):
        with pytest.raises(ValidationError) as refused:
            episode_release(episode=episode, actor=actor, override_reason=reason)
        assert "became a case" in refused.value.messages[0]
    assert not ReleaseCertificate.objects.exists()


def test_a_positive_recorded_before_placement_blocks_the_release_naming_its_day(
    person_factory, site_a_custodian, home_a1, site_a
):
    # Sampled when identified, before any site held the person: the case path could not run then.
    anchor = timezone.localdate() - timedelta(days=10)
    episode = episode_open(person=person_factory("李四"), category="close_contact", anchor_date=anchor, actor=None)
    sample(episode, anchor, "positive", actor=site_a, scheduled=False)
    episode = episode_place(episode=fresh(episode), custodian=site_a_custodian, placed_on=anchor, protocol=cn9(),
                            actor=site_a)
    for test in episode_schedule(episode).tests[1:]:
        sample(fresh(episode), test.date, "negative", actor=site_a)
    with pytest.raises(ReleaseBlocked) as refused:
        episode_release(episode=fresh(episode), actor=site_a)
    assert [(b.code, b.detail["date"]) for b in refused.value.blockers] == [(rules.TEST_POSITIVE, anchor)]
    assert f"centralized isolation day 1 ({anchor.isoformat()}) is positive" in refused.value.messages[0]


def test_an_open_fever_alert_blocks_until_resolved(course, site_a):
    episode = course(release_in=1)
    health_check_record(episode=episode, day=timezone.localdate(), slot="morning", temperature="37.9", actor=site_a)
    check = release_check(fresh(episode), timezone.localdate() + timedelta(days=1))
    assert [b.code for b in check.blockers] == [rules.OPEN_ALERT]
    alert_resolve(alert=Alert.objects.get(episode=episode, kind="fever"), resolution="复测36.8℃，无不适",
                  actor=site_a)
    assert release_check(fresh(episode), timezone.localdate() + timedelta(days=1)).blockers == []


def test_release_on_the_release_day_issues_the_certificate(course, site_a, home_a1):
    episode = course()
    certificate = episode_release(episode=episode, actor=site_a)
    released = fresh(episode)
    assert (released.state, released.status, released.custodian_id) == (states.RELEASED, "closed", None)
    assert len(certificate.code) == 12 and set(certificate.code) <= set(rules.CODE_ALPHABET)
    assert certificate.issued_by == site_a and certificate.override_reason == ""
    row = CustodyEvent.objects.get(episode=episode, kind="release")
    assert row.from_custodian == home_a1 and row.actor == site_a
    assert AuditEvent.objects.filter(action="episode.release", target_id=str(episode.pk)).count() == 1
    issued = AuditEvent.objects.get(action="certificate.issue")
    assert issued.target_label == certificate.code and issued.after["episode"] == episode.pk
    assert not AuditEvent.objects.filter(action="episode.release_override").exists()
    with pytest.raises(ValidationError, match="already been released"):
        episode_release(episode=released, actor=site_a)
    assert ReleaseCertificate.objects.count() == 1


def test_override_by_the_duty_officer_with_a_reason_is_audited_as_an_override(course, duty_officer):
    episode = course(results={3: "skip"})
    reason = "第5天采样漏采，经流调组评估风险可控，指挥部同意解除"
    certificate = episode_release(episode=episode, actor=duty_officer, override_reason=f"  {reason} ")
    assert fresh(episode).state == states.RELEASED
    assert certificate.override_reason == reason
    override = AuditEvent.objects.get(action="episode.release_override", target_id=str(episode.pk))
    assert override.reason == reason and override.actor == duty_officer
    assert [w["code"] for w in override.before["waived"]] == [rules.TEST_MISSING]
    assert override.after["certificate"] == certificate.code
    assert CustodyEvent.objects.get(episode=episode, kind="release").reason == reason


def test_override_needs_the_capability_and_a_reason(course, site_a, duty_officer):
    episode = course(results={3: "skip"})
    with pytest.raises(PermissionDenied):
        episode_release(episode=episode, actor=site_a, override_reason="现场判断可以解除")
    with pytest.raises(ValidationError, match="reason"):
        episode_release(episode=episode, actor=duty_officer, override_reason="   ")
    nothing_written(episode)


def test_outsiders_and_roles_without_release_are_refused(course, site_b, analyst):
    episode = course()
    for actor in (site_b, analyst):
        with pytest.raises(PermissionDenied):
            episode_release(episode=episode, actor=actor)
    nothing_written(episode)


def test_only_a_person_in_custody_can_be_released(person_factory, site_a):
    episode = episode_open(person=person_factory(), category="close_contact",
                           anchor_date=timezone.localdate() - timedelta(days=12), actor=None)
    with pytest.raises(ValidationError, match="in custody"):
        episode_release(episode=episode, actor=site_a)


def test_the_end_of_the_centralized_phase_is_a_hand_over_home_not_a_release(course, site_a, duty_officer,
                                                                          home_a1, community_a1):
    episode = course(release_in=3, home_now=False)  # today is home day 1; the site still holds the person
    today = timezone.localdate()
    with pytest.raises(ReleaseBlocked) as refused:
        episode_release(episode=episode, actor=site_a)
    assert [b.code for b in refused.value.blockers] == [rules.TRANSFER_HOME]  # its own days and tests are done
    assert "hand the person over to their home community" in refused.value.messages[0]
    transfer = refused.value.transfer
    assert (transfer.kind, transfer.jurisdiction, transfer.custodian) == ("home_community", community_a1, home_a1)
    assert (transfer.ends, transfer.starts, transfer.phase_kind) == (today - timedelta(days=1), today, "home_monitoring")
    assert transfer.due(today)
    assert next_custody(fresh(episode)) == transfer
    nothing_written(episode)
    # The hand-over it points to, then the last days at home.
    handover_give(episode=fresh(episode), to_custodian=transfer.custodian,
                  expected_by=timezone.now() + timedelta(hours=1), actor=site_a)
    assert next_custody(fresh(episode)) is None  # in transit now
    handover_receive(episode=fresh(episode), actor=site_a)
    assert next_custody(fresh(episode)) is None  # at home
    with pytest.raises(ReleaseBlocked) as refused:
        episode_release(episode=fresh(episode), actor=site_a)
    assert [b.code for b in refused.value.blockers] == [rules.DAYS_NOT_SERVED, rules.TEST_MISSING]


def test_during_the_centralized_days_the_next_custodian_is_known_in_advance(course, site_a):
    episode = course(release_in=5, home_now=False)  # centralized day 6
    transfer = next_custody(episode)
    assert transfer.kind == "home_community" and not transfer.due(timezone.localdate())
    assert transfer.starts == timezone.localdate() + timedelta(days=2)
    check = release_check(episode)
    # The centralized phase's own conditions: its last day and its day-7 test are still to come.
    assert [b.code for b in check.blockers] == [rules.TRANSFER_HOME, rules.DAYS_NOT_SERVED, rules.TEST_MISSING]
    assert "still to come" in str(check.blockers[2])
    assert check.checklist.phase_index == 0  # the checklist shows the centralized phase's conditions
    assert rules.DAYS_NOT_SERVED in [b.code for b in check.waived_by_override]


def test_an_override_during_the_centralized_days_releases_from_the_whole_course(course, duty_officer):
    episode = course(release_in=5, home_now=False)
    episode_release(episode=episode, actor=duty_officer, override_reason="指挥部决定：重新判定为非密接")
    override = AuditEvent.objects.get(action="episode.release_override")
    assert [w["code"] for w in override.before["waived"]][:2] == [rules.TRANSFER_HOME, rules.DAYS_NOT_SERVED]
    assert fresh(episode).state == states.RELEASED


def test_a_home_community_without_a_custodian_is_still_named(person_factory, site_a_custodian, site_a,
                                                             community_a1):
    anchor = timezone.localdate() - timedelta(days=2)
    episode = episode_open(person=person_factory(), category="close_contact", anchor_date=anchor, actor=None)
    episode = episode_place(episode=episode, custodian=site_a_custodian, placed_on=anchor, protocol=cn9(),
                            actor=site_a)
    transfer = next_custody(episode)
    assert transfer.jurisdiction == community_a1 and transfer.custodian is None


def test_a_centralized_only_protocol_releases_from_the_site(person_factory, site_a_custodian, site_a):
    anchor = timezone.localdate() - timedelta(days=7)
    protocol = Protocol.objects.get(code="cn-9-high-risk-area", version=1)
    episode = episode_open(person=person_factory(), category="high_risk_area", anchor_date=anchor, actor=None)
    episode = episode_place(episode=episode, custodian=site_a_custodian, placed_on=anchor, protocol=protocol,
                            actor=site_a)
    assert next_custody(episode) is None
    for test in episode_schedule(episode).tests:
        sample(fresh(episode), test.date, "negative", actor=site_a)
    certificate = episode_release(episode=fresh(episode), actor=site_a)
    assert CustodyEvent.objects.get(episode=episode, kind="release").from_custodian == site_a_custodian
    assert certificate.episode_id == episode.pk


def test_after_a_replan_the_tests_before_the_change_are_not_required(course, duty_officer):
    episode = course(release_in=7, home_now=False)  # cn-9, centralized day 4
    cn20m = Protocol.objects.get(code="cn-20m-close-contact", version=1)
    replan_apply(category="close_contact", protocol=cn20m, today=timezone.localdate(), actor=duty_officer,
                 reason="二十条措施")
    schedule = episode_schedule(fresh(episode))
    assert schedule.protocol.id == "cn-20m-close-contact" and schedule.changed_on == timezone.localdate()
    check = release_check(fresh(episode))
    assert not [b for b in check.course.blockers if b.code == rules.TEST_MISSING and b.detail["date"] < check.today]
