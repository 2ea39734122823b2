"""The demo city's residents out of the city: rosters of ten cities imported, routes, districts, the fleet."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from closedloop.core.demo import demo_load
from closedloop.core.models import AuditEvent, Jurisdiction, User
from closedloop.facilities.models import Facility
from closedloop.transfers import demo as away_demo
from closedloop.transfers.away_selectors import headline
from closedloop.transfers.models import AwayRecord, District, Fleet, Passenger, Route


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def demo_city(db):
    with translation.override("en"):
        result = demo_load(persons=300, seed=5, stdout=None)
        if not AwayRecord.objects.exists():  # until closedloop.core.demo calls it itself
            away_demo.load(city=result.city, admin=User.objects.get(username="demo-admin"), seed=5)
    return result.city


def test_ten_cities_sent_their_rosters(demo_city, capsys):
    records = list(AwayRecord.objects.select_related("origin", "episode__person"))
    assert len(records) >= away_demo.AWAY_PEOPLE
    assert {r.origin.code for r in records} >= {f"away-{i:02d}" for i in range(1, 12)}
    assert AuditEvent.objects.filter(action="away.import").count() == 10
    assert len({r.episode.person_id for r in records}) == len(records)  # nobody twice
    statuses = Counter(r.status for r in records)
    assert statuses["positive"] == 1 and statuses["moved"] == 1 and statuses["released"] >= 5
    today = timezone.localdate()
    assert {r.release_on for r in records if r.release_on} >= {today, today + timedelta(days=3)}
    moved = next(r for r in records if r.status == "moved")
    assert moved.origin.code == "away-11"
    assert list(moved.episode.ledger.values_list("kind", flat=True)) == ["place", "give", "receive"]
    # Families are households, as the planner groups them.
    assert sum(1 for r in records if r.episode.person.household_id) > len(records) // 3
    call_command("check", "--integrity", "ledger_refold")
    assert "0 violations" in capsys.readouterr().out
    # The headline counts them all; the first coach of the plan under way has them on board.
    h = headline(User.objects.get(username="demo-commander"), today)
    boarded = Passenger.objects.filter(status="boarded").count()
    assert h.all.total == len(records) and h.all.positive == 1 and h.all.on_the_way == boarded > 0
    assert h.all.now >= 5 and h.all.tomorrow > 0 and h.all.later > 0
    assert len(h.cities) == 10 and len(h.towns) >= 10 and h.sites_without_route == []


def test_routes_districts_and_the_fleet(demo_city):
    minutes = dict(Route.objects.values_list("origin__other_city", "travel_minutes"))
    assert minutes == away_demo.TRAVEL_MINUTES
    assert Route.objects.count() == 11 and Route.objects.get(origin__code="away-01").travel_minutes == 120
    assert District.objects.count() == Jurisdiction.objects.filter(level="town").count() == 14
    fleet = Fleet.objects.get(city=demo_city)
    assert fleet.station == Facility.objects.get(kind="transfer_station") and fleet.coaches == 12

