"""A bad CLOSEDLOOP_* setting stops the command with one sentence naming it, exit status 2."""

from __future__ import annotations

import pytest

from tests.core.cli_helpers import closedloop


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("CLOSEDLOOP_DATABASE_URL", "mysql://root@localhost/closedloop", "is not understood"),
        ("CLOSEDLOOP_DATABASE_URL", "postgres://postgres@127.0.0.1:5432", "names no database"),
        ("CLOSEDLOOP_DEBUG", "maybe", "is not a yes/no value"),
        ("CLOSEDLOOP_SESSION_HOURS", "twelve", "is not a whole number"),
        ("CLOSEDLOOP_TIME_ZONE", "Mars/Olympus", "is not a known time zone"),
        ("CLOSEDLOOP_SECRET_KEY", "short", "shorter than 32 characters"),
    ],
)
def test_bad_setting_names_the_variable(tmp_path, variable, value, says):
    result = closedloop("check", data_dir=tmp_path, **{variable: value})
    assert result.returncode == 2, result.stdout + result.stderr
    message = result.stderr.strip()
    assert message.startswith("closedloop cannot start: ")
    assert variable in message
    assert says in message
    assert "Traceback" not in result.stderr
    assert len(message.splitlines()) == 1


def test_bad_setting_stops_platform_commands_too(tmp_path):
    # Not only Django's own commands: the platform's (found only once settings load).
    result = closedloop("serve", "--no-checks", data_dir=tmp_path, CLOSEDLOOP_DEBUG="maybe")
    assert result.returncode == 2
    assert "CLOSEDLOOP_DEBUG" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_port_names_the_variable(tmp_path):
    result = closedloop("serve", "--no-checks", data_dir=tmp_path, CLOSEDLOOP_PORT="http")
    assert result.returncode == 2
    assert "CLOSEDLOOP_PORT" in result.stderr


def test_good_settings_pass(tmp_path):
    result = closedloop("check", "--no-integrity", data_dir=tmp_path, CLOSEDLOOP_DEBUG="0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.postgres_only
def test_the_postgres_run_really_uses_postgres():
    # Skipped on SQLite by tests/pg_guard.py; on PostgreSQL it proves the second run of scripts/test is one.
    from django.db import connection

    assert connection.vendor == "postgresql"
