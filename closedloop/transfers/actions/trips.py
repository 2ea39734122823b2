"""Carrying a trip out: the dispatch and the four checklisted hand-overs of the way home.

The way home, custody always with exactly one party and every step a row of the closed loop's ledger:

1. ``trip_dispatch`` — the vehicle, driver and escorts are named; the trip gets its own custodian
   (``vehicle_trip``, code ``trip-<pk>``). planned → boarding.
2. ``trip_board`` (coach, at the origin site) — per person: temperature, a negative test within 24 hours;
   per trip: the crew's tests, the load (counted from the list, never ticked), the documents. A person
   failing an item of their own stays behind with their household (their episode stays with the origin
   site; ``Passenger`` left_behind, with why): the plan must fetch them later (``left_behind_groups`` →
   ``plan_replan(not_ready=…)``, a headquarters decision: it needs the time they are ready again). A
   failed item of the trip blocks the whole boarding. The origin site gives each boarder to the trip
   (signed by its staff) and the trip receives them (signed by an escort). boarding → under_way.
3. ``trip_arrive_station`` (coach, at the station) — the trip gives everyone on board to the transfer
   station (signed by an escort); the station receives each person at screening (signed by its staff).
   Who is not screened yet waits, still the trip's, in transit (the lost-in-transit alert watches them);
   a later call receives them. under_way → arrived → done once everyone is received.
4. ``shuttle_board`` (shuttle, at the station) — the station gives to the shuttle, the shuttle receives;
   who is not at the station stays behind. boarding → under_way.
5. ``shuttle_arrive_home`` (shuttle, in its district; several drops) — for the people chosen, the shuttle
   gives to their home community and the community receives them (the custodian of the person's community,
   or town when no community is known, made on first use like ``quarantine.demo``). The episode stays
   open in home custody: a protocol with a home phase goes on as it says; an ``out_of_city`` episode
   usually has no protocol, and then the community simply holds the person (home health monitoring as
   the community decides) until headquarters closes the course. The ``AwayRecord`` says home.
   under_way → arrived → done once everyone on board is home.

Every hand-over needs both signatures; every answer is kept (``HandoverCheck``: one row per person and
one for the trip). A failed blocking item is waived only with a written reason by headquarters
(``Cap.OVERRIDE_RELEASE``: releasing a person onto the road against the rule is theirs to decide), and
the waiver is kept on the rows it waived and in the audit row. A trip changes state with a
compare-and-swap on ``version``: of two desks acting on one trip, one wins and the other is told.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from closedloop.core.audit import audit_record
from closedloop.core.roles import Cap
from closedloop.quarantine import states as custody
from closedloop.quarantine.actions import custodian_create, handover_give, handover_receive
from closedloop.quarantine.choices import CustodianKind
from closedloop.quarantine.models import Custodian
from closedloop.transfers import checklist as cl
from closedloop.transfers import trip_states as ts
from closedloop.transfers.choices import AwayStatus, PassengerStatus, PlanStatus, TripKind
from closedloop.transfers.models import AwayRecord, District, Fleet, HandoverCheck, Passenger, Trip
from closedloop.transfers.trip_selectors import trip_in_reach

# A leg planned for a moment already past (the trip runs late) is expected this long from now.
LATE_LEAD = timedelta(minutes=30)
SIGNATURE_MAX = 60
OVERRIDE_MAX = 200
PLATE_MAX, DRIVER_MAX, ESCORTS_MAX, REASON_MAX = 20, 60, 200, 200
NOTE_MAX = 200


class TripConflict(ValidationError):
    """Another desk changed the trip first; nothing was written."""


@dataclass
class HandoverResult:
    """What one hand-over did."""

    trip: Trip
    stage: str
    handed_over: list[Passenger] = field(default_factory=list)
    waiting: list[Passenger] = field(default_factory=list)  # failed an item at an arrival: still the giver's
    left_behind: list[Passenger] = field(default_factory=list)
    waived: list[str] = field(default_factory=list)  # codes of the failed items the override waived


# --- who may -------------------------------------------------------------------------------------

def _may_run(actor, trip: Trip) -> None:
    if actor is None:
        return  # the system itself (the demo)
    if not actor.can(Cap.HANDOVER):
        raise PermissionDenied(_("Your role may not run trips or hand people over."))
    if not trip_in_reach(actor, trip):
        raise PermissionDenied(_("This trip is outside your jurisdiction."))


def may_override(actor) -> bool:
    return actor is None or actor.can(Cap.OVERRIDE_RELEASE)


# --- the trip's state ----------------------------------------------------------------------------

def _refused(trip: Trip) -> ValidationError:
    return ValidationError(_("This cannot be done now: the trip is %(state)s.") % {"state": trip.get_state_display()})


def _conflict() -> TripConflict:
    return TripConflict(_("Another desk changed this trip at the same moment; reload the page and check before "
                          "trying again."))


def _unchanged(trip: Trip) -> None:
    """Stop early when the trip moved on since the caller read it (the compare-and-swap decides anyway)."""
    if Trip.objects.filter(pk=trip.pk, version=trip.version).exists():
        return
    raise _conflict()


def _move(trip: Trip, event: str, **fields) -> Trip:
    """Write the trip's next state with a compare-and-swap on the version the caller saw."""
    if not ts.can_transition(trip.state, event):
        raise _refused(trip)
    new = ts.next_state(trip.state, event)
    won = Trip.objects.filter(pk=trip.pk, version=trip.version, state=trip.state).update(
        state=new, version=trip.version + 1, **fields)
    if not won:
        raise _conflict()
    trip.state, trip.version = new, trip.version + 1
    for name, value in fields.items():
        setattr(trip, name, value)
    return trip


def _expected(planned: datetime | None, now: datetime) -> datetime:
    return planned if planned is not None and planned > now else now + LATE_LEAD


def _fleet(trip: Trip) -> Fleet:
    fleet = Fleet.objects.select_related("station__custodian").filter(city_id=trip.plan.city_id).first()
    if fleet is None or fleet.station is None:
        raise ValidationError(_("The city has no transfer station set in its fleet settings."))
    return fleet


# --- dispatch ------------------------------------------------------------------------------------

def _custodian_name(trip: Trip, plate: str) -> str:
    where = trip.origin.name if trip.kind == TripKind.COACH else trip.town.name
    return f"{plate} · {where} · {timezone.localtime(trip.depart_at):%m-%d %H:%M}"[:120]


def _custodian_code(trip: Trip) -> str:
    code = f"trip-{trip.pk}"
    if Custodian.objects.filter(code=code).exists():  # a hand-made custodian took it (an old import)
        code = f"trip-{trip.pk}-plan-{trip.plan_id}"
    return code


@transaction.atomic
def trip_dispatch(*, trip: Trip, plate: str, driver: str, escorts: str, actor) -> Trip:
    """Name the vehicle, driver and escorts; the trip answers as its own custodian from now on."""
    _may_run(actor, trip)
    plate = "".join((plate or "").split()).upper()
    driver, escorts = (driver or "").strip(), " ".join((escorts or "").split())
    errors: dict[str, str] = {}
    for name, value, needed, most in (
        ("plate", plate, _("Write the vehicle's plate."), PLATE_MAX),
        ("driver", driver, _("Write the driver's name."), DRIVER_MAX),
        ("escorts", escorts, _("Name at least one escort."), ESCORTS_MAX),
    ):
        if not value:
            errors[name] = needed
        elif len(value) > most:
            errors[name] = _("At most %(max)s characters.") % {"max": most}
    if errors:
        raise ValidationError(errors)
    _unchanged(trip)
    if not ts.can_transition(trip.state, ts.DISPATCH):
        raise _refused(trip)
    if trip.plan.status != PlanStatus.ADOPTED:
        raise ValidationError(_("Only a trip of the adopted plan can be dispatched; this plan is %(status)s.")
                              % {"status": trip.plan.get_status_display()})
    before = trip.state
    _move(trip, ts.DISPATCH, plate=plate, driver=driver, escorts=escorts)  # first: a second desk stops here
    trip.custodian = custodian_create(
        kind=CustodianKind.VEHICLE_TRIP, name=_custodian_name(trip, plate), code=_custodian_code(trip),
        city=trip.plan.city, jurisdiction=trip.town if trip.kind == TripKind.SHUTTLE else None, actor=actor)
    Trip.objects.filter(pk=trip.pk).update(custodian=trip.custodian)
    audit_record(actor=actor, action="trip.dispatch", target=trip, before={"state": before},
                 after={"state": trip.state, "plate": plate, "driver": driver, "escorts": escorts,
                        "custodian": trip.custodian.code})
    return trip


@transaction.atomic
def trip_cancel(*, trip: Trip, reason: str, actor) -> Trip:
    """Call off a trip that has not left; whoever was to travel on it stays where they are, to be re-planned."""
    _may_run(actor, trip)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": _("Say why the trip is cancelled.")})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": _("At most %(max)s characters.") % {"max": REASON_MAX}})
    _unchanged(trip)
    before = trip.state
    _move(trip, ts.CANCEL)
    stays = list(Passenger.objects.filter(trip=trip, status=PassengerStatus.PLANNED).values_list("episode_id", flat=True))
    Passenger.objects.filter(trip=trip, status=PassengerStatus.PLANNED).update(
        status=PassengerStatus.LEFT_BEHIND, note=(_("Trip cancelled: %(reason)s") % {"reason": reason})[:NOTE_MAX])
    if trip.custodian_id:
        Custodian.objects.filter(pk=trip.custodian_id).update(active=False)
    audit_record(actor=actor, action="trip.cancel", target=trip, reason=reason, before={"state": before},
                 after={"state": trip.state, "left_behind": stays})
    return trip


# --- the hand-overs ------------------------------------------------------------------------------

def _ticks(raw, allowed: Mapping[str, cl.Item], key: str, errors: dict[str, list[str]]) -> dict[str, bool]:
    """Answers {item code: true/false} restricted to the stage's items; what cannot be read is reported."""
    out: dict[str, bool] = {}
    if raw is None:
        return out
    if not isinstance(raw, Mapping):
        errors.setdefault(key, []).append(_("Give the answers as item: true or false."))
        return out
    for code, value in raw.items():
        if code not in allowed:
            errors.setdefault(key, []).append(_("%(item)s is not an item of this hand-over.") % {"item": code})
        elif not isinstance(value, bool):
            errors.setdefault(key, []).append(_("Answer %(item)s with true or false.") % {"item": code})
        else:
            out[code] = value
    return out


def _signature(value: str, name: str, needed: str, errors: dict[str, list[str]]) -> str:
    value = " ".join((value or "").split())
    if not value:
        errors.setdefault(name, []).append(needed)
    elif len(value) > SIGNATURE_MAX:
        errors.setdefault(name, []).append(_("At most %(max)s characters.") % {"max": SIGNATURE_MAX})
    return value


def _episode_key(raw) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())
    return None


def _away_from(stage: str, p: Passenger, trip: Trip, station: Custodian) -> str:
    """Why the person is not where this hand-over takes them from (empty: they are)."""
    e = p.episode
    held_by = e.custodian_id if e.state == custody.IN_CUSTODY else None
    if stage == ts.STAGE_BOARDING and held_by != trip.origin.custodian_id:
        return _("Not held by the origin site now (%(state)s).") % {"state": e.get_state_display()}
    if stage == ts.STAGE_SHUTTLE and held_by != station.pk:
        return _("Not at the transfer station (not received there yet).")
    if stage == ts.STAGE_STATION:
        given = e.state == custody.IN_TRANSIT and e.custodian_id == trip.custodian_id \
            and e.pending_custodian_id == station.pk
        if held_by != trip.custodian_id and not given:
            return _("No longer in this trip's custody (%(state)s).") % {"state": e.get_state_display()}
    if stage == ts.STAGE_HOME and held_by != trip.custodian_id:
        return _("No longer in this trip's custody (%(state)s).") % {"state": e.get_state_display()}
    return ""


def _load(trip: Trip, item: cl.Item, fleet: Fleet) -> tuple[int, int]:
    """(seats, the most people the item lets the vehicle carry)."""
    if trip.kind == TripKind.COACH:
        return fleet.coach_seats, cl.load_limit(fleet.coach_seats, fleet.coach_max_load, item)
    district = District.objects.filter(town_id=trip.town_id).first()
    if district is None:
        raise ValidationError(_("The home town of this shuttle has no district settings (seats, load)."))
    return district.seats, cl.load_limit(district.seats, district.max_load, item)


def load_limits(trip: Trip, stage: str) -> list[tuple[cl.Item, int, int]]:
    """The counted load items of a hand-over with (seats, the most people allowed), for the page to show."""
    items = cl.load().stage(stage).computed_items
    if not items:
        return []
    try:
        fleet = _fleet(trip)
        return [(item, *_load(trip, item, fleet)) for item in items]
    except ValidationError:
        return []  # the hand-over itself says what is missing


def _home_custodian(place, city, actor, cache: dict[int, Custodian]) -> Custodian:
    """The active home-community custodian of a community (or town), made on first use."""
    if place.pk in cache:
        return cache[place.pk]
    found = (Custodian.objects.filter(kind=CustodianKind.HOME_COMMUNITY, jurisdiction=place, active=True)
             .order_by("pk").first())
    if found is None:
        code = f"home-{place.code}"
        if Custodian.objects.filter(code=code).exists():  # an inactive one keeps the plain code
            code = f"home-{place.code}-{Custodian.objects.filter(code__startswith=code).count() + 1}"
        try:
            with transaction.atomic():
                found = custodian_create(kind=CustodianKind.HOME_COMMUNITY, name=f"{place.name}（居家）", code=code,
                                         city=city, jurisdiction=place, actor=actor)
        except IntegrityError:  # another desk made it this instant
            found = Custodian.objects.get(code=code)
    cache[place.pk] = found
    return found


def _labels(items: list[cl.Item]) -> str:
    language = get_language() or ""
    return "; ".join(i.label(language) for i in items)


def _handover(stage: str, *, trip: Trip, answers, trip_answers, giver: str, receiver: str, actor,
              override_reason: str, chosen: Collection[int] | None = None) -> HandoverResult:
    _may_run(actor, trip)
    if trip.kind != ts.STAGE_KIND[stage]:
        raise ValidationError(_("This hand-over belongs to a coach trip.") if ts.STAGE_KIND[stage] == TripKind.COACH
                              else _("This hand-over belongs to a shuttle trip."))
    _unchanged(trip)
    if ts.stage_for(trip.kind, trip.state) != stage:
        raise _refused(trip)
    now = timezone.now()
    items = cl.load().stage(stage)
    errors: dict[str, list[str]] = {}
    giver = _signature(giver, "giver", _("The handing-over side signs: write their name."), errors)
    receiver = _signature(receiver, "receiver", _("The receiving side signs: write their name."), errors)
    reason = " ".join((override_reason or "").split())
    if len(reason) > OVERRIDE_MAX:
        errors.setdefault("override_reason", []).append(_("At most %(max)s characters.") % {"max": OVERRIDE_MAX})
    if reason and not may_override(actor):
        raise PermissionDenied(_("Only headquarters may override a failed item of the checklist."))

    fleet = _fleet(trip)
    station = fleet.station.custodian
    wanted = PassengerStatus.PLANNED if stage in ts.STAYS_BEHIND else PassengerStatus.BOARDED
    passengers = list(Passenger.objects.filter(trip=trip, status=wanted).select_related(
        "episode__person__community", "episode__person__town").order_by("group", "pk"))
    by_episode = {p.episode_id: p for p in passengers}
    if chosen is not None:
        keys = [_episode_key(k) for k in chosen]
        unknown = [str(raw) for raw, k in zip(chosen, keys, strict=True) if k not in by_episode]
        if unknown:
            errors.setdefault("passengers", []).append(
                _("Not on board this trip: %(ids)s.") % {"ids": ", ".join(unknown)})
        elif not keys:
            errors.setdefault("passengers", []).append(_("Choose who is handed over here."))
        passengers = [p for p in passengers if p.episode_id in set(keys)]
    person_items = {i.code: i for i in items.person_items}
    person_answers: dict[int, dict[str, bool]] = {}
    if answers is not None and not isinstance(answers, Mapping):
        errors.setdefault("answers", []).append(_("Give the answers by person: episode id, then item: true or false."))
        answers = {}
    for raw_key, raw in (answers or {}).items():
        key = _episode_key(raw_key)
        if key is None or key not in {p.episode_id for p in passengers}:
            errors.setdefault("answers", []).append(
                _("%(id)s is not waiting for this hand-over.") % {"id": raw_key})
            continue
        person_answers[key] = _ticks(raw, person_items, "answers", errors)
    given_trip = _ticks(trip_answers, {i.code: i for i in items.trip_items}, "trip_answers", errors)
    if errors:
        raise ValidationError(errors)
    if not passengers:
        raise ValidationError(_("No one is waiting for this hand-over."))

    # Each person: where they are, and their own items.
    away: dict[int, str] = {}
    failed: dict[int, list[cl.Item]] = {}
    for p in passengers:
        away[p.pk] = _away_from(stage, p, trip, station)
        if not away[p.pk]:
            failed[p.pk] = cl.unmet(items.person_items, person_answers.get(p.episode_id, {}))
    waive_people = bool(reason)
    behind, waiting, going = [], [], []
    stays_behind = stage in ts.STAYS_BEHIND
    failing_groups = {p.group for p in passengers if failed.get(p.pk) and not waive_people}
    notes: dict[int, str] = {}
    for p in passengers:
        if away[p.pk]:
            behind.append(p)
            notes[p.pk] = away[p.pk]
        elif failed[p.pk] and not waive_people:
            (behind if stays_behind else waiting).append(p)
            notes[p.pk] = (_("Failed: %(items)s") if stays_behind else _("Waiting: %(items)s")) % {
                "items": _labels(failed[p.pk])}
        elif stays_behind and p.group in failing_groups:
            behind.append(p)
            notes[p.pk] = _("Stays with their household.")
        else:
            going.append(p)

    # The trip's items; the load is counted from who boards.
    trip_ticks = {i.code: given_trip.get(i.code, False) for i in items.ticked_trip_items}
    load_errors: dict[str, str] = {}
    for item in items.computed_items:
        seats, most = _load(trip, item, fleet)
        trip_ticks[item.code] = len(going) <= most
        if len(going) > most:
            load_errors[item.code] = ngettext(
                "%(n)s person would board; %(seats)s seats allow at most %(most)s.",
                "%(n)s people would board; %(seats)s seats allow at most %(most)s.", len(going)) % {
                "n": len(going), "seats": seats, "most": most}
    trip_failed = cl.unmet(items.trip_items, trip_ticks)
    if trip_failed and not reason:
        raise ValidationError({
            f"trip_answers.{i.code}": load_errors.get(i.code) or _(
                "Not confirmed: %(item)s. This blocks the hand-over unless headquarters overrides it with a "
                "reason.") % {"item": i.label(get_language() or "")}
            for i in trip_failed})
    waived_people = [p for p in passengers if not away[p.pk] and failed[p.pk]] if reason else []
    if reason and not trip_failed and not waived_people:
        raise ValidationError({"override_reason": _("Every item passed: there is nothing to override. Leave the "
                                                    "reason empty.")})
    # At the station everyone leaves the coach on arrival: the hand-over is given even if no one is screened yet.
    given_unscreened = stage == ts.STAGE_STATION
    if not going and not (given_unscreened and trip.state == ts.UNDER_WAY):
        raise ValidationError(
            _("No one can board: every person failed an item or is not here. Nothing was recorded; cancel "
              "the trip if it cannot wait.") if stays_behind else
            _("No one can be handed over: tick each person's items first. Nothing was recorded."))

    # Writes: the trip first (a second desk stops at its compare-and-swap), then custody, then the record.
    before = trip.state
    remaining = Passenger.objects.filter(trip=trip, status=PassengerStatus.BOARDED).exclude(
        pk__in=[p.pk for p in going + behind]).exists()
    if stays_behind:
        _move(trip, ts.BOARD)
    else:
        if trip.state == ts.UNDER_WAY:
            _move(trip, ts.ARRIVE)
        if not remaining:
            _move(trip, ts.FINISH)
    ledger_reason = f"trip #{trip.pk} {stage}" + (f" · override: {reason}" if reason else "")
    homes: dict[int, Custodian] = {}
    delivered = PassengerStatus.BOARDED if stays_behind else PassengerStatus.DELIVERED
    for p in going + (waiting if given_unscreened else []):
        episode = p.episode
        if stage == ts.STAGE_BOARDING:
            to, expected = trip.custodian, _expected(trip.depart_at, now)
        elif stage == ts.STAGE_STATION:
            to, expected = station, _expected(p.screen_until or trip.arrive_at, now)
        elif stage == ts.STAGE_SHUTTLE:
            to, expected = trip.custodian, _expected(trip.depart_at, now)
        else:
            person = episode.person
            place = person.community or person.town or trip.town
            to, expected = _home_custodian(place, trip.plan.city, actor, homes), _expected(trip.arrive_at, now)
        if episode.state == custody.IN_CUSTODY:
            episode = handover_give(episode=episode, to_custodian=to, expected_by=expected, actor=actor,
                                    signed_by=giver, reason=ledger_reason)
        if p in going:
            handover_receive(episode=episode, actor=actor, signed_by=receiver)
            p.status, p.note = delivered, ""
        else:
            p.note = notes[p.pk][:NOTE_MAX]
        p.save(update_fields=["status", "note"])
    for p in [] if given_unscreened else waiting:
        p.note = notes[p.pk][:NOTE_MAX]
        p.save(update_fields=["note"])
    for p in behind:
        p.status, p.note = PassengerStatus.LEFT_BEHIND, notes[p.pk][:NOTE_MAX]
        p.save(update_fields=["status", "note"])
    if stage == ts.STAGE_HOME:
        AwayRecord.objects.filter(episode_id__in=[p.episode_id for p in going]).exclude(
            status=AwayStatus.HOME).update(status=AwayStatus.HOME)

    waived_codes = sorted({i.code for i in trip_failed} | {i.code for p in waived_people for i in failed[p.pk]})
    checks = [
        HandoverCheck(trip=trip, stage=stage, episode_id=p.episode_id,
                      answers={i.code: person_answers.get(p.episode_id, {}).get(i.code, False)
                               for i in items.person_items},
                      override_reason=reason if p in waived_people else "", giver_signature=giver,
                      receiver_signature=receiver, at=now, actor=actor if getattr(actor, "pk", None) else None)
        for p in passengers
    ]
    checks.append(HandoverCheck(trip=trip, stage=stage, episode=None, answers=trip_ticks,
                                override_reason=reason if trip_failed else "", giver_signature=giver,
                                receiver_signature=receiver, at=now,
                                actor=actor if getattr(actor, "pk", None) else None))
    HandoverCheck.objects.bulk_create(checks)
    audit_record(actor=actor, action=f"trip.{stage}", target=trip, reason=reason if waived_codes else "",
                 before={"state": before},
                 after={"state": trip.state, "checklist": cl.load().version, "giver": giver, "receiver": receiver,
                        "handed_over": [p.episode_id for p in going], "waiting": [p.episode_id for p in waiting],
                        "left_behind": [p.episode_id for p in behind], "waived": waived_codes})
    return HandoverResult(trip=trip, stage=stage, handed_over=going, waiting=waiting, left_behind=behind,
                          waived=waived_codes)


@transaction.atomic
def trip_board(*, trip: Trip, answers: Mapping[int, Mapping[str, bool]], trip_answers: Mapping[str, bool],
               giver: str, receiver: str, actor, override_reason: str = "") -> HandoverResult:
    """At the origin site: the site hands each person who passes to the coach (see the module's docstring)."""
    return _handover(ts.STAGE_BOARDING, trip=trip, answers=answers, trip_answers=trip_answers, giver=giver,
                     receiver=receiver, actor=actor, override_reason=override_reason)


@transaction.atomic
def trip_arrive_station(*, trip: Trip, answers: Mapping[int, Mapping[str, bool]], trip_answers: Mapping[str, bool],
                        giver: str, receiver: str, actor, override_reason: str = "") -> HandoverResult:
    """At the transfer station: the coach hands everyone on board over; the station receives at screening."""
    return _handover(ts.STAGE_STATION, trip=trip, answers=answers, trip_answers=trip_answers, giver=giver,
                     receiver=receiver, actor=actor, override_reason=override_reason)


@transaction.atomic
def shuttle_board(*, trip: Trip, answers: Mapping[int, Mapping[str, bool]], trip_answers: Mapping[str, bool],
                  giver: str, receiver: str, actor, override_reason: str = "") -> HandoverResult:
    """At the transfer station: the station hands each person of the shuttle's list over to the shuttle."""
    return _handover(ts.STAGE_SHUTTLE, trip=trip, answers=answers, trip_answers=trip_answers, giver=giver,
                     receiver=receiver, actor=actor, override_reason=override_reason)


@transaction.atomic
def shuttle_arrive_home(*, trip: Trip, passengers: Collection[int] | None, answers: Mapping[int, Mapping[str, bool]],
                        trip_answers: Mapping[str, bool], giver: str, receiver: str, actor,
                        override_reason: str = "") -> HandoverResult:
    """In the home district: the shuttle hands the people chosen (episode ids; None: everyone on board) to
    their home community."""
    return _handover(ts.STAGE_HOME, trip=trip, answers=answers, trip_answers=trip_answers, giver=giver,
                     receiver=receiver, actor=actor, override_reason=override_reason, chosen=passengers)


def left_behind_groups(trip: Trip) -> dict[str, list[int]]:
    """The household groups of a coach trip left behind at boarding, with their episodes: what a re-plan
    (``plans.plan_replan(not_ready={group: ready again at})``) must fetch."""
    out: dict[str, list[int]] = {}
    for group, episode in (Passenger.objects.filter(trip=trip, status=PassengerStatus.LEFT_BEHIND)
                           .order_by("group", "pk").values_list("group", "episode_id")):
        out.setdefault(group, []).append(episode)
    return out
