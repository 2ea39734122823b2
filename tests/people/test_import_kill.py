"""Killing `closedloop import` half-way (SIGKILL, no clean-up) and running it again.

Runs the real command in a child process against its own database (a fresh
SQLite file, or a fresh PostgreSQL database when the suite runs on PostgreSQL),
so nothing of the test's own transaction handling can hide a half batch.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta

import pytest
from django.conf import settings

from tests.people.rosters import rid, write_xlsx

ROWS = 6000
BATCH = 500


def _child_env(tmp_path) -> tuple[dict, callable]:
    env = {**os.environ, "CLOSEDLOOP_DATA_DIR": str(tmp_path / "data"), "CLOSEDLOOP_IMPORT_BATCH_SIZE": str(BATCH)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        import psycopg

        base = settings.DATABASES["default"]
        name = f"closedloop_kill_{uuid.uuid4().hex[:8]}"
        dsn = f"host={base['HOST'] or '127.0.0.1'} port={base['PORT'] or 5432} user={base['USER']} dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        env["CLOSEDLOOP_DATABASE_URL"] = f"postgres://{base['USER']}@{base['HOST'] or '127.0.0.1'}:{base['PORT'] or 5432}/{name}"

        def drop():
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return env, drop
    env.pop("CLOSEDLOOP_DATABASE_URL", None)
    return env, lambda: None


def _closedloop(env, *args, **kwargs):
    return subprocess.run([sys.executable, "-m", "closedloop.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300, **kwargs)


def _count(env, sql) -> int:
    out = _closedloop(env, "shell", "-c", f"from django.db import connection; c = connection.cursor(); "
                                          f"c.execute({sql!r}); print(c.fetchone()[0])")
    assert out.returncode == 0, out.stderr
    return int(out.stdout.strip().splitlines()[-1])


@pytest.mark.django_db
def test_kill_half_way_then_rerun(tmp_path):
    env, drop = _child_env(tmp_path)
    try:
        assert _closedloop(env, "migrate", "--noinput").returncode == 0
        setup = ("from closedloop.core.actions import jurisdiction_create as j; "
                 "c = j(code='330782', name='义乌市', level='city', actor=None); "
                 "j(code='330782001', name='稠城街道', level='town', parent=c, actor=None)")
        assert _closedloop(env, "shell", "-c", setup).returncode == 0
        d = (date.today() - timedelta(days=2)).isoformat()
        rows = [[i, f"测试{i}", "", "", rid(date(1950, 1, 1) + timedelta(days=i // 3), 100 + i % 3 * 2),
                 f"137{i:08d}", "", "稠城街道", "", "密接", d, ""] for i in range(ROWS)]
        path = write_xlsx(tmp_path / "big.xlsx", rows, title=False)

        child = subprocess.Popen([sys.executable, "-m", "closedloop.cli", "import", "people", str(path)], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if child.poll() is not None:
                pytest.fail("the import finished before it could be killed; raise ROWS")
            if _count(env, "select count(*) from people_person") > 0:
                break
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait()

        people = _count(env, "select count(*) from people_person")
        episodes = _count(env, "select count(*) from quarantine_episode")
        assert 0 < people < ROWS
        assert people % BATCH == 0, "a half-written batch survived the kill"
        assert episodes == people

        again = _closedloop(env, "import", "people", str(path))
        assert again.returncode == 0, again.stderr
        assert _count(env, "select count(*) from people_person") == ROWS
        assert _count(env, "select count(distinct id_hash) from people_person") == ROWS
        assert _count(env, "select count(*) from quarantine_episode") == ROWS
        assert f"created {ROWS - people}" in again.stdout and f"unchanged {people}" in again.stdout
    finally:
        drop()
