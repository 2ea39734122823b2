"""Transfer plans: made from live data and validated, adopted into trips and passengers, re-planned under way."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from closedloop.core.models import AuditEvent
from closedloop.planning.returns.validate import check
from closedloop.transfers.actions import NothingToPlan, PlanConflict, plan_adopt, plan_make, plan_replan
from closedloop.transfers.actions.plans import at, spec_instance
from closedloop.transfers.models import Passenger, TransferPlan, Trip
from tests.transfers.plan_helpers import NOW, away, board, dispatch, world

LIMIT = 0.3  # seconds of search: the instances are tiny


@pytest.fixture
def people(person_factory, hangzhou_site, ningbo_site, community_b1, fleet):
    return world(person_factory, hangzhou_site, ningbo_site, community_b1)


def make(city, actor, now=NOW):
    return plan_make(city=city, actor=actor, time_limit=LIMIT, now=now)


def live_trips(plan):
    return list(Trip.objects.filter(plan=plan).exclude(state="cancelled").order_by("kind", "depart_at", "vehicle"))


def riding(plan, kind):
    """episode -> trip of the plan's non-cancelled trips of ``kind``, for passengers not left behind."""
    rows = Passenger.objects.filter(trip__plan=plan, trip__kind=kind).exclude(trip__state="cancelled").exclude(
        status="left_behind").values_list("episode_id", "trip_id")
    counts = Counter(e for e, _t in rows)
    assert set(counts.values()) <= {1}, "someone rides two trips of one kind"
    return dict(rows)


# --- make --------------------------------------------------------------------------------------------

def test_a_plan_from_live_data_keeps_every_rule_and_is_a_draft(people, city, commander):
    plan = make(city, commander)
    assert plan.status == "draft" and plan.people == 9 and plan.city == city
    assert plan.epoch == NOW.replace(minute=10)
    assert check(spec_instance(plan.instance), plan.plan) == []
    assert plan.makespan == plan.plan["makespan"] and plan.lower_bound == plan.plan["lower_bound"]
    assert plan.lower_bound <= plan.makespan
    # Qian is released tomorrow at 08:00 and leaves then at the earliest: coach, screening, shuttle.
    assert plan.lower_bound == 22 * 60 + 50 + 120 + 3 + 10 + 20
    assert not Trip.objects.exists()
    event = AuditEvent.objects.get(action="transfer_plan.make")
    assert event.target_id == str(plan.pk) and event.after["people"] == 9 and event.after["groups"] == 7


def test_only_headquarters_of_the_city_may_make_a_plan(people, city, site_a, site_b, analyst, duty_officer):
    for outsider in (site_a, site_b, analyst):
        with pytest.raises(PermissionDenied):
            make(city, outsider)
    assert make(city, duty_officer).status == "draft"
    assert not AuditEvent.objects.filter(action="transfer_plan.make", actor__in=[site_a, site_b, analyst]).exists()


def test_nothing_to_plan_says_who_cannot_be_planned(person_factory, hangzhou_site, fleet, city, commander):
    with pytest.raises(NothingToPlan, match="No one out of the city is waiting"):
        make(city, commander)
    positive = away(person_factory, hangzhou_site, "孙八", status="positive")
    with pytest.raises(NothingToPlan, match="1 person out there cannot be planned") as caught:
        make(city, commander)
    assert [(s.episode, s.reason) for s in caught.value.skipped] == [(positive.episode_id, "positive")]
    assert not TransferPlan.objects.exists()


def test_the_draft_keeps_who_could_not_be_planned(people, person_factory, hangzhou_site, city, commander):
    positive = away(person_factory, hangzhou_site, "孙八", status="positive")
    plan = make(city, commander)
    assert plan.instance["live"]["skipped"] == [{"episode": positive.episode_id, "origin": hangzhou_site.pk,
                                                 "reason": "positive"}]


# --- adopt -------------------------------------------------------------------------------------------

def test_adopting_creates_the_trips_and_passengers_of_the_plan(people, city, commander, hangzhou_site, town_a):
    plan = make(city, commander)
    adopted = plan_adopt(plan=plan, actor=commander, now=NOW)
    assert adopted.status == "adopted"
    data, groups, epoch = plan.plan, plan.instance["live"]["groups"], plan.epoch
    coaches = Trip.objects.filter(plan=plan, kind="coach")
    shuttles = Trip.objects.filter(plan=plan, kind="shuttle")
    assert coaches.count() == len(data["coach_trips"]) and shuttles.count() == len(data["shuttle_trips"])
    blocks = {b["group"]: b for b in data["station"]}
    origins, districts = plan.instance["live"]["origins"], plan.instance["live"]["districts"]
    for t in data["coach_trips"]:
        trip = coaches.get(vehicle=t["coach"], depart_at=at(epoch, t["depart_origin"]))
        assert (trip.origin_id, trip.start_at, trip.arrive_at, trip.state) == (
            origins[t["origin"]], at(epoch, t["start"]), at(epoch, t["arrive_station"]), "planned")
        rows = list(trip.passengers.values_list("episode_id", "group", "lane", "screen_from", "screen_until"))
        assert sorted(e for e, *_rest in rows) == sorted(e for g in t["groups"] for e in groups[g])
        for _e, g, lane, start, end in rows:
            assert (lane, start, end) == (blocks[g]["lane"], at(epoch, blocks[g]["start"]), at(epoch, blocks[g]["end"]))
    for t in data["shuttle_trips"]:
        trip = shuttles.get(vehicle=t["shuttle"], town_id=districts[t["district"]], depart_at=at(epoch, t["depart"]))
        assert trip.arrive_at == at(epoch, t["arrive"]) and trip.start_at is None
        assert sorted(trip.passengers.values_list("episode_id", flat=True)) == sorted(
            e for g in t["groups"] for e in groups[g])
    everyone = {r.episode_id for r in people.values()}
    assert set(riding(plan, "coach")) == everyone == set(riding(plan, "shuttle"))
    assert AuditEvent.objects.get(action="transfer_plan.adopt").after["trips_created"] == coaches.count() + shuttles.count()
    with pytest.raises(PlanConflict):
        plan_adopt(plan=plan, actor=commander, now=NOW)


def test_a_new_plan_supersedes_the_adopted_one_and_cancels_its_trips(people, city, commander):
    first = plan_adopt(plan=make(city, commander), actor=commander, now=NOW)
    old_trips = {t.pk for t in live_trips(first)}
    later = NOW + timedelta(minutes=20)
    second = plan_adopt(plan=make(city, commander, now=later), actor=commander, now=later)
    first.refresh_from_db()
    assert first.status == "superseded" and second.status == "adopted"
    assert set(Trip.objects.filter(pk__in=old_trips).values_list("state", flat=True)) == {"cancelled"}
    assert not old_trips & {t.pk for t in live_trips(second)}
    assert len(riding(second, "coach")) == 9
    assert TransferPlan.objects.filter(city=city, status="adopted").count() == 1


def test_adopting_from_scratch_is_refused_while_people_are_on_their_way(people, city, commander):
    first = plan_adopt(plan=make(city, commander), actor=commander, now=NOW)
    coach = live_trips(first)[0]
    board(coach, commander)
    later = NOW + timedelta(minutes=20)
    draft = make(city, commander, now=later)  # a draft may be made (its figures compared) …
    assert draft.people == 9 - coach.passengers.count()  # … without those already on the coach
    with pytest.raises(ValidationError, match="on their way home"):  # … but not adopted
        plan_adopt(plan=draft, actor=commander, now=later)
    first.refresh_from_db()
    assert first.status == "adopted" and not AuditEvent.objects.filter(action="transfer_plan.adopt",
                                                                       target_id=str(draft.pk)).exists()


def test_a_stale_draft_or_one_whose_people_left_is_refused(people, city, commander):
    draft = make(city, commander)
    with pytest.raises(ValidationError, match="make a new plan from today"):
        plan_adopt(plan=draft, actor=commander, now=NOW + timedelta(hours=3))
    from closedloop.quarantine.actions import custodian_create, handover_give

    car = custodian_create(kind="vehicle_trip", name="私家车", code="car-1", city=city, actor=None)
    handover_give(episode=people["wang"].episode, to_custodian=car, expected_by=NOW + timedelta(days=400),
                  actor=None)
    with pytest.raises(ValidationError, match="1 person of this plan is no longer held"):
        plan_adopt(plan=draft, actor=commander, now=NOW)
    assert not Trip.objects.exists()


def test_adopting_needs_headquarters(people, city, commander, site_a):
    draft = make(city, commander)
    with pytest.raises(PermissionDenied):
        plan_adopt(plan=draft, actor=site_a, now=NOW)
    draft.refresh_from_db()
    assert draft.status == "draft"


# --- re-plan -----------------------------------------------------------------------------------------

def _first_coach(plan):
    return Trip.objects.filter(plan=plan, kind="coach").order_by("start_at", "vehicle").first()


def test_a_coach_out_of_service_moves_only_what_has_not_started(people, city, commander):
    plan = plan_adopt(plan=make(city, commander), actor=commander, now=NOW)
    started = _first_coach(plan)
    dispatch(started, commander)
    others = {t.pk for t in live_trips(plan)} - {started.pk}
    now = started.start_at + timedelta(minutes=5)
    broken = next(c for c in range(3) if c != started.vehicle)
    draft = plan_replan(plan=plan, actor=commander, coach_out={broken: now}, time_limit=LIMIT, now=now)
    assert draft.status == "draft" and draft.replaces == plan and draft.epoch == plan.epoch
    assert check(spec_instance(draft.instance), draft.plan) == []
    minute = round((now - plan.epoch).total_seconds() / 60)
    assert all(t["coach"] != broken for t in draft.plan["coach_trips"] if t["start"] > minute)
    kept = [t for t in draft.plan["coach_trips"] if t["start"] <= minute]
    assert [t for t in plan.plan["coach_trips"] if t["start"] <= minute] == kept
    assert AuditEvent.objects.get(action="transfer_plan.replan").after["coach_out"] == {str(broken + 1): minute}

    adopted = plan_adopt(plan=draft, actor=commander, now=now)
    started.refresh_from_db()
    assert started.plan_id == adopted.pk and started.state == "boarding"  # the same trip row, carried over
    assert set(Trip.objects.filter(pk__in=others).values_list("state", flat=True)) <= {"cancelled", "planned"}
    assert not Trip.objects.filter(pk__in=others, plan=plan).exclude(state="cancelled").exists()
    assert set(riding(adopted, "coach")) == {r.episode_id for r in people.values()}
    assert set(riding(adopted, "shuttle")) == {r.episode_id for r in people.values()}
    # Every coach trip whose time has come is kept (here both that left at minute 0), the rest is new.
    assert AuditEvent.objects.get(action="transfer_plan.adopt", target_id=str(adopted.pk)).after[
        "trips_carried_over"] == len(kept) == 2


def test_a_household_left_behind_at_boarding_goes_on_a_later_trip(people, city, commander):
    plan = plan_adopt(plan=make(city, commander), actor=commander, now=NOW)
    coach = Trip.objects.get(plan=plan, kind="coach", passengers__episode=people["zhang"].episode)
    group = coach.passengers.get(episode=people["zhang"].episode).group
    dispatch(coach, commander)
    now = coach.start_at + timedelta(minutes=30)
    ready = coach.depart_at + timedelta(hours=4)
    draft = plan_replan(plan=plan, actor=commander, not_ready={group: ready}, time_limit=LIMIT, now=now)
    carried = next(t for t in draft.plan["coach_trips"] if at(draft.epoch, t["depart_origin"]) == coach.depart_at
                   and t["coach"] == coach.vehicle)
    assert group not in carried["groups"]
    later = next(t for t in draft.plan["coach_trips"] if group in t["groups"])
    assert at(draft.epoch, later["depart_origin"]) >= ready

    adopted = plan_adopt(plan=draft, actor=commander, now=now)
    household = [people[k].episode_id for k in ("zhang", "zhang_wife", "zhang_son")]
    assert set(Passenger.objects.filter(trip=coach, episode_id__in=household).values_list("status", flat=True)) == {
        "left_behind"}
    rides = riding(adopted, "coach")
    assert {rides[e] for e in household} != {coach.pk} and len({rides[e] for e in household}) == 1
    assert set(rides) == {r.episode_id for r in people.values()}
    assert AuditEvent.objects.get(action="transfer_plan.adopt", target_id=str(adopted.pk)).after["left_behind"] == 3


def test_a_coach_that_left_without_a_household_is_re_planned_around_it(people, city, commander):
    plan = plan_adopt(plan=make(city, commander), actor=commander, now=NOW)
    coach = Trip.objects.get(plan=plan, kind="coach", passengers__episode=people["zhang"].episode)
    group = coach.passengers.get(episode=people["zhang"].episode).group
    board(coach, commander, failing=[people["zhang"].episode_id])  # the household stays behind
    now = coach.depart_at + timedelta(minutes=10)  # the coach has left the origin
    draft = plan_replan(plan=plan, actor=commander, not_ready={group: now + timedelta(hours=2)}, time_limit=LIMIT,
                        now=now)
    assert check(spec_instance(draft.instance), draft.plan) == []
    assert AuditEvent.objects.get(action="transfer_plan.replan").after["planned_again"] == [group]
    adopted = plan_adopt(plan=draft, actor=commander, now=now)
    rides = riding(adopted, "coach")
    assert rides[people["zhang"].episode_id] != coach.pk
    assert Trip.objects.get(pk=coach.pk).plan_id == adopted.pk


def test_re_planning_refuses_what_cannot_be(people, city, commander, site_a):
    draft = make(city, commander)
    with pytest.raises(ValidationError, match="Only the adopted plan"):
        plan_replan(plan=draft, actor=commander, coach_out={0: NOW}, now=NOW)
    plan = plan_adopt(plan=draft, actor=commander, now=NOW)
    cases = [
        ({}, "Say what changed"),
        ({"coach_out": {7: NOW}}, "There is no coach 8"),
        ({"not_ready": {"nobody": NOW + timedelta(hours=1)}}, "no household group nobody"),
        ({"not_ready": {plan.instance["origins"][0]["groups"][0]["id"]: NOW - timedelta(hours=1)}}, "later than now"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValidationError, match=message):
            plan_replan(plan=plan, actor=commander, now=NOW, **kwargs)
    with pytest.raises(PermissionDenied):
        plan_replan(plan=plan, actor=site_a, coach_out={0: NOW}, now=NOW)
    coach = _first_coach(plan)
    board(coach, commander)
    group = coach.passengers.first().group
    with pytest.raises(ValidationError, match="already boarded"):
        plan_replan(plan=plan, actor=commander, not_ready={group: coach.depart_at + timedelta(hours=1)},
                    now=coach.start_at)
    assert not TransferPlan.objects.filter(replaces=plan).exists()


def test_a_re_plan_overtaken_by_a_trip_that_started_is_refused(people, city, commander):
    plan = plan_adopt(plan=make(city, commander), actor=commander, now=NOW)
    draft = plan_replan(plan=plan, actor=commander, coach_out={2: NOW + timedelta(hours=30)}, time_limit=LIMIT,
                        now=NOW)
    dispatch(_first_coach(plan), commander)  # dispatched after the re-plan was made
    with pytest.raises(PlanConflict, match="re-plan again"):
        plan_adopt(plan=draft, actor=commander, now=NOW)
    plan.refresh_from_db()
    assert plan.status == "adopted"


def test_the_trip_desk_leaves_a_household_behind_and_the_re_plan_fetches_it(people, city, commander):
    """With the trip desk's own actions: dispatch, boarding with the Zhang household failing its temperature
    check; the coach leaves without them; a re-plan (now) puts them on a later trip."""
    from closedloop.transfers.actions import left_behind_groups, trip_board, trip_dispatch

    plan = plan_adopt(plan=plan_make(city=city, actor=commander, time_limit=LIMIT), actor=commander)
    coach = Trip.objects.get(plan=plan, kind="coach", passengers__episode=people["zhang"].episode)
    trip_dispatch(trip=coach, plate="浙G12345", driver="王师傅", escorts="李医生", actor=commander)
    household = {people[k].episode_id for k in ("zhang", "zhang_wife", "zhang_son")}
    answers = {p.episode_id: {"temperature": p.episode_id not in household, "negative_test_24h": True}
               for p in coach.passengers.all()}
    trip_board(trip=Trip.objects.get(pk=coach.pk), answers=answers,
               trip_answers={"crew_negative_test_24h": True, "documents": True, "vehicle_disinfected": True},
               giver="杭州隔离点", receiver="李医生", actor=commander)
    stranded = left_behind_groups(coach)
    assert set(stranded) == {coach.passengers.get(episode=people["zhang"].episode).group}
    group = next(iter(stranded))
    with pytest.raises(ValidationError, match="left behind at boarding must be planned again"):
        plan_replan(plan=plan, actor=commander, coach_out={2: timezone.now()}, time_limit=LIMIT)

    ready = timezone.now() + timedelta(hours=6)
    draft = plan_replan(plan=plan, actor=commander, not_ready={group: ready}, time_limit=LIMIT)
    assert check(spec_instance(draft.instance), draft.plan) == []
    adopted = plan_adopt(plan=draft, actor=commander)
    rides = riding(adopted, "coach")
    later = Trip.objects.get(pk=rides[people["zhang"].episode_id])
    assert later.pk != coach.pk and later.depart_at >= ready and later.state == "planned"
    assert {rides[e] for e in household} == {later.pk}
    coach.refresh_from_db()
    assert coach.plan_id == adopted.pk and coach.state == "under_way"
    assert set(riding(adopted, "shuttle")) == {r.episode_id for r in people.values()}


def test_the_people_of_a_cancelled_coach_trip_are_planned_again(people, city, commander):
    from closedloop.transfers.actions import trip_cancel

    plan = plan_adopt(plan=make(city, commander), actor=commander, now=NOW)
    coach = _first_coach(plan)
    on_it = set(coach.passengers.values_list("episode_id", flat=True))
    trip_cancel(trip=coach, reason="车辆故障", actor=commander)
    draft = plan_replan(plan=plan, actor=commander, time_limit=LIMIT, now=NOW)  # nothing else changed
    assert check(spec_instance(draft.instance), draft.plan) == []
    adopted = plan_adopt(plan=draft, actor=commander, now=NOW)
    rides = riding(adopted, "coach")
    assert set(rides) == {r.episode_id for r in people.values()}
    assert coach.pk not in {rides[e] for e in on_it}
    coach.refresh_from_db()
    assert coach.state == "cancelled" and coach.plan_id == plan.pk  # history stays with the old plan


def test_a_shuttle_called_off_after_its_time_runs_again_as_a_new_trip(people, city, commander):
    from closedloop.transfers.actions import trip_cancel

    plan = plan_adopt(plan=make(city, commander), actor=commander, now=NOW)
    shuttle = Trip.objects.filter(plan=plan, kind="shuttle").order_by("depart_at").first()
    on_it = set(shuttle.passengers.values_list("episode_id", flat=True))
    trip_cancel(trip=shuttle, reason="司机未到岗", actor=commander)
    now = shuttle.depart_at + timedelta(minutes=5)  # its time has come: the re-plan keeps it where it was
    draft = plan_replan(plan=plan, actor=commander, time_limit=LIMIT, now=now)
    adopted = plan_adopt(plan=draft, actor=commander, now=now)
    rides = riding(adopted, "shuttle")
    again = Trip.objects.get(pk=rides[next(iter(on_it))])
    assert again.pk != shuttle.pk and (again.vehicle, again.town_id, again.depart_at) == (
        shuttle.vehicle, shuttle.town_id, shuttle.depart_at) and again.state == "planned"
    assert set(rides) == {r.episode_id for r in people.values()}
