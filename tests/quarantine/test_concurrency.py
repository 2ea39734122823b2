"""Two desks hand over one person at the same moment: exactly one wins (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from closedloop.quarantine.actions import custodian_create, episode_open, episode_place, handover_give
from closedloop.quarantine.models import CustodyEvent, Episode

RACERS = 4


@pytest.mark.django_db(transaction=True)
def test_concurrent_hand_overs_of_one_person_cannot_both_succeed(person_factory, city, town_a, site_a):
    site = custodian_create(kind="isolation_site", name="A", code="a", city=city, jurisdiction=town_a, actor=None)
    buses = [custodian_create(kind="vehicle_trip", name=f"bus {i}", code=f"bus-{i}", city=city, actor=None)
             for i in range(RACERS)]
    episode = episode_open(person=person_factory("赵六"), category="close_contact", anchor_date=date.today(),
                           actor=None)
    episode_place(episode=episode, custodian=site, actor=site_a)
    stale = Episode.objects.get(pk=episode.pk)  # every desk opened the page before anyone acted

    barrier = threading.Barrier(RACERS)
    outcomes: list = [None] * RACERS

    def desk(i):
        try:
            barrier.wait(timeout=10)
            handover_give(episode=stale, to_custodian=buses[i], expected_by=timezone.now() + timedelta(hours=1),
                          actor=site_a)
            outcomes[i] = "won"
        except ValidationError as exc:  # CustodyConflict or "cannot be done now"
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=desk, args=(i,)) for i in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert outcomes.count("won") == 1, outcomes
    assert all(isinstance(o, ValidationError) for o in outcomes if o != "won")
    assert CustodyEvent.objects.filter(episode=episode).count() == 2
    final = Episode.objects.get(pk=episode.pk)
    winner = outcomes.index("won")
    assert final.pending_custodian_id == buses[winner].pk and final.version == 2
