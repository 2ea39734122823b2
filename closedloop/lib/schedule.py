"""An episode's schedule computed from its protocol: phases, tests, health checks, release.

Pure: dates in, dates out. Every date is a calendar day in the headquarters'
local time zone; the caller converts aware datetimes before calling. The rules
(docs/protocols.md):

- day 1 is the anchor's calendar day; a phase of N days ends at the end of
  day N; the next phase starts the day after, counted again from its own day 1;
- ``ends_at_end_of`` is the last day of the last phase and ``release_on``
  the day after it: the earliest day a release can happen;
- a person placed under control after day 1 has the tests of the days before
  ``placed_on`` recorded as ``missed_before_control`` (not dropped);
- a change of protocol (``replan``) recomputes the schedule of the new
  protocol from the same anchor; the new protocol's tests dated before the day
  of the change are kept, marked ``before_change``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, replace

from closedloop.lib.protocols import Protocol
from closedloop.lib.text import CellError, gettext_noop

ONE_DAY = dt.timedelta(days=1)


class ScheduleError(CellError):
    """A schedule that cannot be computed from the dates or protocols given; see ``reason``."""


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


# replan(..., alternative=KEEP): the same alternative as the old schedule.
KEEP = _Keep()


@dataclass(frozen=True)
class ScheduledPhase:
    index: int
    kind: str
    start: dt.date
    end: dt.date  # the last day, inclusive: the phase ends at the end of this day
    days: int

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class ScheduledTest:
    phase_index: int
    phase_kind: str
    day_of_phase: int
    date: dt.date
    # The test's day came before the person was placed under control.
    missed_before_control: bool = False
    # The test's day came before the change to this schedule's protocol (replan).
    before_change: bool = False

    @property
    def due(self) -> bool:
        """A test the person must take: neither before control nor before the change of protocol."""
        return not (self.missed_before_control or self.before_change)


@dataclass(frozen=True)
class ScheduledCheck:
    date: dt.date
    slot: str  # 'morning', 'evening' … (protocols.SLOT_LABELS)
    time: str  # HH:MM local time
    phase_index: int
    phase_kind: str


@dataclass(frozen=True)
class Schedule:
    protocol: Protocol
    anchor: dt.date
    placed_on: dt.date  # the anchor when the person was placed on day 1
    alternative: str | None
    phases: tuple[ScheduledPhase, ...]
    tests: tuple[ScheduledTest, ...]
    ends_at_end_of: dt.date
    release_on: dt.date
    changed_on: dt.date | None = None  # replan: the first day under this protocol
    previous_protocol: tuple[str, int] | None = None  # replan: (id, version) before the change

    # Days and phases.

    @property
    def total_days(self) -> int:
        return (self.ends_at_end_of - self.anchor).days + 1

    def phase_on(self, day: dt.date) -> ScheduledPhase | None:
        """The phase the calendar puts the person in on ``day``; None outside the course."""
        for phase in self.phases:
            if phase.contains(day):
                return phase
        return None

    def day_of(self, day: dt.date) -> tuple[int, int] | None:
        """(phase index, day of that phase from 1) for ``day``; None outside the course."""
        phase = self.phase_on(day)
        if phase is None:
            return None
        return phase.index, (day - phase.start).days + 1

    def course_day(self, day: dt.date) -> int | None:
        """Day of the whole course, from 1 on the anchor's day; None outside the course."""
        if not self.anchor <= day <= self.ends_at_end_of:
            return None
        return (day - self.anchor).days + 1

    # Tests.

    def tests_on(self, day: dt.date) -> tuple[ScheduledTest, ...]:
        return tuple(test for test in self.tests if test.date == day)

    @property
    def tests_due(self) -> tuple[ScheduledTest, ...]:
        return tuple(test for test in self.tests if test.due)

    @property
    def tests_missed_before_control(self) -> tuple[ScheduledTest, ...]:
        return tuple(test for test in self.tests if test.missed_before_control)

    def phase_tests(self, index: int) -> tuple[ScheduledTest, ...]:
        return tuple(test for test in self.tests if test.phase_index == index)

    # Health checks: from the day of placement to the end of the course, per_day a day.

    @property
    def checks_from(self) -> dt.date:
        return self.placed_on

    @property
    def checks_per_day(self) -> int:
        return self.protocol.health_checks.per_day

    @property
    def check_count(self) -> int:
        days = (self.ends_at_end_of - self.checks_from).days + 1
        return max(days, 0) * self.checks_per_day

    def checks_between(self, first: dt.date, last: dt.date) -> Iterator[ScheduledCheck]:
        """The health checks due from ``first`` to ``last``, both included, in order."""
        health = self.protocol.health_checks
        day = max(first, self.checks_from)
        last = min(last, self.ends_at_end_of)
        while day <= last:
            phase = self.phase_on(day)
            for slot, time in zip(health.slots, health.times, strict=True):
                yield ScheduledCheck(date=day, slot=slot, time=time, phase_index=phase.index, phase_kind=phase.kind)
            day += ONE_DAY

    def checks_on(self, day: dt.date) -> tuple[ScheduledCheck, ...]:
        return tuple(self.checks_between(day, day))

    def to_dict(self) -> dict:
        """Plain JSON-ready data (dates as ISO text), for storing or serving the schedule."""
        return {
            "protocol": {"id": self.protocol.id, "version": self.protocol.version},
            "anchor": self.anchor.isoformat(),
            "placed_on": self.placed_on.isoformat(),
            "alternative": self.alternative,
            "phases": [
                {"index": p.index, "kind": p.kind, "start": p.start.isoformat(), "end": p.end.isoformat(), "days": p.days}
                for p in self.phases
            ],
            "tests": [
                {
                    "phase_index": t.phase_index,
                    "phase_kind": t.phase_kind,
                    "day_of_phase": t.day_of_phase,
                    "date": t.date.isoformat(),
                    "missed_before_control": t.missed_before_control,
                    "before_change": t.before_change,
                }
                for t in self.tests
            ],
            "health_checks": {
                "from": self.checks_from.isoformat(),
                "until": self.ends_at_end_of.isoformat(),
                "per_day": self.checks_per_day,
                "times": list(self.protocol.health_checks.times),
                "slots": list(self.protocol.health_checks.slots),
            },
            "ends_at_end_of": self.ends_at_end_of.isoformat(),
            "release_on": self.release_on.isoformat(),
            "changed_on": self.changed_on.isoformat() if self.changed_on else None,
            "previous_protocol": (
                {"id": self.previous_protocol[0], "version": self.previous_protocol[1]}
                if self.previous_protocol
                else None
            ),
        }


def _calendar_day(value: object, name: str) -> dt.date:
    # A datetime is a date to Python; here it would silently carry a time zone
    # question the caller must settle first.
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise TypeError(f"{name} must be a datetime.date (a local calendar day), not {type(value).__name__}")
    return value


def compute(
    protocol: Protocol, *, anchor: dt.date, placed_on: dt.date | None = None, alternative: str | None = None
) -> Schedule:
    """The schedule of ``protocol`` counted from ``anchor`` (day 1).

    ``placed_on`` is the day the person came under control (the anchor when
    None); tests of earlier days are ``missed_before_control``.
    ``alternative`` picks the protocol's alternative phases (e.g.
    ``'home_unsuitable'``).
    """
    anchor = _calendar_day(anchor, "anchor")
    placed = anchor if placed_on is None else _calendar_day(placed_on, "placed_on")
    if placed < anchor:
        raise ScheduleError(
            gettext_noop(
                "The person was placed under control on %(placed_on)s, before the anchor date %(anchor)s; "
                "check both dates."
            ),
            placed_on=placed.isoformat(),
            anchor=anchor.isoformat(),
        )
    definitions = protocol.phases_for(alternative)
    if definitions is None:
        raise ScheduleError(
            gettext_noop('Protocol %(protocol)s version %(version)s has no alternative "%(alternative)s".'),
            protocol=protocol.id,
            version=protocol.version,
            alternative=alternative,
        )
    phases: list[ScheduledPhase] = []
    tests: list[ScheduledTest] = []
    start = anchor
    for index, definition in enumerate(definitions):
        end = start + dt.timedelta(days=definition.days - 1)
        phases.append(ScheduledPhase(index=index, kind=definition.kind, start=start, end=end, days=definition.days))
        for day in definition.tests:
            date = start + dt.timedelta(days=day - 1)
            tests.append(
                ScheduledTest(
                    phase_index=index,
                    phase_kind=definition.kind,
                    day_of_phase=day,
                    date=date,
                    missed_before_control=date < placed,
                )
            )
        start = end + ONE_DAY
    return Schedule(
        protocol=protocol,
        anchor=anchor,
        placed_on=placed,
        alternative=alternative,
        phases=tuple(phases),
        tests=tuple(tests),
        ends_at_end_of=phases[-1].end,
        release_on=phases[-1].end + ONE_DAY,
    )


def replan(
    old: Schedule, new_protocol: Protocol, *, today: dt.date, alternative: str | None | _Keep = KEEP
) -> Schedule:
    """The schedule after a change to ``new_protocol`` taking effect at the start of ``today``.

    The new protocol is counted from the old schedule's anchor, with the same
    placement day. Its tests dated before ``today`` are marked
    ``before_change``: they were not due when they fell (the results actually
    taken under the old protocol are the episode's record); tests from today on
    are due. A ``release_on`` before ``today`` means the person is due for
    release at once. The protocol must serve the same category and count from
    the same anchor (a change of category opens a new episode). ``alternative``
    defaults to the old schedule's.
    """
    today = _calendar_day(today, "today")
    before = old.protocol
    if new_protocol.category != before.category:
        raise ScheduleError(
            gettext_noop(
                "Protocol %(protocol)s is for the category %(new)s, not %(old)s; "
                "a change of category opens a new episode."
            ),
            protocol=new_protocol.id,
            new=new_protocol.category,
            old=before.category,
        )
    if new_protocol.anchor != before.anchor:
        raise ScheduleError(
            gettext_noop("Protocol %(protocol)s counts from %(new)s, not %(old)s; the anchor date would not carry over."),
            protocol=new_protocol.id,
            new=new_protocol.anchor,
            old=before.anchor,
        )
    chosen = old.alternative if alternative is KEEP else alternative
    schedule = compute(new_protocol, anchor=old.anchor, placed_on=old.placed_on, alternative=chosen)
    return replace(
        schedule,
        tests=tuple(replace(test, before_change=test.date < today) for test in schedule.tests),
        changed_on=today,
        previous_protocol=before.key,
    )
