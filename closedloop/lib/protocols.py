"""Quarantine protocols as data: the file format, loading and validation.

A protocol is one JSON file per version (see docs/protocols.md). Loading
checks every field and refuses a malformed file with a ``ProtocolError``
naming the file, the field and the reason. No Django here: the quarantine app
stores, translates and adopts protocols; this module only reads them.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from closedloop.lib import categories
from closedloop.lib.text import gettext_noop

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "quarantine" / "protocols"

CENTRALIZED = "centralized"
HOME_ISOLATION = "home_isolation"
HOME_MONITORING = "home_monitoring"
PHASE_KINDS = (CENTRALIZED, HOME_ISOLATION, HOME_MONITORING)

ANCHORS = ("last_exposure", "arrival", "left_risk_area", "control_start")

# The categories a quarantine protocol can serve (a case goes to hospital; a
# resident isolated in another city follows that city's protocol).
CATEGORIES = (
    categories.CLOSE_CONTACT,
    categories.SECONDARY_CONTACT,
    categories.INBOUND,
    categories.HIGH_RISK_AREA,
    categories.MEDIUM_RISK_AREA,
    categories.STAFF_ROTATION,
)

# Conditions under which a protocol's alternative phases apply instead of its own.
HOME_UNSUITABLE = "home_unsuitable"
ALTERNATIVE_CONDITIONS = (HOME_UNSUITABLE,)

# Names of the daily health-check slots, by checks per day.
SLOT_LABELS = {
    1: ("daily",),
    2: ("morning", "evening"),
    3: ("morning", "noon", "evening"),
    4: ("morning", "noon", "afternoon", "evening"),
}

MAX_PHASE_DAYS = 60
MAX_CT = 50

# What a Ct value means under a protocol's CtRule.
CT_POSITIVE = "positive"
CT_ASSESS = "assess"
CT_NEGATIVE = "negative"

_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_VERSIONED_NAME = re.compile(r"(?P<id>.+)\.v(?P<version>[1-9]\d*)")


class ProtocolError(ValueError):
    """A protocol that cannot be used: the file, the field and the reason.

    ``str()`` is "cn-9-close-contact.json: phases[1].tests[0]: Test day 4 is
    outside the phase's 3 days." (empty parts are left out). ``template`` is
    the English reason marked with gettext_noop, ``params`` fill its
    ``%(name)s`` placeholders; ``translated(gettext)`` gives the whole message
    in the caller's language.
    """

    def __init__(self, file: str, field: str, template: str, /, **params: object) -> None:
        self.file = file
        self.field = field
        self.template = template
        self.params = params
        self.reason = template % params
        super().__init__(self._message(self.reason))

    def _message(self, reason: str) -> str:
        return ": ".join(part for part in (self.file, self.field, reason) if part)

    def translated(self, gettext: Callable[[str], str]) -> str:
        """The whole message with the reason in the caller's language: pass Django's gettext."""
        return self._message(gettext(self.template) % self.params)

    def __reduce__(self):
        return (_rebuild_protocol_error, (self.file, self.field, self.template, self.params))


def _rebuild_protocol_error(file: str, field: str, template: str, params: dict) -> ProtocolError:
    return ProtocolError(file, field, template, **params)


# --- the model --------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A title in both shipped languages."""

    zh: str
    en: str

    def in_language(self, language: str) -> str:
        """The Chinese text for any zh* language code, the English one otherwise."""
        return self.zh if language.lower().startswith("zh") else self.en

    def to_dict(self) -> dict:
        return {"zh": self.zh, "en": self.en}


@dataclass(frozen=True)
class Phase:
    """One phase: its kind, its length in days and its test days (day of phase, from 1)."""

    kind: str
    days: int
    tests: tuple[int, ...]

    def to_dict(self) -> dict:
        return {"kind": self.kind, "days": self.days, "tests": list(self.tests)}


@dataclass(frozen=True)
class HealthChecks:
    """How often health is checked: ``per_day`` checks at ``times`` (HH:MM, local time)."""

    per_day: int
    times: tuple[str, ...]

    @property
    def slots(self) -> tuple[str, ...]:
        """The slot names, one per time: ('morning', 'evening') for two a day."""
        return SLOT_LABELS[self.per_day]

    def to_dict(self) -> dict:
        return {"per_day": self.per_day, "times": list(self.times)}


@dataclass(frozen=True)
class CtRule:
    """Ct < positive_below is positive; positive_below <= Ct < assess_below needs a risk assessment."""

    positive_below: float
    assess_below: float

    def classify(self, ct: float | None) -> str:
        """CT_POSITIVE, CT_ASSESS or CT_NEGATIVE; None means no amplification (negative)."""
        if ct is None:
            return CT_NEGATIVE
        if ct < self.positive_below:
            return CT_POSITIVE
        if ct < self.assess_below:
            return CT_ASSESS
        return CT_NEGATIVE

    def to_dict(self) -> dict:
        return {"positive_below": self.positive_below, "assess_below": self.assess_below}


@dataclass(frozen=True)
class ReleaseRule:
    """What a release of a phase needs."""

    requires_all_days: bool
    requires_all_tests_negative: bool
    requires_no_open_symptom_alert: bool

    def to_dict(self) -> dict:
        return {
            "requires_all_days": self.requires_all_days,
            "requires_all_tests_negative": self.requires_all_tests_negative,
            "requires_no_open_symptom_alert": self.requires_no_open_symptom_alert,
        }


@dataclass(frozen=True)
class Alternative:
    """Phases that replace the protocol's own when ``condition`` holds (e.g. the home is unsuitable)."""

    condition: str
    title: Text
    phases: tuple[Phase, ...]

    def to_dict(self) -> dict:
        return {"title": self.title.to_dict(), "phases": [phase.to_dict() for phase in self.phases]}


@dataclass(frozen=True)
class Protocol:
    id: str
    version: int
    title: Text
    source: str
    effective_from: dt.date
    category: str
    anchor: str
    phases: tuple[Phase, ...]
    health_checks: HealthChecks
    ct: CtRule
    release: ReleaseRule
    alternatives: tuple[Alternative, ...] = ()

    @property
    def key(self) -> tuple[str, int]:
        return (self.id, self.version)

    @property
    def total_days(self) -> int:
        return sum(phase.days for phase in self.phases)

    def alternative(self, condition: str) -> Alternative | None:
        for alternative in self.alternatives:
            if alternative.condition == condition:
                return alternative
        return None

    def phases_for(self, condition: str | None) -> tuple[Phase, ...] | None:
        """The phases that apply: the protocol's own for None, an alternative's, or None if not offered."""
        if condition is None:
            return self.phases
        alternative = self.alternative(condition)
        return alternative.phases if alternative else None

    def to_dict(self) -> dict:
        """The file's content: ``load_protocol(p.to_dict()) == p``."""
        data = {
            "id": self.id,
            "version": self.version,
            "title": self.title.to_dict(),
            "source": self.source,
            "effective_from": self.effective_from.isoformat(),
            "category": self.category,
            "anchor": self.anchor,
            "phases": [phase.to_dict() for phase in self.phases],
            "health_checks": self.health_checks.to_dict(),
            "ct": self.ct.to_dict(),
            "release": self.release.to_dict(),
        }
        if self.alternatives:
            data["alternatives"] = {a.condition: a.to_dict() for a in self.alternatives}
        return data

    def to_json(self) -> str:
        """The canonical text of the protocol's file (the shipped files are written this way)."""
        return _dump(self.to_dict(), "") + "\n"

    def file_name(self) -> str:
        """The canonical file name: ``<id>.json`` for version 1, ``<id>.v<version>.json`` after."""
        return f"{self.id}.json" if self.version == 1 else f"{self.id}.v{self.version}.json"


def _dump(value: object, indent: str) -> str:
    """JSON indented by two spaces, with lists of plain values on one line: "tests": [1, 2, 3, 5, 7]."""
    inner = indent + "  "
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(key, ensure_ascii=False)}: {_dump(item, inner)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value):
        return "[\n" + ",\n".join(inner + _dump(item, inner) for item in value) + "\n" + indent + "]"
    return json.dumps(value, ensure_ascii=False)


# --- reading ----------------------------------------------------------------


class _Object(dict):
    """A JSON object that remembers keys it saw more than once."""

    duplicates: tuple[str, ...] = ()


def _object_pairs(pairs: list[tuple[str, object]]) -> _Object:
    result = _Object()
    duplicates = []
    for key, value in pairs:
        if key in result and key not in duplicates:
            duplicates.append(key)
        result[key] = value
    result.duplicates = tuple(duplicates)
    return result


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not allowed")


def _show(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _at(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


class _Reader:
    """Checks one protocol's data; every refusal names ``file`` and the field."""

    def __init__(self, file: str) -> None:
        self.file = file

    # Types. bool is an int to Python but never a number in a protocol.

    def object(self, value: object, field: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, dict):
            raise ProtocolError(
                self.file, field, gettext_noop("This should be an object {...}, not %(value)s."), value=_show(value)
            )
        for key in getattr(value, "duplicates", ()):
            raise ProtocolError(self.file, _at(field, key), gettext_noop("This key is given more than once."))
        allowed = required + optional
        for key in value:
            if key not in allowed:
                raise ProtocolError(
                    self.file,
                    _at(field, key),
                    gettext_noop("Unknown key; the keys here are: %(allowed)s."),
                    allowed=", ".join(allowed),
                )
        for key in required:
            if key not in value:
                raise ProtocolError(self.file, _at(field, key), gettext_noop("This key is missing."))
        return value

    def integer(self, value: object, field: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProtocolError(
                self.file, field, gettext_noop("This should be a whole number, not %(value)s."), value=_show(value)
            )
        return value

    def number(self, value: object, field: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ProtocolError(
                self.file, field, gettext_noop("This should be a number, not %(value)s."), value=_show(value)
            )
        return value

    def text(self, value: object, field: str) -> str:
        if not isinstance(value, str):
            raise ProtocolError(
                self.file, field, gettext_noop("This should be a text in quotes, not %(value)s."), value=_show(value)
            )
        if not value.strip():
            raise ProtocolError(self.file, field, gettext_noop("This text is empty."))
        return value

    def boolean(self, value: object, field: str) -> bool:
        if not isinstance(value, bool):
            raise ProtocolError(
                self.file, field, gettext_noop("This should be true or false, not %(value)s."), value=_show(value)
            )
        return value

    def array(self, value: object, field: str) -> list:
        if not isinstance(value, list):
            raise ProtocolError(
                self.file, field, gettext_noop("This should be a list [...], not %(value)s."), value=_show(value)
            )
        return value

    def choice(self, value: object, field: str, allowed: tuple[str, ...]) -> str:
        value = self.text(value, field)
        if value not in allowed:
            raise ProtocolError(
                self.file,
                field,
                gettext_noop('Unknown value "%(value)s"; use one of: %(allowed)s.'),
                value=value,
                allowed=", ".join(allowed),
            )
        return value

    # The parts of a protocol.

    def protocol(self, data: object) -> Protocol:
        data = self.object(
            data,
            "",
            ("id", "version", "title", "source", "effective_from", "category", "anchor", "phases",
             "health_checks", "ct", "release"),
            ("alternatives",),
        )
        protocol_id = self.text(data["id"], "id")
        if not _ID.fullmatch(protocol_id):
            raise ProtocolError(
                self.file,
                "id",
                gettext_noop(
                    'The id "%(value)s" may only have lower-case letters, digits and single hyphens, '
                    "like cn-9-close-contact."
                ),
                value=protocol_id,
            )
        version = self.integer(data["version"], "version")
        if version < 1:
            raise ProtocolError(
                self.file, "version", gettext_noop("The version starts at 1, not %(value)s."), value=version
            )
        title = self.title(data["title"], "title")
        source = self.text(data["source"], "source")
        effective_from = self.date(data["effective_from"], "effective_from")
        category = self.choice(data["category"], "category", CATEGORIES)
        anchor = self.choice(data["anchor"], "anchor", ANCHORS)
        phases = self.phases(data["phases"], "phases")
        health_checks = self.health_checks(data["health_checks"], "health_checks")
        ct = self.ct(data["ct"], "ct")
        release = self.release(data["release"], "release")
        alternatives = self.alternatives(data["alternatives"], "alternatives") if "alternatives" in data else ()
        return Protocol(
            id=protocol_id,
            version=version,
            title=title,
            source=source,
            effective_from=effective_from,
            category=category,
            anchor=anchor,
            phases=phases,
            health_checks=health_checks,
            ct=ct,
            release=release,
            alternatives=alternatives,
        )

    def date(self, value: object, field: str) -> dt.date:
        text = self.text(value, field)
        try:
            if not _DATE.fullmatch(text):
                raise ValueError(text)
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ProtocolError(
                self.file, field, gettext_noop('"%(value)s" is not a date; write it like 2022-06-28.'), value=text
            ) from None

    def title(self, value: object, field: str) -> Text:
        value = self.object(value, field, ("zh", "en"))
        return Text(zh=self.text(value["zh"], _at(field, "zh")), en=self.text(value["en"], _at(field, "en")))

    def phases(self, value: object, field: str) -> tuple[Phase, ...]:
        items = self.array(value, field)
        if not items:
            raise ProtocolError(self.file, field, gettext_noop("A protocol needs at least one phase."))
        return tuple(self.phase(item, _at(field, index)) for index, item in enumerate(items))

    def phase(self, value: object, field: str) -> Phase:
        value = self.object(value, field, ("kind", "days", "tests"))
        kind = self.choice(value["kind"], _at(field, "kind"), PHASE_KINDS)
        days = self.integer(value["days"], _at(field, "days"))
        if days < 1:
            raise ProtocolError(
                self.file, _at(field, "days"), gettext_noop("A phase lasts at least 1 day, not %(days)s."), days=days
            )
        if days > MAX_PHASE_DAYS:
            raise ProtocolError(
                self.file,
                _at(field, "days"),
                gettext_noop("A phase of %(days)s days is longer than the limit of %(limit)s days; check the number."),
                days=days,
                limit=MAX_PHASE_DAYS,
            )
        tests_field = _at(field, "tests")
        tests: list[int] = []
        for index, item in enumerate(self.array(value["tests"], tests_field)):
            day_field = _at(tests_field, index)
            day = self.integer(item, day_field)
            if not 1 <= day <= days:
                raise ProtocolError(
                    self.file,
                    day_field,
                    gettext_noop("Test day %(day)s is outside the phase's %(days)s days."),
                    day=day,
                    days=days,
                )
            if day in tests:
                raise ProtocolError(
                    self.file, day_field, gettext_noop("Test day %(day)s is listed twice."), day=day
                )
            if tests and day < tests[-1]:
                raise ProtocolError(
                    self.file,
                    day_field,
                    gettext_noop("Test day %(day)s comes after day %(previous)s; list the test days in order."),
                    day=day,
                    previous=tests[-1],
                )
            tests.append(day)
        return Phase(kind=kind, days=days, tests=tuple(tests))

    def health_checks(self, value: object, field: str) -> HealthChecks:
        value = self.object(value, field, ("per_day", "times"))
        per_day_field = _at(field, "per_day")
        per_day = self.integer(value["per_day"], per_day_field)
        if per_day not in SLOT_LABELS:
            raise ProtocolError(
                self.file,
                per_day_field,
                gettext_noop("Health checks happen 1 to 4 times a day, not %(value)s."),
                value=per_day,
            )
        times_field = _at(field, "times")
        times: list[str] = []
        for index, item in enumerate(self.array(value["times"], times_field)):
            time_field = _at(times_field, index)
            time = self.text(item, time_field)
            if not _TIME.fullmatch(time):
                raise ProtocolError(
                    self.file,
                    time_field,
                    gettext_noop('"%(value)s" is not a time of day; write it like 08:00.'),
                    value=time,
                )
            if times and time <= times[-1]:
                raise ProtocolError(
                    self.file,
                    time_field,
                    gettext_noop("%(time)s is not after %(previous)s; list the times in order, each once."),
                    time=time,
                    previous=times[-1],
                )
            times.append(time)
        if len(times) != per_day:
            raise ProtocolError(
                self.file,
                times_field,
                gettext_noop("Give one time per check: %(per_day)s checks a day, but %(count)s times are listed."),
                count=len(times),
                per_day=per_day,
            )
        return HealthChecks(per_day=per_day, times=tuple(times))

    def ct(self, value: object, field: str) -> CtRule:
        value = self.object(value, field, ("positive_below", "assess_below"))
        thresholds = {}
        for key in ("positive_below", "assess_below"):
            number = self.number(value[key], _at(field, key))
            if not 0 < number <= MAX_CT:
                raise ProtocolError(
                    self.file,
                    _at(field, key),
                    gettext_noop("A Ct threshold is above 0 and at most %(limit)s, not %(value)s."),
                    value=number,
                    limit=MAX_CT,
                )
            thresholds[key] = number
        if thresholds["assess_below"] <= thresholds["positive_below"]:
            raise ProtocolError(
                self.file,
                _at(field, "assess_below"),
                gettext_noop("The assessment threshold %(assess)s must be above the positive threshold %(positive)s."),
                assess=thresholds["assess_below"],
                positive=thresholds["positive_below"],
            )
        return CtRule(**thresholds)

    def release(self, value: object, field: str) -> ReleaseRule:
        keys = ("requires_all_days", "requires_all_tests_negative", "requires_no_open_symptom_alert")
        value = self.object(value, field, keys)
        return ReleaseRule(**{key: self.boolean(value[key], _at(field, key)) for key in keys})

    def alternatives(self, value: object, field: str) -> tuple[Alternative, ...]:
        value = self.object(value, field, (), ALTERNATIVE_CONDITIONS)
        result = []
        for condition, item in value.items():
            item_field = _at(field, condition)
            item = self.object(item, item_field, ("title", "phases"))
            result.append(
                Alternative(
                    condition=condition,
                    title=self.title(item["title"], _at(item_field, "title")),
                    phases=self.phases(item["phases"], _at(item_field, "phases")),
                )
            )
        return tuple(result)


def _file_matches(name: str, protocol: Protocol) -> bool:
    """``<id>.json`` (any version) or ``<id>.v<version>.json``."""
    if not name.endswith(".json"):
        return False
    stem = name.removesuffix(".json")
    if stem == protocol.id:
        return True
    match = _VERSIONED_NAME.fullmatch(stem)
    return bool(match and match["id"] == protocol.id and int(match["version"]) == protocol.version)


def parse_json(text: str, file: str = "") -> object:
    """JSON text to plain data, refusing repeated keys (reported by the loader) and NaN/Infinity."""
    try:
        return json.loads(text, object_pairs_hook=_object_pairs, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise ProtocolError(
            file,
            "",
            gettext_noop("The file is not valid JSON: %(detail)s at line %(line)s, column %(column)s."),
            detail=error.msg,
            line=error.lineno,
            column=error.colno,
        ) from None
    except ValueError as error:  # NaN, Infinity
        raise ProtocolError(
            file, "", gettext_noop("The file is not valid JSON: %(detail)s."), detail=str(error)
        ) from None


def load_protocol(source: str | Path | Mapping, *, name: str | None = None) -> Protocol:
    """Read and check one protocol from a file path or from already-parsed data.

    For a path, ``name`` defaults to the file's name and the id must match it
    (``<id>.json`` or ``<id>.v<version>.json``). For data (the admin's JSON
    field), the name check is made only when ``name`` is given.
    """
    if isinstance(source, Mapping):
        data: object = source if isinstance(source, dict) else dict(source)
        file = name or ""
    else:
        path = Path(source)
        file = name or path.name
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ProtocolError(file, "", gettext_noop("The file is not UTF-8 text.")) from None
        data = parse_json(text, file)
    protocol = _Reader(file).protocol(data)
    if file and not _file_matches(file, protocol):
        raise ProtocolError(
            file,
            "id",
            gettext_noop('The id "%(id)s" does not match the file name; name the file %(expected)s.'),
            id=protocol.id,
            expected=protocol.file_name(),
        )
    return protocol


def load_directory(*paths: str | Path) -> dict[tuple[str, int], Protocol]:
    """Every ``*.json`` protocol in the directories, keyed by (id, version).

    Refuses the whole set if a file is malformed, if two files define the same
    id and version, or if versions of one id disagree on category or anchor.
    """
    catalogue: dict[tuple[str, int], Protocol] = {}
    files: dict[tuple[str, int], str] = {}
    for directory in paths:
        for path in sorted(Path(directory).glob("*.json")):
            if path.name.startswith("."):
                continue
            protocol = load_protocol(path)
            if protocol.key in catalogue:
                raise ProtocolError(
                    path.name,
                    "version",
                    gettext_noop("Protocol %(id)s version %(version)s is also defined in %(other)s."),
                    id=protocol.id,
                    version=protocol.version,
                    other=files[protocol.key],
                )
            _check_same_course(path.name, protocol, catalogue.values(), files)
            catalogue[protocol.key] = protocol
            files[protocol.key] = path.name
    return catalogue


def _check_same_course(
    file: str, protocol: Protocol, others: Iterable[Protocol], files: dict[tuple[str, int], str]
) -> None:
    for other in others:
        if other.id != protocol.id:
            continue
        for field in ("category", "anchor"):
            if getattr(other, field) != getattr(protocol, field):
                raise ProtocolError(
                    file,
                    field,
                    gettext_noop(
                        'Every version of a protocol keeps its %(field)s: "%(value)s" here, '
                        '"%(other_value)s" in %(other)s.'
                    ),
                    field=field,
                    value=getattr(protocol, field),
                    other_value=getattr(other, field),
                    other=files[other.key],
                )


@lru_cache(maxsize=1)
def _shipped() -> tuple[Protocol, ...]:
    return tuple(load_directory(SHIPPED_DIR).values())


def shipped() -> dict[tuple[str, int], Protocol]:
    """The protocols shipped in closedloop/quarantine/protocols/, keyed by (id, version)."""
    return {protocol.key: protocol for protocol in _shipped()}
