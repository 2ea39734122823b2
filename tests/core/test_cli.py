"""The ``closedloop`` command: the platform's commands beside Django's, and ``serve``."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from io import StringIO

from django.utils import translation

from closedloop.core.actions import user_create
from closedloop.core.management.commands.serve import DEMO_PASSWORD, Command, PeriodicChecks
from closedloop.core.roles import Role
from tests.core.cli_helpers import REPO, cli_env, closedloop


def test_help_lists_the_platform_commands(tmp_path):
    result = closedloop("help", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    names = set(re.findall(r"^\s+(\w+)$", result.stdout, flags=re.MULTILINE))
    for command in ("serve", "demo", "import", "export", "check", "bench"):
        assert command in names, f"`closedloop help` does not list {command}"
    # Django's own are still there.
    assert {"migrate", "makemigrations", "createsuperuser", "shell"} <= names


def test_django_commands_work_through_it(tmp_path):
    before = closedloop("migrate", "--check", data_dir=tmp_path)
    assert before.returncode == 1  # a fresh database has everything to apply
    migrate = closedloop("migrate", "--noinput", data_dir=tmp_path)
    assert migrate.returncode == 0, migrate.stderr
    assert (tmp_path / "closedloop.sqlite3").exists()
    after = closedloop("migrate", "--check", data_dir=tmp_path)
    assert after.returncode == 0, after.stdout + after.stderr
    shown = closedloop("showmigrations", "core", data_dir=tmp_path)
    assert "[X] 0001_initial" in shown.stdout
    check = closedloop("check", data_dir=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "integrity:" in check.stdout and "0 violations" in check.stdout


def test_check_refuses_an_unmigrated_database(tmp_path):
    result = closedloop("check", data_dir=tmp_path)
    assert result.returncode == 1
    assert "unapplied migration" in result.stderr and "closedloop migrate" in result.stderr


def test_unknown_command_fails(tmp_path):
    result = closedloop("help", "no-such-command", data_dir=tmp_path)
    assert result.returncode != 0
    assert "Unknown command" in result.stderr


# --- serve ---------------------------------------------------------------------


def test_serve_prints_the_demo_logins(db, city):
    user_create(username="demo-commander", password=DEMO_PASSWORD, role=Role.COMMANDER,
                full_name="Demo Commander", jurisdictions=[city], actor=None, check_password=False)
    user_create(username="demo-site-a", password=DEMO_PASSWORD, role=Role.SITE_STAFF,
                jurisdictions=[city], actor=None, check_password=False)
    user_create(username="someone", password=DEMO_PASSWORD, role=Role.ANALYST, actor=None, check_password=False)
    out = StringIO()
    command = Command(stdout=out)
    with translation.override("en"):
        command.announce("127.0.0.1", 8123)
    text = out.getvalue()
    assert "http://127.0.0.1:8123/" in text
    assert f"password for all: {DEMO_PASSWORD}" in text
    assert re.search(r"demo-commander\s+Commander\s+Demo Commander", text)
    assert re.search(r"demo-site-a\s+Isolation-site staff", text)
    assert "someone" not in text


def test_serve_without_demo_users_prints_no_table(db):
    out = StringIO()
    Command(stdout=out).announce("0.0.0.0", 8000)
    text = out.getvalue()
    assert "http://127.0.0.1:8000/" in text
    assert "CLOSEDLOOP_ALLOWED_HOSTS" in text
    assert "Demo logins" not in text


class _Log:
    def __init__(self):
        self.records: list[tuple[str, str]] = []

    def _add(self, level, msg, *args):
        self.records.append((level, msg % args if args else msg))

    def info(self, msg, *args):
        self._add("info", msg, *args)

    def warning(self, msg, *args):
        self._add("warning", msg, *args)

    def error(self, msg, *args):
        self._add("error", msg, *args)


def test_periodic_checks_log_failures_and_never_raise():
    log = _Log()
    failing = PeriodicChecks(seconds=10, log=log, command=[sys.executable, "-c", "print('violation x'); raise SystemExit(1)"])
    assert failing.run_once() == 1
    assert log.records[-1][0] == "warning" and "exit 1" in log.records[-1][1] and "violation x" in log.records[-1][1]

    missing = PeriodicChecks(seconds=10, log=log, command=["/nonexistent/closedloop"])
    assert missing.run_once() is None
    assert log.records[-1][0] == "error"

    hanging = PeriodicChecks(seconds=10, log=log, command=[sys.executable, "-c", "import time; time.sleep(30)"], timeout=1)
    assert hanging.run_once() is None
    assert "longer than 1 s" in log.records[-1][1]

    passing = PeriodicChecks(seconds=10, log=log, command=[sys.executable, "-c", "pass"])
    assert passing.run_once() == 0
    assert log.records[-1] == ("info", log.records[-1][1]) and "passed" in log.records[-1][1]


def test_periodic_thread_runs_on_its_timer():
    log = _Log()
    ran = threading.Event()
    checks = PeriodicChecks(seconds=10, log=log)
    checks.seconds = 0.05  # the setting's minimum is 10 s; the loop itself does not care
    checks.run_once = lambda: ran.set()
    checks.start()
    checks.start()  # a second start is ignored
    assert ran.wait(5)
    checks.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_end_to_end(tmp_path):
    """Start the real server: it migrates, collects static files, answers, runs the periodic check."""
    port = _free_port()
    env = cli_env(tmp_path, CLOSEDLOOP_PERIODIC_CHECK_SECONDS="10")
    proc = subprocess.Popen(
        [sys.executable, "-m", "closedloop.cli", "serve", "--port", str(port), "--workers", "1"],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        body = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    body = response.read().decode()
                    break
            except OSError:
                time.sleep(0.3)
        assert body == "ok", "".join(lines)
        output = "".join(lines)
        assert f"closedloop is starting at http://127.0.0.1:{port}/" in output
        assert (tmp_path / "closedloop.sqlite3").exists()
        assert (tmp_path / "static" / "admin" / "css" / "base.css").exists(), "collectstatic did not run"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as response:
            assert response.status == 200
        # The platform's own style sheet is served (whitenoise, from the collected files).
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/closedloop/app.css", timeout=5) as response:
            assert response.status == 200
        # The first periodic round comes after 10 s.
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not re.search(r"Periodic checks (passed|failed)", "".join(lines)):
            time.sleep(0.5)
        output = "".join(lines)
        assert "Periodic checks passed" in output, output
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, "".join(lines)

