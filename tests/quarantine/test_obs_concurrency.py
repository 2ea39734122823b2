"""Desks acting at once on one result or one alert: one wins, nothing happens twice (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from closedloop.core.models import AuditEvent
from closedloop.quarantine.actions import alert_resolve, health_check_record, result_record, specimen_record
from closedloop.quarantine.models import Alert, Episode, Specimen
from tests.quarantine import test_obs_support as support
from tests.quarantine.test_obs_support import sampled, today

held = support.held  # a shared fixture
hospital = support.hospital  # a shared fixture

RACERS = 4


def race(act) -> list:
    barrier = threading.Barrier(RACERS)
    outcomes: list = [None] * RACERS

    def desk(i):
        try:
            barrier.wait(timeout=10)
            outcomes[i] = act(i)
        except ValidationError as exc:
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=desk, args=(i,)) for i in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_a_positive_result_entered_at_once_by_several_desks_starts_one_case_path(held, site_a, hospital):
    specimen = specimen_record(episode=held, kind="pcr", sampled_at=sampled(), barcode="R0001", actor=site_a)
    outcomes = race(lambda i: result_record(specimen=specimen, result_or_ct="25", actor=site_a).result)
    assert outcomes.count("positive") >= 1, outcomes
    assert all(o == "positive" or isinstance(o, ValidationError) for o in outcomes), outcomes
    assert Specimen.objects.get(pk=specimen.pk).result == "positive"
    assert AuditEvent.objects.filter(action="specimen.result").count() == 1
    assert Episode.objects.filter(person=held.person, category="case").count() == 1
    assert Alert.objects.filter(kind="positive").count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_alert_resolved_at_once_by_several_desks_is_resolved_once(held, site_a):
    health_check_record(episode=held, day=today(), slot="morning", temperature="38.2", symptoms=[], actor=site_a)
    alert = Alert.objects.get()
    outcomes = race(lambda i: alert_resolve(alert=alert, resolution=f"第{i}台处理", actor=site_a).status)
    assert outcomes.count("resolved") == 1, outcomes
    assert all(isinstance(o, ValidationError) for o in outcomes if o != "resolved")
    assert AuditEvent.objects.filter(action="alert.resolve").count() == 1
    winner = outcomes.index("resolved")
    assert Alert.objects.get().resolution == f"第{winner}台处理"
