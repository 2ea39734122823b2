"""Running a benchmark workload on a fresh database, in a child process.

The parent (``closedloop bench``) makes a temporary directory, creates a fresh
PostgreSQL database when asked, and starts ``closedloop bench WORKLOAD
--worker`` with ``CLOSEDLOOP_DATA_DIR`` (and ``CLOSEDLOOP_DATABASE_URL``)
pointing there. The child migrates quietly, sets up the demo city's
jurisdictions, measures, and prints its result as one JSON line. The parent
drops the database afterwards, even when the child failed.

A workload is one entry in ``WORKLOADS``: its name and the dotted path of a
function ``measure(bench: Bench) -> dict`` run in the child on the fresh
database. The dict it returns is the JSON line, less ``workload``, ``scale``
and ``db``, which the runner adds.
"""

from __future__ import annotations

import contextlib
import cProfile
import importlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

# name -> "module:function". Adding a workload is adding a line here.
WORKLOADS: dict[str, str] = {
    "import": "closedloop.benchmarks.import_bench:measure_import",
    "reimport": "closedloop.benchmarks.import_bench:measure_reimport",
    "replan": "closedloop.benchmarks.replan_bench:measure_replan",
    "rooms": "closedloop.benchmarks.rooms_bench:measure_rooms",
    "returns": "closedloop.benchmarks.returns_bench:measure_returns",
}
SCALES = ("small", "full")
DATABASES = ("sqlite", "postgres")
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432"


class BenchError(Exception):
    """A workload could not run, or measured something wrong (e.g. a re-import wrote rows)."""


@dataclass
class Bench:
    """What a workload gets in the child process."""

    workload: str
    scale: str
    db: str
    repeat: int
    workdir: Path  # shared by the workloads of one run: cached inputs live here
    rows: int | None = None  # overrides the scale's size (for tests)
    profile: Path | None = None

    def size(self, scales: dict[str, int]) -> int:
        return self.rows if self.rows else scales[self.scale]

    def note(self, message: str) -> None:
        print(f"  {self.workload}: {message}", file=sys.stderr, flush=True)

    def profiled(self, repetition: int):
        """Profile the first repetition with cProfile when ``--profile`` is given."""
        if self.profile is None or repetition != 0:
            return contextlib.nullcontext()
        return _Profiled(self.profile)


class _Profiled:
    def __init__(self, path: Path):
        self.path, self.profiler = path, cProfile.Profile()

    def __enter__(self):
        self.profiler.enable()

    def __exit__(self, *exc):
        self.profiler.disable()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.profiler.dump_stats(str(self.path))
        return False


def median(values) -> float:
    return statistics.median(values) if values else 0.0


def rate(rows: int, seconds: float) -> float:
    return round(rows / seconds, 1) if seconds > 0 else 0.0


def machine() -> dict:
    """What the figures were measured on."""
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    return {
        "cores": os.cpu_count(), "cpu": cpu, "memory_gib": memory, "platform": platform.platform(),
        "python": platform.python_version(), "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# --- the parent ------------------------------------------------------------------------


def run_workload(
    name: str, *, scale: str, db: str, repeat: int, workdir: Path, rows: int | None = None,
    postgres_url: str = DEFAULT_POSTGRES_URL, profile: Path | None = None,
) -> dict:
    """Run one workload in a child process on a fresh database; return its JSON result."""
    if name not in WORKLOADS:
        raise BenchError(f"There is no workload named {name!r}; choose from {', '.join(WORKLOADS)}.")
    data_dir = workdir / f"data-{name}-{db}"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    env = _child_env(data_dir)
    dbname = None
    try:
        if db == "postgres":
            dbname = f"closedloop_bench_{os.getpid()}"
            _postgres_create(postgres_url, dbname)
            env["CLOSEDLOOP_DATABASE_URL"] = f"{postgres_url.rstrip('/')}/{dbname}"
        args = [sys.executable, "-m", "closedloop.cli", "bench", name, "--worker", "--scale", scale, "--db", db,
                "--repeat", str(repeat), "--workdir", str(workdir)]
        if rows:
            args += ["--rows", str(rows)]
        if profile:
            args += ["--profile", str(profile.resolve())]
        child = subprocess.run(args, env=env, cwd=data_dir, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                               text=True)
        lines = [line for line in child.stdout.splitlines() if line.startswith("{")]
        if child.returncode != 0 or not lines:
            raise BenchError(f"The {name} workload failed (exit status {child.returncode}); see the messages above.")
        return json.loads(lines[-1])
    finally:
        if dbname:
            _postgres_drop(postgres_url, dbname)
        shutil.rmtree(data_dir, ignore_errors=True)


def _child_env(data_dir: Path) -> dict[str, str]:
    import closedloop

    env = {k: v for k, v in os.environ.items()
           if k not in {"CLOSEDLOOP_DATA_DIR", "CLOSEDLOOP_DATABASE_URL", "CLOSEDLOOP_CITY_CODE",
                        "DJANGO_SETTINGS_MODULE"}}
    from closedloop.lib.demo_city import CITY_CODE

    env["CLOSEDLOOP_DATA_DIR"] = str(data_dir)
    env["CLOSEDLOOP_CITY_CODE"] = CITY_CODE
    # The child imports the same closedloop as this process, installed or not.
    source = str(Path(closedloop.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH", "")]))
    return env


def _postgres_admin(url: str):
    import psycopg

    try:
        return psycopg.connect(f"{url.rstrip('/')}/postgres", autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise BenchError(f"PostgreSQL at {url} cannot be reached: {str(exc).strip()}") from None


def _postgres_create(url: str, dbname: str) -> None:
    with _postgres_admin(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{dbname}"')


def _postgres_drop(url: str, dbname: str) -> None:
    try:
        with _postgres_admin(url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    except Exception as exc:  # never hide the workload's own error behind this one
        print(f"closedloop bench: could not drop the database {dbname}: {exc}", file=sys.stderr)


@contextlib.contextmanager
def work_directory(keep: Path | None):
    """The run's temporary directory (removed afterwards), or a kept one given by the operator."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep.resolve()
        return
    path = Path(tempfile.mkdtemp(prefix="closedloop-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- the child ---------------------------------------------------------------------------


def run_worker(bench: Bench) -> dict:
    """In the child: migrate the fresh database, set up the city, measure."""
    from django.core.management import call_command

    template = _sqlite_template(bench.workdir)
    if template is not None and template.exists():
        _sqlite_restore(template)  # a copy of a database migrated earlier in this run: seconds saved per workload
    call_command("migrate", verbosity=0, interactive=False)  # applies what the copy lacks, if anything
    setup_city()
    if template is not None and not template.exists():
        _sqlite_save(template)
    module, _sep, function = WORKLOADS[bench.workload].partition(":")
    measure = getattr(importlib.import_module(module), function)
    result = measure(bench)
    return {"workload": bench.workload, "scale": bench.scale, "db": bench.db, **result}


def setup_city() -> None:
    """The demo city, its towns and streets and their communities (no people)."""
    from closedloop.core.actions import jurisdiction_create
    from closedloop.core.models import Jurisdiction
    from closedloop.lib import demo_city

    if Jurisdiction.objects.filter(code=demo_city.CITY_CODE).exists():
        return
    city = jurisdiction_create(code=demo_city.CITY_CODE, name=demo_city.CITY_NAME, name_en=demo_city.CITY_NAME_EN,
                               level="city", actor=None)
    for t in demo_city.TOWNS:
        town = jurisdiction_create(code=t["code"], name=t["name"], name_en=t["name_en"], level="town", parent=city,
                                   actor=None)
        for c in t["communities"]:
            jurisdiction_create(code=c["code"], name=c["name"], name_en=c["name_en"], level="community",
                                parent=town, actor=None)


def _sqlite_template(workdir: Path) -> Path | None:
    """Where this run keeps a migrated SQLite database with the city, named by the migrations' contents."""
    import hashlib

    from django.apps import apps
    from django.db import connection

    if connection.vendor != "sqlite":
        return None
    digest = hashlib.sha256()
    for app in sorted(apps.get_app_configs(), key=lambda a: a.label):
        folder = Path(app.path) / "migrations"
        for path in sorted(folder.glob("*.py")) if folder.is_dir() else ():
            digest.update(path.name.encode() + path.read_bytes())
    return workdir / f"migrated-{digest.hexdigest()[:16]}.sqlite3"


def _sqlite_restore(template: Path) -> None:
    from django.db import connection

    target = Path(connection.settings_dict["NAME"])
    connection.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, target)


def _sqlite_save(template: Path) -> None:
    import sqlite3

    from django.db import connection

    connection.ensure_connection()
    partial = template.with_name(template.name + ".part")
    destination = sqlite3.connect(partial)
    try:
        connection.connection.backup(destination)  # a consistent copy, whatever sits in the WAL
    finally:
        destination.close()
    partial.replace(template)
