"""Check-in and check-out as custody actions: custody and rooms move together, or nothing moves.

Site A (``facility_a``): floors 3 and 4, rooms x01–x05; x01 accessible, x05 with two beds.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from closedloop.core.models import AuditEvent
from closedloop.facilities import room_states as rs
from closedloop.facilities.actions import (
    RoomConflict,
    checkin,
    checkout_handover,
    checkout_release,
    facility_set_status,
    room_transition,
)
from closedloop.facilities.allocation import suggest
from closedloop.facilities.models import Room, RoomEvent, Stay
from closedloop.planning import rooms as engine
from closedloop.quarantine import states
from closedloop.quarantine.actions import (
    ReleaseBlocked,
    episode_close,
    episode_open,
    episode_place,
    episode_release,
    episode_schedule,
)
from closedloop.quarantine.actions.observations import result_record, specimen_record
from closedloop.quarantine.models import CustodyEvent, Episode, Protocol
from tests.facilities.board_helpers import fresh, household, on_the_way, open_stay, set_status
from tests.facilities.conftest import room


def nothing_written(facility, *episodes, rooms=()):
    """No stay, no custody change, no check-in audit; the rooms as they were."""
    assert not Stay.objects.filter(facility=facility).exists()
    assert not AuditEvent.objects.filter(action="stay.check_in").exists()
    for e in episodes:
        assert fresh(e).version == e.version and fresh(e).state == e.state
    for r, status in rooms:
        assert fresh(r).status == status


# --- taking custody --------------------------------------------------------------------------------

def test_checkin_receives_a_hand_over_in_transit_to_the_site(facility_a, bus, open_episode, site_a):
    episode = on_the_way(open_episode("李四"), bus, facility_a)
    r301 = room(facility_a, "301")
    done = checkin(facility=facility_a, assignments=[(episode, r301)], actor=site_a, signed_by="王护士")

    episode = fresh(episode)
    assert episode.state == states.IN_CUSTODY and episode.custodian_id == facility_a.custodian_id
    assert episode.pending_custodian_id is None
    receive = CustodyEvent.objects.get(episode=episode, kind=states.RECEIVE)
    assert receive.from_custodian_id == bus.pk and receive.signatures == {"receiver": "王护士"}
    [stay] = done.stays
    assert stay.room_id == r301.pk and stay.checked_in_by == site_a and stay.checked_out_at is None
    r301 = fresh(r301)
    assert r301.status == rs.OCCUPIED and r301.version == 1
    assert RoomEvent.objects.get(room=r301).kind == rs.ASSIGN
    audit = AuditEvent.objects.get(action="stay.check_in")
    assert audit.actor == site_a and audit.after == {"facility": facility_a.pk, "room": "301"}
    assert AuditEvent.objects.filter(action="episode.receive", actor=site_a).count() == 1


def test_checkin_places_a_person_awaiting_placement(facility_a, open_episode, site_a):
    episode = open_episode("王五", anchor=timezone.localdate() - timedelta(days=1))
    checkin(facility=facility_a, assignments=[(episode, room(facility_a, "302"))], actor=site_a)
    episode = fresh(episode)
    assert episode.state == states.IN_CUSTODY and episode.custodian_id == facility_a.custodian_id
    assert episode.placed_on == timezone.localdate() and episode.release_on is not None  # the protocol's schedule
    assert CustodyEvent.objects.get(episode=episode).kind == states.PLACE
    assert open_stay(episode).room.number == "302"
    assert AuditEvent.objects.filter(action="episode.place").count() == 1


def test_a_person_held_by_someone_else_is_refused(facility_a, bus, open_episode, site_a):
    episode = episode_place(episode=open_episode("赵六"), custodian=bus, actor=None)  # still on the bus's books
    r301 = room(facility_a, "301")
    with pytest.raises(ValidationError, match="not on the way to this site") as caught:
        checkin(facility=facility_a, assignments=[(episode, r301)], actor=site_a)
    assert bus.name in caught.value.messages[0]
    nothing_written(facility_a, episode, rooms=[(r301, rs.AVAILABLE)])


def test_a_person_handed_to_another_site_is_refused(facility_a, facility_b, bus, open_episode, site_a):
    episode = on_the_way(open_episode("赵六"), bus, facility_b)
    with pytest.raises(ValidationError, match="not on the way to this site"):
        checkin(facility=facility_a, assignments=[(episode, room(facility_a, "301"))], actor=site_a)
    nothing_written(facility_a, episode)


def test_a_person_already_checked_in_is_refused(facility_a, open_episode, site_a):
    episode = open_episode()
    checkin(facility=facility_a, assignments=[(episode, room(facility_a, "301"))], actor=site_a)
    with pytest.raises(ValidationError, match="already checked in, in room 301"):
        checkin(facility=facility_a, assignments=[(fresh(episode), room(facility_a, "302"))], actor=site_a)
    assert fresh(room(facility_a, "302")).status == rs.AVAILABLE


# --- rooms that cannot be given ------------------------------------------------------------------

@pytest.mark.parametrize("status", [rs.AWAITING_CLEANING, rs.CLEANING, rs.OUT_OF_SERVICE])
def test_a_room_not_available_is_never_assigned(facility_a, open_episode, site_a, status):
    r301 = set_status(room(facility_a, "301"), status, actor=site_a)
    episode = open_episode()
    with pytest.raises(ValidationError) as caught:
        checkin(facility=facility_a, assignments=[(episode, r301)], actor=site_a)  # the room as it is now
    assert caught.value.messages == [
        f"Room 301 is {r301.get_status_display().lower()}; only an available room can be given."]
    nothing_written(facility_a, episode, rooms=[(r301, status)])


def test_an_occupied_room_is_refused(facility_a, open_episode, site_a):
    checkin(facility=facility_a, assignments=[(open_episode("甲"), room(facility_a, "302"))], actor=site_a)
    second = open_episode("乙")
    with pytest.raises(ValidationError, match="Room 302 is occupied; only an available room"):
        checkin(facility=facility_a, assignments=[(second, room(facility_a, "302"))], actor=site_a)
    assert fresh(second).state == states.AWAITING
    assert Stay.objects.filter(room__number="302").count() == 1


def test_a_room_changed_since_the_desk_saw_it_is_a_conflict(facility_a, open_episode, site_a):
    seen = room(facility_a, "303")  # the desk's page, version 0
    set_status(seen, rs.CLEANING, actor=site_a)
    room_transition(room=fresh(seen), event=rs.CLEAN_DONE, actor=site_a)  # available again, version 4
    episode = open_episode()
    with pytest.raises(RoomConflict, match="Room 303 is Available now; reload and choose again"):
        checkin(facility=facility_a, assignments=[(episode, seen)], actor=site_a)
    nothing_written(facility_a, episode)


def test_the_engine_never_suggests_a_room_awaiting_cleaning(facility_a, open_episode, site_a):
    """Every room but one awaits cleaning (or is being cleaned): the one left is suggested, then none."""
    rooms = list(Room.objects.filter(facility=facility_a).order_by("floor", "number"))
    for r in rooms[1:]:
        set_status(r, rs.AWAITING_CLEANING if r.number.endswith(("2", "4")) else rs.CLEANING, actor=site_a)
    first, second = open_episode("甲"), open_episode("乙")
    [a, b] = suggest([first, second], [facility_a])
    assert a.room == rooms[0] and not a.reason
    assert b.room is None and b.reason == engine.REASONS[engine.NO_ROOM]


# --- the allocation rules on rooms chosen by hand -------------------------------------------------------

def test_a_household_shares_a_two_bed_room_when_one_needs_a_companion(facility_a, open_episode, site_a):
    mother = open_episode("母亲", female=True)
    child = open_episode("孩子", birth=date(2018, 3, 1))  # a child under 14: needs a companion
    household(mother, child)
    r305 = room(facility_a, "305")
    checkin(facility=facility_a, assignments=[(mother, r305), (child, r305)], actor=site_a)
    assert Stay.objects.filter(room=r305, checked_out_at__isnull=True).count() == 2
    assert fresh(r305).status == rs.OCCUPIED


def test_sharing_without_a_companion_need_is_refused(facility_a, open_episode, site_a):
    a, b = open_episode("甲"), open_episode("乙")
    household(a, b)  # one household, but no one needs a companion
    r305 = room(facility_a, "305")
    with pytest.raises(ValidationError, match="Room 305 can be shared only by one household"):
        checkin(facility=facility_a, assignments=[(a, r305), (b, r305)], actor=site_a)
    nothing_written(facility_a, a, b, rooms=[(r305, rs.AVAILABLE)])


def test_strangers_never_share_even_with_a_child(facility_a, open_episode, site_a):
    adult, child = open_episode("甲"), open_episode("孩子", birth=date(2018, 3, 1))
    with pytest.raises(ValidationError, match="Room 305 can be shared only by one household"):
        checkin(facility=facility_a, assignments=[(adult, room(facility_a, "305")), (child, room(facility_a, "305"))],
                actor=site_a)
    nothing_written(facility_a, adult, child)


def test_sharing_needs_beds_enough(facility_a, open_episode, site_a):
    mother, child = open_episode("母亲", female=True), open_episode("孩子", birth=date(2018, 3, 1))
    household(mother, child)
    r302 = room(facility_a, "302")  # one bed
    with pytest.raises(ValidationError, match="Room 302 has 1 bed"):
        checkin(facility=facility_a, assignments=[(mother, r302), (child, r302)], actor=site_a)
    nothing_written(facility_a, mother, child)


def test_sharing_is_refused_where_the_site_allows_no_companions(facility_a, open_episode, site_a, duty_officer):
    from closedloop.facilities.actions import facility_update

    facility_update(facility=facility_a, allow_companions=False, actor=duty_officer)
    mother, child = open_episode("母亲", female=True), open_episode("孩子", birth=date(2018, 3, 1))
    household(mother, child)
    with pytest.raises(ValidationError, match="can be shared only"):
        checkin(facility=fresh(facility_a), assignments=[(mother, room(facility_a, "305")),
                                                         (child, room(facility_a, "305"))], actor=site_a)


def test_categories_never_mix_on_a_floor(facility_a, open_episode, site_a):
    checkin(facility=facility_a, assignments=[(open_episode("密接"), room(facility_a, "301"))], actor=site_a)
    traveller = open_episode("入境", category="inbound")
    with pytest.raises(ValidationError) as caught:
        checkin(facility=facility_a, assignments=[(traveller, room(facility_a, "302"))], actor=site_a)
    assert caught.value.messages == [
        "入境 (Inbound traveller) cannot go on Floor 3: it holds Close contact, and a floor holds one category only."]
    assert fresh(traveller).state == states.AWAITING
    # The next floor is empty: there it goes.
    checkin(facility=facility_a, assignments=[(fresh(traveller), room(facility_a, "402"))], actor=site_a)
    assert open_stay(traveller).room.floor == 4


def test_two_categories_chosen_at_once_for_one_empty_floor_are_refused(facility_a, open_episode, site_a):
    contact, traveller = open_episode("密接"), open_episode("入境", category="inbound")
    with pytest.raises(ValidationError, match="cannot go on Floor 3"):
        checkin(facility=facility_a, assignments=[(contact, room(facility_a, "302")),
                                                  (traveller, room(facility_a, "303"))], actor=site_a)
    nothing_written(facility_a, contact, traveller)


def test_a_person_needing_an_accessible_room_gets_one(facility_a, open_episode, site_a):
    episode = open_episode("轮椅", flags={"has_disability": True})
    with pytest.raises(ValidationError, match="轮椅 needs an accessible room; room 302 is not one"):
        checkin(facility=facility_a, assignments=[(episode, room(facility_a, "302"))], actor=site_a)
    checkin(facility=facility_a, assignments=[(fresh(episode), room(facility_a, "301"))], actor=site_a)
    assert open_stay(episode).room.accessible


def test_every_refusal_is_named_at_once(facility_a, bus, open_episode, site_a):
    held = episode_place(episode=open_episode("赵六"), custodian=bus, actor=None)
    wheelchair = open_episode("轮椅", flags={"has_disability": True})
    with pytest.raises(ValidationError) as caught:
        checkin(facility=facility_a, assignments=[(held, room(facility_a, "302")),
                                                  (wheelchair, room(facility_a, "303"))], actor=site_a)
    assert len(caught.value.messages) == 2
    assert "not on the way" in caught.value.messages[0] and "accessible" in caught.value.messages[1]


# --- all or nothing, who may -------------------------------------------------------------------------

def test_a_failure_with_the_second_person_leaves_the_first_unwritten(facility_a, open_episode, site_a):
    first = open_episode("甲")
    # Control counts from a day still to come: placing them today fails, after the first is written.
    second = open_episode("乙", anchor=timezone.localdate() + timedelta(days=3))
    r301, r302 = room(facility_a, "301"), room(facility_a, "302")
    with pytest.raises(ValidationError, match="cannot be placed before the date"):
        checkin(facility=facility_a, assignments=[(first, r301), (second, r302)], actor=site_a)
    nothing_written(facility_a, first, second, rooms=[(r301, rs.AVAILABLE), (r302, rs.AVAILABLE)])
    assert fresh(r301).version == 0 and not RoomEvent.objects.exists()
    assert not CustodyEvent.objects.exists()


def test_roles_without_check_in_and_outsiders_are_refused(facility_a, open_episode, analyst, site_b):
    episode = open_episode()
    with pytest.raises(PermissionDenied, match="may not check people in"):
        checkin(facility=facility_a, assignments=[(episode, room(facility_a, "301"))], actor=analyst)
    with pytest.raises(PermissionDenied, match="outside your jurisdiction"):
        checkin(facility=facility_a, assignments=[(episode, room(facility_a, "301"))], actor=site_b)
    nothing_written(facility_a, episode)


def test_a_facility_not_open_takes_nobody(facility_a, open_episode, site_a, duty_officer):
    facility_set_status(facility=facility_a, status="paused", actor=duty_officer, reason="消防检查")
    with pytest.raises(ValidationError, match="is not open"):
        checkin(facility=facility_a, assignments=[(open_episode(), room(facility_a, "301"))], actor=site_a)


def test_a_room_of_another_facility_is_refused(facility_a, facility_b, open_episode, site_a):
    with pytest.raises(ValidationError, match="not in this facility"):
        checkin(facility=facility_a, assignments=[(open_episode(), room(facility_b, "201"))], actor=site_a)


# --- check-out -----------------------------------------------------------------------------------------

def _checked_in(facility, episode, number, actor):
    checkin(facility=facility, assignments=[(episode, room(facility, number))], actor=actor)
    return fresh(episode)


def test_a_hand_over_closes_the_stay_and_the_room_awaits_cleaning(facility_a, bus, open_episode, site_a):
    episode = _checked_in(facility_a, open_episode(), "301", site_a)
    checkout_handover(episode=episode, to_custodian=bus, expected_by=timezone.now() + timedelta(hours=2),
                      actor=site_a, signed_by="护士")
    stay = Stay.objects.get(episode=episode)
    assert stay.checked_out_at is not None and stay.out_reason == states.GIVE and stay.checked_out_by == site_a
    r301 = fresh(room(facility_a, "301"))
    assert r301.status == rs.AWAITING_CLEANING
    assert list(RoomEvent.objects.filter(room=r301).values_list("kind", flat=True)) == [rs.ASSIGN, rs.VACATE]
    assert fresh(episode).state == states.IN_TRANSIT and fresh(episode).pending_custodian == bus
    assert AuditEvent.objects.filter(action="stay.check_out").count() == 1


def test_a_shared_room_is_vacated_only_when_the_last_leaves(facility_a, bus, open_episode, site_a):
    mother, child = open_episode("母亲", female=True), open_episode("孩子", birth=date(2018, 3, 1))
    household(mother, child)
    r305 = room(facility_a, "305")
    checkin(facility=facility_a, assignments=[(mother, r305), (child, r305)], actor=site_a)
    later = timezone.now() + timedelta(hours=2)
    checkout_handover(episode=fresh(child), to_custodian=bus, expected_by=later, actor=site_a)
    assert fresh(r305).status == rs.OCCUPIED and open_stay(mother) is not None and open_stay(child) is None
    checkout_handover(episode=fresh(mother), to_custodian=bus, expected_by=later, actor=site_a)
    assert fresh(r305).status == rs.AWAITING_CLEANING
    assert RoomEvent.objects.filter(room=r305, kind=rs.VACATE).count() == 1


def _releasable(facility, person_factory, actor):
    """A high-risk-area arrival, 7 days centralized, held at the site for the whole course, every test negative."""
    anchor = timezone.localdate() - timedelta(days=7)
    protocol = Protocol.objects.get(code="cn-9-high-risk-area", version=1)
    episode = episode_open(person=person_factory("周七"), category="high_risk_area", anchor_date=anchor, actor=None)
    episode = episode_place(episode=episode, custodian=facility.custodian, placed_on=anchor, protocol=protocol,
                            actor=None)
    checkin(facility=facility, assignments=[(episode, room(facility, "301"))], actor=actor)  # held here: a room
    for test in episode_schedule(fresh(episode)).tests:
        sampled = timezone.make_aware(timezone.datetime.combine(test.date, timezone.datetime.min.time())) \
            + timedelta(hours=9)
        specimen = specimen_record(episode=fresh(episode), kind="pcr", actor=actor, scheduled_for=test.date,
                                   sampled_at=min(sampled, timezone.now() - timedelta(minutes=1)))
        result_record(specimen=specimen, result_or_ct="negative", actor=actor)
    return fresh(episode)


def test_a_release_closes_the_stay_and_the_room_awaits_cleaning(facility_a, person_factory, site_a):
    episode = _releasable(facility_a, person_factory, site_a)
    certificate = checkout_release(episode=episode, actor=site_a)
    assert certificate.episode_id == episode.pk and fresh(episode).state == states.RELEASED
    assert Stay.objects.get(episode=episode).out_reason == states.RELEASE
    assert fresh(room(facility_a, "301")).status == rs.AWAITING_CLEANING


def test_a_blocked_release_changes_nothing(facility_a, open_episode, site_a):
    episode = _checked_in(facility_a, open_episode(anchor=timezone.localdate()), "301", site_a)
    with pytest.raises(ReleaseBlocked):
        checkout_release(episode=episode, actor=site_a)
    assert open_stay(episode) is not None and fresh(room(facility_a, "301")).status == rs.OCCUPIED


def test_the_hook_frees_the_room_when_the_release_is_called_directly(facility_a, person_factory, site_a):
    episode = _releasable(facility_a, person_factory, site_a)
    episode_release(episode=episode, actor=site_a)  # the closed loop's own page, not the site's
    assert open_stay(episode) is None
    assert fresh(room(facility_a, "301")).status == rs.AWAITING_CLEANING


def test_the_hook_frees_the_room_when_headquarters_closes_the_episode(facility_a, open_episode, site_a, duty_officer):
    episode = _checked_in(facility_a, open_episode(), "302", site_a)
    episode_close(episode=episode, actor=duty_officer, reason="重复登记")
    assert Stay.objects.get(episode=episode).out_reason == states.CLOSE
    assert fresh(room(facility_a, "302")).status == rs.AWAITING_CLEANING


def test_check_out_of_someone_not_checked_in_is_refused(open_episode, bus, site_a):
    with pytest.raises(ValidationError, match="not checked in anywhere"):
        checkout_handover(episode=open_episode(), to_custodian=bus, expected_by=timezone.now() + timedelta(hours=1),
                          actor=site_a)


def test_a_refused_hand_over_comes_back_and_gets_a_room_again(facility_a, bus, open_episode, site_a):
    from closedloop.quarantine.actions import handover_refuse

    episode = _checked_in(facility_a, open_episode(), "301", site_a)
    checkout_handover(episode=episode, to_custodian=bus, expected_by=timezone.now() + timedelta(hours=1),
                      actor=site_a)
    handover_refuse(episode=fresh(episode), actor=None, reason="车辆故障")
    assert fresh(episode).custodian_id == facility_a.custodian_id and open_stay(episode) is None
    checkin(facility=facility_a, assignments=[(fresh(episode), room(facility_a, "302"))], actor=site_a)
    assert open_stay(episode).room.number == "302"
    assert Episode.objects.get(pk=episode.pk).state == states.IN_CUSTODY
