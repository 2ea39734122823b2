"""Seeded returns-planning instances for the tests and ``closedloop bench returns``.

``generate(people)`` builds a believable instance of the benchmark's shape: at 20,000 people,
120 origins (isolation sites) in 10 other cities 60–300 minutes away, 60 coaches of 45 seats at a
load of 0.5 (22 people), a station of 8 lanes, and one district per town of the demo city
(``closedloop.lib.demo_city``), its share of the people following the town's weight. People come in
households of 1–5 (most 1–3); each site releases them at its own hours over several days. Smaller
``people`` scale the origins, coaches and lanes down in proportion (at least 2 origins, 1 coach,
1 lane).

``bottleneck`` picks which stage binds: ``None`` (the base: the stages close to balanced), or
``"fleet"``, ``"lanes"``, ``"shuttles"`` — that stage gets about half the capacity the base gives
it, the others stay ample, so the best plan is set by that stage. Same arguments, same instance.
"""

from __future__ import annotations

import math
import random

from closedloop.lib import demo_city
from closedloop.planning.returns.instance import FORMAT

SEED = 20220821
BOTTLENECKS = (None, "fleet", "lanes", "shuttles")

# (city, travel minutes from the station to its centre)
CITIES = (
    ("Hangzhou", 110), ("Shanghai", 270), ("Ningbo", 180), ("Wenzhou", 200), ("Jinhua", 60),
    ("Shaoxing", 120), ("Taizhou", 150), ("Quzhou", 95), ("Lishui", 130), ("Suzhou", 240),
)
HOUSEHOLD_SIZES = {1: 30, 2: 30, 3: 22, 4: 12, 5: 6}
RELEASE_HOURS = (8, 10, 14, 16)  # a site releases at one or two of these hours a day
DAYS = 4
EPOCH = "2022-08-21T06:00:00+08:00"  # minute 0; minute 120 is 08:00 on the first day


def generate(people: int = 20_000, *, bottleneck: str | None = None, seed: int = SEED,
             origins: int | None = None, coaches: int | None = None, lanes: int | None = None) -> dict:
    """The JSON of an instance (``closedloop.returns-instance/1``) with ``people`` people."""
    if bottleneck not in BOTTLENECKS:
        raise ValueError(f"bottleneck must be one of {BOTTLENECKS}")
    rng = random.Random(f"{seed}/{people}")  # the same people whatever the bottleneck
    scale = people / 20_000
    n_origins = origins or max(2, round(120 * scale))
    n_coaches = coaches or max(1, round(60 * scale))
    n_lanes = lanes or max(1, round(8 * scale))
    minutes_per_person = 2

    # Origins: a city each (round robin, so every city has sites), travel near the city's, a size weight.
    sites = []
    for i in range(n_origins):
        city, travel = CITIES[i % len(CITIES)]
        sites.append({"id": f"o{i + 1:03d}", "city": city,
                      "travel_minutes": min(300, max(60, travel + rng.randint(-20, 20))),
                      "weight": rng.uniform(0.4, 1.6),
                      "hours": sorted(rng.sample(RELEASE_HOURS, rng.choice((1, 2)))), "groups": []})
    towns = demo_city.TOWNS
    districts = [_district(t, i) for i, t in enumerate(towns)]
    site_weights = [s["weight"] for s in sites]
    town_weights = [t["weight"] for t in towns]
    sizes, size_weights = list(HOUSEHOLD_SIZES), list(HOUSEHOLD_SIZES.values())
    # Releases peak on the second day and thin out afterwards.
    day_weights = [3, 4, 2, 1][:DAYS]

    left, n = people, 0
    district_people = [0] * len(districts)
    while left > 0:
        size = min(left, rng.choices(sizes, size_weights)[0])
        site = rng.choices(sites, site_weights)[0]
        d = rng.choices(range(len(districts)), town_weights)[0]
        day = rng.choices(range(DAYS), day_weights)[0]
        ready = day * 1440 + (rng.choice(site["hours"]) - 6) * 60
        n += 1
        site["groups"].append({"id": f"g{n:05d}", "size": size, "ready_minute": ready,
                               "district": districts[d]["id"]})
        district_people[d] += size
        left -= size

    # The base fleet's work in minutes, if every trip were full and no coach ever waited: the yardstick
    # for the other stages. The base station and shuttles need about half of it; a bottleneck stage
    # gets about twice it.
    coach_q, board, turnaround = 22, 30, 60
    fleet = sum(math.ceil(sum(g["size"] for g in s["groups"]) / coach_q) * (2 * s["travel_minutes"] + board + turnaround)
                for s in sites) / n_coaches
    if bottleneck == "fleet":
        n_coaches = max(1, n_coaches // 2)
    if bottleneck == "lanes":
        n_lanes = max(1, n_lanes // 2)
        minutes_per_person = max(1, round(2 * fleet * n_lanes / people))
    span = 2 * fleet if bottleneck == "shuttles" else fleet / 2
    for d, count in zip(districts, district_people, strict=True):
        target = span * (rng.uniform(0.6, 1.0) if bottleneck == "shuttles" else 1)
        trips = math.ceil(count / d["seats"])
        cycle = d["board_minutes"] + 2 * d["travel_minutes"] + d["turnaround_minutes"]
        d["shuttles"] = max(1, math.floor(trips * cycle / target))
        if bottleneck == "shuttles" and trips and trips * cycle < target:
            # One shuttle is still too many for a small district: it is slow to disinfect.
            d["turnaround_minutes"] += math.ceil((target - trips * cycle) / trips)
    return {
        "format": FORMAT,
        "epoch": EPOCH,
        "station": {"id": "ptc", "lanes": n_lanes, "minutes_per_person": minutes_per_person},
        "coaches": {"count": n_coaches, "seats": 45, "max_load": 0.5, "board_minutes": board,
                    "turnaround_minutes": turnaround},
        "origins": [{k: s[k] for k in ("id", "city", "travel_minutes", "groups")} for s in sites if s["groups"]],
        "districts": districts,
    }


def _district(town: dict, i: int) -> dict:
    """A town as a home district: the central streets near the station, the towns further out."""
    travel = 10 + 3 * i if i < 6 else 25 + 2 * i
    return {"id": town["name_en"].lower(), "travel_minutes": travel, "shuttles": 1, "seats": 14, "max_load": 1.0,
            "board_minutes": 10, "turnaround_minutes": 15}
