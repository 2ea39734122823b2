"""What other cities report after the roster: released, positive, moved (a hand-over in the ledger)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from closedloop.core.models import AuditEvent
from closedloop.facilities.actions import facility_create
from closedloop.quarantine.actions import custodian_create, handover_give, handover_receive
from closedloop.transfers.actions import away_report
from tests.transfers import away_support as sup
from tests.transfers.away_support import import_rows, record_of, row

transfer_desk = sup.transfer_desk  # a shared fixture


@pytest.fixture
def zhang(tmp_path, city, town_a, hangzhou_site, transfer_desk):
    import_rows(tmp_path, [row(1, "张伟", release="2026-12-20")], actor=transfer_desk)
    return record_of("张伟")


@pytest.fixture
def coach(city):
    return custodian_create(kind="vehicle_trip", name="大巴 浙G·A1234 第1趟", code="coach-1", city=city, actor=None)


def test_released_is_ready_now_and_audited(zhang, transfer_desk):
    record = away_report(record=zhang, status="released", note="杭州市指挥部 电话通报", actor=transfer_desk)
    assert (record.status, record.release_on) == ("released", timezone.localdate())
    assert record.source == "reported by transfer"
    audit = AuditEvent.objects.get(action="away.report")
    assert audit.actor == transfer_desk and audit.reason == "杭州市指挥部 电话通报"
    assert audit.before == {"release_on": "2026-12-20", "status": "isolated"}
    assert audit.after == {"release_on": timezone.localdate().isoformat(), "status": "released"}


def test_a_release_in_the_future_or_home_is_refused(zhang, transfer_desk):
    with pytest.raises(ValidationError) as exc:
        away_report(record=zhang, status="released", release_on=timezone.localdate() + timedelta(days=1),
                    actor=transfer_desk)
    assert "release_on" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        away_report(record=zhang, status="home", actor=transfer_desk)
    assert "hand-over to the home community" in exc.value.message_dict["status"][0]
    with pytest.raises(ValidationError):
        away_report(record=zhang, status="gone", actor=transfer_desk)
    assert not AuditEvent.objects.filter(action="away.report").exists()
    assert record_of("张伟").status == "isolated"


def test_a_late_release_day_and_a_positive_test(zhang, transfer_desk):
    away_report(record=zhang, status="isolated", release_on=date(2026, 12, 24), actor=transfer_desk)
    assert record_of("张伟").release_on == date(2026, 12, 24)
    record = away_report(record=zhang, status="positive", actor=transfer_desk)
    # The site there keeps the person (the other city treats them); only the record says positive.
    assert record.status == "positive" and record.episode.custodian_id == zhang.origin.custodian_id


def test_moved_is_a_hand_over_in_the_ledger_and_the_ledger_still_refolds(zhang, city, ningbo_site, transfer_desk,
                                                                         capsys):
    second = facility_create(kind="out_of_city_site", name="杭州市余杭区集中隔离点", code="away-hz-2", city=city,
                             other_city="杭州市", status="open", actor=None)
    old = zhang.origin
    record = away_report(record=zhang, status="moved", origin=second, note="转点", actor=transfer_desk)
    assert record.origin == second and record.status == "moved"
    episode = record_of("张伟").episode
    assert episode.custodian_id == second.custodian_id and episode.state == "in_custody"
    give, receive = episode.ledger.order_by("seq")[1:]
    assert (give.kind, give.from_custodian_id, give.to_custodian_id, give.actor) == (
        "give", old.custodian_id, second.custodian_id, transfer_desk)
    assert (receive.kind, receive.to_custodian_id, receive.actor) == ("receive", second.custodian_id, transfer_desk)
    assert give.reason == "转点"
    audit = AuditEvent.objects.get(action="away.report")
    assert audit.before["origin"] == old.code and audit.after["origin"] == "away-hz-2"
    call_command("check", "--integrity", "ledger_refold")
    assert "0 violations" in capsys.readouterr().out


def test_a_move_needs_another_site_of_another_city(zhang, facility_site_here, transfer_desk):
    with pytest.raises(ValidationError) as exc:
        away_report(record=zhang, status="moved", actor=transfer_desk)
    assert "origin" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        away_report(record=zhang, status="moved", origin=zhang.origin, actor=transfer_desk)
    assert exc.value.message_dict["origin"] == ["The person is at this site already."]
    with pytest.raises(ValidationError) as exc:
        away_report(record=zhang, status="moved", origin=facility_site_here, actor=transfer_desk)
    assert "another city" in exc.value.message_dict["origin"][0]
    assert zhang.episode.ledger.count() == 1


@pytest.fixture
def facility_site_here(city, town_a):
    return facility_create(kind="isolation_site", name="稠城隔离点", code="site-here", city=city, jurisdiction=town_a,
                           status="open", actor=None)


def test_nothing_is_reported_once_the_person_is_on_the_way(zhang, coach, transfer_desk):
    episode = handover_give(episode=zhang.episode, to_custodian=coach, actor=transfer_desk,
                            expected_by=timezone.now() + timedelta(hours=1))
    with pytest.raises(ValidationError) as exc:
        away_report(record=zhang, status="released", actor=transfer_desk)
    assert "no longer held by the site" in exc.value.messages[0]
    handover_receive(episode=episode, actor=transfer_desk)
    with pytest.raises(ValidationError):
        away_report(record=zhang, status="positive", actor=transfer_desk)


def test_who_may_report(zhang, analyst, site_b, site_a):
    with pytest.raises(PermissionDenied):
        away_report(record=zhang, status="released", actor=analyst)
    with pytest.raises(PermissionDenied):
        away_report(record=zhang, status="released", actor=site_b)  # town B's staff, a town A resident
    assert away_report(record=zhang, status="released", actor=site_a).status == "released"
