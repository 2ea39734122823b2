"""``bench returns``: the figures it reports, and the failures it refuses to report as figures."""

from __future__ import annotations

from dataclasses import replace

import pytest

from closedloop.benchmarks import returns_bench
from closedloop.benchmarks.runner import WORKLOADS, Bench, BenchError
from closedloop.planning.returns.greedy import greedy


def bench(tmp_path, rows: int = 400, repeat: int = 2) -> Bench:
    return Bench(workload="returns", scale="small", db="sqlite", repeat=repeat, workdir=tmp_path, rows=rows)


def test_it_is_a_workload():
    assert WORKLOADS["returns"] == "closedloop.benchmarks.returns_bench:measure_returns"


def test_it_reports_the_plan_the_bound_and_greedy_for_each_bottleneck(tmp_path):
    result = returns_bench.measure_returns(bench(tmp_path))
    assert result["people"] == 400 and set(result["instances"]) == {"base", "fleet", "lanes", "shuttles"}
    for name, r in result["instances"].items():
        assert r["lower_bound"] <= r["makespan"] <= r["greedy_makespan"], name
        assert len(r["repeats"]) == 2 and r["seconds"] > 0 and r["greedy_seconds"] > 0
        gap = r["greedy_makespan"] - r["lower_bound"]
        closed = (r["greedy_makespan"] - r["makespan"]) / gap if gap else 1.0
        assert r["gap_closed"] == pytest.approx(closed, abs=1e-4)
        assert r["makespan_over_bound"] == pytest.approx(r["makespan"] / r["lower_bound"], abs=1e-4)
    assert result["makespan"] == result["instances"]["base"]["makespan"]
    assert result["meets_target"] == (result["seconds"] <= 10 and all(
        r["gap_closed"] >= 0.5 for name, r in result["instances"].items() if name != "base"))


def test_a_plan_that_breaks_a_rule_fails_the_workload(tmp_path, monkeypatch):
    def sloppy(instance, **kwargs):
        made = greedy(instance)
        trips = list(made.coach_trips)
        trips[0] = replace(trips[0], arrive_station=trips[0].arrive_station - 1)
        return replace(made, coach_trips=tuple(trips))

    monkeypatch.setattr(returns_bench, "plan", sloppy)
    with pytest.raises(BenchError, match=r"base: the plan breaks \d+ rule"):
        returns_bench.measure_returns(bench(tmp_path, rows=200, repeat=1))


def test_a_plan_worse_than_greedy_fails_the_workload(tmp_path, monkeypatch):
    def slow(instance, **kwargs):  # everything a day later than greedy does it: valid, but worse
        made = greedy(instance)
        late = 1440
        return replace(
            made,
            coach_trips=tuple(replace(t, start=t.start + late, depart_origin=t.depart_origin + late,
                                      arrive_station=t.arrive_station + late) for t in made.coach_trips),
            station=tuple(replace(b, start=b.start + late, end=b.end + late) for b in made.station),
            shuttle_trips=tuple(replace(t, depart=t.depart + late, arrive=t.arrive + late)
                                for t in made.shuttle_trips))

    monkeypatch.setattr(returns_bench, "plan", slow)
    with pytest.raises(BenchError, match="is worse than greedy"):
        returns_bench.measure_returns(bench(tmp_path, rows=200, repeat=1))
