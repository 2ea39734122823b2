"""Observations, one by one: health checks, alerts, specimens, results, the case path, resolving alerts."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from closedloop.core.models import AuditEvent
from closedloop.quarantine import states
from closedloop.quarantine.actions import (
    alert_resolve,
    custodian_create,
    episode_open,
    handover_give,
    health_check_record,
    result_record,
    specimen_record,
)
from closedloop.quarantine.models import Alert, CustodyEvent, Episode, HealthCheck, Specimen
from tests.quarantine import test_obs_support as support
from tests.quarantine.test_obs_support import held_episode, sampled, today

held = support.held  # a shared fixture
hospital = support.hospital  # a shared fixture


def audits(action, episode=None):
    rows = AuditEvent.objects.filter(action=action)
    if episode is not None:
        rows = rows.filter(target_type="episode", target_id=str(episode.pk))
    return rows


# --- health checks ----------------------------------------------------------------------------

def test_a_check_is_recorded_with_its_audit_row(held, site_a):
    check = health_check_record(episode=held, day=today(), slot="morning", temperature="36.5",
                                symptoms=[], note="精神好", actor=site_a)
    assert (check.day, check.slot, check.temperature, check.symptoms) == (today(), "morning", Decimal("36.5"), [])
    assert check.recorded_by == site_a
    row = audits("health_check.record", held).get()
    assert row.actor == site_a and row.before is None
    assert row.after["temperature"] == "36.5" and row.after["slot"] == "morning" and row.after["note"] == "精神好"
    assert not Alert.objects.exists()


def test_recording_the_same_slot_again_updates_it_and_audits_before_and_after(held, site_a):
    health_check_record(episode=held, day=today(), slot="morning", temperature="36.5", symptoms=[], actor=site_a)
    health_check_record(episode=held, day=today(), slot="morning", temperature="36,9℃", symptoms=["cough"],
                        actor=site_a)
    check = HealthCheck.objects.get(episode=held)
    assert check.temperature == Decimal("36.9") and check.symptoms == ["cough"]
    latest = audits("health_check.record", held).order_by("-id").first()
    assert latest.before["temperature"] == "36.5" and latest.before["symptoms"] == []
    assert latest.after["temperature"] == "36.9" and latest.after["symptoms"] == ["cough"]
    # The same values once more change nothing and write no audit row.
    health_check_record(episode=held, day=today(), slot="morning", temperature="36.9", symptoms=["cough"],
                        actor=site_a)
    assert audits("health_check.record", held).count() == 2


@pytest.mark.parametrize("temperature, message", [
    ("33.9", "not plausible"), ("43.1", "not plausible"), ("abc", "is not a temperature"), ("", "Enter the temperature"),
])
def test_an_implausible_temperature_is_refused_clearly(held, site_a, temperature, message):
    with pytest.raises(ValidationError) as caught:
        health_check_record(episode=held, day=today(), slot="morning", temperature=temperature, symptoms=[],
                            actor=site_a)
    assert message in " ".join(caught.value.message_dict["temperature"])
    assert not HealthCheck.objects.exists() and not audits("health_check.record").exists()


def test_slot_day_and_state_are_checked(held, site_a, person_factory):
    def refused(field, **kwargs):
        args = {"episode": held, "day": today(), "slot": "morning", "temperature": "36.5", "symptoms": [],
                "actor": site_a, **kwargs}
        with pytest.raises(ValidationError) as caught:
            health_check_record(**args)
        return " ".join(caught.value.message_dict[field])

    assert "not Noon" in refused("slot", slot="noon")  # the protocol checks twice a day
    assert "in the future" in refused("day", day=today() + timedelta(days=1))
    assert "before it" in refused("day", day=today() - timedelta(days=2))  # placed yesterday
    assert "Unknown symptom" in refused("symptoms", symptoms=["headache"])
    awaiting = episode_open(person=person_factory("王五"), category="close_contact", anchor_date=today(), actor=None)
    assert "for people in custody" in refused("__all__", episode=awaiting)
    assert not HealthCheck.objects.exists()


def test_outsiders_and_roles_without_the_capability_are_refused(held, site_b, analyst, materials_clerk):
    for actor in (site_b, analyst, materials_clerk):
        with pytest.raises(PermissionDenied):
            health_check_record(episode=held, day=today(), slot="morning", temperature="36.5", symptoms=[],
                                actor=actor)
    assert not HealthCheck.objects.exists()


def test_the_site_holding_a_person_of_another_town_records_their_checks(person_factory, site_b_custodian, site_b):
    episode = held_episode(person_factory("赵六"), site_b_custodian)  # lives in town A, held in town B
    check = health_check_record(episode=episode, day=today(), slot="evening", temperature="36.6", symptoms=[],
                                actor=site_b)
    assert check.pk


def test_a_fever_raises_one_alert_for_the_custodian(held, site_a, site_a_custodian):
    health_check_record(episode=held, day=today(), slot="morning", temperature="37.2", symptoms=[], actor=site_a)
    assert not Alert.objects.exists()  # 37.2 is not a fever
    health_check_record(episode=held, day=today(), slot="morning", temperature="37.3", symptoms=[], actor=site_a)
    health_check_record(episode=held, day=today(), slot="evening", temperature="38.4", symptoms=[], actor=site_a)
    alert = Alert.objects.get()
    assert (alert.kind, alert.status, alert.custodian, alert.episode_id) == ("fever", "open", site_a_custodian, held.pk)
    assert "37.3" in alert.detail
    assert audits("alert.raise", held).count() == 1
    # Once answered, the next fever is a new alert.
    alert_resolve(alert=alert, resolution="已复测，送医评估", actor=site_a)
    health_check_record(episode=held, day=today(), slot="evening", temperature="38.6", symptoms=[], actor=site_a)
    assert Alert.objects.filter(kind="fever").count() == 2
    assert Alert.objects.filter(kind="fever", status="open").count() == 1


def test_a_symptom_raises_a_symptom_alert(held, site_a):
    health_check_record(episode=held, day=today(), slot="morning", temperature="36.8",
                        symptoms=["sore_throat", "cough"], actor=site_a)
    alert = Alert.objects.get()
    assert alert.kind == "symptom" and "Cough" in alert.detail and "Dry or sore throat" in alert.detail
    assert HealthCheck.objects.get().symptoms == ["cough", "sore_throat"]  # the order of the list, each once


# --- specimens ----------------------------------------------------------------------------------

def test_a_sample_on_a_test_day_answers_that_test(held, site_a):
    specimen = specimen_record(episode=held, kind="pcr", sampled_at=sampled(), barcode=" 2208 0001 ", actor=site_a)
    assert specimen.scheduled_for == today()  # day 3 of centralized isolation is a test day
    assert specimen.barcode == "22080001" and specimen.result == "pending"
    row = audits("specimen.record", held).get()
    assert row.after["barcode"] == "22080001" and row.after["scheduled_for"] == today().isoformat()
    antigen = specimen_record(episode=held, kind="antigen", sampled_at=sampled(), actor=site_a)
    assert antigen.scheduled_for is None  # an antigen test answers no scheduled test


def test_specimen_refusals(held, site_a, site_b):
    specimen_record(episode=held, kind="pcr", sampled_at=sampled(), barcode="A1", actor=site_a)

    def refused(field, **kwargs):
        args = {"episode": held, "kind": "pcr", "sampled_at": sampled(), "actor": site_a, **kwargs}
        with pytest.raises(ValidationError) as caught:
            specimen_record(**args)
        return " ".join(caught.value.message_dict[field])

    assert "already on another sample" in refused("barcode", barcode="A1")
    assert "in the future" in refused("sampled_at", sampled_at=timezone.now() + timedelta(hours=1))
    assert "before the day" in refused("sampled_at", sampled_at=timezone.now() - timedelta(days=5))
    assert "not a test day" in refused("scheduled_for", scheduled_for=today() + timedelta(days=1))
    assert "Choose the kind" in refused("kind", kind="blood")
    with pytest.raises(PermissionDenied):
        specimen_record(episode=held, kind="pcr", sampled_at=sampled(), actor=site_b)
    assert Specimen.objects.count() == 1


# --- results ------------------------------------------------------------------------------------------

def test_a_negative_result_is_recorded_once(held, site_a):
    specimen = specimen_record(episode=held, kind="pcr", sampled_at=sampled(), barcode="N1", actor=site_a)
    recorded = result_record(specimen=specimen, result_or_ct="未检出", lab="义乌市疾控", actor=site_a)
    assert (recorded.result, recorded.ct, recorded.lab) == ("negative", None, "义乌市疾控")
    assert recorded.reported_at is not None
    row = audits("specimen.result", held).get()
    assert row.after["result"] == "negative" and row.after["barcode"] == "N1"
    # The same result again: unchanged, no audit row. A different one: refused.
    result_record(specimen=specimen, result_or_ct="阴性", actor=site_a)
    assert audits("specimen.result").count() == 1
    with pytest.raises(ValidationError) as caught:
        result_record(specimen=specimen, result_or_ct=Decimal("30"), actor=site_a)
    assert "already has the result" in " ".join(caught.value.messages)
    assert Specimen.objects.get(pk=specimen.pk).result == "negative"


def test_ct_36_needs_a_risk_assessment_and_is_not_positive(held, site_a, site_a_custodian, hospital):
    specimen = specimen_record(episode=held, kind="pcr", sampled_at=sampled(), actor=site_a)
    recorded = result_record(specimen=specimen, result_or_ct="36", actor=site_a)
    assert (recorded.result, recorded.ct) == ("assess", Decimal("36.0"))
    alert = Alert.objects.get()
    assert (alert.kind, alert.custodian) == ("assess", site_a_custodian)
    episode = Episode.objects.get(pk=held.pk)
    assert episode.state == states.IN_CUSTODY and episode.status == "open"  # no case path
    assert not Episode.objects.filter(category="case").exists()


@pytest.mark.parametrize("ct, result", [("34.9", "positive"), ("35", "assess"), ("39.9", "assess"), ("40", "negative")])
def test_ct_thresholds_come_from_the_protocol(held, site_a, ct, result):
    specimen = specimen_record(episode=held, kind="pcr", sampled_at=sampled(), actor=site_a)
    assert result_record(specimen=specimen, result_or_ct=ct, actor=site_a).result == result


def test_a_positive_result_starts_the_case_path_to_the_hospital(held, site_a, site_a_custodian, hospital):
    specimen = specimen_record(episode=held, kind="pcr", sampled_at=sampled(), barcode="P1", actor=site_a)
    recorded = result_record(specimen=specimen, result_or_ct=Decimal("28.4"), lab="金域检验", actor=site_a)
    assert (recorded.result, recorded.ct) == ("positive", Decimal("28.4"))

    old = Episode.objects.get(pk=held.pk)
    assert (old.state, old.status, old.custodian_id) == (states.BECAME_CASE, "closed", None)
    assert list(CustodyEvent.objects.filter(episode=old).values_list("kind", flat=True)) == ["place", "become_case"]

    case = Episode.objects.get(person=held.person, status="open")
    assert case.category == "case" and case.anchor_date == today()
    assert (case.state, case.custodian, case.pending_custodian) == (states.IN_TRANSIT, site_a_custodian, hospital)
    assert case.expected_by > timezone.now()
    assert list(CustodyEvent.objects.filter(episode=case).values_list("kind", flat=True)) == ["place", "give"]
    assert case.details == {"from_episode": old.pk, "specimen": specimen.pk}

    alert = Alert.objects.get(kind="positive")
    assert alert.episode_id == old.pk and alert.custodian is None  # headquarters answers
    assert hospital.name in alert.detail and f"#{case.pk}" in alert.detail
    for action in ("specimen.result", "episode.become_case", "episode.open", "episode.place", "episode.give",
                   "alert.raise"):
        assert AuditEvent.objects.filter(action=action).exists(), action


def test_without_a_hospital_the_case_stays_with_its_custodian(held, site_a, site_a_custodian):
    specimen = specimen_record(episode=held, kind="pcr", sampled_at=sampled(), actor=site_a)
    result_record(specimen=specimen, result_or_ct="20", actor=site_a)
    case = Episode.objects.get(person=held.person, status="open")
    assert (case.category, case.state, case.custodian) == ("case", states.IN_CUSTODY, site_a_custodian)
    assert "No designated hospital is set up" in Alert.objects.get(kind="positive").detail


def test_a_positive_in_transit_is_handed_over_from_the_giver(held, site_a, site_a_custodian, bus, hospital):
    handover_give(episode=held, to_custodian=bus, expected_by=timezone.now() + timedelta(hours=1), actor=site_a)
    specimen = specimen_record(episode=held, kind="pcr", sampled_at=sampled(), actor=site_a)  # sampled before boarding
    result_record(specimen=specimen, result_or_ct="positive", actor=site_a)
    case = Episode.objects.get(person=held.person, status="open")
    assert (case.custodian, case.pending_custodian) == (site_a_custodian, hospital)


def test_an_inactive_hospital_or_one_of_another_city_is_not_chosen(held, site_a, site_a_custodian):
    from closedloop.core.actions import jurisdiction_create

    other_city = jurisdiction_create(code="330783", name="东阳市", level="city", actor=None)
    custodian_create(kind="hospital", name="东阳医院", code="h-dy", city=other_city, actor=None)
    specimen = specimen_record(episode=held, kind="pcr", sampled_at=sampled(), actor=site_a)
    result_record(specimen=specimen, result_or_ct="20", actor=site_a)
    assert Episode.objects.get(person=held.person, status="open").state == states.IN_CUSTODY


def test_antigen_results_are_words_not_ct(held, site_a, hospital):
    specimen = specimen_record(episode=held, kind="antigen", sampled_at=sampled(), actor=site_a)
    with pytest.raises(ValidationError) as caught:
        result_record(specimen=specimen, result_or_ct="30", actor=site_a)
    assert "no Ct value" in " ".join(caught.value.messages)
    with pytest.raises(ValidationError):
        result_record(specimen=specimen, result_or_ct="可疑", actor=site_a)
    assert result_record(specimen=specimen, result_or_ct="阳性", actor=site_a).result == "positive"
    assert Episode.objects.get(person=held.person, status="open").category == "case"


def test_result_refusals_change_nothing(held, site_a, site_b):
    specimen = specimen_record(episode=held, kind="pcr", sampled_at=sampled(), actor=site_a)
    for value in ("", "maybe", "0", "55"):
        with pytest.raises(ValidationError):
            result_record(specimen=specimen, result_or_ct=value, actor=site_a)
    with pytest.raises(PermissionDenied):
        result_record(specimen=specimen, result_or_ct="阴性", actor=site_b)
    assert Specimen.objects.get(pk=specimen.pk).result == "pending"
    assert not audits("specimen.result").exists()


# --- resolving alerts -------------------------------------------------------------------------------

def test_resolving_an_alert_needs_a_resolution_and_happens_once(held, site_a, site_b):
    health_check_record(episode=held, day=today(), slot="morning", temperature="38.0", symptoms=[], actor=site_a)
    alert = Alert.objects.get()
    with pytest.raises(ValidationError) as caught:
        alert_resolve(alert=alert, resolution="  ", actor=site_a)
    assert "resolution" in caught.value.message_dict
    with pytest.raises(PermissionDenied):
        alert_resolve(alert=alert, resolution="已处理", actor=site_b)
    resolved = alert_resolve(alert=alert, resolution="复测36.8℃，医生评估无异常", actor=site_a)
    assert (resolved.status, resolved.resolved_by, resolved.resolution) == ("resolved", site_a, "复测36.8℃，医生评估无异常")
    row = AuditEvent.objects.get(action="alert.resolve")
    assert row.target_type == "alert" and row.before == {"status": "open"} and row.reason == resolved.resolution
    with pytest.raises(ValidationError) as caught:
        alert_resolve(alert=alert, resolution="再次处理", actor=site_a)
    assert "already been resolved" in " ".join(caught.value.messages)
    assert AuditEvent.objects.filter(action="alert.resolve").count() == 1


def test_a_positive_alert_is_answered_by_headquarters(held, site_a, duty_officer, hospital):
    specimen = specimen_record(episode=held, kind="pcr", sampled_at=sampled(), actor=site_a)
    result_record(specimen=specimen, result_or_ct="25", actor=site_a)
    alert = Alert.objects.get(kind="positive")
    with pytest.raises(PermissionDenied):
        alert_resolve(alert=alert, resolution="已转运", actor=site_a)
    assert alert_resolve(alert=alert, resolution="已转运定点医院，流调已启动", actor=duty_officer).status == "resolved"
