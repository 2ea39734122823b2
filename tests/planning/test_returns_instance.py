"""Reading a returns instance: clear errors for what cannot be planned, and the generator's instances."""

from __future__ import annotations

import copy
import json

import pytest

from closedloop.lib import demo_city
from closedloop.planning.returns import generate as gen
from closedloop.planning.returns import instance as inst
from closedloop.planning.returns.bound import lower_bound
from tests.planning.test_returns_validate import INSTANCE


def error(mutate) -> str:
    data = copy.deepcopy(INSTANCE)
    mutate(data)
    with pytest.raises(inst.InstanceError) as caught:
        inst.parse(data)
    return caught.value.reason


def test_a_good_instance_reads_and_writes_back():
    parsed = inst.parse(INSTANCE)
    assert inst.to_dict(parsed) == INSTANCE
    assert parsed.people == 6 and parsed.group_count == 3
    assert parsed.coaches.capacity == 6 and parsed.district_by_id["x"].capacity == 2
    assert parsed.district_by_id["y"].leg == 40 and parsed.district_by_id["y"].cycle == 80
    assert parsed.origin_of_group["b1"].id == "B"


def test_the_format_tag_is_checked():
    assert 'must be "closedloop.returns-instance/1", not "v0"' in error(lambda d: d.update(format="v0"))


def test_ids_are_unique():
    assert "Two groups have the id a1" in error(lambda d: d["origins"][1]["groups"][0].update(id="a1"))
    assert "Two origins have the id A" in error(lambda d: d["origins"][1].update(id="A"))
    assert "Two districts have the id x" in error(lambda d: d["districts"][1].update(id="x"))


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d["origins"][0]["groups"][0].update(size=0), '"size" of origin A, groups[0] must be a whole number of at least 1, not 0'),
    (lambda d: d["origins"][0]["groups"][0].update(size=2.5), "not 2.5"),
    (lambda d: d["origins"][0]["groups"][0].update(ready_minute=-1), '"ready_minute"'),
    (lambda d: d["coaches"].update(count=0), '"count" of coaches must be a whole number of at least 1'),
    (lambda d: d["station"].update(lanes=True), '"lanes" of station'),
    (lambda d: d["districts"][0].update(shuttles=0), '"shuttles" of districts[0]'),
    (lambda d: d["coaches"].update(max_load=1.5), '"max_load" of coaches must be a number above 0 and at most 1'),
    (lambda d: d["coaches"].update(max_load=0.05), "A coach carries no one: 12 seats at a load of 0.05."),
    (lambda d: d.update(epoch="yesterday"), '"epoch" must be a date and time'),
    (lambda d: d.pop("origins"), '"origins" of the instance must be a list'),
    (lambda d: d.pop("station"), 'The instance needs "station"'),
])
def test_numbers_are_whole_and_in_range(mutate, expected):
    assert expected in error(mutate)


def test_a_group_larger_than_every_coach_is_refused_and_says_so():
    reason = error(lambda d: d["origins"][0]["groups"][1].update(size=7))
    assert reason == ("Group a2 has 7 people, but a coach may carry at most 6 (12 seats at a load of 0.5); a household "
                      "is never split, so it cannot travel.")


def test_a_group_larger_than_its_districts_shuttle_is_refused():
    reason = error(lambda d: d["origins"][0]["groups"][0].update(size=3))  # x's shuttle carries 2
    assert "Group a1 has 3 people, but a shuttle of district x may carry at most 2" in reason


def test_a_group_going_to_an_unknown_district_is_refused():
    assert 'district "nowhere", which is not among' in error(
        lambda d: d["origins"][1]["groups"][0].update(district="nowhere"))


def test_load_reports_unreadable_files(tmp_path):
    with pytest.raises(inst.InstanceError, match="Cannot read"):
        inst.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(inst.InstanceError, match="is not JSON"):
        inst.load(tmp_path / "bad.json")
    (tmp_path / "good.json").write_text(json.dumps(INSTANCE))
    assert inst.load(tmp_path / "good.json") == inst.parse(INSTANCE)


def test_the_generator_is_seeded():
    assert gen.generate(500) == gen.generate(500)
    assert gen.generate(500) != gen.generate(500, seed=1)
    base, fleet = gen.generate(500), gen.generate(500, bottleneck="fleet")
    assert base["origins"] == fleet["origins"]  # the same people whatever binds


def test_the_full_scale_instance_has_the_benchmarks_sizes():
    instance = inst.parse(gen.generate(20_000))
    assert instance.people == 20_000 and 7_000 < instance.group_count < 10_000
    assert len(instance.origins) == 120 and len({o.city for o in instance.origins}) == 10
    assert all(60 <= o.travel_minutes <= 300 for o in instance.origins)
    assert (instance.coaches.count, instance.coaches.capacity, instance.station.lanes) == (60, 22, 8)
    assert [d.id for d in instance.districts] == [t["name_en"].lower() for t in demo_city.TOWNS]
    assert {max(g.size for _o, g in instance.groups())} == {5}
    days = {g.ready_minute // 1440 for _o, g in instance.groups()}
    assert days == {0, 1, 2, 3}


@pytest.mark.parametrize("bottleneck, part", [("fleet", "fleet"), ("lanes", "lanes"), ("shuttles", "shuttles")])
def test_each_bottleneck_variant_binds_its_stage(bottleneck, part):
    bound = lower_bound(inst.parse(gen.generate(2000, bottleneck=bottleneck)))
    others = [v for k, v in bound.as_dict().items() if k != part]
    assert bound.as_dict()[part] == bound.value > 1.5 * max(others)
