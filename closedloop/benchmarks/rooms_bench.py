"""``bench rooms``: 50,000 people in households into the rooms of 300 isolation sites.

The engine is pure (``closedloop.planning.rooms.allocate``): no database. The generator (not timed)
builds a seeded, believable city: sites of the demo city's towns with invented coordinates, 1–3
buildings of several floors, ~30% two-bed rooms, ~5% accessible rooms, some rooms awaiting
cleaning, being cleaned or out of service, some floors already holding a category with most of
their rooms occupied, a few closed sites and a few that do not allow companions; people in
households of 1–5 (most 1–3), four categories weighted to close contacts, ~8% needing a companion,
~2% an accessible room, each with a home town. There are more people than rooms: the last ones are
refused, so the refusals are measured too.

Timed: ``allocate`` on that input, ``--repeat`` times (median). Not timed: ``room_rules.check`` on
the result; any violation, or a person with neither a room nor a reason, fails the workload.

Reported: ``seconds``, ``placed`` and ``placeable`` (below), ``violations`` (always 0: the run
fails otherwise), ``floors_opened``, ``nearest_share`` (placed people at the nearest site that had
a free room for their category when they were placed), ``home_town_share`` (placed people in a
site of their home town), ``companions_share`` (people needing a companion, placed with another
member of their household, who share a room with one), ``refused`` by reason.

``placeable`` is an upper bound on the people any allocation keeping the rules could place:
``min(people, R + X, sum over categories C of min(P_C, R_C + E + X))``, where R counts the available
rooms at open sites, R_C those on floors already holding C, E those on floors holding no category,
P_C the people of C, and X the most people who could sleep in a room beyond its first occupant:
the smaller of the spare beds of multi-bed rooms at sites allowing companions and the sum, over the
households (within a category) with c > 0 members needing a companion, of min(size - 1, c * (B - 1)),
B being the most beds of such a room (each shared room holds one who needs a companion). It ignores
accessible rooms and keeping households on one floor, so it is generous: placed / placeable is a
lower bound on how close to the best the engine comes.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter

from closedloop.benchmarks.runner import Bench, BenchError, median
from closedloop.lib import categories, demo_city
from closedloop.planning import room_rules
from closedloop.planning.rooms import Allocation, Floor, Person, Room, Site, allocate

SCALES = {"small": 2_000, "full": 50_000}  # people
TARGET_SECONDS = 5
ROOMS_PER_PERSON = 0.9  # 45,000 rooms for 50,000 people
MAX_SITES = 300
SITES_PER_PERSON = 0.03  # 60 sites at small scale, 300 (the most) at full
SEED = 20221129

CATEGORY_WEIGHTS = {categories.CLOSE_CONTACT: 60, categories.SECONDARY_CONTACT: 25, categories.INBOUND: 10,
                    categories.CASE: 5}
HOUSEHOLD_SIZES = {1: 30, 2: 30, 3: 22, 4: 12, 5: 6}


def _town_centres() -> dict[str, tuple[float, float]]:
    """Invented positions (km): the central street at the origin, the others on a spiral around it."""
    centres = {}
    for i, town in enumerate(demo_city.TOWNS):
        radius, angle = (0.0, 0.0) if i == 0 else (3.0 + 2.2 * math.sqrt(i), i * 2.39996)
        centres[town["code"]] = (round(radius * math.cos(angle), 2), round(radius * math.sin(angle), 2))
    return centres


def _split(total: int, weights: list[float]) -> list[int]:
    """``total`` in parts proportional to ``weights`` (largest remainders), each at least 1."""
    scale = sum(weights)
    raw = [total * w / scale for w in weights]
    parts = [max(1, int(x)) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - int(raw[i]), reverse=True)
    i = 0
    while sum(parts) < total:
        parts[order[i % len(order)]] += 1
        i += 1
    while sum(parts) > total:
        j = max(range(len(parts)), key=parts.__getitem__)
        parts[j] -= 1
    return parts


def generate(n_people: int, *, seed: int = SEED) -> dict:
    """A city's sites, rooms, floors in use and people to place; the same for the same size and seed."""
    rng = random.Random(seed)
    towns = [t["code"] for t in demo_city.TOWNS]
    town_weights = [t["weight"] for t in demo_city.TOWNS]
    centres = _town_centres()
    cats, cat_weights = list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values())

    n_sites = max(2, min(MAX_SITES, round(n_people * SITES_PER_PERSON)))
    n_rooms = max(n_sites, round(n_people * ROOMS_PER_PERSON))
    sizes = _split(n_rooms, [rng.triangular(60, 300, 110) for _ in range(n_sites)])
    sites, rooms, floor_categories = [], [], {}
    room_id = 0
    for sid, size in enumerate(sizes, start=1):
        town = rng.choices(towns, town_weights)[0]
        cx, cy = centres[town]
        located = rng.random() > 0.05
        site = Site(id=sid, town=town, x=round(cx + rng.gauss(0, 1.2), 3) if located else None,
                    y=round(cy + rng.gauss(0, 1.2), 3) if located else None,
                    open=rng.random() > 0.02, allow_companions=rng.random() > 0.1)
        sites.append(site)
        n_buildings = 1 if size < 90 else rng.choice((1, 2, 2, 3))
        for b, b_rooms in enumerate(_split(size, [rng.uniform(0.7, 1.3) for _ in range(n_buildings)]), start=1):
            per_floor = rng.randint(10, 20)
            n_floors = max(1, round(b_rooms / per_floor))
            for fl, f_rooms in enumerate(_split(b_rooms, [1.0] * n_floors), start=1):
                held = rng.choices(cats, cat_weights)[0] if rng.random() < 0.12 else None
                if held:
                    floor_categories[Floor(sid, f"{b}号楼", fl)] = held
                for k in range(1, f_rooms + 1):
                    room_id += 1
                    roll = rng.random()
                    if held and roll < 0.75:
                        status = "occupied"
                    elif roll < 0.03:
                        status = "awaiting_cleaning"
                    elif roll < 0.04:
                        status = "cleaning"
                    elif roll < 0.05:
                        status = "out_of_service"
                    else:
                        status = "available"
                    beds = rng.choices((1, 2, 3), (68, 30, 2))[0]
                    rooms.append(Room(id=room_id, site=sid, building=f"{b}号楼", floor=fl, number=f"{fl}{k:02d}",
                                      beds=beds, accessible=rng.random() < 0.05, status=status))

    people: list[Person] = []
    household = 0
    sizes_h, size_weights = list(HOUSEHOLD_SIZES), list(HOUSEHOLD_SIZES.values())
    while len(people) < n_people:
        household += 1
        size = min(rng.choices(sizes_h, size_weights)[0], n_people - len(people))
        category = rng.choices(cats, cat_weights)[0]
        home = rng.choices(towns, town_weights)[0]
        odd_one = rng.randrange(size) if size > 1 and rng.random() < 0.02 else None  # e.g. a case among contacts
        for m in range(size):
            people.append(Person(
                id=len(people) + 1, household=household if size > 1 else None,
                category=rng.choice(cats) if m == odd_one else category,
                needs_companion=rng.random() < (0.088 if size > 1 else 0.03),
                needs_accessible=rng.random() < 0.02, home_town=home))
    return {"people": people, "rooms": rooms, "sites": sites, "floor_categories": floor_categories}


def placeable(people: list[Person], rooms: list[Room], sites: list[Site], floor_categories: dict) -> int:
    """The upper bound described in the module's docstring."""
    site = {s.id: s for s in sites}
    usable = [r for r in rooms if r.status == "available" and site[r.site].open]
    by_category: Counter = Counter()
    empty = 0
    for r in usable:
        held = floor_categories.get(Floor(r.site, r.building, r.floor))
        if held is None:
            empty += 1
        else:
            by_category[held] += 1
    shared = [r.beds for r in usable if site[r.site].allow_companions and r.beds > 1]
    spare_beds, most_beds = sum(shared) - len(shared), max(shared, default=1)
    units: dict = {}
    for p in people:
        units.setdefault((p.id,) if p.household is None else (p.household, p.category, None), []).append(p)
    sharers = sum(min(len(m) - 1, sum(p.needs_companion for p in m) * (most_beds - 1)) for m in units.values())
    extra = min(spare_beds, sharers)
    wanting = Counter(p.category for p in people)
    per_category = sum(min(n, by_category[c] + empty + extra) for c, n in wanting.items())
    return min(len(people), len(usable) + extra, per_category)


def verify(city: dict, result: Allocation) -> list[room_rules.Violation]:
    return room_rules.check(city["people"], city["rooms"], city["sites"], result,
                            floor_categories=city["floor_categories"])


def measure_rooms(bench: Bench) -> dict:
    n = bench.size(SCALES)
    city = generate(n)
    bench.note(f"{n:,} people, {len(city['rooms']):,} rooms at {len(city['sites'])} sites (generated, not timed)")
    repeats, placed_counts, result = [], set(), None
    for i in range(bench.repeat):
        started = time.perf_counter()
        with bench.profiled(i):
            result = allocate(city["people"], city["rooms"], city["sites"],
                              floor_categories=city["floor_categories"])
        seconds = time.perf_counter() - started
        repeats.append(round(seconds, 3))
        placed_counts.add(result.placed)
        bench.note(f"repetition {i + 1}/{bench.repeat}: {seconds:.2f} s, {result.placed:,} placed")
    if len(placed_counts) != 1:
        raise BenchError(f"The allocation differs between repetitions: {sorted(placed_counts)} placed.")
    started = time.perf_counter()
    violations = verify(city, result)
    check_seconds = time.perf_counter() - started
    if violations:
        shown = "; ".join(f"{v.rule}: {v.message}" for v in violations[:5])
        raise BenchError(f"The allocation breaks {len(violations)} rule(s): {shown}")
    if result.placed + len(result.refused) != n:
        raise BenchError(f"{n - result.placed - len(result.refused)} people got neither a room nor a reason.")
    bound = placeable(city["people"], city["rooms"], city["sites"], city["floor_categories"])
    seconds = median(repeats)
    return {
        "people": n, "rooms": len(city["rooms"]), "sites": len(city["sites"]),
        "seconds": round(seconds, 3), "placed": result.placed, "placeable": bound,
        "placed_share": round(result.placed / bound, 4) if bound else 1.0,
        "violations": 0, "check_seconds": round(check_seconds, 3),
        "floors_opened": result.floors_opened, "nearest_share": round(result.nearest_share, 4),
        "home_town_share": round(result.home_town_share, 4),
        "companions_share": round(result.companions_share, 4),
        "refused": dict(sorted(Counter(result.refused.values()).items())),
        "target": f"<= {TARGET_SECONDS} s, every rule kept", "meets_target": seconds <= TARGET_SECONDS,
        "repeats": repeats,
    }
