"""Desks racing on one trip, in real threads on SQLite and PostgreSQL: one dispatch, one boarding wins; the
others are told and write nothing."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import translation

from closedloop.quarantine.models import Custodian, CustodyEvent
from closedloop.transfers.actions import TripConflict, trip_board, trip_dispatch
from closedloop.transfers.models import HandoverCheck
from tests.transfers.trip_support import BOARDING_TRIP_OK, build_world, everyone_ok

RACERS = 3


def race(jobs) -> list:
    """Run each job in its own thread, all released at once; "won" or the exception each got."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list = [None] * len(jobs)

    def desk(i):
        try:
            translation.activate("en")
            barrier.wait(timeout=10)
            jobs[i]()
            outcomes[i] = "won"
        except ValidationError as exc:
            outcomes[i] = exc
        except Exception as exc:  # noqa: BLE001 - reported by the assertion, not lost in the thread
            outcomes[i] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=desk, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


@pytest.fixture
def world(city, town_a, community_a1, community_a2, hangzhou_site, station, fleet, person_factory):
    return build_world(city=city, town_a=town_a, community_a1=community_a1, community_a2=community_a2,
                       hangzhou_site=hangzhou_site, station=station, fleet=fleet, person_factory=person_factory)


@pytest.mark.django_db(transaction=True)
def test_desks_dispatching_one_trip_at_once_one_wins(world):
    pages = [world.fresh(world.coach) for _ in range(RACERS)]
    outcomes = race([lambda seen=seen, n=n: trip_dispatch(trip=seen, plate=f"浙A{n}", driver="甲", escorts="乙",
                                                          actor=world.desk) for n, seen in enumerate(pages)])
    assert outcomes.count("won") == 1, outcomes
    assert all(isinstance(o, TripConflict) for o in outcomes if o != "won"), outcomes
    assert Custodian.objects.filter(kind="vehicle_trip").count() == 1
    assert world.fresh(world.coach).plate == f"浙A{outcomes.index('won')}"


@pytest.mark.django_db(transaction=True)
def test_desks_boarding_one_trip_at_once_one_wins(world):
    trip_dispatch(trip=world.fresh(world.coach), plate="浙A1", driver="甲", escorts="乙", actor=world.desk)
    pages = [world.fresh(world.coach) for _ in range(RACERS)]
    outcomes = race([lambda seen=seen, n=n: trip_board(
        trip=seen, answers=everyone_ok(world), trip_answers=BOARDING_TRIP_OK, giver=f"吴医生{n}", receiver="陈医生",
        actor=world.desk) for n, seen in enumerate(pages)])
    assert outcomes.count("won") == 1, outcomes
    assert all(isinstance(o, TripConflict) for o in outcomes if o != "won"), outcomes
    assert HandoverCheck.objects.count() == 4  # three people and the trip, once
    assert CustodyEvent.objects.filter(kind="give").count() == 3
    assert {c.giver_signature for c in HandoverCheck.objects.all()} == {f"吴医生{outcomes.index('won')}"}
