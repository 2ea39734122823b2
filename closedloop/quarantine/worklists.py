"""The work lists: what is due, for whom, on a day. Reads only, always scoped.

Front line (a custodian — a site, the station, a community's home custody — or
a whole community): the tests due, the health checks due per slot and those
still missing, the releases due, the arrivals expected and everything overdue.
Schedules are computed in Python, but only for the episodes the custodian
holds (a site holds a few hundred people at most), with a constant number of
queries whatever that number.

Headquarters: lost in transit, kept beyond the release day, missed tests and
unanswered fever or symptom alerts, each with who answers for the person. These
lists are SQL: a missed test is found from the protocols' test days per
(protocol, anchor date) pair and an ``EXISTS`` per day, never by computing a
schedule per episode over the whole city; schedules are computed only for the
rows of the page being shown.

"Day N" and "today" are calendar days in ``settings.TIME_ZONE``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from closedloop.core.models import Jurisdiction
from closedloop.core.roles import Cap
from closedloop.core.scoping import jurisdiction_q, jurisdictions_visible, require, user_jurisdictions
from closedloop.lib.schedule import Schedule, ScheduledTest, compute
from closedloop.quarantine import states
from closedloop.quarantine.choices import AlertKind, AlertStatus, CheckSlot, CustodianKind, TestResult
from closedloop.quarantine.models import (
    Alert,
    Custodian,
    Episode,
    EpisodeReplan,
    HealthCheck,
    Protocol,
    Specimen,
)
from closedloop.quarantine.selectors import episodes_visible, lost_in_transit

ONE_DAY = dt.timedelta(days=1)
HELD_STATES = (states.IN_CUSTODY, states.IN_TRANSIT)
# An alert of these kinds that nobody answered within this time is headquarters' business.
SYMPTOM_ALERTS = (AlertKind.FEVER, AlertKind.SYMPTOM)
RESULT_ALERTS = (AlertKind.POSITIVE, AlertKind.ASSESS)
UNANSWERED_AFTER = dt.timedelta(hours=1)

PHASE_LABELS = {
    "centralized": _("Centralized isolation"),
    "home_isolation": _("Home isolation"),
    "home_monitoring": _("Home health monitoring"),
}
SLOT_LABELS = dict(CheckSlot.choices)

# The headquarters lists, in the order of the figures at the top of the page.
HQ_LISTS = ("lost", "overdue", "missed", "alerts")


# --- time ------------------------------------------------------------------------------

def day_start(day: dt.date) -> dt.datetime:
    """The aware moment a local calendar day begins."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_default_timezone())


def as_of(day: dt.date) -> dt.datetime:
    """The moment a list for ``day`` is judged at: now for today, the end of the day otherwise."""
    if day == timezone.localdate():
        return timezone.now()
    return day_start(day + ONE_DAY)


def local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


# --- scope -------------------------------------------------------------------------------

def custodians_visible(user) -> QuerySet[Custodian]:
    """Custodians whose place lies in the user's jurisdictions (a city-level user sees the city's all)."""
    require(user, Cap.VIEW_PEOPLE)
    q = Q(pk__in=[])
    for j in user_jurisdictions(user):
        if j.level == Jurisdiction.Level.CITY:
            q |= Q(city_id=j.pk)
        elif j.level == Jurisdiction.Level.TOWN:
            q |= Q(jurisdiction_id=j.pk) | Q(jurisdiction__parent_id=j.pk)
        else:
            q |= Q(jurisdiction_id=j.pk)
    return Custodian.objects.filter(q)


def custodian_get(user, pk) -> Custodian:
    custodian = custodians_visible(user).select_related("jurisdiction").filter(pk=pk).first()
    if custodian is None:
        raise Http404
    return custodian


def community_get(user, pk) -> Jurisdiction:
    """A village or community in the user's scope, or 404."""
    require(user, Cap.VIEW_PEOPLE)
    community = (
        jurisdictions_visible(user).filter(pk=pk, level=Jurisdiction.Level.COMMUNITY).select_related("parent").first()
    )
    if community is None:
        raise Http404
    return community


def episodes_reachable(user) -> QuerySet[Episode]:
    """Episodes the user may open: their people's (``episodes_visible``) and those held by, or on their
    way to, a custodian of the user's jurisdiction — a site answers for everyone it holds, wherever
    they live (the same rule as ``actions.custody.may_act``)."""
    custodians = custodians_visible(user).values("pk")
    return Episode.objects.filter(
        Q(pk__in=episodes_visible(user).values("pk"))
        | Q(custodian_id__in=custodians)
        | Q(pending_custodian_id__in=custodians)
    )


# --- schedules ---------------------------------------------------------------------------

class Schedules:
    """Schedules of episodes, each computed once per (protocol, anchor, placement, change day)."""

    def __init__(self) -> None:
        self._specs: dict[int, object] = {}
        self._schedules: dict[tuple, Schedule] = {}

    def spec(self, protocol: Protocol):
        if protocol.pk not in self._specs:
            self._specs[protocol.pk] = protocol.spec()
        return self._specs[protocol.pk]

    def of(self, episode: Episode, changed_on: dt.date | None = None) -> Schedule | None:
        """The episode's schedule (the same as ``actions.episode_schedule``, computed once per kind of
        course); None while it has no protocol or no day to count from."""
        anchor = episode.anchor_date or episode.placed_on
        if episode.protocol_id is None or anchor is None:
            return None
        placed = max(episode.placed_on or anchor, anchor)  # as actions.release.episode_schedule
        key = (episode.protocol_id, anchor, placed, changed_on)
        if key not in self._schedules:
            schedule = compute(self.spec(episode.protocol), anchor=anchor, placed_on=placed)
            if changed_on is not None:
                # A re-plan took effect at the start of that day: the new protocol's earlier tests were not due.
                schedule = dataclasses.replace(schedule, changed_on=changed_on, tests=tuple(
                    dataclasses.replace(t, before_change=t.date < changed_on) for t in schedule.tests
                ))
            self._schedules[key] = schedule
        return self._schedules[key]


def change_days(episode_ids: Iterable[int]) -> dict[int, dt.date]:
    """The local day of each episode's latest re-plan (one query)."""
    ids = list(episode_ids)
    if not ids:
        return {}
    days: dict[int, dt.date] = {}
    for episode_id, at in EpisodeReplan.objects.filter(episode_id__in=ids).values_list("episode_id", "replan__at"):
        day = local_day(at)
        if episode_id not in days or day > days[episode_id]:
            days[episode_id] = day
    return days


def _taken() -> Q:
    """A specimen that answers a test (an invalid sample does not)."""
    return ~Q(result=TestResult.INVALID)


def specimens_by_day(episode_ids: Iterable[int]) -> dict[int, dict[dt.date, list[Specimen]]]:
    """Each episode's specimens keyed by the schedule day they answer (one query).

    A specimen answers the day it was ``scheduled_for``; one taken without that
    answers the local day it was sampled on.
    """
    ids = list(episode_ids)
    found: dict[int, dict[dt.date, list[Specimen]]] = defaultdict(lambda: defaultdict(list))
    if ids:
        for specimen in Specimen.objects.filter(episode_id__in=ids).order_by("sampled_at", "pk"):
            found[specimen.episode_id][specimen.scheduled_for or local_day(specimen.sampled_at)].append(specimen)
    return found


def _answered(specimens: list[Specimen]) -> bool:
    return any(s.result != TestResult.INVALID for s in specimens)


# --- front-line work lists ---------------------------------------------------------------

@dataclass
class TestRow:
    episode: Episode
    test: ScheduledTest
    specimens: list[Specimen] = field(default_factory=list)
    late_days: int = 0  # an overdue test: days since its day

    @property
    def taken(self) -> bool:
        return _answered(self.specimens)

    @property
    def phase_label(self) -> str:
        return PHASE_LABELS.get(self.test.phase_kind, self.test.phase_kind)


@dataclass
class SlotRow:
    """One health-check slot of the day: who is due, who was checked, who is still missing."""

    slot: str
    time: str
    done: list[tuple[Episode, HealthCheck]] = field(default_factory=list)
    missing: list[Episode] = field(default_factory=list)

    @property
    def label(self) -> str:
        return SLOT_LABELS.get(self.slot, self.slot)

    @property
    def due(self) -> int:
        return len(self.done) + len(self.missing)


@dataclass
class Worklist:
    day: dt.date
    now: dt.datetime
    custodians: list[Custodian]
    held: list[Episode] = field(default_factory=list)
    tests_due: list[TestRow] = field(default_factory=list)
    checks: list[SlotRow] = field(default_factory=list)
    releases_due: list[Episode] = field(default_factory=list)
    arrivals: list[Episode] = field(default_factory=list)
    overdue_tests: list[TestRow] = field(default_factory=list)
    overdue_releases: list[Episode] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    # A community's list: its residents held by anyone else (a site, a bus, a hospital).
    residents_elsewhere: list[Episode] = field(default_factory=list)
    unscheduled: list[Episode] = field(default_factory=list)  # held without a protocol or dates

    @property
    def checks_missing(self) -> int:
        return sum(len(row.missing) for row in self.checks)

    @property
    def checks_due(self) -> int:
        return sum(row.due for row in self.checks)

    @property
    def tests_pending(self) -> int:
        return sum(1 for row in self.tests_due if not row.taken)

    @property
    def late_arrivals(self) -> int:
        return sum(1 for e in self.arrivals if e.expected_by and e.expected_by < self.now)

    @property
    def overdue_count(self) -> int:
        return len(self.overdue_tests) + len(self.overdue_releases) + len(self.alerts)


def worklist(custodian_ids: list[int], day: dt.date, *, now: dt.datetime | None = None,
             custodians: list[Custodian] | None = None) -> Worklist:
    """The work list of these custodians for ``day``: a constant number of queries, schedules in Python.

    The caller has checked that the user may see these custodians.
    """
    now = now or as_of(day)
    result = Worklist(day=day, now=now, custodians=custodians or [])
    held = list(
        Episode.objects.filter(custodian_id__in=custodian_ids, state=states.IN_CUSTODY)
        .select_related("person", "protocol", "custodian")
        .order_by("person__name_pinyin", "pk")
    )
    result.held = held
    ids = [e.pk for e in held]
    changed = change_days(ids) if ids else {}
    taken = specimens_by_day(ids) if ids else {}
    checks: dict[tuple[int, str], HealthCheck] = {}
    if ids:
        for check in HealthCheck.objects.filter(episode_id__in=ids, day=day):
            checks[(check.episode_id, check.slot)] = check
    slots: dict[str, SlotRow] = {}
    schedules = Schedules()
    for episode in held:
        schedule = schedules.of(episode, changed.get(episode.pk))
        if schedule is None:
            result.unscheduled.append(episode)
            continue
        mine = taken.get(episode.pk, {})
        for test in schedule.tests:
            if not test.due or test.date > day:
                continue
            row = TestRow(episode, test, list(mine.get(test.date, [])), late_days=(day - test.date).days)
            if test.date == day:
                result.tests_due.append(row)
            elif not row.taken:
                result.overdue_tests.append(row)
        for check in schedule.checks_on(day):
            slot = slots.setdefault(check.slot, SlotRow(check.slot, check.time))
            recorded = checks.get((episode.pk, check.slot))
            if recorded is None:
                slot.missing.append(episode)
            else:
                slot.done.append((episode, recorded))
        if episode.release_on == day:
            result.releases_due.append(episode)
        elif episode.release_on is not None and episode.release_on < day:
            episode.late_days = (day - episode.release_on).days
            result.overdue_releases.append(episode)
    order = list(CheckSlot.values)
    result.checks = sorted(slots.values(), key=lambda r: (r.time, order.index(r.slot) if r.slot in order else 99))
    result.overdue_tests.sort(key=lambda r: (r.test.date, r.episode.person.name_pinyin))
    result.overdue_releases.sort(key=lambda e: (e.release_on, e.person.name_pinyin))
    result.arrivals = list(
        Episode.objects.filter(pending_custodian_id__in=custodian_ids, state=states.IN_TRANSIT)
        .select_related("person", "custodian", "pending_custodian")
        .order_by("expected_by", "pk")
    )
    result.alerts = list(
        Alert.objects.filter(status=AlertStatus.OPEN)
        .filter(Q(custodian_id__in=custodian_ids) | Q(episode__custodian_id__in=custodian_ids,
                                                      episode__state__in=HELD_STATES))
        .select_related("episode__person", "custodian")
        .order_by("raised_at", "pk")
    )
    return result


def custodian_worklist(user, custodian: Custodian, day: dt.date) -> Worklist:
    require(user, Cap.VIEW_PEOPLE)
    return worklist([custodian.pk], day, custodians=[custodian])


def community_custodians(community: Jurisdiction) -> list[Custodian]:
    return list(
        Custodian.objects.filter(kind=CustodianKind.HOME_COMMUNITY, jurisdiction=community).order_by("name", "pk")
    )


def community_worklist(user, community: Jurisdiction, day: dt.date) -> Worklist:
    """The community's home custody (all its home_community custodians) and its residents held elsewhere."""
    require(user, Cap.VIEW_PEOPLE)
    custodians = community_custodians(community)
    ids = [c.pk for c in custodians]
    result = worklist(ids, day, custodians=custodians)
    result.residents_elsewhere = list(
        Episode.objects.filter(person__community=community, state__in=HELD_STATES)
        .exclude(custodian_id__in=ids)
        .select_related("person", "custodian", "pending_custodian")
        .order_by("release_on", "person__name_pinyin", "pk")
    )
    return result


# --- headquarters ----------------------------------------------------------------------------

def _episode_scope(user) -> Q:
    return jurisdiction_q(user, city="person__city", town="person__town", community="person__community")


def hq_lost_in_transit(user, now: dt.datetime) -> QuerySet[Episode]:
    """Hand-overs not confirmed by their expected arrival plus the grace period; the giver answers."""
    require(user, Cap.VIEW_PEOPLE)
    return lost_in_transit(user, now).select_related(
        "person", "custodian__jurisdiction", "pending_custodian__jurisdiction"
    )


def hq_overdue_releases(user, day: dt.date) -> QuerySet[Episode]:
    """Kept too long: still held on ``day`` though their release was due before it."""
    require(user, Cap.VIEW_PEOPLE)
    return (
        episodes_visible(user).filter(state=states.IN_CUSTODY, release_on__lt=day)
        .select_related("person", "custodian__jurisdiction")
        .order_by("release_on", "pk")
    )


def hq_unanswered_alerts(user, now: dt.datetime) -> QuerySet[Alert]:
    """Positive and doubtful results from the moment they come back (headquarters answers them), and
    fever and symptom alerts still open an hour after they were raised; oldest first."""
    require(user, Cap.VIEW_PEOPLE)
    return (
        Alert.objects.filter(
            jurisdiction_q(user, city="episode__person__city", town="episode__person__town",
                           community="episode__person__community"),
            Q(kind__in=RESULT_ALERTS) | Q(kind__in=SYMPTOM_ALERTS, raised_at__lt=now - UNANSWERED_AFTER),
            status=AlertStatus.OPEN,
        )
        .select_related("episode__person", "episode__custodian__jurisdiction", "custodian__jurisdiction")
        .order_by("raised_at", "pk")
    )


def _missed_candidates(user, day: dt.date) -> QuerySet[Episode]:
    return episodes_visible(user).filter(
        status="open", state__in=HELD_STATES, protocol__isnull=False, anchor_date__isnull=False,
        placed_on__isnull=False, placed_on__lt=day,
    )


def _test_days(user, day: dt.date) -> dict[dt.date, dict[int, list[dt.date]]]:
    """For each test day before ``day``: protocol id -> anchor dates that put a test on it.

    One query for the distinct (protocol, anchor date) pairs of the candidates
    and one for their protocols; a schedule per pair, not per person.
    """
    pairs = list(
        _missed_candidates(user, day).order_by().values_list("protocol_id", "anchor_date").distinct()
    )
    if not pairs:
        return {}
    protocols = {p.pk: p.spec() for p in Protocol.objects.filter(pk__in={p for p, _a in pairs})}
    days: dict[dt.date, dict[int, list[dt.date]]] = defaultdict(lambda: defaultdict(list))
    for protocol_id, anchor in pairs:
        for test in compute(protocols[protocol_id], anchor=anchor).tests:
            if test.date < day:
                days[test.date][protocol_id].append(anchor)
    return days


def _specimen_on(test_day: dt.date) -> Exists:
    """A specimen (not an invalid one) answering ``test_day``, by its scheduled day or its sampling day."""
    return Exists(
        Specimen.objects.filter(episode=OuterRef("pk")).filter(_taken()).filter(
            Q(scheduled_for=test_day)
            | Q(scheduled_for__isnull=True, sampled_at__gte=day_start(test_day),
                sampled_at__lt=day_start(test_day + ONE_DAY))
        )
    )


def hq_missed_tests(user, day: dt.date) -> QuerySet[Episode]:
    """Open episodes with at least one scheduled test before ``day`` that has no specimen.

    SQL only: per test day, the (protocol, anchor date) pairs that put a test on
    it, the placement on or before it, no specimen for it and no re-plan after
    it (a test of the new protocol before the change was not due).
    """
    require(user, Cap.VIEW_PEOPLE)
    q = Q(pk__in=[])
    for test_day, by_protocol in sorted(_test_days(user, day).items()):
        has_test = Q(pk__in=[])
        for protocol_id, anchors in by_protocol.items():
            has_test |= Q(protocol_id=protocol_id, anchor_date__in=sorted(anchors))
        replanned_after = Exists(
            EpisodeReplan.objects.filter(episode=OuterRef("pk"), replan__at__gte=day_start(test_day + ONE_DAY))
        )
        q |= has_test & Q(placed_on__lte=test_day) & ~_specimen_on(test_day) & ~replanned_after
    return (
        _missed_candidates(user, day).filter(q)
        .select_related("person", "protocol", "custodian__jurisdiction")
        .order_by("anchor_date", "pk")
    )


def missed_tests_of(episodes: list[Episode], day: dt.date) -> dict[int, list[ScheduledTest]]:
    """The missed tests of these episodes (a page of ``hq_missed_tests``): two queries, schedules shared."""
    ids = [e.pk for e in episodes]
    changed = change_days(ids)
    taken = specimens_by_day(ids)
    schedules = Schedules()
    missed: dict[int, list[ScheduledTest]] = {}
    for episode in episodes:
        schedule = schedules.of(episode, changed.get(episode.pk))
        if schedule is None:
            continue
        mine = taken.get(episode.pk, {})
        missed[episode.pk] = [
            t for t in schedule.tests if t.due and t.date < day and not _answered(mine.get(t.date, []))
        ]
    return missed


@dataclass
class Figures:
    lost: int
    overdue: int
    missed: int
    alerts: int

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


def hq_lists(user, day: dt.date, now: dt.datetime) -> dict[str, QuerySet]:
    return {
        "lost": hq_lost_in_transit(user, now),
        "overdue": hq_overdue_releases(user, day),
        "missed": hq_missed_tests(user, day),
        "alerts": hq_unanswered_alerts(user, now),
    }


def hq_figures(lists: dict[str, QuerySet]) -> Figures:
    return Figures(**{name: rows.count() for name, rows in lists.items()})


def transit_grace() -> dt.timedelta:
    return dt.timedelta(minutes=settings.TRANSIT_GRACE_MINUTES)
