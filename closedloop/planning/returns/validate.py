"""The rules of a returns plan, checked independently of the planner that made it.

``check(instance, plan)`` takes the two JSON documents as plain dicts (``closedloop.returns-instance/1``
and ``closedloop.returns-plan/1``) and returns one ``Violation`` per broken rule and trip, block or
group; an empty list means the plan keeps every rule. It reads the instance itself and imports no
planner code (``plan.py`` reads plans with this module's ``readable``, not the other way round), so
a bug in the planner shows here instead of hiding behind the same code.

The rules, numbered as in the spec (docs/returns-planner.md):

1. A coach trip serves one origin that exists, and carries only that origin's groups.
2. ``depart_origin >= start + travel + board_minutes`` and ``>= ready_minute`` of every group on board.
3. ``arrive_station = depart_origin + travel``.
4. People on board ``<=`` coach capacity, ``floor(seats * max_load)``.
5. A coach exists (``0 <= coach < count``), its first trip starts at minute 0 or later (it waits at
   the station from minute 0), and each next trip starts at or after the previous
   ``arrive_station + turnaround_minutes``.
6. A group's station block lasts ``size * minutes_per_person``: ``end = start + size * minutes_per_person``.
7. ``0 <= lane < lanes``; a block starts at or after its group's ``arrive_station``; blocks on one lane
   do not overlap.
8. A shuttle trip belongs to a district that exists, carries its groups only, and ``<=`` its capacity.
9. A shuttle departs at or after the station ``end`` of every group on board.
10. ``arrive = depart + board_minutes + travel_minutes``.
11. A shuttle exists (``0 <= shuttle < shuttles``), departs at minute 0 or later, and each next departure
    is at or after the previous ``depart + board_minutes + 2 * travel_minutes + turnaround_minutes``.

And: ``groups`` — every group of the instance exactly once in the coach trips, once on the station and
once in the shuttle trips, and no group that is not in the instance; ``makespan`` — the plan's
makespan is the latest shuttle ``arrive``; ``bound`` — its ``lower_bound`` is at most that makespan.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from closedloop.lib.text import gettext_noop

PLAN_FORMAT = "closedloop.returns-plan/1"

RULES: dict[str, str] = {
    "1": gettext_noop("A coach trip serves exactly one origin."),
    "2": gettext_noop("A coach leaves the origin after it got there and boarded, and after every group on board is "
                      "released."),
    "3": gettext_noop("A coach arrives at the station one travel time after leaving the origin."),
    "4": gettext_noop("No more people on a coach than its capacity."),
    "5": gettext_noop("A coach's trips do not overlap and leave time for disinfection."),
    "6": gettext_noop("Every group is screened as one block of size × minutes per person."),
    "7": gettext_noop("Screening starts after the group arrives; blocks on one lane do not overlap."),
    "8": gettext_noop("A shuttle trip carries its own district's groups only, within its capacity."),
    "9": gettext_noop("A shuttle leaves after every group on board is screened."),
    "10": gettext_noop("A shuttle arrives one boarding and one travel time after it leaves."),
    "11": gettext_noop("A shuttle's trips leave time to board, go, come back and turn around."),
    "groups": gettext_noop("Every group appears exactly once in the coach trips, the station and the shuttle trips."),
    "makespan": gettext_noop("The makespan is the latest arrival of a shuttle trip."),
    "bound": gettext_noop("The lower bound is not above the makespan."),
}


class PlanFormatError(ValueError):
    """A plan that cannot be judged at all: not the ``closedloop.returns-plan/1`` shape."""

    def __init__(self, template: str, /, **params: object) -> None:
        self.template, self.params = template, params
        self.reason = template % params
        super().__init__(self.reason)

    def translated(self, gettext: Callable[[str], str]) -> str:
        return gettext(self.template) % self.params


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str  # a key of RULES
    subject: str  # the trip, block or group, as the plan names it: "coach_trips[3]", "station[7]", "group g1"
    template: str
    params: dict

    @property
    def message(self) -> str:
        return self.template % self.params

    def translated(self, gettext: Callable[[str], str]) -> str:
        return gettext(self.template) % self.params

    def __str__(self) -> str:
        return f"rule {self.rule}, {self.subject}: {self.message}"


def _capacity(seats: int, max_load) -> int:
    return math.floor(seats * Fraction(str(max_load)))


def check(instance: dict, plan: object) -> list[Violation]:
    """Every violation of the rules by ``plan`` (a dict read from JSON) for ``instance``.

    ``instance`` is the JSON of an instance that ``instance.parse`` accepts (the command reads and
    checks it first); ``plan`` may be anything: if it is not a plan at all, ``PlanFormatError``.
    """
    readable(plan)
    assert isinstance(plan, dict)
    out: list[Violation] = []

    def bad(rule: str, subject: str, template: str, **params) -> None:
        out.append(Violation(rule, subject, template, params))

    coaches = instance["coaches"]
    coach_cap = _capacity(coaches["seats"], coaches["max_load"])
    station = instance["station"]
    origins = {o["id"]: o for o in instance["origins"]}
    districts = {d["id"]: d for d in instance["districts"]}
    groups: dict[str, dict] = {}
    origin_of: dict[str, str] = {}
    for o in instance["origins"]:
        for g in o["groups"]:
            groups[g["id"]], origin_of[g["id"]] = g, o["id"]

    # --- coaches: rules 1-5 ---
    carried: dict[str, list[int]] = defaultdict(list)
    by_coach: dict[int, list[tuple[int, dict]]] = defaultdict(list)
    for i, t in enumerate(plan["coach_trips"]):
        name = f"coach_trips[{i}]"
        on_board = [g for g in t["groups"] if g in groups]
        for g in t["groups"]:
            carried[g].append(i)
        origin = origins.get(t["origin"])
        if origin is None:
            bad("1", name, gettext_noop("The trip serves origin %(origin)s, which is not in the instance."),
                origin=t["origin"])
        else:
            for g in on_board:
                if origin_of[g] != t["origin"]:
                    bad("1", name, gettext_noop("The trip serves origin %(origin)s but carries group %(group)s of "
                                                "origin %(other)s."),
                        origin=t["origin"], group=g, other=origin_of[g])
            travel = origin["travel_minutes"]
            earliest = t["start"] + travel + coaches["board_minutes"]
            if t["depart_origin"] < earliest:
                bad("2", name, gettext_noop("The coach leaves the origin at minute %(depart)s, before it can have got "
                                            "there and boarded (minute %(earliest)s)."),
                    depart=t["depart_origin"], earliest=earliest)
            if t["arrive_station"] != t["depart_origin"] + travel:
                bad("3", name, gettext_noop("The coach arrives at minute %(arrive)s; leaving at minute %(depart)s it "
                                            "arrives at minute %(expected)s."),
                    arrive=t["arrive_station"], depart=t["depart_origin"], expected=t["depart_origin"] + travel)
        for g in on_board:
            if t["depart_origin"] < groups[g]["ready_minute"]:
                bad("2", name, gettext_noop("The coach leaves at minute %(depart)s, before group %(group)s is released "
                                            "(minute %(ready)s)."),
                    depart=t["depart_origin"], group=g, ready=groups[g]["ready_minute"])
        people = sum(groups[g]["size"] for g in on_board)
        if people > coach_cap:
            bad("4", name, gettext_noop("%(people)s people on board; a coach carries at most %(capacity)s."),
                people=people, capacity=coach_cap)
        if not 0 <= t["coach"] < coaches["count"]:
            bad("5", name, gettext_noop("There is no coach %(coach)s: the fleet has coaches 0 to %(last)s."),
                coach=t["coach"], last=coaches["count"] - 1)
        else:
            by_coach[t["coach"]].append((i, t))
    for coach, trips in by_coach.items():
        trips.sort(key=lambda it: (it[1]["start"], it[0]))
        first_i, first = trips[0]
        if first["start"] < 0:
            bad("5", f"coach_trips[{first_i}]", gettext_noop("Coach %(coach)s starts a trip at minute %(start)s, "
                                                             "before minute 0."),
                coach=coach, start=first["start"])
        for (_pi, prev), (i, t) in zip(trips, trips[1:], strict=False):
            free = prev["arrive_station"] + coaches["turnaround_minutes"]
            if t["start"] < free:
                bad("5", f"coach_trips[{i}]", gettext_noop("Coach %(coach)s starts this trip at minute %(start)s, but "
                                                           "it is back and disinfected only at minute %(free)s."),
                    coach=coach, start=t["start"], free=free)

    # --- station: rules 6-7 ---
    screened: dict[str, list[int]] = defaultdict(list)
    by_lane: dict[int, list[tuple[int, dict]]] = defaultdict(list)
    for i, b in enumerate(plan["station"]):
        name = f"station[{i}]"
        g = b["group"]
        screened[g].append(i)
        if g in groups:
            expected = b["start"] + groups[g]["size"] * station["minutes_per_person"]
            if b["end"] != expected:
                bad("6", name, gettext_noop("Group %(group)s of %(size)s people is screened from minute %(start)s to "
                                            "%(end)s; it takes until minute %(expected)s."),
                    group=g, size=groups[g]["size"], start=b["start"], end=b["end"], expected=expected)
            if len(carried.get(g, ())) == 1:
                arrive = plan["coach_trips"][carried[g][0]]["arrive_station"]
                if b["start"] < arrive:
                    bad("7", name, gettext_noop("Group %(group)s is screened from minute %(start)s but arrives at "
                                                "minute %(arrive)s."),
                        group=g, start=b["start"], arrive=arrive)
        if not 0 <= b["lane"] < station["lanes"]:
            bad("7", name, gettext_noop("There is no lane %(lane)s: the station has lanes 0 to %(last)s."),
                lane=b["lane"], last=station["lanes"] - 1)
        else:
            by_lane[b["lane"]].append((i, b))
    for lane, blocks in by_lane.items():
        blocks.sort(key=lambda ib: (ib[1]["start"], ib[0]))
        for (_pi, prev), (i, b) in zip(blocks, blocks[1:], strict=False):
            if b["start"] < prev["end"]:
                bad("7", f"station[{i}]", gettext_noop("On lane %(lane)s this block starts at minute %(start)s, "
                                                       "before the block of group %(other)s ends (minute %(end)s)."),
                    lane=lane, start=b["start"], other=prev["group"], end=prev["end"])

    # --- shuttles: rules 8-11 ---
    shuttled: dict[str, list[int]] = defaultdict(list)
    by_shuttle: dict[tuple[str, int], list[tuple[int, dict]]] = defaultdict(list)
    for i, t in enumerate(plan["shuttle_trips"]):
        name = f"shuttle_trips[{i}]"
        on_board = [g for g in t["groups"] if g in groups]
        for g in t["groups"]:
            shuttled[g].append(i)
        district = districts.get(t["district"])
        if district is None:
            bad("8", name, gettext_noop("The trip belongs to district %(district)s, which is not in the instance."),
                district=t["district"])
            continue
        for g in on_board:
            if groups[g]["district"] != t["district"]:
                bad("8", name, gettext_noop("A shuttle of district %(district)s carries group %(group)s, who live in "
                                            "district %(other)s."),
                    district=t["district"], group=g, other=groups[g]["district"])
        people = sum(groups[g]["size"] for g in on_board)
        cap = _capacity(district["seats"], district["max_load"])
        if people > cap:
            bad("8", name, gettext_noop("%(people)s people on board; a shuttle of district %(district)s carries at "
                                        "most %(capacity)s."),
                people=people, district=t["district"], capacity=cap)
        for g in on_board:
            if len(screened.get(g, ())) == 1:
                end = plan["station"][screened[g][0]]["end"]
                if t["depart"] < end:
                    bad("9", name, gettext_noop("The shuttle leaves at minute %(depart)s, before group %(group)s is "
                                                "screened (minute %(end)s)."),
                        depart=t["depart"], group=g, end=end)
        expected = t["depart"] + district["board_minutes"] + district["travel_minutes"]
        if t["arrive"] != expected:
            bad("10", name, gettext_noop("The shuttle arrives at minute %(arrive)s; leaving at minute %(depart)s it "
                                         "arrives at minute %(expected)s."),
                arrive=t["arrive"], depart=t["depart"], expected=expected)
        if not 0 <= t["shuttle"] < district["shuttles"]:
            bad("11", name, gettext_noop("District %(district)s has no shuttle %(shuttle)s: it has shuttles 0 to "
                                         "%(last)s."),
                district=t["district"], shuttle=t["shuttle"], last=district["shuttles"] - 1)
        else:
            by_shuttle[(t["district"], t["shuttle"])].append((i, t))
    for (district_id, shuttle), trips in by_shuttle.items():
        d = districts[district_id]
        cycle = d["board_minutes"] + 2 * d["travel_minutes"] + d["turnaround_minutes"]
        trips.sort(key=lambda it: (it[1]["depart"], it[0]))
        first_i, first = trips[0]
        if first["depart"] < 0:
            bad("11", f"shuttle_trips[{first_i}]", gettext_noop("Shuttle %(shuttle)s of district %(district)s leaves "
                                                                "at minute %(depart)s, before minute 0."),
                shuttle=shuttle, district=district_id, depart=first["depart"])
        for (_pi, prev), (i, t) in zip(trips, trips[1:], strict=False):
            if t["depart"] < prev["depart"] + cycle:
                bad("11", f"shuttle_trips[{i}]", gettext_noop("Shuttle %(shuttle)s of district %(district)s leaves at "
                                                              "minute %(depart)s, but it is back and ready only at "
                                                              "minute %(free)s."),
                    shuttle=shuttle, district=district_id, depart=t["depart"], free=prev["depart"] + cycle)

    # --- every group exactly once ---
    for where, seen in (("coach_trips", carried), ("station", screened), ("shuttle_trips", shuttled)):
        for g in groups:
            n = len(seen.get(g, ()))
            if n != 1:
                bad("groups", f"group {g}", gettext_noop("Group %(group)s appears %(count)s times in %(part)s."),
                    group=g, count=n, part=where)
        for g in seen:
            if g not in groups:
                bad("groups", f"group {g}", gettext_noop("%(part)s names group %(group)s, which is not in the "
                                                         "instance."),
                    part=where, group=g)

    makespan = max((t["arrive"] for t in plan["shuttle_trips"]), default=0)
    if plan["makespan"] != makespan:
        bad("makespan", "makespan", gettext_noop("The plan says its makespan is %(said)s; its latest arrival is at "
                                                 "minute %(makespan)s."),
            said=plan["makespan"], makespan=makespan)
    if plan["lower_bound"] > makespan:
        bad("bound", "lower_bound", gettext_noop("The lower bound %(bound)s is above the makespan %(makespan)s."),
            bound=plan["lower_bound"], makespan=makespan)
    return out


_FIELDS = {
    "coach_trips": (("coach", int), ("origin", str), ("start", int), ("depart_origin", int), ("arrive_station", int),
                    ("groups", list)),
    "station": (("group", str), ("lane", int), ("start", int), ("end", int)),
    "shuttle_trips": (("district", str), ("shuttle", int), ("depart", int), ("arrive", int), ("groups", list)),
}


def readable(plan: object) -> None:
    """The plan has the keys and types the rules are about (else PlanFormatError: nothing to judge)."""
    if not isinstance(plan, dict):
        raise PlanFormatError(gettext_noop("The plan must be a JSON object."))
    if plan.get("format") != PLAN_FORMAT:
        raise PlanFormatError(gettext_noop('The plan\'s "format" must be "%(expected)s", not %(found)s.'),
                              expected=PLAN_FORMAT,
                              found=json.dumps(plan.get("format"), ensure_ascii=False))
    for key in ("makespan", "lower_bound"):
        if not _whole(plan.get(key)):
            raise PlanFormatError(gettext_noop('The plan\'s "%(key)s" must be a whole number.'), key=key)
    for part, fields in _FIELDS.items():
        items = plan.get(part)
        if not isinstance(items, list):
            raise PlanFormatError(gettext_noop('The plan\'s "%(key)s" must be a list.'), key=part)
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise PlanFormatError(gettext_noop("%(where)s must be a JSON object."), where=f"{part}[{i}]")
            for key, kind in fields:
                value = item.get(key)
                ok = (_whole(value) if kind is int else isinstance(value, str) if kind is str
                      else isinstance(value, list) and all(isinstance(g, str) for g in value))
                if not ok:
                    raise PlanFormatError(gettext_noop('"%(key)s" of %(where)s is missing or not a %(kind)s.'),
                                          key=key, where=f"{part}[{i}]", kind=kind.__name__)


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
