"""``closedloop serve``: the whole platform on one machine.

Migrates the database, collects static files, prints the address (and the
demo logins, when the demo data is loaded), then serves with gunicorn. A
thread in the gunicorn master runs ``closedloop check --periodic`` every
``CLOSEDLOOP_PERIODIC_CHECK_SECONDS``; a failing check is logged and never
stops the server. In production, run the periodic command from cron or a
systemd timer instead and start with ``--no-checks``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import unicodedata

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

from closedloop.settings import env, env_int

DEMO_PREFIX = "demo-"
DEMO_PASSWORD = "closedloop-demo"
PERIODIC_COMMAND = ("check", "--periodic")


class PeriodicChecks:
    """Runs the periodic command in a subprocess on a timer, in a daemon thread.

    A subprocess, so a check that leaks memory or hangs cannot harm the server:
    it is killed after ``timeout`` seconds and the next round runs as usual.
    """

    def __init__(self, *, seconds: int, log, command: list[str] | None = None, timeout: int | None = None):
        self.seconds = seconds
        self.log = log
        self.command = command or [sys.executable, "-m", "closedloop.cli", *PERIODIC_COMMAND]
        self.timeout = timeout or max(2 * seconds, 600)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="closedloop-periodic-checks", daemon=True)
        self._thread.start()
        self.log.info("Periodic checks every %s s: closedloop %s", self.seconds, " ".join(PERIODIC_COMMAND))

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.seconds):
            self.run_once()

    def run_once(self) -> int | None:
        """One round; returns the exit status, or None when the check could not run."""
        started = time.monotonic()
        env_vars = {**os.environ, "CLOSEDLOOP_DATA_DIR": str(settings.DATA_DIR)}
        try:
            proc = subprocess.run(
                self.command, capture_output=True, text=True, timeout=self.timeout,
                stdin=subprocess.DEVNULL, env=env_vars,
            )
        except subprocess.TimeoutExpired:
            self.log.error("Periodic checks took longer than %d s and were stopped.", self.timeout)
            return None
        except Exception as exc:  # noqa: BLE001 - the server must outlive any failure here
            self.log.error("Periodic checks could not start: %s", exc)
            return None
        took = time.monotonic() - started
        output = "\n".join(part.strip() for part in (proc.stdout, proc.stderr) if part.strip())
        if proc.returncode == 0:
            self.log.info("Periodic checks passed in %.1f s.", took)
            if output:
                self.log.info("%s", output)
        else:
            lines = output.splitlines()
            shown = "\n".join(lines[-60:]) if lines else "(no output)"
            self.log.warning("Periodic checks failed (exit %d) in %.1f s:\n%s", proc.returncode, took, shown)
        return proc.returncode


def _gunicorn_application(options: dict, periodic: PeriodicChecks | None):
    from gunicorn.app.base import BaseApplication

    def when_ready(server):
        # Called once, in the master: the periodic thread never runs in a worker.
        if periodic is not None:
            periodic.log = server.log
            periodic.start()

    def on_exit(server):
        if periodic is not None:
            periodic.stop()

    config = {**options, "when_ready": when_ready, "on_exit": on_exit}

    class PlatformServer(BaseApplication):
        def load_config(self):
            for key, value in config.items():
                if key in self.cfg.settings:  # older gunicorn lacks some settings
                    self.cfg.set(key, value)

        def load(self):
            from closedloop.wsgi import application

            return application

    return PlatformServer(prog="closedloop serve")


def _display_width(text: str) -> int:
    """Columns on a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _display_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class Command(BaseCommand):
    help = "Run the platform: migrate, collect static files, then serve with gunicorn and run the periodic checks."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=None, help="Address to listen on (CLOSEDLOOP_HOST, default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=None, help="Port (CLOSEDLOOP_PORT, default 8000).")
        parser.add_argument("--workers", type=int, default=None, help="Worker processes (CLOSEDLOOP_WORKERS, default 2).")
        parser.add_argument("--no-checks", action="store_true", help="Do not run the periodic checks in the server.")

    def handle(self, *args, **options):
        host = options["host"] or env("HOST", "127.0.0.1")
        port = options["port"] if options["port"] is not None else env_int("PORT", 8000, minimum=1)
        workers = options["workers"] if options["workers"] is not None else env_int("WORKERS", 2, minimum=1)
        if not 1 <= port <= 65535:
            raise CommandError(f"Port {port} is not between 1 and 65535.")
        if workers < 1:
            raise CommandError("--workers must be at least 1.")

        self.migrate()
        call_command("collectstatic", interactive=False, verbosity=0)
        self.announce(host, port)
        # The workers open their own connections: none may be shared across fork.
        connections.close_all()

        periodic = None
        if not options["no_checks"]:
            import logging

            periodic = PeriodicChecks(seconds=settings.PERIODIC_CHECK_SECONDS, log=logging.getLogger("closedloop.serve"))
        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        server_options = {
            "bind": [bind],
            "workers": workers,
            "threads": 4,
            "worker_class": "gthread",
            "timeout": 120,
            "graceful_timeout": 30,
            "proc_name": "closedloop",
            "errorlog": "-",
            "loglevel": "info",
            "accesslog": env("ACCESS_LOG"),  # a path, or "-" for the terminal; unset: none
            "control_socket_disable": True,
        }
        _gunicorn_application(server_options, periodic).run()

    def migrate(self) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        try:
            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except DatabaseError as exc:
            raise CommandError(f"The database cannot be reached: {exc}".strip()) from None
        if pending:
            self.stdout.write(f"Applying {len(pending)} database migration(s)…")
        call_command("migrate", interactive=False, verbosity=0)

    def announce(self, host: str, port: int) -> None:
        from closedloop.core.models import User

        address = f"http://{_display_host(host)}:{port}/"
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"closedloop is starting at {address}"))
        if host in ("0.0.0.0", "::"):
            self.stdout.write(
                "Listening on every address; other machines reach it once their host name is in "
                "CLOSEDLOOP_ALLOWED_HOSTS."
            )
        demo_users = list(
            User.objects.filter(username__startswith=DEMO_PREFIX, is_active=True).order_by("username")
        )
        if demo_users:
            width = max(len(u.username) for u in demo_users)
            role_width = max(_display_width(str(u.get_role_display())) for u in demo_users)
            self.stdout.write("")
            self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
            for user in demo_users:
                role = str(user.get_role_display())
                role += " " * (role_width - _display_width(role))
                self.stdout.write(f"  {user.username:<{width}}  {role}  {user.full_name}".rstrip())
        self.stdout.write("")
        self.stdout.flush()
