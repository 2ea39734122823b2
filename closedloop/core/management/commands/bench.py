"""``closedloop bench``: run a benchmark workload on a fresh database.

    closedloop bench WORKLOAD [--scale small|full] [--db sqlite|postgres] [--repeat N] [--output FILE]

WORKLOAD is one of the registered workloads (``closedloop.benchmarks.runner.
WORKLOADS``) or ``all``. Each workload runs in a child process on a fresh
database in a temporary directory (for PostgreSQL a fresh database
``closedloop_bench_<pid>``, dropped afterwards) and prints one JSON object on
one line. ``all`` runs every workload and writes the results, with the
machine they ran on, to ``bench/results.json`` (or ``--output``). Exit status
0 when every workload ran (a missed target is in the JSON, not the status), 1
when one failed. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from closedloop.benchmarks.runner import (
    DATABASES,
    DEFAULT_POSTGRES_URL,
    SCALES,
    WORKLOADS,
    Bench,
    BenchError,
    machine,
    run_worker,
    run_workload,
    work_directory,
)

DEFAULT_OUTPUT = Path("bench/results.json")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def write_results(path: Path, results: list[dict], *, repeat: int) -> dict:
    """Merge these results into the file: the latest figure per workload, scale and database
    (so one file holds SQLite's and PostgreSQL's), each with the machine it ran on."""
    here = machine()
    kept: list[dict] = []
    try:
        previous = json.loads(path.read_text())
        kept = [r for r in previous.get("results", []) if isinstance(r, dict)]
    except (OSError, ValueError, AttributeError):
        pass  # no file yet, or not ours: start afresh

    def key(r: dict) -> tuple:
        return r.get("workload"), r.get("scale"), r.get("db")

    fresh = [{**r, "repeat": repeat, "machine": here} for r in results]
    replaced = {key(r) for r in fresh}
    document = {"machine": here, "results": [r for r in kept if key(r) not in replaced] + fresh}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    return document


class Command(BaseCommand):
    help = "Runs a benchmark workload on a fresh database and prints one JSON line per workload (see bench/README.md)."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("workload", choices=[*WORKLOADS, "all"], help="What to measure; all runs every workload.")
        parser.add_argument("--scale", choices=SCALES, default="small",
                            help="small finishes in under a minute; full is what the figures are quoted from.")
        parser.add_argument("--db", choices=DATABASES, default="sqlite", help="The database to measure on.")
        parser.add_argument("--repeat", type=_positive, default=3, help="Repetitions; the median is reported.")
        parser.add_argument("--output", type=Path,
                            help=f"Merge the results, with the machine, into this file (all: default {DEFAULT_OUTPUT}).")
        parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL,
                            help="Server where --db postgres creates its fresh database.")
        parser.add_argument("--workdir", type=Path,
                            help="Keep the generated inputs here for the next run instead of a temporary directory.")
        parser.add_argument("--profile", type=Path,
                            help="Write a cProfile of the first repetition to this file (one workload only).")
        # Internal: the child process, and smaller inputs for the test suite.
        parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
        parser.add_argument("--rows", type=_positive, help=argparse.SUPPRESS)

    def handle(self, *args, **opts):
        if opts["worker"]:
            return self._worker(opts)
        names = list(WORKLOADS) if opts["workload"] == "all" else [opts["workload"]]
        if opts["profile"] and len(names) > 1:
            raise CommandError("--profile profiles one workload; name it instead of all.")
        output = opts["output"] or (DEFAULT_OUTPUT if opts["workload"] == "all" else None)
        results, failed = [], []
        with work_directory(opts["workdir"]) as workdir:
            for name in names:
                self.stderr.write(f"closedloop bench {name} (scale {opts['scale']}, {opts['db']}, "
                                  f"{opts['repeat']} repetitions)")
                try:
                    result = run_workload(
                        name, scale=opts["scale"], db=opts["db"], repeat=opts["repeat"], workdir=workdir,
                        rows=opts["rows"], postgres_url=opts["postgres_url"], profile=opts["profile"],
                    )
                except BenchError as exc:
                    self.stderr.write(f"closedloop bench {name}: {exc}")
                    failed.append(name)
                    results.append({"workload": name, "scale": opts["scale"], "db": opts["db"], "error": str(exc)})
                    continue
                results.append(result)
                self.stdout.write(json.dumps(result, ensure_ascii=False))
                self.stdout.flush()
        if output is not None:
            write_results(output, results, repeat=opts["repeat"])
            self.stderr.write(f"results written to {output}")
        if failed:
            raise CommandError(f"{len(failed)} workload(s) failed: {', '.join(failed)}.")

    def _worker(self, opts):
        if opts["workload"] == "all":
            raise CommandError("A worker runs one workload.")
        bench = Bench(workload=opts["workload"], scale=opts["scale"], db=opts["db"], repeat=opts["repeat"],
                      workdir=opts["workdir"] or Path.cwd(), rows=opts["rows"], profile=opts["profile"])
        try:
            result = run_worker(bench)
        except BenchError as exc:
            self.stderr.write(f"closedloop bench {bench.workload}: {exc}")
            sys.exit(1)
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        sys.stdout.flush()
