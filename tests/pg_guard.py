"""A pytest plugin: which database a run uses, and the ``postgres_only`` marker.

Registered from tests/conftest.py (``pytest_plugins = ["tests.pg_guard"]``).

- The report header names the database of the run, so a log of
  ``scripts/test`` shows that its second run really is on PostgreSQL.
- A test marked ``postgres_only`` (a feature SQLite lacks: ``select_for_update``
  semantics, concurrent writers, ``SKIP LOCKED`` …) is skipped on SQLite with
  the reason, and runs on PostgreSQL.
"""

from __future__ import annotations

import pytest


def _database() -> dict | None:
    try:
        from django.conf import settings

        return settings.DATABASES["default"]
    except Exception:  # noqa: BLE001 - a bad setting is reported by the tests themselves
        return None


def _is_postgres(db: dict | None) -> bool:
    return bool(db) and "postgresql" in db.get("ENGINE", "")


def pytest_report_header(config):
    db = _database()
    if db is None:
        return None
    if _is_postgres(db):
        test_name = (db.get("TEST") or {}).get("NAME") or f"test_{db.get('NAME')}"
        return f"closedloop database: PostgreSQL at {db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}, test database {test_name}"
    return f"closedloop database: {db.get('ENGINE', '?').rsplit('.', 1)[-1]} ({(db.get('TEST') or {}).get('NAME') or 'in memory'})"


def pytest_collection_modifyitems(config, items):
    if _is_postgres(_database()):
        return
    skip = pytest.mark.skip(
        reason="needs PostgreSQL: run with CLOSEDLOOP_DATABASE_URL=postgres://… (scripts/test does when one answers)"
    )
    for item in items:
        if item.get_closest_marker("postgres_only"):
            item.add_marker(skip)
