"""A returns plan (``closedloop.returns-plan/1``): coach trips, station blocks, shuttle trips.

Plain frozen dataclasses, ``to_dict``/``write`` for the JSON of the spec, and ``from_dict`` to read a
plan back (re-planning starts from a plan under way). ``stats`` holds what the planner adds beside
the spec's keys (how the plan was made, the parts of the bound); it is written as extra keys, which
validators ignore.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from closedloop.lib.text import gettext_noop
from closedloop.planning.returns.validate import PlanFormatError, readable

__all__ = ["FORMAT", "CoachTrip", "Plan", "PlanFormatError", "ShuttleTrip", "StationBlock", "from_dict", "load"]

FORMAT = "closedloop.returns-plan/1"


@dataclass(frozen=True, slots=True)
class CoachTrip:
    coach: int
    origin: str
    start: int
    depart_origin: int
    arrive_station: int
    groups: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StationBlock:
    group: str
    lane: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ShuttleTrip:
    district: str
    shuttle: int
    depart: int
    arrive: int
    groups: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    coach_trips: tuple[CoachTrip, ...]
    station: tuple[StationBlock, ...]
    shuttle_trips: tuple[ShuttleTrip, ...]
    lower_bound: int
    stats: dict = field(default_factory=dict, compare=False)  # written as extra keys

    @property
    def makespan(self) -> int:
        return max((t.arrive for t in self.shuttle_trips), default=0)

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "coach_trips": [
                {"coach": t.coach, "origin": t.origin, "start": t.start, "depart_origin": t.depart_origin,
                 "arrive_station": t.arrive_station, "groups": list(t.groups)} for t in self.coach_trips],
            "station": [{"group": b.group, "lane": b.lane, "start": b.start, "end": b.end} for b in self.station],
            "shuttle_trips": [
                {"district": t.district, "shuttle": t.shuttle, "depart": t.depart, "arrive": t.arrive,
                 "groups": list(t.groups)} for t in self.shuttle_trips],
            "makespan": self.makespan,
            "lower_bound": self.lower_bound,
            **self.stats,
        }

    def write(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False) + "\n", encoding="utf-8")


def sorted_plan(coach_trips, station, shuttle_trips, *, lower_bound: int, stats: dict | None = None) -> Plan:
    """A plan with its parts in a stable, readable order (by time, then vehicle)."""
    return Plan(
        coach_trips=tuple(sorted(coach_trips, key=lambda t: (t.start, t.coach))),
        station=tuple(sorted(station, key=lambda b: (b.start, b.lane))),
        shuttle_trips=tuple(sorted(shuttle_trips, key=lambda t: (t.depart, t.district, t.shuttle))),
        lower_bound=lower_bound, stats=dict(stats or {}),
    )


def load(path: str | Path) -> Plan:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanFormatError(gettext_noop("Cannot read %(path)s: %(reason)s."), path=str(path),
                              reason=exc.strerror or str(exc)) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise PlanFormatError(gettext_noop("%(path)s is not JSON: %(reason)s."), path=str(path),
                              reason=str(exc)) from None
    return from_dict(data)


def from_dict(data: object) -> Plan:
    """Read the JSON of a plan (``PlanFormatError`` if a part is missing or of the wrong type)."""
    readable(data)
    assert isinstance(data, dict)
    extra = {k: v for k, v in data.items()
             if k not in {"format", "coach_trips", "station", "shuttle_trips", "makespan", "lower_bound"}}
    return Plan(
        coach_trips=tuple(CoachTrip(t["coach"], t["origin"], t["start"], t["depart_origin"], t["arrive_station"],
                                    tuple(t["groups"])) for t in data["coach_trips"]),
        station=tuple(StationBlock(b["group"], b["lane"], b["start"], b["end"]) for b in data["station"]),
        shuttle_trips=tuple(ShuttleTrip(t["district"], t["shuttle"], t["depart"], t["arrive"], tuple(t["groups"]))
                            for t in data["shuttle_trips"]),
        lower_bound=data["lower_bound"], stats=extra,
    )
