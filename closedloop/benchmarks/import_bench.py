"""The ``import`` and ``reimport`` workloads: a roster of close contacts into the registry.

``import``: the whole roster (100,000 rows at full scale, 2% bad) into an
empty registry, timed from ``import_run_create`` (read the file, find the
layout, keep a copy, record the run) to the end of ``import_run_execute``
(check every row, de-duplicate, commit in batches, audit). Beside it, in the
same process and on the same data, the **floor**: the rows the import
inserted (people and their episodes, read back as the database adapter gets
them) inserted again into the emptied tables with plain DB-API
``executemany`` in one transaction (SQLite) or ``COPY`` (PostgreSQL). The
ratio import time / floor time says how many times the import costs what
merely storing its output costs.

``reimport``: the same file again into the registry that already holds it.
It must write no row (no person, episode, contact history, household or
match review created or changed); the workload fails if one is.
"""

from __future__ import annotations

import gc
import json
import shutil
import time
from datetime import date
from pathlib import Path

from closedloop.benchmarks.roster import BAD_KINDS, SCALES, RosterInfo, write_roster
from closedloop.benchmarks.runner import Bench, BenchError, median, rate

SEED = 2022
IMPORT_TARGET_RATE = 40_000  # rows/s on SQLite
IMPORT_TARGET_RATIO = 8
REIMPORT_TARGET_SPEEDUP = 2
WARM_UP_ROWS = 200
COUNT_KEYS = ("read", "created", "updated", "unchanged", "merged_in_file", "flagged", "rejected")


def _today() -> date:
    """The import's today (local time of the platform), which decides what is a future date."""
    from django.utils import timezone

    return timezone.localdate()


# --- the roster -----------------------------------------------------------------------


def roster_for(bench: Bench) -> RosterInfo:
    """The roster of this size, made once per run and cached in the run's directory."""
    rows, today = bench.size(SCALES), _today()
    path = bench.workdir / f"roster-{rows}-seed{SEED}-{today.isoformat()}.xlsx"
    sidecar = path.with_suffix(".json")
    if path.exists() and sidecar.exists():
        saved = json.loads(sidecar.read_text())
        info = RosterInfo(path=path, rows=saved["rows"], seed=saved["seed"], today=today,
                          households=saved["households"])
        info.bad.update(saved["bad"])
        return info
    bench.note(f"writing a roster of {rows:,} rows")
    started = time.perf_counter()
    info = write_roster(path, rows=rows, seed=SEED, today=today)
    sidecar.write_text(json.dumps({"rows": info.rows, "seed": info.seed, "households": info.households,
                                   "bad": dict(info.bad)}))
    bench.note(f"roster written in {time.perf_counter() - started:.1f} s")
    return info


def warm_up(bench: Bench) -> None:
    """Import a small other roster once, untimed: the figures are of a warm process, not of
    loading the pinyin dictionary and the phone metadata on first use."""
    path = bench.workdir / f"warm-up-{_today().isoformat()}.xlsx"
    if not path.exists():
        write_roster(path, rows=WARM_UP_ROWS, seed=SEED + 1, today=_today())
    empty_registry()
    import_file(path)
    empty_registry()


# --- the registry ---------------------------------------------------------------------


def _models():
    from closedloop.people.models import Household, ImportRun, MatchReview, Person, PersonContactHistory
    from closedloop.quarantine.models import Episode

    return Episode, MatchReview, PersonContactHistory, Person, Household, ImportRun


def snapshot() -> dict:
    """Row counts and the latest change of every table an import writes."""
    from django.db.models import Max

    Episode, MatchReview, PersonContactHistory, Person, Household, _ImportRun = _models()
    return {
        "people": Person.objects.count(),
        "episodes": Episode.objects.count(),
        "contact_history": PersonContactHistory.objects.count(),
        "households": Household.objects.count(),
        "match_reviews": MatchReview.objects.count(),
        "people_last_change": str(Person.objects.aggregate(m=Max("updated_at"))["m"]),
    }


def empty_registry(*, people_only: bool = False) -> None:
    """Empty what an import writes (untimed). ``people_only`` keeps imports and households (for the floor)."""
    from django.conf import settings
    from django.db import connection

    models = _models()
    tables = [m._meta.db_table for m in (models[:4] if people_only else models)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        else:
            for table in tables:  # children before parents: the foreign keys hold throughout
                cursor.execute(f'DELETE FROM "{table}"')
        if not people_only:
            cursor.execute("DELETE FROM core_auditevent WHERE action LIKE %s", ["import.%"])
        if connection.vendor == "postgresql":
            cursor.execute(f"VACUUM ANALYZE {', '.join(tables)}")
        else:
            cursor.execute("VACUUM")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if not people_only:
        shutil.rmtree(settings.UPLOAD_DIR, ignore_errors=True)  # the kept copy of the file goes too
    gc.collect()


def import_file(path: Path):
    """One timed import of the whole file; (seconds, counts)."""
    from closedloop.people.importing.engine import import_run_create, import_run_execute

    gc.collect()
    started = time.perf_counter()
    run, table = import_run_create(path=path, file_name=path.name, actor=None)
    state = import_run_execute(run=run, actor=None, table=table)
    seconds = time.perf_counter() - started
    return seconds, {k: state.counts.get(k, 0) for k in COUNT_KEYS}


def check_counts(counts: dict, info: RosterInfo) -> None:
    if counts["read"] != info.rows or counts["rejected"] != info.bad_rows:
        raise BenchError(f"The import read {counts['read']} rows and rejected {counts['rejected']}; the roster has "
                         f"{info.rows} rows of which {info.bad_rows} are bad: {counts}")
    if sum(counts[k] for k in COUNT_KEYS[1:]) != counts["read"]:
        raise BenchError(f"The import's counts do not add up to the rows read: {counts}")


# --- the floor ------------------------------------------------------------------------


def floor_rows() -> list[tuple[str, list[str], list[tuple]]]:
    """What the import inserted, as the database adapter is handed it: (table, columns, rows)."""
    from django.db import connection

    Episode, _r, _h, Person, _hh, _i = _models()
    result = []
    for model in (Person, Episode):
        fields = model._meta.concrete_fields
        rows = [
            tuple(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields)
            for obj in model.objects.order_by("pk").iterator(chunk_size=5000)
        ]
        result.append((model._meta.db_table, [f.column for f in fields], rows))
    return result


def floor_insert(data: list[tuple[str, list[str], list[tuple]]]) -> float:
    """Insert the rows with plain DB-API calls in one transaction; the seconds it took."""
    from django.db import connection, transaction

    connection.ensure_connection()
    gc.collect()
    started = time.perf_counter()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as wrapper:
                cursor = wrapper.cursor  # the psycopg cursor itself
                for table, columns, rows in data:
                    with cursor.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy:
                        for row in rows:
                            copy.write_row(row)
        else:
            cursor = connection.connection.cursor()  # the sqlite3 cursor itself
            for table, columns, rows in data:
                marks = ", ".join("?" * len(columns))
                cursor.executemany(f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({marks})', rows)
            cursor.close()
    return time.perf_counter() - started


# --- the workloads ----------------------------------------------------------------------


def measure_import(bench: Bench) -> dict:
    info = roster_for(bench)
    warm_up(bench)
    repeats = []
    for i in range(bench.repeat):
        empty_registry()
        with bench.profiled(i):
            seconds, counts = import_file(info.path)
        check_counts(counts, info)
        data = floor_rows()
        inserted = {table: len(rows) for table, _c, rows in data}
        empty_registry(people_only=True)
        floor_seconds = floor_insert(data)
        after = snapshot()
        if (after["people"], after["episodes"]) != tuple(inserted.values()):
            raise BenchError(f"The floor inserted {after} rows, not {inserted}.")
        del data
        repeats.append({
            "seconds": round(seconds, 4), "rows_per_s": rate(info.rows, seconds),
            "floor_seconds": round(floor_seconds, 4), "floor_rows_per_s": rate(info.rows, floor_seconds),
            "ratio": round(seconds / floor_seconds, 2), "counts": counts, "floor_inserted": inserted,
        })
        bench.note(f"repetition {i + 1}/{bench.repeat}: {seconds:.2f} s, {rate(info.rows, seconds):,.0f} rows/s, "
                   f"floor {floor_seconds:.2f} s, ratio {seconds / floor_seconds:.1f}")
    seconds = median(r["seconds"] for r in repeats)
    floor_seconds = median(r["floor_seconds"] for r in repeats)
    ratio = median(r["ratio"] for r in repeats)  # each repetition's own ratio: the drift cancels in a pair
    rows_per_s = rate(info.rows, seconds)
    meets = ratio <= IMPORT_TARGET_RATIO and (bench.db != "sqlite" or rows_per_s >= IMPORT_TARGET_RATE)
    return {
        "rows": info.rows, "seconds": round(seconds, 4), "rows_per_s": rows_per_s,
        "floor_seconds": round(floor_seconds, 4), "floor_rows_per_s": rate(info.rows, floor_seconds),
        "ratio": round(ratio, 2),
        "target": f">= {IMPORT_TARGET_RATE:,} rows/s on SQLite (validation, de-duplication and audit included); "
                  f"ratio <= {IMPORT_TARGET_RATIO}",
        "meets_target": meets, "counts": repeats[-1]["counts"], "bad_rows": _bad(info),
        "households": info.households, "repeats": repeats,
    }


def measure_reimport(bench: Bench) -> dict:
    info = roster_for(bench)
    warm_up(bench)
    first_seconds, first_counts = import_file(info.path)
    check_counts(first_counts, info)
    before = snapshot()
    bench.note(f"first import: {first_seconds:.2f} s, {rate(info.rows, first_seconds):,.0f} rows/s")
    repeats = []
    for i in range(bench.repeat):
        with bench.profiled(i):
            seconds, counts = import_file(info.path)
        after = snapshot()
        changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
        if changed or counts["created"] or counts["updated"]:
            raise BenchError(f"Re-importing the same file wrote rows: counts {counts}, changed {changed}.")
        if counts["read"] != info.rows or counts["rejected"] != info.bad_rows:
            raise BenchError(f"The re-import read or rejected other rows than the first import: {counts}")
        repeats.append({"seconds": round(seconds, 4), "rows_per_s": rate(info.rows, seconds), "counts": counts,
                        "rows_written": 0})
        bench.note(f"re-import {i + 1}/{bench.repeat}: {seconds:.2f} s, {rate(info.rows, seconds):,.0f} rows/s")
    seconds = median(r["seconds"] for r in repeats)
    rows_per_s, first_rate = rate(info.rows, seconds), rate(info.rows, first_seconds)
    speedup = first_seconds / seconds if seconds else 0.0
    return {
        "rows": info.rows, "seconds": round(seconds, 4), "rows_per_s": rows_per_s,
        "floor_rows_per_s": None, "ratio": None,
        "first_import_seconds": round(first_seconds, 4), "first_import_rows_per_s": first_rate,
        "speedup": round(speedup, 2),
        "target": f">= {REIMPORT_TARGET_SPEEDUP}x the first import's rate; no row written",
        "meets_target": speedup >= REIMPORT_TARGET_SPEEDUP, "rows_written": 0,
        "counts": repeats[-1]["counts"], "bad_rows": _bad(info), "repeats": repeats,
    }


def _bad(info: RosterInfo) -> dict:
    return {"total": info.bad_rows, **{k: info.bad.get(k, 0) for k in BAD_KINDS}}
