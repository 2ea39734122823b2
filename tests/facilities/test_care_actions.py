"""Care requests: recorded for a held person, due by urgency, closed once with what was done, audited."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from closedloop.core.models import AuditEvent
from closedloop.facilities.actions import CareConflict, care_request_close, care_request_create
from closedloop.facilities.actions import care as care_module
from closedloop.facilities.models import CareRequest
from closedloop.quarantine.actions import episode_close, handover_give, handover_receive
from tests.facilities.care_support import build_world, fresh, task_group_member


@pytest.fixture
def world(open_episode, facility_a, facility_b, community_a1, community_b1, city):
    return build_world(open_episode, facility_a, facility_b, community_a1, community_b1, city)


def create(world_episode, actor, *, kind="medicine", detail="降压药 氨氯地平 5mg 每日一次", urgent=False):
    return care_request_create(episode=world_episode, kind=kind, detail=detail, urgent=urgent, actor=actor)


# --- recording ------------------------------------------------------------------------------------

@override_settings(CARE_ANSWER_HOURS=24, CARE_URGENT_HOURS=2)
def test_a_request_at_a_site_names_the_site_and_is_due_by_its_urgency(world, site_a, facility_a):
    before = timezone.now()
    usual = create(world.zhang, site_a)
    urgent = create(world.zhang, site_a, kind="medical_care", detail="胸闷", urgent=True)
    after = timezone.now()

    assert usual.facility == facility_a and usual.custodian == facility_a.custodian
    assert usual.status == "open" and usual.created_by == site_a
    assert before <= usual.created_at <= after
    assert usual.due_at - usual.created_at == timedelta(hours=24)
    assert urgent.due_at - urgent.created_at == timedelta(hours=2)
    assert urgent.urgent and not usual.urgent
    row = AuditEvent.objects.get(action="care.create", target_id=str(usual.pk))
    assert row.actor == site_a and row.target_type == "carerequest"
    assert row.after["episode"] == world.zhang.pk and row.after["facility"] == facility_a.pk
    assert row.after["kind"] == "medicine" and row.after["urgent"] is False


@override_settings(CARE_ANSWER_HOURS=12)
def test_the_deadline_follows_the_setting(world, site_a):
    care = create(world.zhang, site_a)
    assert care.due_at - care.created_at == timedelta(hours=12)


def test_home_custody_has_no_facility_the_community_answers(world, community_worker):
    care = create(world.li, community_worker, kind="dependent", detail="家中有卧床老人无人照料")
    assert care.facility is None
    assert care.custodian == world.home_a1
    assert care.detail == "家中有卧床老人无人照料"


def test_a_person_in_transit_is_answered_for_by_the_giver(world, site_a, facility_a, facility_b):
    handover_give(episode=world.wang, to_custodian=facility_b.custodian,
                  expected_by=timezone.now() + timedelta(hours=1), actor=None)
    care = create(fresh(world.wang), site_a, kind="special_food", detail="清真饮食")
    assert care.custodian == facility_a.custodian and care.facility == facility_a


def test_nobody_answers_for_a_person_awaiting_placement(world, site_a):
    with pytest.raises(ValidationError, match="in custody or on the way"):
        create(world.sun, site_a)
    assert not CareRequest.objects.exists()


def test_a_closed_episode_is_refused(world, site_a, commander):
    episode_close(episode=world.zhang, reason="listed in error", actor=commander)
    with pytest.raises(ValidationError, match="Closed"):
        create(fresh(world.zhang), site_a)
    assert not CareRequest.objects.exists()
    assert not AuditEvent.objects.filter(action="care.create").exists()


def test_bad_input_is_refused_field_by_field_and_nothing_is_written(world, site_a):
    with pytest.raises(ValidationError) as caught:
        create(world.zhang, site_a, kind="massage", detail="   ")
    assert set(caught.value.message_dict) == {"kind", "detail"}
    with pytest.raises(ValidationError) as caught:
        create(world.zhang, site_a, detail="x" * (care_module.DETAIL_MAX + 1))
    assert set(caught.value.message_dict) == {"detail"}
    assert not CareRequest.objects.exists()


def test_a_role_without_the_care_capability_is_refused(world, analyst):
    with pytest.raises(PermissionDenied, match="may not record or answer care requests"):
        create(world.zhang, analyst)
    assert not CareRequest.objects.exists()


def test_the_outsider_is_refused(world, site_b):
    with pytest.raises(PermissionDenied, match="outside your jurisdiction"):
        create(world.zhang, site_b)
    assert not CareRequest.objects.exists()


def test_reach_is_the_person_or_the_custodian(world, site_a, site_b, community_worker):
    # 王五 lives in town B and is held at site A: both towns reach him; community A1 does not.
    assert create(world.wang, site_a).custodian_id == world.wang.custodian_id
    assert create(world.wang, site_b).custodian_id == world.wang.custodian_id
    with pytest.raises(PermissionDenied):
        create(world.wang, community_worker)
    # 张三 lives in community A1 and is held at site A: the community reaches its resident.
    assert create(world.zhang, community_worker).facility_id == world.zhang.custodian.facility.pk


# --- closing -----------------------------------------------------------------------------------------

def test_close_records_what_was_done_who_and_when_and_audits(world, site_a):
    care = create(world.zhang, site_a)
    closed = care_request_close(request=care, outcome="  已送药到房间  ", actor=site_a)
    stored = CareRequest.objects.get(pk=care.pk)
    assert (stored.status, stored.outcome, stored.closed_by) == ("closed", "已送药到房间", site_a)
    assert stored.closed_at is not None and closed.closed_at == stored.closed_at
    row = AuditEvent.objects.get(action="care.close", target_id=str(care.pk))
    assert row.before == {"status": "open"} and row.after["status"] == "closed"
    assert row.after["late"] is False and row.reason == "已送药到房间"


def test_an_outcome_is_required(world, site_a):
    care = create(world.zhang, site_a)
    with pytest.raises(ValidationError) as caught:
        care_request_close(request=care, outcome=" \n ", actor=site_a)
    assert set(caught.value.message_dict) == {"outcome"}
    assert CareRequest.objects.get(pk=care.pk).status == "open"
    assert not AuditEvent.objects.filter(action="care.close").exists()


def test_a_closed_request_is_not_closed_again(world, site_a, community_worker):
    care = create(world.zhang, site_a)
    care_request_close(request=care, outcome="已送药", actor=site_a)
    with pytest.raises(CareConflict, match="closed already, by Site_A"):
        care_request_close(request=care, outcome="我也送了", actor=community_worker)  # a stale page
    stored = CareRequest.objects.get(pk=care.pk)
    assert (stored.outcome, stored.closed_by) == ("已送药", site_a)
    assert AuditEvent.objects.filter(action="care.close").count() == 1


def test_the_compare_and_swap_refuses_a_desk_that_lost_the_race(world, site_a, community_worker, monkeypatch):
    """The other desk closes between this desk's read and its write: the write finds no open row."""
    care = create(world.zhang, site_a)
    real_now = timezone.now

    def other_desk_closes_first():
        CareRequest.objects.filter(pk=care.pk).update(status="closed", closed_at=real_now(), outcome="另一台",
                                                      closed_by=community_worker)
        return real_now()

    monkeypatch.setattr(care_module.timezone, "now", other_desk_closes_first)
    with pytest.raises(CareConflict, match="at the same moment"):
        care_request_close(request=care, outcome="已送药", actor=site_a)
    monkeypatch.undo()
    # The refusal rolled back the whole transaction (here the stand-in for the other desk too): ours wrote nothing.
    assert CareRequest.objects.get(pk=care.pk).outcome != "已送药"
    assert not AuditEvent.objects.filter(action="care.close").exists()


@pytest.mark.django_db(transaction=True)
def test_two_desks_closing_at_once_cannot_both_win(open_episode, facility_a, facility_b, community_a1,
                                                   community_b1, city, site_a, community_worker, commander):
    world = build_world(open_episode, facility_a, facility_b, community_a1, community_b1, city)
    care = create(world.zhang, site_a)
    desks = [site_a, community_worker, commander]
    barrier = threading.Barrier(len(desks))
    outcomes: list = [None] * len(desks)

    def desk(i):
        try:
            barrier.wait(timeout=10)
            care_request_close(request=care, outcome=f"desk {i}", actor=desks[i])
            outcomes[i] = "won"
        except CareConflict as exc:
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=desk, args=(i,)) for i in range(len(desks))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert outcomes.count("won") == 1, outcomes
    assert all(isinstance(o, CareConflict) for o in outcomes if o != "won"), outcomes
    stored = CareRequest.objects.get(pk=care.pk)
    assert stored.outcome == f"desk {outcomes.index('won')}"
    assert AuditEvent.objects.filter(action="care.close").count() == 1


def test_the_care_task_group_closes_in_its_jurisdiction(world, site_a, town_a, town_b):
    care = create(world.zhang, site_a)
    with pytest.raises(PermissionDenied):
        care_request_close(request=care, outcome="已处理", actor=task_group_member("care_b", town_b))
    assert CareRequest.objects.get(pk=care.pk).status == "open"
    care_request_close(request=care, outcome="已处理", actor=task_group_member("care_a", town_a))
    assert CareRequest.objects.get(pk=care.pk).closed_by.username == "care_a"


def test_the_outsider_and_a_role_without_care_cannot_close(world, site_a, site_b, analyst):
    care = create(world.zhang, site_a)
    for actor in (site_b, analyst):
        with pytest.raises(PermissionDenied):
            care_request_close(request=care, outcome="x", actor=actor)
    assert CareRequest.objects.get(pk=care.pk).status == "open"


def test_the_recording_site_still_answers_after_the_person_moved_on(world, site_a, site_b, facility_b):
    """王五 (a town-B resident) leaves site A for site B: site A still reaches the request it took."""
    care = create(world.wang, site_a)
    handover_give(episode=world.wang, to_custodian=facility_b.custodian,
                  expected_by=timezone.now() + timedelta(hours=1), actor=None)
    handover_receive(episode=fresh(world.wang), actor=None)
    care_request_close(request=care, outcome="随人移交北苑隔离点", actor=site_a)
    assert CareRequest.objects.get(pk=care.pk).status == "closed"


def test_closing_late_is_marked_in_the_audit(world, site_a):
    care = create(world.zhang, site_a)
    CareRequest.objects.filter(pk=care.pk).update(due_at=timezone.now() - timedelta(minutes=5))
    care_request_close(request=care, outcome="已处理", actor=site_a)
    assert AuditEvent.objects.get(action="care.close").after["late"] is True
