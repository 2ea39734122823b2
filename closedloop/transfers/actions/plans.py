"""Transfer plans: made from live data, adopted into trips, re-planned while under way.

``plan_make`` builds the planner's instance from the registry (``transfers.live``), runs the planner,
checks the plan with the independent validator and keeps it as a draft. ``plan_adopt`` makes a draft
the city's plan: the previous one is superseded and the draft's trips and passengers are created.
``plan_replan`` re-plans the adopted plan when facts change (a household left behind at boarding or
released later, a coach out of service, a trip the desk cancelled), keeping what has started; the
result is a draft to adopt.

Re-planning uses ``planning.returns.replan``, which freezes by time (what started by "now", in the
plan's minutes). The database knows more, and it is told so: a household a coach left behind at
boarding (``Passenger`` left behind on a started trip) or that is on a coach that has already left is
taken out of the plan under way and planned again as a new group with its new release; the people of a
cancelled coach trip are planned again the same way (the trip is dropped); a cancelled shuttle whose
time has passed runs again at that time as a new trip. A household left behind must be given its new
release before anything else is re-planned.

What adopting replaces — kept simple on purpose:

- A plan made from scratch replaces the adopted one only while nobody of it is on the way: no trip is
  boarding, under way or arrived, and no one has reached the station without being home yet. Its
  trips that are still planned are cancelled; finished ones stay on the superseded plan as history.
  Otherwise adopting is refused: re-plan from the adopted plan instead.
- A re-plan made from the adopted plan carries over every trip it kept frozen (started ones, and any
  whose time has come): the same ``Trip`` rows, with their custodian, checks and passengers, move to
  the new plan; a household taken off a frozen coach is marked left behind on it. The adopted plan's
  other trips, all still planned, are cancelled. If a trip started after the re-plan was made, or
  another plan was adopted meanwhile, adopting is refused: re-plan again.

Times of the plan are minutes from its epoch; trips store them as aware datetimes (UTC in the
database). Making and re-planning run the planner before the transaction (it takes seconds and reads
no database); the write itself is one transaction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from closedloop.core.audit import audit_record
from closedloop.core.roles import Cap
from closedloop.core.scoping import in_scope
from closedloop.planning.returns import instance as inst
from closedloop.planning.returns import plan as plan_json
from closedloop.planning.returns.instance import InstanceError
from closedloop.planning.returns.planner import plan as run_planner
from closedloop.planning.returns.replan import Changes, replan
from closedloop.planning.returns.validate import check
from closedloop.quarantine import states
from closedloop.quarantine.models import Episode
from closedloop.transfers import live
from closedloop.transfers.choices import PassengerStatus, PlanStatus, TripKind, TripState
from closedloop.transfers.models import Passenger, TransferPlan, Trip

DEFAULT_TIME_LIMIT = 5.0  # seconds of search
STALE_AFTER = timedelta(hours=1)  # a draft made from scratch is adopted within this, or made again
ON_THE_ROAD = (TripState.BOARDING, TripState.UNDER_WAY, TripState.ARRIVED)
NOTE_MAX = 200


class PlanConflict(ValidationError):
    """Another desk changed the plan or its trips at the same moment; nothing was written."""


class NothingToPlan(ValidationError):
    """No one out of the city can be planned now; ``skipped`` says who is out there and why not."""

    def __init__(self, message: str, skipped: list[live.Skipped]) -> None:
        super().__init__(message)
        self.skipped = skipped


def may_plan(actor, city) -> None:
    """Headquarters of the city: the capability, and the city itself in the actor's jurisdictions."""
    if actor is None:
        return  # the system itself (the demo)
    if not actor.can(Cap.MANAGE_FACILITIES):
        raise PermissionDenied(_("Your role may not make, adopt or re-plan transfer plans."))
    if not in_scope(actor, city_id=city.pk, town_id=None, community_id=None):
        raise PermissionDenied(_("Transfer plans are made for the whole city; the city is not in your "
                                 "jurisdictions."))


def at(epoch: datetime, minute: int) -> datetime:
    return epoch + timedelta(minutes=minute)


def minute_of(epoch: datetime, moment: datetime) -> int:
    """The plan's minute of a moment (rounded down; negative before the epoch)."""
    return math.floor((moment - epoch).total_seconds() / 60)


def spec_instance(stored: dict) -> dict:
    """The stored instance without the live index: the spec's JSON, as the planner reads it."""
    return {k: v for k, v in stored.items() if k != live.LIVE_KEY}


def _translated(exc: InstanceError) -> str:
    return exc.translated(_)


def _checked(instance: dict, made: plan_json.Plan) -> dict:
    data = made.to_dict()
    problems = check(instance, data)
    if problems:
        raise ValidationError(_("The planner made a plan that breaks a rule (%(problem)s); nothing was saved. "
                                "Please report this.") % {"problem": problems[0].translated(_)})
    return data


# --- make --------------------------------------------------------------------------------------------

def plan_make(*, city, actor, time_limit: float = DEFAULT_TIME_LIMIT, now: datetime | None = None,
              note: str = "") -> TransferPlan:
    """A draft plan from today's data; the people who cannot be planned are kept in its index."""
    may_plan(actor, city)
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": _("Keep the note to %(max)s characters.") % {"max": NOTE_MAX}})
    instance, index = live.instance_for(city, now or timezone.now())
    if not instance["origins"]:
        raise NothingToPlan(ngettext(
            "No one out of the city can be planned now; %(count)s person out there cannot be planned yet.",
            "No one out of the city can be planned now; %(count)s people out there cannot be planned yet.",
            len(index.skipped)) % {"count": len(index.skipped)} if index.skipped
            else _("No one out of the city is waiting to be brought home."), index.skipped)
    try:
        parsed = inst.parse(instance)
        made = run_planner(parsed, time_limit=time_limit)
    except InstanceError as exc:
        raise ValidationError(_translated(exc)) from None
    data = _checked(instance, made)
    with transaction.atomic():
        plan = TransferPlan.objects.create(
            city=city, status=PlanStatus.DRAFT, epoch=index.epoch,
            instance={**instance, live.LIVE_KEY: index.to_json()}, plan=data, makespan=made.makespan,
            lower_bound=made.lower_bound, people=parsed.people,
            created_by=actor if getattr(actor, "pk", None) else None, note=note.strip())
        audit_record(actor=actor, action="transfer_plan.make", target=plan, after={
            "people": parsed.people, "groups": parsed.group_count, "makespan": made.makespan,
            "lower_bound": made.lower_bound, "epoch": plan.epoch.isoformat(), "cannot_plan": len(index.skipped)})
    return plan


# --- re-plan -----------------------------------------------------------------------------------------

def plan_replan(*, plan: TransferPlan, actor, not_ready: dict[str, datetime] | None = None,
                coach_out: dict[int, datetime] | None = None, time_limit: float = DEFAULT_TIME_LIMIT,
                now: datetime | None = None, note: str = "") -> TransferPlan:
    """A draft re-plan of the adopted plan: what has started stays, the rest moves.

    ``not_ready``: group id → the moment it is ready again (left behind at boarding, released later).
    ``coach_out``: coach index (0-based) → the moment it goes out of service.
    "Now" in the plan's minutes is the later of the clock and the planned start of the latest trip that
    has started, so a trip dispatched early is frozen too.
    """
    may_plan(actor, plan.city)
    not_ready, coach_out = dict(not_ready or {}), dict(coach_out or {})
    now = now or timezone.now()
    if plan.status != PlanStatus.ADOPTED:
        raise ValidationError(_("Only the adopted plan can be re-planned; make a new plan instead."))
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": _("Keep the note to %(max)s characters.") % {"max": NOTE_MAX}})
    epoch, index = plan.epoch, live.LiveIndex.from_instance(plan.instance, plan.epoch)
    started = list(plan.trips.filter(state__in=live.STARTED).values_list("start_at", "depart_at"))
    now_minute = max([minute_of(epoch, now)] + [minute_of(epoch, start or depart) for start, depart in started])

    ready: dict[str, int] = {}
    for group, moment in not_ready.items():
        if group not in index.groups:
            raise ValidationError({"group": _("There is no household group %(group)s in this plan.") % {
                "group": group}})
        if moment <= now:
            raise ValidationError({"ready_at": _("The time the household is ready again must be later than now.")})
        ready[group] = live.minutes_after(epoch, moment)
    aboard = Passenger.objects.filter(trip__plan=plan, trip__kind=TripKind.COACH, group__in=list(ready),
                                      status__in=(PassengerStatus.BOARDED, PassengerStatus.DELIVERED))
    if aboard.exists():
        raise ValidationError({"group": _("This household has already boarded its coach; it cannot be left "
                                          "behind.")})
    coaches = plan.instance["coaches"]["count"]
    for coach in coach_out:
        if not 0 <= coach < coaches:
            raise ValidationError({"coach": _("There is no coach %(number)s; the fleet has %(count)s.") % {
                "number": coach + 1, "count": coaches}})
    parsed, current = inst.parse(spec_instance(plan.instance)), plan_json.from_dict(plan.plan)
    # The people of a coach trip the desk cancelled are still at their site: planned again, on other trips.
    cancelled = _cancelled_coach_trips(plan, current, index)
    waiting = {g for t in cancelled for g in t.groups}
    if not not_ready and not coach_out and not waiting \
            and not plan.trips.filter(state=TripState.CANCELLED).exists():
        raise ValidationError(_("Say what changed: a household that is not ready, or a coach out of service."))
    # A coach that left its origin without a household (the boarding check failed) cannot be told so by a
    # later release (replan refuses that once the trip has left in the plan's minutes); the household is
    # taken out of the plan under way and planned again as a new group of its origin, with its new release.
    stranded = _stranded(plan, current, index)
    missing = sorted(stranded - set(ready))
    if missing:
        raise ValidationError({"group": _("Households left behind at boarding must be planned again first: "
                                          "%(groups)s. Say when each is ready again.") % {
            "groups": ", ".join(missing)}})
    departed = {g for t in current.coach_trips if t.depart_origin <= now_minute for g in t.groups}
    again = sorted(g for g in set(ready) | waiting if g in departed or g in stranded or g in waiting)
    release = {**{g: parsed.group_by_id[g].ready_minute for g in waiting}, **ready}
    if again or cancelled:
        parsed, current = _taken_out(parsed, current, again, drop=cancelled)
    new_groups = [(origin, {"id": g, "size": len(index.groups[g]), "ready_minute": release[g], "district": district})
                  for g, origin, district in _homes(plan.instance, again)]
    changes = Changes(ready={g: m for g, m in ready.items() if g not in again},
                      coach_out={c: max(0, minute_of(epoch, m)) for c, m in coach_out.items()},
                      new_groups=new_groups)
    try:
        changed, made = replan(parsed, current, now=now_minute, changes=changes, time_limit=time_limit)
    except InstanceError as exc:  # ReplanError and PlanningError too
        raise ValidationError(_translated(exc)) from None
    instance = inst.to_dict(changed)
    data = _checked(instance, made)
    with transaction.atomic():
        new = TransferPlan.objects.create(
            city=plan.city, status=PlanStatus.DRAFT, epoch=epoch,
            instance={**instance, live.LIVE_KEY: plan.instance.get(live.LIVE_KEY, {})}, plan=data,
            makespan=made.makespan, lower_bound=made.lower_bound, people=changed.people, replaces=plan,
            created_by=actor if getattr(actor, "pk", None) else None, note=note.strip())
        audit_record(actor=actor, action="transfer_plan.replan", target=new, after={
            "replaces": plan.pk, "now_minute": now_minute,
            "not_ready": ready, "planned_again": again,
            "coach_out": {str(c + 1): m for c, m in changes.coach_out.items()},
            "makespan": made.makespan, "lower_bound": made.lower_bound, "was": plan.makespan})
    return new


def _coach_key_of(plan: TransferPlan, t: plan_json.CoachTrip, index: live.LiveIndex) -> tuple:
    return (t.coach, index.origins[t.origin], at(plan.epoch, t.start), at(plan.epoch, t.depart_origin))


def _cancelled_coach_trips(plan: TransferPlan, current: plan_json.Plan,
                           index: live.LiveIndex) -> list[plan_json.CoachTrip]:
    """Coach trips of the plan that the trip desk called off."""
    keys = set(plan.trips.filter(kind=TripKind.COACH, state=TripState.CANCELLED).values_list(
        "vehicle", "origin_id", "start_at", "depart_at"))
    return [t for t in current.coach_trips if _coach_key_of(plan, t, index) in keys] if keys else []


def _stranded(plan: TransferPlan, current: plan_json.Plan, index: live.LiveIndex) -> set[str]:
    """Groups the plan still has on a coach trip that started and left them behind at boarding."""
    left = set(Passenger.objects.filter(trip__plan=plan, trip__kind=TripKind.COACH, trip__state__in=live.STARTED,
                                        status=PassengerStatus.LEFT_BEHIND).values_list("trip_id", "group"))
    if not left:
        return set()
    trips = {(vehicle, origin, start, depart): pk for pk, vehicle, origin, start, depart in plan.trips.filter(
        kind=TripKind.COACH, pk__in={t for t, _g in left}).values_list("pk", "vehicle", "origin_id", "start_at",
                                                                        "depart_at")}
    out = set()
    for t in current.coach_trips:
        pk = trips.get(_coach_key_of(plan, t, index))
        out |= {g for g in t.groups if (pk, g) in left}
    return out


def _homes(instance: dict, groups: list[str]) -> list[tuple[str, str, str]]:
    """(group, origin id, district id) of each group, as the stored instance has them."""
    where = {g["id"]: (o["id"], g["district"]) for o in instance["origins"] for g in o["groups"]}
    return [(g, *where[g]) for g in groups]


def _taken_out(instance: inst.Instance, current: plan_json.Plan, groups: list[str],
               drop: list[plan_json.CoachTrip]) -> tuple[inst.Instance, plan_json.Plan]:
    """The instance and the plan under way without ``groups`` and without the coach trips ``drop`` (called
    off); the other trips keep their times, even if emptied."""
    out, gone = set(groups), set(drop)
    data = inst.to_dict(instance)
    for o in data["origins"]:
        o["groups"] = [g for g in o["groups"] if g["id"] not in out]
    kept = plan_json.Plan(
        coach_trips=tuple(replace(t, groups=tuple(g for g in t.groups if g not in out))
                          for t in current.coach_trips if t not in gone),
        station=tuple(b for b in current.station if b.group not in out),
        shuttle_trips=tuple(replace(t, groups=tuple(g for g in t.groups if g not in out))
                            for t in current.shuttle_trips),
        lower_bound=0)  # the bound of the plan under way no longer holds without them; replan sets its own
    return inst.parse(data), kept


# --- adopt -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Planned:
    """One trip of a plan's JSON as the trip row it becomes; ``frozen``: kept from the plan it re-plans."""

    trip: Trip
    groups: tuple[str, ...]
    frozen: bool

    @property
    def key(self) -> tuple:
        return _key_of(self.trip)


def _key_of(trip: Trip) -> tuple:
    if trip.kind == TripKind.COACH:
        return (TripKind.COACH, trip.vehicle, trip.origin_id, trip.start_at, trip.depart_at)
    return (TripKind.SHUTTLE, trip.vehicle, trip.town_id, trip.depart_at)


def _planned(plan: TransferPlan, data: plan_json.Plan, index: live.LiveIndex) -> list[_Planned]:
    epoch = plan.epoch
    # A re-plan keeps every coach trip started and every shuttle departed by this minute (replan.py).
    frozen_until = data.stats.get("replanned_at") if plan.replaces_id else None
    out = []
    for t in data.coach_trips:
        trip = Trip(plan=plan, kind=TripKind.COACH, vehicle=t.coach, origin_id=index.origins[t.origin],
                    start_at=at(epoch, t.start), depart_at=at(epoch, t.depart_origin),
                    arrive_at=at(epoch, t.arrive_station))
        out.append(_Planned(trip, t.groups, frozen_until is not None and t.start <= frozen_until))
    for t in data.shuttle_trips:
        trip = Trip(plan=plan, kind=TripKind.SHUTTLE, vehicle=t.shuttle, town_id=index.districts[t.district],
                    depart_at=at(epoch, t.depart), arrive_at=at(epoch, t.arrive))
        out.append(_Planned(trip, t.groups, frozen_until is not None and t.depart <= frozen_until))
    return out


def on_the_way(plan: TransferPlan) -> int:
    """People of ``plan`` between boarding and home: their coach started and they are not home yet."""
    rows = Passenger.objects.filter(trip__plan=plan).exclude(trip__state=TripState.CANCELLED).exclude(
        status=PassengerStatus.LEFT_BEHIND).values_list("episode_id", "trip__kind", "trip__state", "status")
    left_origin, home = set(), set()
    for episode, kind, state, status in rows:
        if kind == TripKind.COACH and (state != TripState.PLANNED or status != PassengerStatus.PLANNED):
            left_origin.add(episode)
        if kind == TripKind.SHUTTLE and (state == TripState.DONE or status == PassengerStatus.DELIVERED):
            home.add(episode)
    return len(left_origin - home)


@transaction.atomic
def plan_adopt(*, plan: TransferPlan, actor, now: datetime | None = None) -> TransferPlan:
    """Make a draft the city's plan and create its trips and passengers (see the module's docstring)."""
    may_plan(actor, plan.city)
    now = now or timezone.now()
    plan = TransferPlan.objects.select_for_update().select_related("city").get(pk=plan.pk)
    if plan.status != PlanStatus.DRAFT:
        raise PlanConflict(_("Only a draft can be adopted; this plan is %(status)s.") % {
            "status": plan.get_status_display()})
    current = TransferPlan.objects.select_for_update().filter(city_id=plan.city_id, status=PlanStatus.ADOPTED).first()
    old = list(current.trips.select_for_update().exclude(state=TripState.CANCELLED)) if current else []
    index = live.LiveIndex.from_instance(plan.instance, plan.epoch)
    planned = _planned(plan, plan_json.from_dict(plan.plan), index)

    carried: dict[tuple, Trip] = {}
    if plan.replaces_id is not None:
        if current is None or current.pk != plan.replaces_id:
            raise PlanConflict(_("This re-plan was made from plan #%(plan)s, which is no longer the adopted plan; "
                                 "re-plan from the adopted one.") % {"plan": plan.replaces_id})
        frozen = {p.key for p in planned if p.frozen}
        carried = {_key_of(t): t for t in old if _key_of(t) in frozen}
        late = [t for t in old if t.state != TripState.PLANNED and _key_of(t) not in carried]
        # A shuttle the desk called off after its time is run again at that time (late), as a new trip.
        called_off = {_key_of(t) for t in current.trips.filter(kind=TripKind.SHUTTLE, state=TripState.CANCELLED)}
        if late or frozen - set(carried) - called_off:
            raise PlanConflict(_("Trips have started or changed since this re-plan was made; re-plan again."))
    else:
        if current is not None and on_the_way(current):
            raise ValidationError(_("People of the adopted plan are on their way home; a plan made from scratch "
                                    "cannot replace it now. Re-plan from the adopted plan instead."))
        if plan.epoch + STALE_AFTER < now:
            raise ValidationError(_("This draft was made from the data of %(moment)s; make a new plan from "
                                    "today's data.") % {"moment": timezone.localtime(plan.epoch).strftime(
                                        "%Y-%m-%d %H:%M")})
    _check_still_out_there(plan, [p for p in planned if p.trip.kind == TripKind.COACH and not p.frozen], index)

    cancel = [t.pk for t in old if _key_of(t) not in carried and t.state == TripState.PLANNED]
    if Trip.objects.filter(pk__in=cancel, state=TripState.PLANNED).update(
            state=TripState.CANCELLED, version=F("version") + 1) != len(cancel):
        raise PlanConflict(_("A trip of the adopted plan changed at the same moment; reload and try again."))
    if current is not None:
        TransferPlan.objects.filter(pk=current.pk).update(status=PlanStatus.SUPERSEDED)
    plan.status = PlanStatus.ADOPTED
    plan.save(update_fields=["status"])
    made, left_behind = _materialise(plan, planned, index, carried)
    audit_record(actor=actor, action="transfer_plan.adopt", target=plan, after={
        "superseded": current.pk if current else None, "trips_created": made, "trips_carried_over": len(carried),
        "trips_cancelled": len(cancel), "left_behind": left_behind, "people": plan.people})
    return plan


def _check_still_out_there(plan: TransferPlan, boarding: list[_Planned], index: live.LiveIndex) -> None:
    """Everyone who is to board a new coach trip is still held by the origin site of that trip."""
    origin_of = {e: p.trip.origin_id for p in boarding for g in p.groups for e in index.groups[g]}
    # Everyone the city's sites elsewhere hold, in one query (no list of thousands of ids in the SQL).
    held = dict(Episode.objects.filter(city_id=plan.city_id, state=states.IN_CUSTODY,
                                       custodian__facility__id__in=set(origin_of.values()))
                .values_list("pk", "custodian__facility"))
    gone = sum(1 for e, origin in origin_of.items() if held.get(e) != origin)
    if gone:
        raise ValidationError(ngettext(
            "%(count)s person of this plan is no longer held by their origin site; make the plan again.",
            "%(count)s people of this plan are no longer held by their origin site; make the plan again.",
            gone) % {"count": gone})


def _passengers(trip: Trip, groups, index: live.LiveIndex, blocks: dict, epoch: datetime) -> list[Passenger]:
    out = []
    for g in groups:
        block = blocks[g] if trip.kind == TripKind.COACH else None
        out += [Passenger(trip=trip, episode_id=episode, group=g, lane=block.lane if block else None,
                          screen_from=at(epoch, block.start) if block else None,
                          screen_until=at(epoch, block.end) if block else None)
                for episode in index.groups[g]]
    return out


def _materialise(plan: TransferPlan, planned: list[_Planned], index: live.LiveIndex,
                 carried: dict[tuple, Trip]) -> tuple[int, int]:
    """The plan's trips and passengers; carried-over trips move to it. Returns (trips made, left behind)."""
    epoch = plan.epoch
    blocks = {b.group: b for b in plan_json.from_dict(plan.plan).station}
    fresh = [p for p in planned if p.key not in carried]
    Trip.objects.bulk_create([p.trip for p in fresh])
    passengers = [row for p in fresh for row in _passengers(p.trip, p.groups, index, blocks, epoch)]

    left_behind = 0
    kept = {carried[p.key].pk: (carried[p.key], set(p.groups)) for p in planned if p.key in carried}
    if kept:
        Trip.objects.filter(pk__in=list(kept)).update(plan=plan)
        seen: dict[int, set[str]] = {pk: set() for pk in kept}
        left = set(Passenger.objects.filter(trip_id__in=list(kept), status=PassengerStatus.LEFT_BEHIND)
                   .values_list("trip_id", "group"))
        if any((pk, g) in left for pk, (_trip, groups) in kept.items() for g in groups):
            raise PlanConflict(_("A household was left behind at boarding after this re-plan was made; re-plan "
                                 "again with the time it is ready."))
        for row in Passenger.objects.filter(trip_id__in=list(kept)).exclude(status=PassengerStatus.LEFT_BEHIND):
            trip, groups = kept[row.trip_id]
            if row.group not in groups:  # taken off a frozen coach: not ready at boarding
                if row.status != PassengerStatus.PLANNED or not Passenger.objects.filter(
                        pk=row.pk, status=PassengerStatus.PLANNED).update(
                        status=PassengerStatus.LEFT_BEHIND,
                        note=_("Not ready at boarding; re-planned on a later trip.")):
                    raise PlanConflict(_("A household the re-plan takes off a coach has boarded it meanwhile; "
                                         "re-plan again."))
                left_behind += 1
                continue
            seen[trip.pk].add(row.group)
            if trip.kind == TripKind.COACH:  # its screening may have moved
                b = blocks[row.group]
                moved = (b.lane, at(epoch, b.start), at(epoch, b.end))
                if (row.lane, row.screen_from, row.screen_until) != moved:
                    Passenger.objects.filter(pk=row.pk).update(lane=moved[0], screen_from=moved[1],
                                                               screen_until=moved[2])
        for pk, (trip, groups) in kept.items():
            passengers += _passengers(trip, sorted(groups - seen[pk]), index, blocks, epoch)
    Passenger.objects.bulk_create(passengers, batch_size=2000)
    return len(fresh), left_behind
