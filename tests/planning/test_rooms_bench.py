"""``bench rooms``: the generated city is believable and seeded, and the workload checks what it measures."""

from __future__ import annotations

from collections import Counter

import pytest

from closedloop.benchmarks import rooms_bench
from closedloop.benchmarks.runner import Bench, BenchError
from closedloop.lib import demo_city
from closedloop.planning import rooms as r


def test_the_city_is_seeded_and_believable():
    city = rooms_bench.generate(2000)
    again, other = rooms_bench.generate(2000), rooms_bench.generate(2000, seed=1)
    assert city == again and city["people"] != other["people"]
    people, rooms, sites = city["people"], city["rooms"], city["sites"]
    assert len(people) == 2000 and len(rooms) == 1800 and len(sites) == 60
    assert len({p.id for p in people}) == 2000 and len({x.id for x in rooms}) == 1800

    households = Counter(p.household for p in people if p.household is not None)
    sizes = Counter(households.values())
    sizes[1] = sum(1 for p in people if p.household is None)
    assert set(sizes) == {1, 2, 3, 4, 5} and sizes[1] + sizes[2] + sizes[3] > 0.7 * sum(sizes.values())
    assert 0.06 < sum(p.needs_companion for p in people) / 2000 < 0.10
    assert 0.01 < sum(p.needs_accessible for p in people) / 2000 < 0.035
    categories = Counter(p.category for p in people)
    assert len(categories) == 4 and categories.most_common(1)[0][0] == "close_contact"
    towns = {t["code"] for t in demo_city.TOWNS}
    assert {p.home_town for p in people} <= towns and {s.town for s in sites} <= towns

    assert 0.25 < sum(x.beds == 2 for x in rooms) / 1800 < 0.35
    assert 0.03 < sum(x.accessible for x in rooms) / 1800 < 0.07
    statuses = Counter(x.status for x in rooms)
    assert set(statuses) == set(r.ROOM_STATUSES) and statuses["available"] > 0.8 * 1800
    assert city["floor_categories"] and set(city["floor_categories"].values()) <= set(categories)
    # Most sites have coordinates, a few are closed or keep one person per room.
    assert 0 < sum(s.x is None for s in sites) < 6 and sum(not s.open for s in sites) < 6
    assert 0 < sum(not s.allow_companions for s in sites) < 12

    full_sites = {s.id: 0 for s in sites}
    for x in rooms:
        full_sites[x.site] += 1
    assert min(full_sites.values()) >= 5


def test_the_full_scale_city_has_the_sizes_of_the_spec():
    city = rooms_bench.generate(50_000)
    per_site = Counter(x.site for x in city["rooms"])
    assert len(city["people"]) == 50_000 and len(city["rooms"]) == 45_000 and len(city["sites"]) == 300
    assert min(per_site.values()) >= 50 and max(per_site.values()) <= 320
    buildings = {(x.site, x.building) for x in city["rooms"]}
    assert {len({b for s, b in buildings if s == site}) for site in per_site} == {1, 2, 3}


def test_placeable_is_an_upper_bound_that_counts_sharing():
    sites = [r.Site("S"), r.Site("T", allow_companions=False)]
    rooms = [r.Room(1, "S", "A", 1, "101", beds=2), r.Room(2, "S", "A", 1, "102"), r.Room(3, "T", "A", 1, "101", beds=2),
             r.Room(4, "S", "A", 2, "201", status="cleaning")]
    people = [r.Person("mum", "close_contact", household="h"),
              r.Person("kid", "close_contact", household="h", needs_companion=True),
              r.Person("x", "close_contact"), r.Person("y", "close_contact"), r.Person("z", "close_contact")]
    # Three available rooms, one spare bed where companions are allowed, one family to use it.
    assert rooms_bench.placeable(people, rooms, sites, {}) == 4
    assert r.allocate(people, rooms, sites).placed == 4
    # A floor held by cases serves no close contact: one room at T is left (the spare bed on the
    # cases' floor still counts, so the bound is generous, never short).
    held = {r.Floor("S", "A", 1): "case"}
    assert rooms_bench.placeable(people, rooms, sites, held) == 2
    assert r.allocate(people, rooms, sites, floor_categories=held).placed == 1


def test_the_workload_measures_checks_and_reports(capsys, tmp_path):
    bench = Bench(workload="rooms", scale="small", db="sqlite", repeat=2, workdir=tmp_path, rows=400)
    result = rooms_bench.measure_rooms(bench)
    assert result["people"] == 400 and result["violations"] == 0 and len(result["repeats"]) == 2
    assert 0 < result["placed"] <= result["placeable"] <= 400
    assert result["placed"] + sum(result["refused"].values()) == 400
    assert set(result["refused"]) <= set(r.REASONS)
    assert result["floors_opened"] > 0 and 0 < result["nearest_share"] <= 1 and result["meets_target"] is True
    assert "repetition 2/2" in capsys.readouterr().err


def test_the_workload_fails_on_a_broken_rule(monkeypatch, tmp_path):
    def sloppy(people, rooms, sites, **kw):
        first_room = next(x.id for x in rooms if x.status == "out_of_service")
        return r.Allocation(rooms={p.id: first_room for p in people})

    monkeypatch.setattr(rooms_bench, "allocate", sloppy)
    bench = Bench(workload="rooms", scale="small", db="sqlite", repeat=1, workdir=tmp_path, rows=200)
    with pytest.raises(BenchError, match="breaks .* rule"):
        rooms_bench.measure_rooms(bench)
