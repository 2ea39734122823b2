"""``bench returns``: bring 20,000 people home from 120 sites in 10 cities, with 60 coaches and 8 lanes.

The planner is pure (``closedloop.planning.returns``): no database. Four seeded instances
(``generate.py``, not timed): the base (the stages close to balanced) and one each where the coach
fleet, the station lanes or the district shuttles are the bottleneck. For each:

- timed, ``--repeat`` times (median): ``planner.plan`` — the whole plan, lower bound included;
- the floor, timed beside it: the simple greedy plan of the benchmark spec (``greedy.py``);
- not timed: the independent validator on the plan, and on the greedy plan.

Reported per instance: ``seconds``, ``makespan``, ``lower_bound``, ``greedy_makespan``,
``greedy_seconds``, ``makespan_over_bound``, ``makespan_over_greedy`` and ``gap_closed`` =
(greedy - plan) / (greedy - bound) (1.0 when the greedy plan already meets the bound). At the top:
the base instance's figures. The workload fails (``BenchError``) if a plan breaks a rule, is worse
than the greedy plan, or its bound is above its makespan. ``meets_target``: the base plan within
10 s, and every bottleneck instance with at least half of greedy's gap closed.
"""

from __future__ import annotations

import time

from closedloop.benchmarks.runner import Bench, BenchError, median
from closedloop.planning.returns import instance as inst
from closedloop.planning.returns.generate import BOTTLENECKS, generate
from closedloop.planning.returns.greedy import greedy
from closedloop.planning.returns.planner import plan
from closedloop.planning.returns.validate import check

SCALES = {"small": 2_000, "full": 20_000}  # people
TARGET_SECONDS = 10
TARGET_GAP_CLOSED = 0.5


def measure_returns(bench: Bench) -> dict:
    people = bench.size(SCALES)
    instances = {}
    for bottleneck in BOTTLENECKS:
        name = bottleneck or "base"
        instances[name] = _measure(bench, name, generate(people, bottleneck=bottleneck))
    base = instances["base"]
    meets = base["seconds"] <= TARGET_SECONDS and all(
        r["gap_closed"] >= TARGET_GAP_CLOSED for name, r in instances.items() if name != "base")
    return {
        "people": people, "groups": base["groups"], "origins": base["origins"], "coaches": base["coaches"],
        "lanes": base["lanes"],
        **{k: base[k] for k in ("seconds", "makespan", "lower_bound", "greedy_makespan", "makespan_over_bound",
                                "makespan_over_greedy", "gap_closed")},
        "instances": instances,
        "target": f"<= {TARGET_SECONDS} s; never worse than greedy; closes >= {TARGET_GAP_CLOSED:.0%} of greedy's gap "
                  "to the bound where the fleet, lanes or shuttles bind",
        "meets_target": meets,
    }


def _measure(bench: Bench, name: str, data: dict) -> dict:
    instance = inst.parse(data)
    bench.note(f"{name}: {instance.people:,} people in {instance.group_count:,} groups at {len(instance.origins)} "
               f"origins, {instance.coaches.count} coaches, {instance.station.lanes} lanes (generated, not timed)")
    repeats, floor_repeats, made, floor = [], [], None, None
    for i in range(bench.repeat):
        started = time.perf_counter()
        with bench.profiled(i if name == "base" else -1):
            made = plan(instance)
        repeats.append(round(time.perf_counter() - started, 4))
        started = time.perf_counter()
        floor = greedy(instance, bound=made.lower_bound)
        floor_repeats.append(round(time.perf_counter() - started, 4))
        bench.note(f"{name} {i + 1}/{bench.repeat}: {repeats[-1]:.2f} s, makespan {made.makespan} "
                   f"(greedy {floor.makespan}, bound {made.lower_bound})")
    for who, p in (("plan", made), ("greedy plan", floor)):
        violations = check(data, p.to_dict())
        if violations:
            shown = "; ".join(str(v) for v in violations[:5])
            raise BenchError(f"{name}: the {who} breaks {len(violations)} rule(s): {shown}")
    if made.makespan > floor.makespan:
        raise BenchError(f"{name}: the plan (makespan {made.makespan}) is worse than greedy ({floor.makespan}).")
    gap = floor.makespan - made.lower_bound
    return {
        "groups": instance.group_count, "origins": len(instance.origins), "coaches": instance.coaches.count,
        "lanes": instance.station.lanes, "shuttles": sum(d.shuttles for d in instance.districts),
        "seconds": round(median(repeats), 4), "makespan": made.makespan, "lower_bound": made.lower_bound,
        "greedy_makespan": floor.makespan, "greedy_seconds": round(median(floor_repeats), 4),
        "makespan_over_bound": round(made.makespan / made.lower_bound, 4) if made.lower_bound else 1.0,
        "makespan_over_greedy": round(made.makespan / floor.makespan, 4) if floor.makespan else 1.0,
        "gap_closed": round((floor.makespan - made.makespan) / gap, 4) if gap > 0 else 1.0,
        "method": made.stats.get("method"), "repeats": repeats,
    }
