"""The hand-over checklist of the way home, as data: ``checklists/handover.json``, loaded and validated.

Pure: no Django import. Each item belongs to one or more stages (``trip_states.STAGES``), is asked of
every person (``per_person``) or once for the trip, and either blocks the hand-over when it fails
(``blocking``) or is only recorded. An item with ``computed: "load"`` is never ticked: the number of
people boarding is compared with the vehicle's seats times the smaller of its load rule and the item's
``max_share`` (the distancing rule of the procedure), so a tick cannot say a full coach is half empty.

A change of procedure is a new ``version`` of the file; the version is written into the audit row of
every hand-over.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

from closedloop.transfers import trip_states

FORMAT = "closedloop.handover-checklist/1"
SHIPPED = Path(__file__).resolve().parent / "checklists" / "handover.json"
LOAD = "load"  # the one computed item kind
CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_TOP_KEYS = {"format", "version", "source", "items"}
_ITEM_KEYS = {"code", "stages", "per_person", "blocking", "label", "computed", "max_share"}
_LOAD_STAGES = frozenset({trip_states.STAGE_BOARDING, trip_states.STAGE_SHUTTLE})  # where people board


class ChecklistError(ValueError):
    """The checklist file breaks a rule; the message says which item and how."""


@dataclass(frozen=True)
class Item:
    code: str
    stages: tuple[str, ...]
    per_person: bool
    blocking: bool
    label_zh: str
    label_en: str
    computed: str = ""  # "load" or empty: ticked by a person
    max_share: Fraction | None = None

    def label(self, language: str = "") -> str:
        return self.label_zh if (language or "").lower().startswith("zh") else self.label_en


@dataclass(frozen=True)
class Stage:
    """The items of one hand-over."""

    stage: str
    person_items: tuple[Item, ...]
    trip_items: tuple[Item, ...]  # ticked and computed

    @property
    def ticked_trip_items(self) -> tuple[Item, ...]:
        return tuple(i for i in self.trip_items if not i.computed)

    @property
    def computed_items(self) -> tuple[Item, ...]:
        return tuple(i for i in self.trip_items if i.computed)

    def item(self, code: str) -> Item | None:
        return next((i for i in (*self.person_items, *self.trip_items) if i.code == code), None)


@dataclass(frozen=True)
class Checklist:
    version: int
    source: str
    items: tuple[Item, ...]

    def stage(self, stage: str) -> Stage:
        if stage not in trip_states.STAGES:
            raise KeyError(stage)
        mine = [i for i in self.items if stage in i.stages]
        return Stage(stage=stage, person_items=tuple(i for i in mine if i.per_person),
                     trip_items=tuple(i for i in mine if not i.per_person))


def _item(raw, n: int) -> Item:
    where = f"item {n + 1}"
    if not isinstance(raw, dict):
        raise ChecklistError(f"{where}: must be an object")
    unknown = set(raw) - _ITEM_KEYS
    if unknown:
        raise ChecklistError(f"{where}: unknown keys {sorted(unknown)}")
    code = raw.get("code")
    if not isinstance(code, str) or not CODE.match(code):
        raise ChecklistError(f"{where}: code must be lower-case letters, digits and _ (got {code!r})")
    where = f"item {code!r}"
    stages = raw.get("stages")
    if not isinstance(stages, list) or not stages or len(set(stages)) != len(stages) \
            or not all(s in trip_states.STAGES for s in stages):
        raise ChecklistError(f"{where}: stages must be a non-empty list of {', '.join(trip_states.STAGES)}")
    for key in ("per_person", "blocking"):
        if not isinstance(raw.get(key), bool):
            raise ChecklistError(f"{where}: {key} must be true or false")
    label = raw.get("label")
    if not isinstance(label, dict) or set(label) != {"zh", "en"} \
            or not all(isinstance(v, str) and v.strip() for v in label.values()):
        raise ChecklistError(f"{where}: label must have a non-empty zh and en text, nothing else")
    computed = raw.get("computed", "")
    if computed not in ("", LOAD):
        raise ChecklistError(f"{where}: computed may only be {LOAD!r}")
    if computed and raw["per_person"]:
        raise ChecklistError(f"{where}: a computed item is asked once for the trip, not per person")
    if computed and not set(stages) <= _LOAD_STAGES:
        raise ChecklistError(f"{where}: the load is counted where people board ({', '.join(sorted(_LOAD_STAGES))})")
    share = raw.get("max_share")
    if share is not None:
        if not computed:
            raise ChecklistError(f"{where}: max_share belongs to a computed load item")
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
            raise ChecklistError(f"{where}: max_share must be a number above 0 and at most 1")
        share = Fraction(str(share))
    return Item(code=code, stages=tuple(stages), per_person=raw["per_person"], blocking=raw["blocking"],
                label_zh=label["zh"].strip(), label_en=label["en"].strip(), computed=computed, max_share=share)


def parse(data) -> Checklist:
    """A checklist from the file's JSON data, or ChecklistError."""
    if not isinstance(data, dict):
        raise ChecklistError("the checklist must be a JSON object")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ChecklistError(f"unknown keys {sorted(unknown)}")
    if data.get("format") != FORMAT:
        raise ChecklistError(f"format must be {FORMAT!r}")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ChecklistError("version must be a whole number of 1 or more")
    items = data.get("items")
    if not isinstance(items, list) or not items:
        raise ChecklistError("items must be a non-empty list")
    parsed = tuple(_item(raw, n) for n, raw in enumerate(items))
    codes = [i.code for i in parsed]
    twice = sorted({c for c in codes if codes.count(c) > 1})
    if twice:
        raise ChecklistError(f"item codes used twice: {twice}")
    for stage in trip_states.STAGES:
        if not any(stage in i.stages for i in parsed):
            raise ChecklistError(f"stage {stage!r} has no item: every hand-over follows a checklist")
    return Checklist(version=version, source=str(data.get("source", "")), items=parsed)


@lru_cache(maxsize=4)
def load(path: str | Path = SHIPPED) -> Checklist:
    """The checklist of a file (by default the shipped one), read once."""
    with open(path, encoding="utf-8") as f:
        return parse(json.load(f))


def load_limit(seats: int, vehicle_share, item: Item) -> int:
    """How many people a vehicle may carry under a load item: seats times the smaller share, rounded down."""
    share = Fraction(str(vehicle_share))
    if item.max_share is not None:
        share = min(share, item.max_share)
    return math.floor(seats * share)


def unmet(items, answers: dict[str, bool], *, blocking: bool = True) -> list[Item]:
    """The items (blocking ones, or the others) not answered yes."""
    return [i for i in items if i.blocking == blocking and answers.get(i.code) is not True]
