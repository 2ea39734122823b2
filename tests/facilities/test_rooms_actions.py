"""The registry's actions: facilities (create, update, status, staff accounts) and rooms (one, in bulk, their
status by hand). Each writes its audit row; each refusal writes nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from closedloop.core.models import AuditEvent
from closedloop.facilities import room_states as rs
from closedloop.facilities.actions import (
    RoomConflict,
    checkin,
    facility_create,
    facility_member_add,
    facility_set_status,
    facility_update,
    room_create,
    room_transition,
    rooms_bulk_create,
)
from closedloop.facilities.actions.rooms import MAX_BULK_ROOMS
from closedloop.facilities.models import Facility, Room, RoomEvent
from closedloop.facilities.selectors import facilities_visible, facility_in_scope
from closedloop.quarantine.models import Custodian
from tests.facilities.conftest import room


def audits(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def fresh(r: Room) -> Room:
    return Room.objects.get(pk=r.pk)


# --- facilities -------------------------------------------------------------------------------------

def test_facility_create_makes_its_custodian_and_audits(city, town_a, commander):
    site = facility_create(kind="isolation_site", name="稠城隔离点C", code="site-c", city=city, jurisdiction=town_a,
                           contact_name="王五", contact_phone="13812345678", turnaround_hours=12, actor=commander)
    assert site.status == "preparing" and site.turnaround_hours == 12
    custodian = Custodian.objects.get(pk=site.custodian_id)
    assert (custodian.kind, custodian.name, custodian.jurisdiction_id, custodian.active) == (
        "isolation_site", "稠城隔离点C", town_a.pk, True)
    [event] = audits("facility.create")
    assert (event.actor_id, event.target_id, event.after["code"]) == (commander.pk, str(site.pk), "site-c")


def test_out_of_city_site_needs_its_city(city, commander):
    with pytest.raises(ValidationError) as exc:
        facility_create(kind="out_of_city_site", name="杭州隔离点", code="hz-1", city=city, actor=commander)
    assert "other_city" in exc.value.message_dict
    assert not Facility.objects.exists() and not Custodian.objects.exists() and not audits("facility.create")
    site = facility_create(kind="out_of_city_site", name="杭州隔离点", code="hz-1", city=city, other_city="杭州市",
                           actor=commander)
    assert site.other_city == "杭州市" and site.jurisdiction is None


def test_facility_code_is_unique(facility_a, city, commander):
    with pytest.raises(ValidationError) as exc:
        facility_create(kind="isolation_site", name="另一个", code="site-a", city=city, actor=commander)
    assert "code" in exc.value.message_dict


def test_site_staff_may_not_register_facilities(city, town_a, site_a, facility_a):
    with pytest.raises(PermissionDenied):
        facility_create(kind="isolation_site", name="X", code="x-1", city=city, jurisdiction=town_a, actor=site_a)
    with pytest.raises(PermissionDenied):
        facility_update(facility=facility_a, name="改名", actor=site_a)
    with pytest.raises(PermissionDenied):
        facility_set_status(facility=facility_a, status="paused", reason="维修", actor=site_a)
    assert Facility.objects.get(pk=facility_a.pk).name == "稠城隔离点A"


def test_closed_facility_custodian_is_inactive(city, town_a, commander, facility_a):
    closed = facility_create(kind="isolation_site", name="旧点", code="old-1", city=city, jurisdiction=town_a,
                             status="closed", actor=commander)
    assert Custodian.objects.get(pk=closed.custodian_id).active is False
    facility_set_status(facility=facility_a, status="closed", reason="撤点", actor=commander)
    assert Custodian.objects.get(pk=facility_a.custodian_id).active is False
    event = audits("facility.status")[-1]
    assert (event.before, event.after, event.reason) == ({"status": "open"}, {"status": "closed"}, "撤点")
    facility_set_status(facility=facility_a, status="open", actor=commander)
    assert Custodian.objects.get(pk=facility_a.custodian_id).active is True


def test_facility_set_status_refuses_an_unknown_status(facility_a, commander):
    with pytest.raises(ValidationError):
        facility_set_status(facility=facility_a, status="burning", actor=commander)
    assert not audits("facility.status")


def test_facility_update_audits_only_what_changed_and_renames_the_custodian(facility_a, commander, town_b):
    facility_update(facility=facility_a, name="稠城隔离点A", actor=commander)
    assert not audits("facility.update")
    facility_update(facility=facility_a, name="稠城一号隔离点", turnaround_hours=36, actor=commander)
    [event] = audits("facility.update")
    assert event.before == {"name": "稠城隔离点A", "turnaround_hours": "24"}
    assert event.after == {"name": "稠城一号隔离点", "turnaround_hours": "36"}
    assert Custodian.objects.get(pk=facility_a.custodian_id).name == "稠城一号隔离点"
    with pytest.raises(TypeError):
        facility_update(facility=facility_a, code="other", actor=commander)


def test_facility_update_checks_the_out_of_city_rule(city, commander):
    site = facility_create(kind="out_of_city_site", name="宁波隔离点", code="nb-1", city=city, other_city="宁波市",
                           actor=commander)
    with pytest.raises(ValidationError) as exc:
        facility_update(facility=site, other_city=" ", actor=commander)
    assert "other_city" in exc.value.message_dict
    assert Facility.objects.get(pk=site.pk).other_city == "宁波市"


def test_member_add_gives_the_account_the_facility(facility_b, site_a, commander):
    assert not facility_in_scope(site_a, facility_b)
    facility_member_add(facility=facility_b, user=site_a, actor=commander)
    assert facility_in_scope(site_a, facility_b)
    assert facility_b in facilities_visible(site_a)
    [event] = audits("facility.member_add")
    assert event.after == {"user": "site_a"}
    with pytest.raises(PermissionDenied):
        facility_member_add(facility=facility_b, user=site_a, actor=site_a)


# --- rooms: one and in bulk -------------------------------------------------------------------------

def test_room_create_audits_and_refuses_a_duplicate(facility_a, commander):
    made = room_create(facility=facility_a, building="B", floor=5, number="501", beds=2, accessible=True,
                       note="靠电梯", actor=commander)
    assert (made.building, made.floor, made.number, made.beds, made.accessible, made.order) == ("B", 5, "501", 2,
                                                                                                True, 1)
    [event] = audits("room.create")
    assert event.target_id == str(made.pk)
    with pytest.raises(ValidationError) as exc:
        room_create(facility=facility_a, building="B", floor=5, number=" 501 ", actor=commander)
    assert "number" in exc.value.message_dict
    # The same number in another building is another room.
    room_create(facility=facility_a, building="C", floor=5, number="501", actor=commander)
    assert len(audits("room.create")) == 2


@pytest.mark.parametrize("kwargs, field", [
    ({"floor": 3, "number": ""}, "number"),
    ({"floor": 300, "number": "30001"}, "floor"),
    ({"floor": 3, "number": "399", "beds": 9}, "beds"),
    ({"floor": 3, "number": "399", "beds": 0}, "beds"),
])
def test_room_create_refuses_bad_rooms(facility_a, commander, kwargs, field):
    before = Room.objects.count()
    with pytest.raises(ValidationError) as exc:
        room_create(facility=facility_a, actor=commander, **kwargs)
    assert field in exc.value.message_dict
    assert Room.objects.count() == before and not audits("room.create")


def test_room_create_needs_headquarters(facility_a, site_a):
    with pytest.raises(PermissionDenied):
        room_create(facility=facility_a, floor=5, number="501", actor=site_a)


def test_rooms_bulk_create_makes_floors_and_names_the_rooms_that_existed(facility_a, commander):
    result = rooms_bulk_create(facility=facility_a, building="", floor_from=4, floor_to=6, room_from=1, room_to=6,
                               beds=1, accessible_rooms=frozenset({1, 2}), actor=commander)
    # Floor 4 had 401–405 already.
    assert result.skipped == ["401", "402", "403", "404", "405"]
    assert result.created == 3 * 6 - 5
    made = Room.objects.filter(facility=facility_a, floor=6)
    assert sorted(made.values_list("number", flat=True)) == ["601", "602", "603", "604", "605", "606"]
    assert set(made.filter(accessible=True).values_list("number", flat=True)) == {"601", "602"}
    assert Room.objects.get(facility=facility_a, number="406").order == 6
    event = audits("room.bulk_create")[-1]
    assert (event.actor_id, event.after["created"], event.after["skipped"]) == (commander.pk, 13, 5)


def test_rooms_bulk_create_in_a_building_keeps_numbers_apart(facility_a, commander):
    result = rooms_bulk_create(facility=facility_a, building="B", floor_from=3, floor_to=3, room_from=1, room_to=2,
                               actor=commander)
    assert (result.created, result.skipped) == (2, [])
    assert Room.objects.filter(facility=facility_a, number="301").count() == 2


@pytest.mark.parametrize("kwargs, field", [
    ({"floor_from": 5, "floor_to": 4, "room_from": 1, "room_to": 2}, "floor_to"),
    ({"floor_from": 5, "floor_to": 5, "room_from": 9, "room_to": 2}, "room_to"),
    ({"floor_from": 5, "floor_to": 5, "room_from": 1, "room_to": 100}, "room_to"),
    ({"floor_from": 5, "floor_to": 5, "room_from": 1, "room_to": 2, "beds": 9}, "beds"),
])
def test_rooms_bulk_create_refuses_bad_ranges(facility_a, commander, kwargs, field):
    before, logged = Room.objects.count(), len(audits("room.bulk_create"))
    with pytest.raises(ValidationError) as exc:
        rooms_bulk_create(facility=facility_a, actor=commander, **kwargs)
    assert field in exc.value.message_dict
    assert Room.objects.count() == before and len(audits("room.bulk_create")) == logged


def test_rooms_bulk_create_has_a_ceiling(facility_a, commander):
    with pytest.raises(ValidationError) as exc:
        rooms_bulk_create(facility=facility_a, floor_from=1, floor_to=200, room_from=0, room_to=99, actor=commander)
    assert str(MAX_BULK_ROOMS) in " ".join(exc.value.messages)


def test_rooms_bulk_create_refuses_outsiders(facility_a, site_a):
    with pytest.raises(PermissionDenied):
        rooms_bulk_create(facility=facility_a, floor_from=5, floor_to=5, room_from=1, room_to=2, actor=site_a)


# --- rooms: their status by hand -----------------------------------------------------------------------

def test_cleaning_cycle_by_hand_logs_each_event(facility_a, site_a):
    r = room(facility_a, "302")
    room_transition(room=r, event=rs.TAKE_OUT, note="空调漏水", actor=site_a)
    assert fresh(r).status == rs.OUT_OF_SERVICE
    room_transition(room=r, event=rs.BRING_BACK, actor=site_a)
    assert fresh(r).status == rs.AWAITING_CLEANING  # cleaned before it is used again
    room_transition(room=r, event=rs.CLEAN_START, actor=site_a)
    room_transition(room=r, event=rs.CLEAN_DONE, actor=site_a)
    assert fresh(r).status == rs.AVAILABLE and fresh(r).version == 4
    kinds = list(RoomEvent.objects.filter(room=r).values_list("kind", "from_status", "to_status"))
    assert kinds == [
        (rs.TAKE_OUT, rs.AVAILABLE, rs.OUT_OF_SERVICE), (rs.BRING_BACK, rs.OUT_OF_SERVICE, rs.AWAITING_CLEANING),
        (rs.CLEAN_START, rs.AWAITING_CLEANING, rs.CLEANING), (rs.CLEAN_DONE, rs.CLEANING, rs.AVAILABLE),
    ]
    assert [e.action for e in AuditEvent.objects.filter(target_type="room", target_id=str(r.pk)).order_by("id")] == [
        "room.take_out", "room.bring_back", "room.clean_start", "room.clean_done"]
    assert audits("room.take_out")[0].reason == "空调漏水"


def test_take_out_needs_a_note(facility_a, site_a):
    r = room(facility_a, "303")
    with pytest.raises(ValidationError) as exc:
        room_transition(room=r, event=rs.TAKE_OUT, note="  ", actor=site_a)
    assert "note" in exc.value.message_dict
    assert fresh(r).status == rs.AVAILABLE and not RoomEvent.objects.filter(room=r).exists()


def test_clean_done_on_an_occupied_room_is_refused(facility_a, site_a, open_episode):
    r = room(facility_a, "301")
    checkin(facility=facility_a, assignments=[(open_episode("李四"), r)], actor=site_a)
    r = fresh(r)
    assert r.status == rs.OCCUPIED
    for event in (rs.CLEAN_DONE, rs.CLEAN_START, rs.BRING_BACK):
        with pytest.raises(RoomConflict):
            room_transition(room=r, event=event, actor=site_a)
    with pytest.raises(RoomConflict):
        room_transition(room=r, event=rs.TAKE_OUT, note="坏了", actor=site_a)
    assert fresh(r).status == rs.OCCUPIED
    assert not [e for e in AuditEvent.objects.filter(target_type="room") if e.action.startswith("room.clean")]


def test_clean_done_on_an_available_room_is_refused(facility_a, site_a):
    r = room(facility_a, "304")
    with pytest.raises(RoomConflict):
        room_transition(room=r, event=rs.CLEAN_DONE, actor=site_a)
    assert fresh(r).version == 0


def test_assign_and_vacate_are_not_done_by_hand(facility_a, site_a):
    r = room(facility_a, "305")
    for event in (rs.ASSIGN, rs.VACATE):
        with pytest.raises(ValidationError):
            room_transition(room=r, event=event, actor=site_a)
    assert fresh(r).status == rs.AVAILABLE


def test_a_stale_room_is_refused(facility_a, site_a):
    seen = room(facility_a, "401")
    room_transition(room=room(facility_a, "401"), event=rs.TAKE_OUT, note="漏水", actor=site_a)
    room_transition(room=room(facility_a, "401"), event=rs.BRING_BACK, actor=site_a)
    # The desk still holds the room as it was (available, version 0): its "done" must not pass.
    with pytest.raises(RoomConflict):
        room_transition(room=seen, event=rs.CLEAN_DONE, actor=site_a)
    assert fresh(seen).status == rs.AWAITING_CLEANING


def test_room_status_by_hand_needs_the_capability_and_the_scope(facility_a, site_b, community_worker):
    r = room(facility_a, "402")
    with pytest.raises(PermissionDenied):
        room_transition(room=r, event=rs.TAKE_OUT, note="x", actor=site_b)  # another town's staff
    with pytest.raises(PermissionDenied):
        room_transition(room=r, event=rs.TAKE_OUT, note="x", actor=community_worker)  # no clean_rooms
    assert fresh(r).status == rs.AVAILABLE
