"""Custody: placing, handing over, receiving, refusing; the ledger and its projection."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from closedloop.core.models import AuditEvent
from closedloop.quarantine import states
from closedloop.quarantine.actions import (
    episode_close,
    episode_place,
    handover_give,
    handover_receive,
    handover_refuse,
    protocol_for,
)
from closedloop.quarantine.models import CustodyEvent, Episode, Protocol


def soon(minutes=30):
    return timezone.now() + timedelta(minutes=minutes)


def test_shipped_protocols_are_loaded_and_the_one_in_force_is_chosen(db):
    assert Protocol.objects.count() >= 8
    assert protocol_for("close_contact", date(2022, 8, 3)).code == "cn-9-close-contact"
    assert protocol_for("close_contact", date(2022, 11, 20)).code == "cn-20m-close-contact"


def test_place_uses_the_protocol_and_sets_the_release_day(episode, site_a_custodian, site_a):
    placed = episode_place(episode=episode, custodian=site_a_custodian, placed_on=date(2022, 8, 4), actor=site_a)
    assert placed.state == states.IN_CUSTODY and placed.custodian == site_a_custodian
    assert placed.protocol.code == "cn-9-close-contact"
    assert placed.release_on == date(2022, 8, 13)  # 7 centralized + 3 home days from 3 Aug
    row = CustodyEvent.objects.get(episode=episode)
    assert (row.seq, row.kind, row.to_custodian_id) == (1, "place", site_a_custodian.pk)
    assert AuditEvent.objects.filter(action="episode.place", target_id=str(episode.pk)).exists()


def test_a_hand_over_is_in_transit_until_received(episode, site_a_custodian, bus, site_a):
    episode_place(episode=episode, custodian=site_a_custodian, actor=site_a)
    given = handover_give(episode=Episode.objects.get(pk=episode.pk), to_custodian=bus, expected_by=soon(),
                          actor=site_a, signed_by="李医生")
    assert given.state == states.IN_TRANSIT
    assert given.custodian_id == site_a_custodian.pk  # the giver still answers for the person
    assert given.pending_custodian_id == bus.pk
    received = handover_receive(episode=Episode.objects.get(pk=episode.pk), actor=site_a, signed_by="王司机")
    assert received.state == states.IN_CUSTODY and received.custodian_id == bus.pk
    assert received.pending_custodian_id is None and received.expected_by is None
    kinds = list(CustodyEvent.objects.filter(episode=episode).values_list("seq", "kind"))
    assert kinds == [(1, "place"), (2, "give"), (3, "receive")]
    assert CustodyEvent.objects.get(episode=episode, seq=2).signatures == {"giver": "李医生"}


def test_a_refusal_sends_the_person_back_to_the_giver_with_the_reason(episode, site_a_custodian, bus, site_a):
    episode_place(episode=episode, custodian=site_a_custodian, actor=site_a)
    handover_give(episode=Episode.objects.get(pk=episode.pk), to_custodian=bus, expected_by=soon(), actor=site_a)
    with pytest.raises(ValidationError):
        handover_refuse(episode=Episode.objects.get(pk=episode.pk), actor=site_a, reason=" ")
    back = handover_refuse(episode=Episode.objects.get(pk=episode.pk), actor=site_a, reason="体温37.8℃，不符合上车条件")
    assert back.state == states.IN_CUSTODY and back.custodian_id == site_a_custodian.pk
    assert CustodyEvent.objects.get(episode=episode, kind="refuse").reason == "体温37.8℃，不符合上车条件"


def test_refused_transitions_change_nothing(episode, site_a_custodian, bus, site_a):
    with pytest.raises(ValidationError):  # nobody holds the person yet
        handover_give(episode=episode, to_custodian=bus, expected_by=soon(), actor=site_a)
    with pytest.raises(ValidationError):
        handover_receive(episode=episode, actor=site_a)
    episode_place(episode=episode, custodian=site_a_custodian, actor=site_a)
    with pytest.raises(ValidationError):  # placed twice
        episode_place(episode=Episode.objects.get(pk=episode.pk), custodian=bus, actor=site_a)
    with pytest.raises(ValidationError):  # an arrival in the past
        handover_give(episode=Episode.objects.get(pk=episode.pk), to_custodian=bus, expected_by=soon(-5), actor=site_a)
    assert CustodyEvent.objects.filter(episode=episode).count() == 1
    assert Episode.objects.get(pk=episode.pk).version == 1


def test_outsiders_and_roles_without_the_capability_are_refused(episode, site_a_custodian, site_b, analyst):
    with pytest.raises(PermissionDenied):
        episode_place(episode=episode, custodian=site_a_custodian, actor=site_b)
    with pytest.raises(PermissionDenied):
        episode_place(episode=episode, custodian=site_a_custodian, actor=analyst)
    assert not CustodyEvent.objects.exists()


def test_the_receiving_site_may_confirm_a_person_of_another_town(episode, site_a_custodian, site_b_custodian,
                                                                  site_a, site_b):
    episode_place(episode=episode, custodian=site_a_custodian, actor=site_a)
    handover_give(episode=Episode.objects.get(pk=episode.pk), to_custodian=site_b_custodian, expected_by=soon(),
                  actor=site_a)
    received = handover_receive(episode=Episode.objects.get(pk=episode.pk), actor=site_b)
    assert received.custodian_id == site_b_custodian.pk


def test_close_needs_headquarters_and_a_reason(episode, site_a, duty_officer):
    with pytest.raises(PermissionDenied):
        episode_close(episode=episode, actor=site_a, reason="重复")
    closed = episode_close(episode=episode, actor=duty_officer, reason="流调核实为误报")
    assert closed.state == states.CLOSED and closed.status == "closed"


def test_a_hand_over_never_received_raises_lost_in_transit(episode, site_a_custodian, bus, site_a, duty_officer,
                                                           site_b, settings):
    from closedloop.quarantine.selectors import lost_in_transit

    settings.TRANSIT_GRACE_MINUTES = 30
    episode_place(episode=episode, custodian=site_a_custodian, actor=site_a)
    expected = soon(60)
    handover_give(episode=Episode.objects.get(pk=episode.pk), to_custodian=bus, expected_by=expected, actor=site_a)
    assert not lost_in_transit(duty_officer, timezone.now()).exists()
    assert not lost_in_transit(duty_officer, expected + timedelta(minutes=29)).exists()  # still within grace
    late = list(lost_in_transit(duty_officer, expected + timedelta(minutes=31)))
    assert [e.pk for e in late] == [episode.pk]
    assert late[0].custodian == site_a_custodian and late[0].pending_custodian == bus  # who answers, who was to receive
    assert not lost_in_transit(site_b, expected + timedelta(hours=5)).exists()  # another town's alert is not theirs
    handover_receive(episode=Episode.objects.get(pk=episode.pk), actor=site_a)
    assert not lost_in_transit(duty_officer, expected + timedelta(hours=5)).exists()
