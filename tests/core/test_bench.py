"""``closedloop bench``: the import workloads, run as an operator (and CI) runs them."""

from __future__ import annotations

import json
import os
import random
from datetime import date, timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from python_calamine import CalamineWorkbook

from closedloop.benchmarks import import_bench, roster, runner
from closedloop.lib import demo_city
from closedloop.lib.identity import parse_resident_id
from closedloop.people.models import Person
from closedloop.quarantine.models import Episode
from tests.core.cli_helpers import closedloop

RESULT_KEYS = {"workload", "scale", "db", "rows", "seconds", "rows_per_s", "floor_rows_per_s", "ratio", "target",
               "meets_target", "repeats"}
COUNT_KEYS = ("read", "created", "updated", "unchanged", "merged_in_file", "flagged", "rejected")


def _db_args() -> list[str]:
    """Bench on the database the suite runs on: a fresh one beside it for PostgreSQL."""
    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        return ["--db", "sqlite"]
    return ["--db", "postgres", "--postgres-url", f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"]


def _json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_import_prints_one_json_line_with_the_figures_and_exact_counts(tmp_path):
    out = closedloop("bench", "import", "--scale", "small", "--repeat", "1", "--rows", "300", *_db_args(),
                     data_dir=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = _json_lines(out.stdout)
    assert len(lines) == 1 and out.stdout.strip() == json.dumps(lines[0], ensure_ascii=False)
    result = lines[0]
    assert RESULT_KEYS <= result.keys()
    assert (result["workload"], result["scale"], result["rows"]) == ("import", "small", 300)
    assert result["db"] == _db_args()[1]
    counts = result["counts"]
    # 2% of 300 rows are bad, one or two of each kind; every other row is a new person.
    assert result["bad_rows"]["total"] == 6 and counts["rejected"] == 6
    assert counts["read"] == 300 == counts["created"] + counts["rejected"]
    assert counts["updated"] == counts["unchanged"] == counts["flagged"] == counts["merged_in_file"] == 0
    assert len(result["repeats"]) == 1
    rep = result["repeats"][0]
    assert rep["floor_inserted"] == {"people_person": 294, "quarantine_episode": 294}  # one episode each
    assert result["seconds"] == rep["seconds"] > 0 and result["rows_per_s"] == pytest.approx(300 / rep["seconds"], rel=0.01)
    assert result["floor_rows_per_s"] > result["rows_per_s"]  # storing alone is faster than importing
    assert result["ratio"] == rep["ratio"] == pytest.approx(rep["seconds"] / rep["floor_seconds"], rel=0.05)
    assert isinstance(result["meets_target"], bool)
    assert "40,000 rows/s" in result["target"] and "ratio <= 8" in result["target"]
    assert "repetition 1/1" in out.stderr
    assert not (tmp_path / "bench").exists() and not list(tmp_path.glob("closedloop_bench*"))


def test_all_runs_every_workload_and_writes_the_results_with_the_machine(tmp_path):
    output = tmp_path / "out" / "results.json"
    out = closedloop("bench", "all", "--rows", "200", "--repeat", "2", "--output", str(output), *_db_args(),
                     data_dir=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = _json_lines(out.stdout)
    assert [r["workload"] for r in lines] == list(runner.WORKLOADS) == ["import", "reimport", "replan", "rooms", "returns"]
    document = json.loads(output.read_text())
    assert [{k: v for k, v in r.items() if k not in ("machine", "repeat")} for r in document["results"]] == lines
    assert all(r["machine"] == document["machine"] and r["repeat"] == 2 for r in document["results"])
    m = document["machine"]
    assert m["cores"] == os.cpu_count() and m["python"].startswith("3.") and m["platform"]
    assert date.fromisoformat(m["date"][:10]) >= date.today() - timedelta(days=1)

    reimport = lines[1]
    assert RESULT_KEYS <= reimport.keys()
    assert reimport["rows_written"] == 0
    assert reimport["counts"]["created"] == reimport["counts"]["updated"] == 0
    assert reimport["counts"]["unchanged"] + reimport["counts"]["rejected"] == reimport["counts"]["read"] == 200
    assert len(reimport["repeats"]) == 2 and all(r["rows_written"] == 0 for r in reimport["repeats"])
    assert reimport["speedup"] == pytest.approx(reimport["first_import_seconds"] / reimport["seconds"], rel=0.02)
    assert reimport["meets_target"] == (reimport["speedup"] >= 2)


def test_results_file_keeps_the_latest_figure_per_workload_scale_and_database(tmp_path):
    from closedloop.core.management.commands.bench import write_results

    path = tmp_path / "results.json"
    path.write_text("not json")
    write_results(path, [{"workload": "import", "scale": "full", "db": "sqlite", "rows_per_s": 1.0}], repeat=3)
    write_results(path, [{"workload": "import", "scale": "full", "db": "postgres", "rows_per_s": 2.0}], repeat=3)
    doc = write_results(path, [{"workload": "import", "scale": "full", "db": "sqlite", "rows_per_s": 3.0}], repeat=1)
    assert json.loads(path.read_text()) == doc
    assert [(r["db"], r["rows_per_s"], r["repeat"]) for r in doc["results"]] == [("postgres", 2.0, 3), ("sqlite", 3.0, 1)]
    assert doc["machine"]["cores"] == os.cpu_count()


def test_an_unreachable_postgres_is_one_sentence_and_exit_status_1(tmp_path):
    out = closedloop("bench", "import", "--db", "postgres", "--postgres-url", "postgres://postgres@127.0.0.1:1",
                     "--rows", "10", data_dir=tmp_path, timeout=60)
    assert out.returncode == 1
    assert "PostgreSQL at postgres://postgres@127.0.0.1:1 cannot be reached" in out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_unknown_workload_is_refused(tmp_path):
    out = closedloop("bench", "nothing", data_dir=tmp_path, timeout=60)
    assert out.returncode != 0 and "invalid choice" in out.stderr


def test_every_registered_workload_resolves_to_a_function():
    import importlib

    for name, target in runner.WORKLOADS.items():
        module, _sep, function = target.partition(":")
        assert callable(getattr(importlib.import_module(module), function)), name


# --- the roster -------------------------------------------------------------------------


def test_roster_is_deterministic_realistic_and_two_percent_bad():
    today = date(2022, 8, 10)
    rows, info = roster.roster_rows(2000, seed=5, today=today)
    again, _info = roster.roster_rows(2000, seed=5, today=today)
    other, _info = roster.roster_rows(2000, seed=6, today=today)
    assert rows == again and rows != other
    assert len(rows) == 2000 and info.bad_rows == 40
    assert set(info.bad) == set(roster.BAD_KINDS) and all(n == 10 for n in info.bad.values())

    towns = {t["name"] for t in demo_city.TOWNS} | {t["name"].removesuffix("街道").removesuffix("镇")
                                                    for t in demo_city.TOWNS}
    communities = {c["name"] for t in demo_city.TOWNS for c in t["communities"]}
    good = [r for i, r in enumerate(rows) if i not in info.spoiled]
    assert len(good) == 1960
    assert all(r[6] in towns and r[7] in communities for r in rows)
    assert {r[8] for r in rows} == {"密接", "次密接"}
    # Households: several people at one address; about three people per household.
    by_address: dict[str, int] = {}
    for r in rows:
        by_address[r[5]] = by_address.get(r[5], 0) + 1
    assert max(by_address.values()) >= 4 and 2 <= len(rows) / info.households <= 4
    # Last exposures within the last week, as date cells or as text.
    exposures = [r[9] if isinstance(r[9], str) else r[9].date().isoformat() for r in good]
    readable = [e for e in exposures if "-" in e and len(e) == 10]
    assert readable and all(today - timedelta(days=7) <= date.fromisoformat(e) < today for e in readable)
    # The good ID numbers pass every check; each bad row is bad in its own way.
    for r in good:
        parse_resident_id(r[3], today=today)
    for i, kind in info.spoiled.items():
        r = rows[i]
        if kind == "bad_checksum":
            with pytest.raises(ValueError, match="does not match"):
                parse_resident_id(r[3], today=today)
        elif kind == "scientific_notation":
            assert isinstance(r[3], float) or "E+17" in r[3]
        elif kind == "future_date":
            assert date.fromisoformat(r[9]) > today
        else:
            assert r[0] == ""
    numbers = [r[3] for r in good]
    assert len(numbers) == len(set(numbers))


def test_roster_file_is_an_xlsx_with_the_header_below_a_title(tmp_path):
    info = roster.write_roster(tmp_path / "r.xlsx", rows=50, seed=1, today=date.today())
    sheet = CalamineWorkbook.from_path(str(info.path)).get_sheet_by_index(0).to_python()
    assert sheet[1] == roster.HEADERS and len(sheet) == 52
    assert not list(tmp_path.glob("*.part*"))


# --- the floor, on the suite's own database -------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_floor_inserts_exactly_what_the_import_inserted(tmp_path, settings):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    settings.CITY_CODE = demo_city.CITY_CODE
    runner.setup_city()
    info = roster.write_roster(tmp_path / "r.xlsx", rows=150, seed=random.randrange(1000), today=timezone.localdate())
    seconds, counts = import_bench.import_file(info.path)
    import_bench.check_counts(counts, info)
    before = {
        "people": sorted(Person.objects.values_list("id", "id_hash", "name", "town_id", "birth_date", "phone")),
        "episodes": sorted(Episode.objects.values_list("id", "person_id", "category", "anchor_date", "details")),
    }
    data = import_bench.floor_rows()
    import_bench.empty_registry(people_only=True)
    assert not Person.objects.exists() and not Episode.objects.exists()
    floor_seconds = import_bench.floor_insert(data)
    after = {
        "people": sorted(Person.objects.values_list("id", "id_hash", "name", "town_id", "birth_date", "phone")),
        "episodes": sorted(Episode.objects.values_list("id", "person_id", "category", "anchor_date", "details")),
    }
    assert after == before and len(before["people"]) == 150 - info.bad_rows
    assert 0 < floor_seconds < seconds
    snap = import_bench.snapshot()
    import_bench.empty_registry()
    assert import_bench.snapshot()["people"] == 0 and snap["people"] == len(before["people"])


def test_replan_workload_moves_every_episode_in_one_audited_operation(tmp_path):
    import json
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "closedloop.cli", "bench", "replan", "--rows", "300", "--repeat", "1",
         "--output", str(tmp_path / "r.json")],
        capture_output=True, text=True, timeout=300,
        env={k: v for k, v in __import__("os").environ.items() if k != "CLOSEDLOOP_DATABASE_URL"},
    )
    assert out.returncode == 0, out.stderr
    line = json.loads(out.stdout.strip().splitlines()[-1])
    assert line["workload"] == "replan" and line["episodes"] == 300 and line["meets_target"] is True
