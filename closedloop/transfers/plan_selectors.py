"""Reads of transfer plans: whose board it is, the headline, the plan as a timeline, trips by state,
people by leg, the per-origin table, who could not be planned.

Scope: plans are the city's headquarters' (and the transfer desk's): a user sees the board and the plans of
a city that is itself one of their jurisdictions; anyone else gets 404, like a plan that does not exist.
Reading needs ``view_people``; making, adopting and re-planning ``manage_facilities`` (``actions.plans``).

A board is a fixed number of queries whatever the size of the plan: the timeline, the per-origin table and
the figures come from the plan's JSON, the trips' states from one query, people by leg from one
aggregate over the passengers.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from closedloop.core.models import Jurisdiction
from closedloop.core.roles import Cap
from closedloop.core.scoping import require, user_jurisdictions
from closedloop.facilities.models import Facility
from closedloop.quarantine.models import Episode
from closedloop.transfers import live
from closedloop.transfers.actions.plans import minute_of
from closedloop.transfers.away_selectors import still_out_q
from closedloop.transfers.choices import PassengerStatus, PlanStatus, TripKind, TripState
from closedloop.transfers.models import AwayRecord, Passenger, TransferPlan, Trip

RECENT_PLANS = 8
TICK_STEPS = (30, 60, 120, 180, 360, 720, 1440, 2880)  # minutes between ticks of the time axis
MAX_TICKS = 12

LEGS = {
    "at_origin": _("At their site, waiting for the coach"),
    "on_coach": _("On a coach"),
    "at_station": _("At the transfer station"),
    "on_shuttle": _("On a district shuttle"),
    "home": pgettext_lazy("leg of the way home", "Home"),
}


# --- scope ---------------------------------------------------------------------------------------------

def cities_of(user) -> list[Jurisdiction]:
    return [j for j in user_jurisdictions(user) if j.level == Jurisdiction.Level.CITY]


def board_city(user, code: str = "") -> Jurisdiction:
    """The city whose board the user reads (``code`` picks one when they have several), or 404."""
    require(user, Cap.VIEW_PEOPLE)
    cities = cities_of(user)
    if code:
        cities = [c for c in cities if c.code == code]
    if not cities:
        raise Http404
    return cities[0]


def plans_visible(user) -> QuerySet[TransferPlan]:
    require(user, Cap.VIEW_PEOPLE)
    return TransferPlan.objects.filter(city_id__in=[c.pk for c in cities_of(user)])


def plan_get(user, pk: int) -> TransferPlan:
    plan = plans_visible(user).select_related("city", "created_by", "replaces").filter(pk=pk).first()
    if plan is None:
        raise Http404
    return plan


def adopted(city) -> TransferPlan | None:
    return TransferPlan.objects.filter(city=city, status=PlanStatus.ADOPTED).select_related("created_by").first()


# --- figures -------------------------------------------------------------------------------------------

def last_home(plan: TransferPlan) -> datetime:
    return plan.epoch + timedelta(minutes=plan.makespan)


def bound_at(plan: TransferPlan) -> datetime:
    return plan.epoch + timedelta(minutes=plan.lower_bound)


def with_times(plans):
    """Plans with ``last_home_at`` and ``bound_at`` set, for the plans tables."""
    for p in plans:
        p.last_home_at, p.bound_at = last_home(p), bound_at(p)
    return plans


@dataclass
class Figures:
    """What a plan promises, for the board, the plan page and the API."""

    plan: TransferPlan
    groups: int
    coach_trips: int
    shuttle_trips: int
    last_home: datetime
    bound_at: datetime
    method: str
    greedy_makespan: int | None

    @property
    def gap_minutes(self) -> int:
        return self.plan.makespan - self.plan.lower_bound


def figures(plan: TransferPlan) -> Figures:
    data = plan.plan
    return Figures(plan=plan, groups=sum(len(o["groups"]) for o in plan.instance["origins"]),
                   coach_trips=len(data["coach_trips"]), shuttle_trips=len(data["shuttle_trips"]),
                   last_home=last_home(plan), bound_at=bound_at(plan), method=data.get("method", ""),
                   greedy_makespan=data.get("greedy_makespan"))


def still_out(city) -> int:
    """People of the city still out of it (as the registry counts them: at their site or on the way)."""
    return AwayRecord.objects.filter(still_out_q(), episode__city=city).count()


def legs(plan: TransferPlan | None) -> dict[str, int]:
    """People of the plan by leg of the way home, from their passenger rows (one aggregate query).

    A person's coach row says whether they boarded (on a coach) or were handed to the station; their
    shuttle row whether they boarded it or were handed to their community (home). Left-behind rows and
    cancelled trips do not count.
    """
    if plan is None:
        return dict.fromkeys(LEGS, 0)
    coach, shuttle = Q(trip__kind=TripKind.COACH), Q(trip__kind=TripKind.SHUTTLE)
    n = Passenger.objects.filter(trip__plan=plan).exclude(trip__state=TripState.CANCELLED).aggregate(
        waiting=Count("pk", filter=coach & Q(status=PassengerStatus.PLANNED)),
        on_coach=Count("pk", filter=coach & Q(status=PassengerStatus.BOARDED)),
        at_station=Count("pk", filter=coach & Q(status=PassengerStatus.DELIVERED)),
        on_shuttle=Count("pk", filter=shuttle & Q(status=PassengerStatus.BOARDED)),
        home=Count("pk", filter=shuttle & Q(status=PassengerStatus.DELIVERED)))
    return {"at_origin": n["waiting"], "on_coach": n["on_coach"],
            "at_station": max(0, n["at_station"] - n["on_shuttle"] - n["home"]),
            "on_shuttle": n["on_shuttle"], "home": n["home"]}


def trips_by_state(plan: TransferPlan | None) -> list[dict]:
    """One row per trip state: the label, coaches, shuttles (one query)."""
    counts: Counter = Counter()
    if plan is not None:
        for row in Trip.objects.filter(plan=plan).values("kind", "state").annotate(n=Count("pk")).order_by():
            counts[(row["kind"], row["state"])] = row["n"]
    return [{"state": value, "label": label, "coach": counts[(TripKind.COACH, value)],
             "shuttle": counts[(TripKind.SHUTTLE, value)]} for value, label in TripState.choices]


# --- per origin ----------------------------------------------------------------------------------------

@dataclass
class OriginLine:
    code: str
    name: str
    city: str
    travel_minutes: int
    people: int = 0
    groups: int = 0
    trips: int = 0
    first_coach: datetime | None = None  # leaves the site
    last_coach: datetime | None = None


def per_origin(plan: TransferPlan) -> list[OriginLine]:
    """People, groups and the first and last coach from each origin site (one query for the names)."""
    index = live.LiveIndex.from_instance(plan.instance, plan.epoch)
    names = dict(Facility.objects.filter(pk__in=list(index.origins.values())).values_list("pk", "name"))
    lines = {}
    for o in plan.instance["origins"]:
        lines[o["id"]] = OriginLine(code=o["id"], name=names.get(index.origins.get(o["id"]), o["id"]), city=o["city"],
                                    travel_minutes=o["travel_minutes"], people=sum(g["size"] for g in o["groups"]),
                                    groups=len(o["groups"]))
    for t in plan.plan["coach_trips"]:
        line = lines.get(t["origin"])
        if line is None or not t["groups"]:
            continue
        leaves = plan.epoch + timedelta(minutes=t["depart_origin"])
        line.trips += 1
        line.first_coach = min(line.first_coach or leaves, leaves)
        line.last_coach = max(line.last_coach or leaves, leaves)
    return sorted(lines.values(), key=lambda line: (line.city, line.name))


# --- who could not be planned ---------------------------------------------------------------------------

UNPLANNED_SHOWN = 200  # names listed; the reasons are counted for everyone


@dataclass
class Unplanned:
    name: str
    site: str
    reason: str


@dataclass
class UnplannedList:
    """Who could not be planned: everyone counted by reason, the first ``UNPLANNED_SHOWN`` by name."""

    total: int = 0
    by_reason: list[tuple[str, int]] = field(default_factory=list)
    people: list[Unplanned] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.total > 0

    def __len__(self) -> int:
        return self.total

    def __iter__(self):
        return iter(self.people)

    @property
    def more(self) -> int:
        return self.total - len(self.people)


def unplanned(plan: TransferPlan) -> UnplannedList:
    return describe(live.LiveIndex.from_instance(plan.instance, plan.epoch).skipped)


def describe(skipped: list[live.Skipped]) -> UnplannedList:
    """Names and sites of people who could not be planned (two queries)."""
    shown = skipped[:UNPLANNED_SHOWN]
    people = dict(Episode.objects.filter(pk__in=[s.episode for s in shown]).values_list("pk", "person__name"))
    sites = dict(Facility.objects.filter(pk__in={s.origin for s in shown}).values_list("pk", "name"))
    counts = Counter(s.reason for s in skipped)
    return UnplannedList(
        total=len(skipped),
        by_reason=[(str(live.REASONS.get(reason, reason)), n) for reason, n in counts.most_common()],
        people=[Unplanned(name=people.get(s.episode, "?"), site=sites.get(s.origin, ""), reason=s.reason_text)
                for s in shown])


# --- the timeline --------------------------------------------------------------------------------------

@dataclass
class Bar:
    left: float  # percent of the axis
    width: float
    label: str
    title: str
    state: str = TripState.PLANNED
    trip: int | None = None  # a trip row (for its manifest)
    loaded: float | None = None  # coaches: where (percent of the bar) the loaded leg home begins
    start: datetime | None = None
    end: datetime | None = None


@dataclass
class Row:
    section: str  # coach, lane, shuttle
    label: str
    bars: list[Bar] = field(default_factory=list)


@dataclass
class Tick:
    left: float
    label: str
    day: bool  # the first tick of a day carries the date


@dataclass
class Timeline:
    start: datetime
    end: datetime
    ticks: list[Tick]
    rows: list[Row]
    now: float | None = None  # where now is on the axis (percent), while the plan runs

    def section(self, name: str) -> list[Row]:
        return [r for r in self.rows if r.section == name]

    @property
    def coaches(self) -> list[Row]:
        return self.section("coach")

    @property
    def lanes(self) -> list[Row]:
        return self.section("lane")

    @property
    def shuttles(self) -> list[Row]:
        return self.section("shuttle")


def _day(moment: datetime) -> str:
    return f"{moment.month}月{moment.day}日" if (get_language() or "").startswith("zh") else f"{moment:%m-%d}"


def _ticks(epoch: datetime, span: int) -> list[Tick]:
    step = next((s for s in TICK_STEPS if span / s <= MAX_TICKS), TICK_STEPS[-1])
    local = timezone.localtime(epoch)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    offset = round((local - midnight).total_seconds() / 60)
    first = -offset % step
    ticks, last_day = [], None
    for minute in range(first, span + 1, step):
        moment = timezone.localtime(epoch + timedelta(minutes=minute))
        new_day = moment.date() != last_day
        label = f"{_day(moment)} {moment:%H:%M}" if new_day else f"{moment:%H:%M}"
        ticks.append(Tick(left=100 * minute / span, label=label, day=new_day))
        last_day = moment.date()
    return ticks


def _people(plan: TransferPlan) -> dict[str, int]:
    return {g["id"]: g["size"] for o in plan.instance["origins"] for g in o["groups"]}


def timeline(plan: TransferPlan, now: datetime | None = None) -> Timeline:
    """Coaches, station lanes and district shuttles as rows, trips as bars on one time axis (one query).

    Bars carry their trip's state when the plan has trips (adopted or superseded); a lane's screening
    blocks that follow each other without a pause are one bar, so a busy lane stays readable.
    """
    data, epoch = plan.plan, plan.epoch
    index = live.LiveIndex.from_instance(plan.instance, plan.epoch)
    span = max(60, data["makespan"])
    size = _people(plan)

    def pct(minute: int) -> float:
        return round(100 * minute / span, 3)

    def moment(minute: int) -> datetime:
        return epoch + timedelta(minutes=minute)

    rows_of = Trip.objects.filter(plan=plan).exclude(state=TripState.CANCELLED).values_list(
        "pk", "kind", "vehicle", "origin_id", "town_id", "depart_at", "state")
    trips = {(kind, vehicle, origin or town, depart): (pk, state)
             for pk, kind, vehicle, origin, town, depart, state in rows_of}

    def trip_of(kind: str, vehicle: int, place: int, minute: int) -> tuple[int | None, str]:
        return trips.get((kind, vehicle, place, epoch + timedelta(minutes=minute)), (None, TripState.PLANNED))

    city_of = {o["id"]: o["city"] or o["id"] for o in plan.instance["origins"]}
    coach_rows = [Row("coach", str(_("Coach %(number)s") % {"number": c + 1}))
                  for c in range(plan.instance["coaches"]["count"])]
    for t in data["coach_trips"]:
        people = sum(size.get(g, 0) for g in t["groups"])
        pk, state = trip_of(TripKind.COACH, t["coach"], index.origins.get(t["origin"]), t["depart_origin"])
        length = max(1, t["arrive_station"] - t["start"])
        coach_rows[t["coach"]].bars.append(Bar(
            left=pct(t["start"]), width=pct(length), label=f"{city_of.get(t['origin'], t['origin'])} · {people}",
            title=str(_("%(origin)s: leaves the station %(start)s, leaves the site %(depart)s, at the station "
                        "%(arrive)s; %(people)s people") % {
                "origin": city_of.get(t["origin"], t["origin"]), "people": people,
                **{k: _clock(epoch, t[v]) for k, v in (("start", "start"), ("depart", "depart_origin"),
                                                       ("arrive", "arrive_station"))}}),
            state=state, trip=pk, loaded=round(100 * (t["depart_origin"] - t["start"]) / length, 2),
            start=moment(t["start"]), end=moment(t["arrive_station"])))

    lane_rows = [Row("lane", str(_("Lane %(number)s") % {"number": k + 1}))
                 for k in range(plan.instance["station"]["lanes"])]
    spans: dict[int, list[list[int]]] = defaultdict(list)
    for b in sorted(data["station"], key=lambda b: (b["lane"], b["start"])):
        runs = spans[b["lane"]]
        if runs and runs[-1][1] >= b["start"]:
            runs[-1][1] = max(runs[-1][1], b["end"])
            runs[-1][2] += size.get(b["group"], 0)
        else:
            runs.append([b["start"], b["end"], size.get(b["group"], 0)])
    for lane, runs in spans.items():
        for start, end, people in runs:
            lane_rows[lane].bars.append(Bar(
                left=pct(start), width=pct(max(1, end - start)), label=str(people),
                title=str(_("%(start)s–%(end)s: %(people)s people screened") % {
                    "start": _clock(epoch, start), "end": _clock(epoch, end), "people": people}),
                start=moment(start), end=moment(end)))

    shuttle_rows: dict[tuple[str, int], Row] = {}
    for d in plan.instance["districts"]:
        for k in range(d["shuttles"]):
            shuttle_rows[(d["id"], k)] = Row("shuttle", "")
    towns = dict(Jurisdiction.objects.filter(pk__in=list(index.districts.values())).values_list("pk", "name"))
    for (district, k), row in shuttle_rows.items():
        row.label = f"{towns.get(index.districts.get(district), district)} {k + 1}"
    for t in data["shuttle_trips"]:
        people = sum(size.get(g, 0) for g in t["groups"])
        pk, state = trip_of(TripKind.SHUTTLE, t["shuttle"], index.districts.get(t["district"]), t["depart"])
        shuttle_rows[(t["district"], t["shuttle"])].bars.append(Bar(
            left=pct(t["depart"]), width=pct(max(1, t["arrive"] - t["depart"])), label=str(people),
            title=str(_("Leaves the station %(depart)s, home %(arrive)s; %(people)s people") % {
                "depart": _clock(epoch, t["depart"]), "arrive": _clock(epoch, t["arrive"]), "people": people}),
            state=state, trip=pk, start=moment(t["depart"]), end=moment(t["arrive"])))
    end = epoch + timedelta(minutes=span)
    now = now or timezone.now()
    return Timeline(start=epoch, end=end, ticks=_ticks(epoch, span),
                    rows=coach_rows + lane_rows + list(shuttle_rows.values()),
                    now=pct(minute_of(epoch, now)) if epoch <= now <= end else None)


def _clock(epoch: datetime, minute: int) -> str:
    moment = timezone.localtime(epoch + timedelta(minutes=minute))
    return f"{_day(moment)} {moment:%H:%M}"


# --- the board -----------------------------------------------------------------------------------------

@dataclass
class Board:
    city: Jurisdiction
    still_out: int
    plan: TransferPlan | None
    figures: Figures | None
    legs: list[tuple[str, str, int]]  # (key, label, people)
    trips: list[dict]
    origins: list[OriginLine]
    timeline: Timeline | None
    recent: list[TransferPlan]
    draft: TransferPlan | None  # the latest draft made after the adopted plan, to compare and adopt


def board(user, city: Jurisdiction) -> Board:
    plan = adopted(city)
    recent = with_times(list(TransferPlan.objects.filter(city=city).select_related("created_by")[:RECENT_PLANS]))
    draft = next((p for p in recent if p.status == PlanStatus.DRAFT
                  and (plan is None or p.created_at >= plan.created_at)), None)
    by_leg = legs(plan)
    return Board(city=city, still_out=still_out(city), plan=plan, figures=figures(plan) if plan else None,
                 legs=[(key, LEGS[key], by_leg[key]) for key in LEGS], trips=trips_by_state(plan),
                 origins=per_origin(plan) if plan else [], timeline=timeline(plan) if plan else None,
                 recent=recent, draft=draft)
