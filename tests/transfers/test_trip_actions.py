"""Carrying a trip out: dispatch, boarding, the station, the shuttle, home — custody, checks, audit, refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from closedloop.core.models import AuditEvent
from closedloop.quarantine import states
from closedloop.quarantine.actions import custodian_create
from closedloop.quarantine.models import Custodian, CustodyEvent
from closedloop.quarantine.selectors import lost_in_transit
from closedloop.transfers.actions import (
    TripConflict,
    left_behind_groups,
    shuttle_arrive_home,
    shuttle_board,
    trip_arrive_station,
    trip_board,
    trip_cancel,
    trip_dispatch,
)
from closedloop.transfers.models import AwayRecord, District, Fleet, HandoverCheck, Passenger, Trip
from tests.transfers.trip_support import (
    BOARDING_TRIP_OK,
    HOME_TRIP_OK,
    PERSON_OK,
    SHUTTLE_TRIP_OK,
    STATION_TRIP_OK,
    build_world,
    everyone_ok,
)


@pytest.fixture
def world(city, town_a, community_a1, community_a2, hangzhou_site, station, fleet, person_factory):
    return build_world(city=city, town_a=town_a, community_a1=community_a1, community_a2=community_a2,
                       hangzhou_site=hangzhou_site, station=station, fleet=fleet, person_factory=person_factory)


def dispatch(world, trip=None, actor=None):
    return trip_dispatch(trip=world.fresh(trip or world.coach), plate="浙A·12345", driver="刘师傅", escorts="陈医生 周护士",
                         actor=actor or world.desk)


def board(world, answers=None, trip_answers=None, actor=None, **extra):
    return trip_board(trip=world.fresh(world.coach), answers=everyone_ok(world) if answers is None else answers,
                      trip_answers=BOARDING_TRIP_OK if trip_answers is None else trip_answers,
                      giver=extra.pop("giver", "杭州隔离点 吴医生"), receiver=extra.pop("receiver", "陈医生"),
                      actor=actor or world.desk, **extra)


def screened(world, episodes=None):
    return everyone_ok(world, {"screening": True}, episodes)


def arrive(world, answers=None, **extra):
    return trip_arrive_station(trip=world.fresh(world.coach), answers=screened(world) if answers is None else answers,
                               trip_answers=extra.pop("trip_answers", STATION_TRIP_OK), giver="陈医生",
                               receiver="中转站 郑护士", actor=extra.pop("actor", world.desk), **extra)


def to_the_station(world):
    dispatch(world)
    board(world)
    arrive(world)


def on_the_shuttle(world):
    to_the_station(world)
    dispatch(world, world.shuttle)
    return shuttle_board(trip=world.fresh(world.shuttle), answers={}, trip_answers=SHUTTLE_TRIP_OK,
                         giver="中转站 郑护士", receiver="班车 孙师傅", actor=world.desk)


def home(world, episodes, notice=True, **extra):
    return shuttle_arrive_home(trip=world.fresh(world.shuttle), passengers=[e.pk for e in episodes],
                               answers={e.pk: {"home_notice": notice} for e in episodes},
                               trip_answers=extra.pop("trip_answers", HOME_TRIP_OK), giver="班车 孙师傅",
                               receiver=extra.pop("receiver", "香溪社区 何主任"), actor=extra.pop("actor", world.desk),
                               **extra)


def audits(action):
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


# --- dispatch ------------------------------------------------------------------------------------

def test_dispatch_names_the_vehicle_and_makes_the_trip_a_custodian(world):
    trip = dispatch(world)
    trip = world.fresh(trip)
    assert trip.state == "boarding" and trip.version == 1
    assert (trip.plate, trip.driver, trip.escorts) == ("浙A·12345", "刘师傅", "陈医生 周护士")
    assert trip.custodian.kind == "vehicle_trip" and trip.custodian.code == f"trip-{trip.pk}"
    assert trip.custodian.city_id == world.city.pk and "浙A·12345" in trip.custodian.name
    [row] = audits("trip.dispatch")
    assert row.before == {"state": "planned"} and row.after["state"] == "boarding"
    assert row.actor_id == world.desk.pk


def test_a_shuttle_custodian_lies_in_its_town(world, town_a):
    trip = dispatch(world, world.shuttle)
    assert world.fresh(trip).custodian.jurisdiction_id == town_a.pk


def test_dispatch_needs_plate_driver_and_escorts_and_writes_nothing_without(world):
    with pytest.raises(ValidationError) as exc:
        trip_dispatch(trip=world.fresh(world.coach), plate=" ", driver="", escorts="  ", actor=world.desk)
    assert set(exc.value.message_dict) == {"plate", "driver", "escorts"}
    assert world.fresh(world.coach).state == "planned"
    assert not Custodian.objects.filter(kind="vehicle_trip").exists() and not audits("trip.dispatch")


def test_dispatch_twice_is_refused_and_a_stale_desk_loses(world):
    first, second = world.fresh(world.coach), world.fresh(world.coach)
    trip_dispatch(trip=first, plate="浙A1", driver="甲", escorts="乙", actor=world.desk)
    with pytest.raises(TripConflict):
        trip_dispatch(trip=second, plate="浙A2", driver="丙", escorts="丁", actor=world.desk)
    with pytest.raises(ValidationError, match="the trip is Boarding"):
        dispatch(world)
    assert world.fresh(world.coach).plate == "浙A1"
    assert Custodian.objects.filter(kind="vehicle_trip").count() == 1


def test_only_a_trip_of_the_adopted_plan_is_dispatched(world):
    world.plan.status = "superseded"
    world.plan.save(update_fields=["status"])
    with pytest.raises(ValidationError, match="adopted plan"):
        dispatch(world)


def test_a_taken_custodian_code_does_not_stop_a_dispatch(world):
    custodian_create(kind="vehicle_trip", name="旧车", code=f"trip-{world.coach.pk}", city=world.city, actor=None)
    trip = dispatch(world)
    assert trip.custodian.code == f"trip-{trip.pk}-plan-{world.plan.pk}"


def test_dispatch_needs_the_handover_capability_and_the_trip_in_reach(world, analyst, site_b, commander):
    with pytest.raises(PermissionDenied):
        dispatch(world, actor=analyst)
    with pytest.raises(PermissionDenied):
        dispatch(world, actor=site_b)  # town B: neither the city nor the shuttle's town
    assert dispatch(world, actor=commander).state == "boarding"


# --- boarding ------------------------------------------------------------------------------------

def test_boarding_hands_everyone_from_the_site_to_the_trip_with_both_signatures(world):
    dispatch(world)
    result = board(world)
    trip = world.fresh(world.coach)
    assert trip.state == "under_way" and trip.version == 2
    assert [p.episode_id for p in result.handed_over] == [world.zhang.pk, world.li.pk, world.wang.pk]
    for e in world.episodes:
        e = world.episode(e)
        assert (e.state, e.custodian_id) == (states.IN_CUSTODY, trip.custodian_id)
        give, receive = CustodyEvent.objects.filter(episode=e).order_by("-seq")[:2][::-1]
        assert (give.kind, give.from_custodian_id, give.to_custodian_id) == ("give", world.site.custodian_id,
                                                                               trip.custodian_id)
        assert give.signatures == {"giver": "杭州隔离点 吴医生"} and receive.signatures == {"receiver": "陈医生"}
    assert set(Passenger.objects.filter(trip=trip).values_list("status", flat=True)) == {"boarded"}
    checks = HandoverCheck.objects.filter(trip=trip, stage="boarding")
    assert checks.count() == 4
    trip_row = checks.get(episode=None)
    assert trip_row.answers == {**BOARDING_TRIP_OK, "half_seats": True}
    assert checks.get(episode=world.wang).answers == PERSON_OK
    assert {(c.giver_signature, c.receiver_signature) for c in checks} == {("杭州隔离点 吴医生", "陈医生")}
    [row] = audits("trip.boarding")
    assert row.after["handed_over"] == [world.zhang.pk, world.li.pk, world.wang.pk] and row.after["checklist"] >= 1


@pytest.mark.parametrize("missing", ["giver", "receiver"])
def test_both_signatures_are_required_and_nothing_is_written_without(world, missing):
    dispatch(world)
    with pytest.raises(ValidationError) as exc:
        board(world, **{missing: "  "})
    assert list(exc.value.message_dict) == [missing]
    assert world.fresh(world.coach).state == "boarding"
    assert not HandoverCheck.objects.exists()
    assert world.episode(world.wang).custodian_id == world.site.custodian_id


def test_a_person_failing_their_own_item_stays_behind_and_the_rest_go(world):
    dispatch(world)
    answers = everyone_ok(world)
    answers[world.wang.pk]["temperature"] = False
    result = board(world, answers)
    assert [p.episode_id for p in result.left_behind] == [world.wang.pk]
    wang = Passenger.objects.get(trip=world.coach, episode=world.wang)
    assert wang.status == "left_behind" and "Temperature below 37.3" in wang.note
    assert world.episode(world.wang).custodian_id == world.site.custodian_id  # still the site's
    assert world.episode(world.zhang).custodian_id == world.fresh(world.coach).custodian_id
    assert left_behind_groups(world.coach) == {"g2": [world.wang.pk]}
    assert HandoverCheck.objects.get(trip=world.coach, episode=world.wang).answers == {
        "temperature": False, "negative_test_24h": True}
    assert audits("trip.boarding")[0].after["left_behind"] == [world.wang.pk]


def test_a_household_stays_together_when_one_of_them_fails(world):
    dispatch(world)
    answers = everyone_ok(world)
    del answers[world.li.pk]["negative_test_24h"]  # unticked: not confirmed
    result = board(world, answers)
    assert sorted(p.episode_id for p in result.left_behind) == sorted([world.zhang.pk, world.li.pk])
    assert Passenger.objects.get(trip=world.coach, episode=world.zhang).note == "Stays with their household."
    assert [p.episode_id for p in result.handed_over] == [world.wang.pk]
    assert left_behind_groups(world.coach) == {"g1": [world.zhang.pk, world.li.pk]}


def test_no_one_boarding_is_refused(world):
    dispatch(world)
    with pytest.raises(ValidationError, match="No one can board"):
        board(world, everyone_ok(world, {"temperature": False}))
    assert world.fresh(world.coach).state == "boarding"


def test_a_failed_item_of_the_trip_blocks_the_whole_boarding(world):
    dispatch(world)
    with pytest.raises(ValidationError) as exc:
        board(world, trip_answers={**BOARDING_TRIP_OK, "documents": False})
    assert list(exc.value.message_dict) == ["trip_answers.documents"]
    assert world.fresh(world.coach).state == "boarding" and not HandoverCheck.objects.exists()
    assert all(world.episode(e).custodian_id == world.site.custodian_id for e in world.episodes)


def test_a_non_blocking_item_is_only_recorded(world):
    dispatch(world)
    board(world, trip_answers={**BOARDING_TRIP_OK, "vehicle_disinfected": False})
    assert HandoverCheck.objects.get(trip=world.coach, episode=None).answers["vehicle_disinfected"] is False
    assert world.fresh(world.coach).state == "under_way"


def test_the_seats_rule_is_counted_not_ticked(world):
    Fleet.objects.filter(pk=world.fleet.pk).update(coach_seats=5)  # at most half: 2 people
    dispatch(world)
    with pytest.raises(ValidationError) as exc:
        board(world, trip_answers={**BOARDING_TRIP_OK, "half_seats": True})  # the tick is not believed
    assert exc.value.message_dict == {"trip_answers.half_seats": ["3 people would board; 5 seats allow at most 2."]}
    answers = everyone_ok(world)
    answers[world.wang.pk]["temperature"] = False
    board(world, answers)  # the household of two fits
    assert HandoverCheck.objects.get(trip=world.coach, episode=None).answers["half_seats"] is True


def test_the_fleet_load_rule_binds_when_it_is_stricter_than_half(world):
    Fleet.objects.filter(pk=world.fleet.pk).update(coach_seats=10, coach_max_load="0.2")
    dispatch(world)
    with pytest.raises(ValidationError, match="allow at most 2"):
        board(world)


def test_headquarters_overrides_a_failed_item_with_a_recorded_reason(world, commander):
    dispatch(world)
    answers = everyone_ok(world)
    answers[world.wang.pk]["negative_test_24h"] = False
    result = board(world, answers, {**BOARDING_TRIP_OK, "documents": False}, actor=commander,
                   override_reason="资料随后传真，核酸报告已电话核实")
    assert not result.left_behind and sorted(result.waived) == ["documents", "negative_test_24h"]
    assert HandoverCheck.objects.get(trip=world.coach, episode=None).override_reason == "资料随后传真，核酸报告已电话核实"
    assert HandoverCheck.objects.get(trip=world.coach, episode=world.wang).override_reason.startswith("资料随后传真")
    assert HandoverCheck.objects.get(trip=world.coach, episode=world.zhang).override_reason == ""
    [row] = audits("trip.boarding")
    assert row.reason.startswith("资料随后传真") and row.after["waived"] == ["documents", "negative_test_24h"]
    give = CustodyEvent.objects.filter(episode=world.wang, kind="give").latest("seq")
    assert "override" in give.reason


def test_only_headquarters_may_override(world):
    dispatch(world)
    with pytest.raises(PermissionDenied, match="Only headquarters"):
        board(world, trip_answers={**BOARDING_TRIP_OK, "documents": False}, override_reason="赶时间")
    assert world.fresh(world.coach).state == "boarding"


def test_an_override_with_nothing_to_waive_is_refused(world, commander):
    dispatch(world)
    with pytest.raises(ValidationError) as exc:
        board(world, actor=commander, override_reason="以防万一")
    assert list(exc.value.message_dict) == ["override_reason"]


def test_answers_for_unknown_people_or_items_are_refused(world, person_factory):
    dispatch(world)
    with pytest.raises(ValidationError) as exc:
        board(world, {world.wang.pk: {"temperature": True, "smile": True}, 999999: PERSON_OK})
    messages = exc.value.message_dict["answers"]
    assert any("smile" in m for m in messages) and any("999999" in m for m in messages)
    with pytest.raises(ValidationError) as exc:
        board(world, trip_answers={"documents": "yes"})
    assert exc.value.message_dict == {"trip_answers": ["Answer documents with true or false."]}


def test_a_person_no_longer_at_the_site_stays_behind_without_blocking_the_others(world, commander):
    from closedloop.quarantine.actions import episode_close

    episode_close(episode=world.episode(world.wang), reason="重复登记", actor=commander)
    dispatch(world)
    result = board(world)
    assert [p.episode_id for p in result.left_behind] == [world.wang.pk]
    assert "Not held by the origin site" in result.left_behind[0].note


def test_refused_transitions_and_the_wrong_kind(world):
    with pytest.raises(ValidationError, match="the trip is Planned"):
        board(world)
    dispatch(world)
    with pytest.raises(ValidationError, match="the trip is Boarding"):
        arrive(world)
    with pytest.raises(ValidationError, match="belongs to a shuttle trip"):
        shuttle_board(trip=world.fresh(world.coach), answers={}, trip_answers=SHUTTLE_TRIP_OK, giver="a",
                      receiver="b", actor=world.desk)
    with pytest.raises(ValidationError, match="belongs to a coach trip"):
        trip_board(trip=world.fresh(world.shuttle), answers={}, trip_answers={}, giver="a", receiver="b",
                   actor=world.desk)


def test_two_desks_boarding_at_once_one_wins(world):
    dispatch(world)
    stale = world.fresh(world.coach)
    board(world)
    with pytest.raises(TripConflict):
        trip_board(trip=stale, answers=everyone_ok(world), trip_answers=BOARDING_TRIP_OK, giver="x", receiver="y",
                   actor=world.desk)
    assert HandoverCheck.objects.filter(stage="boarding").count() == 4


# --- the station ---------------------------------------------------------------------------------

def test_the_station_receives_everyone_screened_and_the_coach_is_done(world):
    dispatch(world)
    board(world)
    result = arrive(world)
    trip = world.fresh(world.coach)
    assert trip.state == "done" and len(result.handed_over) == 3
    for e in world.episodes:
        e = world.episode(e)
        assert (e.state, e.custodian_id) == (states.IN_CUSTODY, world.station.custodian_id)
        give, receive = CustodyEvent.objects.filter(episode=e).order_by("-seq")[:2][::-1]
        assert give.signatures == {"giver": "陈医生"} and receive.signatures == {"receiver": "中转站 郑护士"}
    assert set(Passenger.objects.filter(trip=trip).values_list("status", flat=True)) == {"delivered"}
    assert HandoverCheck.objects.filter(trip=trip, stage="station").count() == 4
    assert audits("trip.station")[0].after["state"] == "done"


def test_who_is_not_screened_waits_in_transit_and_is_watched(world, commander):
    dispatch(world)
    board(world)
    result = arrive(world, screened(world, [world.zhang, world.li]))
    assert [p.episode_id for p in result.waiting] == [world.wang.pk]
    assert world.fresh(world.coach).state == "arrived"
    wang = world.episode(world.wang)
    assert (wang.state, wang.custodian_id, wang.pending_custodian_id) == (
        states.IN_TRANSIT, world.fresh(world.coach).custodian_id, world.station.custodian_id)
    passenger = Passenger.objects.get(trip=world.coach, episode=world.wang)
    assert wang.expected_by == passenger.screen_until  # screening was planned to end then
    assert passenger.status == "boarded" and passenger.note.startswith("Waiting: Screened at the station")
    later = passenger.screen_until + timedelta(hours=1)
    assert list(lost_in_transit(commander, later)) == [wang]

    arrive(world, screened(world, [world.wang]))
    assert world.fresh(world.coach).state == "done"
    assert world.episode(world.wang).custodian_id == world.station.custodian_id


def test_a_late_coach_is_expected_at_screening_half_an_hour_from_now(world):
    dispatch(world)
    board(world)
    Passenger.objects.filter(trip=world.coach).update(screen_until=timezone.now() - timedelta(hours=1))
    arrive(world, screened(world, [world.zhang, world.li]))
    expected = world.episode(world.wang).expected_by
    assert timedelta(minutes=29) < expected - timezone.now() <= timedelta(minutes=30)


def test_a_failed_item_of_the_trip_blocks_the_arrival(world):
    dispatch(world)
    board(world)
    with pytest.raises(ValidationError) as exc:
        arrive(world, trip_answers={"documents": True})
    assert list(exc.value.message_dict) == ["trip_answers.headcount"]
    assert world.fresh(world.coach).state == "under_way"


# --- the shuttle and home ------------------------------------------------------------------------

def test_the_shuttle_takes_everyone_from_the_station(world):
    result = on_the_shuttle(world)
    shuttle = world.fresh(world.shuttle)
    assert shuttle.state == "under_way" and len(result.handed_over) == 3
    assert all(world.episode(e).custodian_id == shuttle.custodian_id for e in world.episodes)
    assert HandoverCheck.objects.get(trip=shuttle, episode=None).answers["shuttle_load"] is True


def test_the_shuttle_load_is_counted_from_its_district(world, town_a):
    to_the_station(world)
    District.objects.filter(town=town_a).update(seats=4, max_load="0.5")
    dispatch(world, world.shuttle)
    with pytest.raises(ValidationError) as exc:
        shuttle_board(trip=world.fresh(world.shuttle), answers={}, trip_answers=SHUTTLE_TRIP_OK, giver="a",
                      receiver="b", actor=world.desk)
    assert exc.value.message_dict == {"trip_answers.shuttle_load": ["3 people would board; 4 seats allow at most 2."]}


def test_who_is_not_at_the_station_stays_behind_for_the_shuttle(world):
    dispatch(world)
    board(world)
    arrive(world, screened(world, [world.zhang, world.li]))
    dispatch(world, world.shuttle)
    result = shuttle_board(trip=world.fresh(world.shuttle), answers={}, trip_answers=SHUTTLE_TRIP_OK, giver="a",
                           receiver="b", actor=world.desk)
    assert [p.episode_id for p in result.left_behind] == [world.wang.pk]
    assert "Not at the transfer station" in result.left_behind[0].note


def test_home_the_community_receives_and_the_record_says_home(world, community_a1, community_a2):
    on_the_shuttle(world)
    result = home(world, [world.zhang, world.li])
    shuttle = world.fresh(world.shuttle)
    assert shuttle.state == "arrived" and len(result.handed_over) == 2
    a1 = Custodian.objects.get(kind="home_community", jurisdiction=community_a1)
    assert a1.code == f"home-{community_a1.code}" and a1.city_id == world.city.pk
    for e in (world.zhang, world.li):
        e = world.episode(e)
        assert (e.state, e.status, e.custodian_id) == (states.IN_CUSTODY, "open", a1.pk)
        assert AwayRecord.objects.get(episode=e).status == "home"
    assert AwayRecord.objects.get(episode=world.wang).status == "released"
    home(world, [world.wang], receiver="江滨社区 钱书记")
    assert world.fresh(world.shuttle).state == "done"
    a2 = world.episode(world.wang).custodian
    assert (a2.kind, a2.jurisdiction_id) == ("home_community", community_a2.pk)
    receive = CustodyEvent.objects.filter(episode=world.wang).latest("seq")
    assert receive.signatures == {"receiver": "江滨社区 钱书记"}
    assert set(Passenger.objects.filter(trip=world.shuttle).values_list("status", flat=True)) == {"delivered"}
    call_command("check", "--integrity", "ledger_refold")  # raises on any violation


def test_an_existing_home_custodian_is_used(world, community_a1):
    existing = custodian_create(kind="home_community", name="香溪社区居家", code="xiangxi-home", city=world.city,
                                jurisdiction=community_a1, actor=None)
    on_the_shuttle(world)
    home(world, [world.zhang])
    assert world.episode(world.zhang).custodian_id == existing.pk


def test_home_without_the_notice_signed_the_person_stays_on_the_shuttle(world):
    on_the_shuttle(world)
    with pytest.raises(ValidationError, match="No one can be handed over"):
        home(world, [world.wang], notice=False)
    result = home(world, [world.zhang, world.wang], notice=True)
    assert len(result.handed_over) == 2


def test_home_needs_someone_chosen_who_is_on_board(world):
    on_the_shuttle(world)
    with pytest.raises(ValidationError) as exc:
        home(world, [])
    assert exc.value.message_dict == {"passengers": ["Choose who is handed over here."]}
    with pytest.raises(ValidationError) as exc:
        shuttle_arrive_home(trip=world.fresh(world.shuttle), passengers=[424242], answers={}, trip_answers={},
                            giver="a", receiver="b", actor=world.desk)
    assert "424242" in exc.value.message_dict["passengers"][0]


def test_the_community_worker_may_receive_their_people(world, community_worker):
    on_the_shuttle(world)
    home(world, [world.zhang, world.li], actor=community_worker)  # A1's people, in their town's shuttle
    assert world.episode(world.zhang).custodian.kind == "home_community"


def test_the_whole_way_keeps_the_ledger_whole(world, capsys):
    on_the_shuttle(world)
    home(world, world.episodes)
    call_command("check", "--integrity", "ledger_refold")
    assert "0 violations" in capsys.readouterr().out
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="trip.").order_by("pk")] == [
        "trip.dispatch", "trip.boarding", "trip.station", "trip.dispatch", "trip.shuttle", "trip.home"]


# --- cancel --------------------------------------------------------------------------------------

def test_a_trip_that_has_not_left_may_be_cancelled(world):
    trip = dispatch(world)
    trip_cancel(trip=world.fresh(trip), reason="车辆故障", actor=world.desk)
    trip = world.fresh(trip)
    assert trip.state == "cancelled" and not trip.custodian.active
    assert set(Passenger.objects.filter(trip=trip).values_list("status", flat=True)) == {"left_behind"}
    assert audits("trip.cancel")[0].reason == "车辆故障"
    with pytest.raises(ValidationError) as exc:
        trip_cancel(trip=world.fresh(world.shuttle), reason=" ", actor=world.desk)
    assert list(exc.value.message_dict) == ["reason"]


def test_a_trip_under_way_cannot_be_cancelled(world):
    dispatch(world)
    board(world)
    with pytest.raises(ValidationError, match="the trip is Under way"):
        trip_cancel(trip=world.fresh(world.coach), reason="x", actor=world.desk)
    assert Trip.objects.get(pk=world.coach.pk).state == "under_way"
