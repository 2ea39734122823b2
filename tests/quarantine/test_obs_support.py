"""Fixtures and helpers shared by the observation tests (test_obs_*.py); no tests here.

The episodes are built with actions, their dates counted from today so that the
protocol in force (the 20 measures for a close contact: centralized days 1, 2,
3 and 5 tested) puts a test on today.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from closedloop.quarantine.actions import custodian_create, episode_open, episode_place


def today():
    return timezone.localdate()


def held_episode(person, custodian, *, anchor_days_ago=2, placed_days_ago=1, category="close_contact"):
    """An episode in custody: anchored ``anchor_days_ago`` days ago, placed ``placed_days_ago`` days ago."""
    episode = episode_open(person=person, category=category,
                           anchor_date=today() - timedelta(days=anchor_days_ago), actor=None)
    return episode_place(episode=episode, custodian=custodian, placed_on=today() - timedelta(days=placed_days_ago),
                         actor=None)


@pytest.fixture
def held(person_factory, site_a_custodian):
    """李四 of community A1 (town A), held at site A, under control since yesterday."""
    return held_episode(person_factory("李四"), site_a_custodian)


@pytest.fixture
def hospital(city):
    return custodian_create(kind="hospital", name="义乌市定点医院", code="hospital-1", city=city, actor=None)


def sampled(hours_ago=2):
    """A sample time today (local), ``hours_ago`` hours ago when today is that old yet."""
    now = timezone.localtime()
    return max(now - timedelta(hours=hours_ago), now.replace(hour=0, minute=0, second=0, microsecond=0))


def insert_statements(model, rows: int) -> int:
    """How many INSERT statements a bulk_create of ``rows`` rows takes on this database.

    PostgreSQL takes any number in one; SQLite binds at most 999 parameters a
    statement, so Django cuts a bulk insert into batches (e.g. 124 health checks).
    A round's queries may grow by these batches, never by rows.
    """
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    size = max(connection.ops.bulk_batch_size(fields, [None] * rows), 1)
    return -(-rows // size)
