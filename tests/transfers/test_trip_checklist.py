"""The hand-over checklist is data: the shipped file loads, a broken file is refused with the reason; the
trip's state machine is data too, and agrees with the model's choices."""

from __future__ import annotations

import copy
import json
from fractions import Fraction

import pytest

from closedloop.transfers import checklist as cl
from closedloop.transfers import trip_states as ts
from closedloop.transfers.choices import Stage, TripState


def shipped() -> dict:
    return json.loads(cl.SHIPPED.read_text(encoding="utf-8"))


def test_the_shipped_checklist_loads_with_every_stage():
    checklist = cl.load()
    assert checklist.version >= 1
    boarding = checklist.stage("boarding")
    assert [i.code for i in boarding.person_items] == ["temperature", "negative_test_24h"]
    assert [i.code for i in boarding.computed_items] == ["half_seats"]
    assert boarding.item("half_seats").max_share == Fraction(1, 2)
    assert [i.code for i in checklist.stage("station").person_items] == ["screening"]
    assert [i.code for i in checklist.stage("home").person_items] == ["home_notice"]
    assert [i.code for i in checklist.stage("shuttle").computed_items] == ["shuttle_load"]
    assert not checklist.stage("shuttle").item("vehicle_disinfected").blocking
    assert boarding.item("temperature").label("zh-hans").startswith("登车前体温")
    assert boarding.item("temperature").label("en").startswith("Temperature")


def break_it(change) -> dict:
    data = copy.deepcopy(shipped())
    change(data)
    return data


@pytest.mark.parametrize(("change", "reason"), [
    (lambda d: d.update(format="x/1"), "format must be"),
    (lambda d: d.update(version=0), "version must be"),
    (lambda d: d.update(extra=1), "unknown keys"),
    (lambda d: d.update(items=[]), "items must be"),
    (lambda d: d["items"][0].update(code="Temperature!"), "code must be"),
    (lambda d: d["items"][1].update(code="temperature"), "used twice"),
    (lambda d: d["items"][0].update(stages=["boarding", "moon"]), "stages must be"),
    (lambda d: d["items"][0].update(stages=[]), "stages must be"),
    (lambda d: d["items"][0].update(blocking="yes"), "blocking must be"),
    (lambda d: d["items"][0].update(label={"zh": "体温"}), "label must"),
    (lambda d: d["items"][0].update(label={"zh": "体温", "en": " "}), "label must"),
    (lambda d: d["items"][0].update(colour="red"), "unknown keys"),
    (lambda d: d["items"][0].update(computed="load"), "asked once for the trip"),
    (lambda d: d["items"][3].update(computed="weather"), "computed may only be"),
    (lambda d: d["items"][3].update(stages=["station"]), "counted where people board"),
    (lambda d: d["items"][3].update(max_share=1.5), "max_share must be"),
    (lambda d: d["items"][2].update(max_share=0.5), "belongs to a computed"),
    (lambda d: d.update(items=[i for i in d["items"] if "home" not in i["stages"]]), "stage 'home' has no item"),
])
def test_a_broken_checklist_is_refused_with_the_reason(change, reason):
    with pytest.raises(cl.ChecklistError, match=reason):
        cl.parse(break_it(change))


def test_the_load_limit_takes_the_stricter_share_and_rounds_down():
    item = cl.load().stage("boarding").item("half_seats")
    assert cl.load_limit(45, "0.5", item) == 22
    assert cl.load_limit(45, "1", item) == 22  # the procedure's half binds
    assert cl.load_limit(45, "0.3", item) == 13  # the fleet's stricter rule binds
    shuttle = cl.load().stage("shuttle").item("shuttle_load")
    assert cl.load_limit(14, "1", shuttle) == 14


def test_unmet_lists_unticked_and_false_items():
    items = cl.load().stage("boarding").person_items
    assert [i.code for i in cl.unmet(items, {"temperature": True})] == ["negative_test_24h"]
    assert cl.unmet(items, {"temperature": True, "negative_test_24h": True}) == []


def test_the_trip_state_machine_agrees_with_the_model():
    assert set(ts.STATES) == set(TripState.values)
    assert set(ts.STAGES) == set(Stage.values)
    assert ts.next_state("planned", ts.DISPATCH) == "boarding"
    assert ts.can_transition("boarding", ts.CANCEL) and not ts.can_transition("under_way", ts.CANCEL)
    assert not ts.can_transition("done", ts.ARRIVE)
    with pytest.raises(ValueError):
        ts.next_state("planned", ts.BOARD)
    assert [ts.next_step("coach", s) for s in ("planned", "boarding", "under_way", "arrived", "done")] == [
        "dispatch", "boarding", "station", "station", None]
    assert [ts.next_step("shuttle", s) for s in ("boarding", "under_way", "arrived", "cancelled")] == [
        "shuttle", "home", "home", None]
