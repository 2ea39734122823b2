"""A returns-planning instance (``closedloop.returns-instance/1``): reading, checking, writing.

The file format is ``/work/shared/specs/returns-plan.md`` (docs/returns-planner.md): a transfer
station with screening lanes, a coach fleet, the out-of-city origins with their household groups,
and the home districts with their shuttles. ``parse`` turns the JSON into frozen dataclasses or
raises ``InstanceError`` naming the place and the reason: the format tag, unique ids, whole
numbers in range, a group that fits no coach or no shuttle of its district, a district that does
not exist. ``to_dict`` writes the same JSON back.

A vehicle's capacity is ``floor(seats * max_load)`` people, computed exactly (``0.29 * 100`` is
29, not 28.999…), so every module agrees on it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from functools import cached_property
from pathlib import Path

from closedloop.lib.text import gettext_noop

FORMAT = "closedloop.returns-instance/1"


class InstanceError(ValueError):
    """An instance that cannot be planned, with a reason an operator can act on.

    ``template`` is the English message (marked with gettext_noop) with ``%(name)s`` placeholders
    filled from ``params``; the command translates it with ``translated(gettext)``.
    """

    def __init__(self, template: str, /, **params: object) -> None:
        self.template, self.params = template, params
        self.reason = template % params
        super().__init__(self.reason)

    def translated(self, gettext: Callable[[str], str]) -> str:
        return gettext(self.template) % self.params


def capacity(seats: int, max_load: float | int) -> int:
    """People a vehicle may carry: ``floor(seats * max_load)``, in exact arithmetic."""
    return math.floor(seats * Fraction(str(max_load)))


@dataclass(frozen=True, slots=True)
class Group:
    """A household (or one person): never split between trips, lanes or shuttles."""

    id: str
    size: int
    ready_minute: int
    district: str


@dataclass(frozen=True, slots=True)
class Origin:
    id: str
    city: str
    travel_minutes: int
    groups: tuple[Group, ...]


@dataclass(frozen=True, slots=True)
class Station:
    id: str
    lanes: int
    minutes_per_person: int


@dataclass(frozen=True)
class Coaches:
    count: int
    seats: int
    max_load: float
    board_minutes: int
    turnaround_minutes: int

    @cached_property
    def capacity(self) -> int:
        return capacity(self.seats, self.max_load)


@dataclass(frozen=True)
class District:
    id: str
    travel_minutes: int
    shuttles: int
    seats: int
    max_load: float
    board_minutes: int
    turnaround_minutes: int

    @cached_property
    def capacity(self) -> int:
        return capacity(self.seats, self.max_load)

    @property
    def leg(self) -> int:
        """Minutes from a shuttle's departure to its arrival home (rule 10)."""
        return self.board_minutes + self.travel_minutes

    @property
    def cycle(self) -> int:
        """Minutes between two departures of one shuttle (rule 11)."""
        return self.board_minutes + 2 * self.travel_minutes + self.turnaround_minutes


@dataclass(frozen=True)
class Instance:
    epoch: str
    station: Station
    coaches: Coaches
    origins: tuple[Origin, ...]
    districts: tuple[District, ...]

    def groups(self) -> Iterator[tuple[Origin, Group]]:
        for origin in self.origins:
            for group in origin.groups:
                yield origin, group

    @cached_property
    def origin_by_id(self) -> dict[str, Origin]:
        return {o.id: o for o in self.origins}

    @cached_property
    def district_by_id(self) -> dict[str, District]:
        return {d.id: d for d in self.districts}

    @cached_property
    def group_by_id(self) -> dict[str, Group]:
        return {g.id: g for _o, g in self.groups()}

    @cached_property
    def origin_of_group(self) -> dict[str, Origin]:
        return {g.id: o for o, g in self.groups()}

    @property
    def people(self) -> int:
        return sum(g.size for _o, g in self.groups())

    @property
    def group_count(self) -> int:
        return sum(len(o.groups) for o in self.origins)


# --- reading -----------------------------------------------------------------------------------


def load(path: str | Path) -> Instance:
    """Read and check an instance file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InstanceError(gettext_noop("Cannot read %(path)s: %(reason)s."), path=str(path),
                            reason=exc.strerror or str(exc)) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InstanceError(gettext_noop("%(path)s is not JSON: %(reason)s."), path=str(path), reason=str(exc)) from None
    return parse(data)


def parse(data: object) -> Instance:
    """Check the JSON of an instance and return it as dataclasses (``InstanceError`` if it is wrong)."""
    if not isinstance(data, dict):
        raise InstanceError(gettext_noop("The instance must be a JSON object."))
    if data.get("format") != FORMAT:
        raise InstanceError(gettext_noop('The instance\'s "format" must be "%(expected)s", not %(found)s.'),
                            expected=FORMAT, found=json.dumps(data.get("format"), ensure_ascii=False))
    epoch = data.get("epoch")
    try:
        if not isinstance(epoch, str):
            raise ValueError
        datetime.fromisoformat(epoch)
    except ValueError:
        raise InstanceError(gettext_noop('"epoch" must be a date and time like 2022-08-21T06:00:00+08:00.')) from None

    s = _object(data, "station")
    station = Station(id=_id(s, "station"), lanes=_whole(s, "lanes", "station", 1),
                      minutes_per_person=_whole(s, "minutes_per_person", "station", 1))
    c = _object(data, "coaches")
    coaches = Coaches(count=_whole(c, "count", "coaches", 1), seats=_whole(c, "seats", "coaches", 1),
                      max_load=_load(c, "coaches"), board_minutes=_whole(c, "board_minutes", "coaches", 0),
                      turnaround_minutes=_whole(c, "turnaround_minutes", "coaches", 0))
    if coaches.capacity < 1:
        raise InstanceError(gettext_noop("A coach carries no one: %(seats)s seats at a load of %(load)s."),
                            seats=coaches.seats, load=coaches.max_load)

    districts = []
    for i, d in enumerate(_list(data, "districts", "the instance")):
        where = f"districts[{i}]"
        if not isinstance(d, dict):
            raise InstanceError(gettext_noop("%(where)s must be a JSON object."), where=where)
        district = District(
            id=_id(d, where), travel_minutes=_whole(d, "travel_minutes", where, 0),
            shuttles=_whole(d, "shuttles", where, 1), seats=_whole(d, "seats", where, 1),
            max_load=_load(d, where), board_minutes=_whole(d, "board_minutes", where, 0),
            turnaround_minutes=_whole(d, "turnaround_minutes", where, 0))
        if district.capacity < 1:
            raise InstanceError(gettext_noop("A shuttle of district %(district)s carries no one: %(seats)s seats at "
                                             "a load of %(load)s."),
                                district=district.id, seats=district.seats, load=district.max_load)
        districts.append(district)
    _unique([d.id for d in districts], gettext_noop("Two districts have the id %(id)s."))
    by_district = {d.id: d for d in districts}

    origins = []
    for i, o in enumerate(_list(data, "origins", "the instance")):
        where = f"origins[{i}]"
        if not isinstance(o, dict):
            raise InstanceError(gettext_noop("%(where)s must be a JSON object."), where=where)
        origin_id = _id(o, where)
        where = f"origin {origin_id}"
        city = o.get("city", "")
        if not isinstance(city, str):
            raise InstanceError(gettext_noop('"city" of %(where)s must be text.'), where=where)
        travel = _whole(o, "travel_minutes", where, 0)
        groups = []
        for j, g in enumerate(_list(o, "groups", where)):
            gwhere = f"{where}, groups[{j}]"
            if not isinstance(g, dict):
                raise InstanceError(gettext_noop("%(where)s must be a JSON object."), where=gwhere)
            group = Group(id=_id(g, gwhere), size=_whole(g, "size", gwhere, 1),
                          ready_minute=_whole(g, "ready_minute", gwhere, 0), district=g.get("district"))
            gwhere = f"group {group.id}"
            district = by_district.get(group.district) if isinstance(group.district, str) else None
            if district is None:
                raise InstanceError(gettext_noop("Group %(group)s goes home to district %(district)s, which is not "
                                                 "among the instance's districts."),
                                    group=group.id, district=json.dumps(group.district, ensure_ascii=False))
            if group.size > coaches.capacity:
                raise InstanceError(
                    gettext_noop("Group %(group)s has %(size)s people, but a coach may carry at most %(capacity)s "
                                 "(%(seats)s seats at a load of %(load)s); a household is never split, so it "
                                 "cannot travel."),
                    group=group.id, size=group.size, capacity=coaches.capacity, seats=coaches.seats,
                    load=coaches.max_load)
            if group.size > district.capacity:
                raise InstanceError(
                    gettext_noop("Group %(group)s has %(size)s people, but a shuttle of district %(district)s may "
                                 "carry at most %(capacity)s; a household is never split, so it cannot get home."),
                    group=group.id, size=group.size, district=district.id, capacity=district.capacity)
            groups.append(group)
        origins.append(Origin(id=origin_id, city=city, travel_minutes=travel, groups=tuple(groups)))
    _unique([o.id for o in origins], gettext_noop("Two origins have the id %(id)s."))
    _unique([g.id for o in origins for g in o.groups], gettext_noop("Two groups have the id %(id)s."))
    return Instance(epoch=epoch, station=station, coaches=coaches, origins=tuple(origins),
                    districts=tuple(districts))


def _object(data: dict, key: str) -> dict:
    value = data.get(key)
    if not isinstance(value, dict):
        raise InstanceError(gettext_noop('The instance needs "%(key)s", a JSON object.'), key=key)
    return value


def _list(data: dict, key: str, where: str) -> list:
    value = data.get(key)
    if not isinstance(value, list):
        raise InstanceError(gettext_noop('"%(key)s" of %(where)s must be a list.'), key=key, where=where)
    return value


def _id(data: dict, where: str) -> str:
    value = data.get("id")
    if not isinstance(value, str) or not value:
        raise InstanceError(gettext_noop('"id" of %(where)s must be a non-empty string.'), where=where)
    return value


def _whole(data: dict, key: str, where: str, least: int) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise InstanceError(gettext_noop('"%(key)s" of %(where)s must be a whole number of at least %(least)s, '
                                         'not %(value)s.'),
                            key=key, where=where, least=least, value=json.dumps(value, ensure_ascii=False))
    return value


def _load(data: dict, where: str) -> float:
    value = data.get("max_load")
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise InstanceError(gettext_noop('"max_load" of %(where)s must be a number above 0 and at most 1, '
                                         'not %(value)s.'),
                            where=where, value=json.dumps(value, ensure_ascii=False))
    return value


def _unique(ids: list[str], template: str) -> None:
    seen: set[str] = set()
    for value in ids:
        if value in seen:
            raise InstanceError(template, id=value)
        seen.add(value)


# --- writing -----------------------------------------------------------------------------------


def to_dict(instance: Instance) -> dict:
    s, c = instance.station, instance.coaches
    return {
        "format": FORMAT,
        "epoch": instance.epoch,
        "station": {"id": s.id, "lanes": s.lanes, "minutes_per_person": s.minutes_per_person},
        "coaches": {"count": c.count, "seats": c.seats, "max_load": c.max_load, "board_minutes": c.board_minutes,
                    "turnaround_minutes": c.turnaround_minutes},
        "origins": [
            {"id": o.id, "city": o.city, "travel_minutes": o.travel_minutes,
             "groups": [{"id": g.id, "size": g.size, "ready_minute": g.ready_minute, "district": g.district}
                        for g in o.groups]}
            for o in instance.origins
        ],
        "districts": [
            {"id": d.id, "travel_minutes": d.travel_minutes, "shuttles": d.shuttles, "seats": d.seats,
             "max_load": d.max_load, "board_minutes": d.board_minutes, "turnaround_minutes": d.turnaround_minutes}
            for d in instance.districts
        ],
    }


def write(instance: Instance, path: str | Path) -> None:
    Path(path).write_text(json.dumps(to_dict(instance), ensure_ascii=False) + "\n", encoding="utf-8")
