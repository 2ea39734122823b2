"""The board's JSON API: /api/v1/sites/{id}/board, /suggest, /checkin, /turnaround, /rooms/{id}/transition."""

from __future__ import annotations

import json

import pytest

from closedloop.facilities import room_states as rs
from closedloop.facilities.actions import checkin
from closedloop.facilities.models import Stay
from closedloop.quarantine import states
from tests.facilities.board_helpers import client_for, fresh, on_the_way, open_stay, set_status
from tests.facilities.conftest import room

BASE = "/api/v1/sites"


def send(client, path, body):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json")


def fields(response) -> dict:
    assert response.status_code == 422, response.content
    return {e["field"]: e["message"] for e in response.json()["detail"]}


@pytest.fixture
def site(facility_a, bus, open_episode, site_a):
    guest = open_episode("张三")
    checkin(facility=facility_a, assignments=[(guest, room(facility_a, "301"))], actor=site_a)
    set_status(room(facility_a, "302"), rs.AWAITING_CLEANING, actor=site_a)
    set_status(room(facility_a, "303"), rs.CLEANING, actor=site_a)
    facility_a.rider = on_the_way(open_episode("乘客"), bus, facility_a)
    facility_a.guest = guest
    return facility_a


# --- the board -------------------------------------------------------------------------------------------

def test_the_board_counts_rooms_and_occupants_without_personal_data(site, site_a):
    response = client_for(site_a).get(f"{BASE}/{site.pk}/board")
    assert response.status_code == 200
    body = response.json()
    assert body["rooms"] == 10 and body["occupants"] == 1
    assert body["counts"] == {"available": 7, "occupied": 1, "awaiting_cleaning": 1, "cleaning": 1,
                              "out_of_service": 0}
    [building] = body["buildings"]
    assert [f["floor"] for f in building["floors"]] == [4, 3]  # the top floor first
    floor3 = building["floors"][1]
    assert floor3["categories"] == ["close_contact"] and floor3["free"] == 2
    r301 = next(r for r in floor3["rooms"] if r["number"] == "301")
    assert r301 == {"id": room(site, "301").pk, "number": "301", "label": "301", "beds": 1, "accessible": True,
                    "status": "occupied", "version": 1, "occupants": 1, "categories": ["close_contact"]}
    text = response.content.decode()
    assert "张三" not in text and site.guest.person.doc_number_masked not in text


def test_the_board_refuses_outsiders_and_roles_without_people(site, site_b, materials_clerk):
    response = client_for(site_b).get(f"{BASE}/{site.pk}/board")
    assert response.status_code == 404 and response.json() == {"detail": "No such facility."}
    assert client_for(materials_clerk).get(f"{BASE}/{site.pk}/board").status_code == 403


# --- suggestions and check-in ---------------------------------------------------------------------------------

def test_suggestions_give_a_room_or_a_reason_and_write_nothing(site, site_a):
    response = send(client_for(site_a), f"{BASE}/{site.pk}/suggest", {"episodes": [site.rider.pk, site.guest.pk]})
    assert response.status_code == 200
    rider, guest = response.json()
    assert rider["episode"] == site.rider.pk and rider["problem"] == "" and rider["room"]["status"] == "available"
    assert guest["room"] is None and guest["problem"] == "Already checked in, in room 301."
    assert fresh(site.rider).state == states.IN_TRANSIT and Stay.objects.count() == 1


def test_suggestions_refuse_unknown_people_and_bad_bodies(site, site_a, site_b, open_episode, town_b):
    stranger = open_episode("外镇", town=town_b)
    client = client_for(site_a)
    assert fields(send(client, f"{BASE}/{site.pk}/suggest", {"episodes": [stranger.pk]})) == {
        "episodes": f"No one you may check in here has the episode id(s) {stranger.pk}."}
    assert "episodes" in fields(send(client, f"{BASE}/{site.pk}/suggest", {"episodes": []}))
    assert "people" in fields(send(client, f"{BASE}/{site.pk}/suggest", {"people": [1]}))
    assert fields(send(client, f"{BASE}/{site.pk}/suggest", "{not json")) == {
        None: "The request body is not valid JSON."}
    assert send(client_for(site_b), f"{BASE}/{site.pk}/suggest", {"episodes": [site.rider.pk]}).status_code == 404
    assert client.get(f"{BASE}/{site.pk}/suggest").status_code == 405


def test_checkin_through_the_api(site, site_a):
    suggestion = send(client_for(site_a), f"{BASE}/{site.pk}/suggest", {"episodes": [site.rider.pk]}).json()[0]
    body = {"assignments": [{"episode": site.rider.pk, "room": suggestion["room"]["id"],
                             "version": suggestion["room"]["version"]}], "signed_by": "王护士"}
    response = send(client_for(site_a), f"{BASE}/{site.pk}/checkin", body)
    assert response.status_code == 200, response.content
    [stay] = response.json()["stays"]
    assert stay["episode"] == site.rider.pk and stay["room"]["status"] == "occupied"
    assert stay["card"] == f"/sites/stays/{stay['id']}/card/"
    assert open_stay(site.rider).room_id == suggestion["room"]["id"]
    assert fresh(site.rider).state == states.IN_CUSTODY


def test_checkin_of_a_room_changed_since_is_409_and_writes_nothing(site, site_a):
    r304 = room(site, "304")
    set_status(r304, rs.OUT_OF_SERVICE, actor=site_a)
    body = {"assignments": [{"episode": site.rider.pk, "room": r304.pk, "version": r304.version}]}
    response = send(client_for(site_a), f"{BASE}/{site.pk}/checkin", body)
    assert response.status_code == 409
    assert response.json() == {"detail": "Room 304 is Out of service now; reload and choose again."}
    assert open_stay(site.rider) is None and fresh(site.rider).state == states.IN_TRANSIT


def test_checkin_against_the_rules_is_422_with_every_reason(site, site_a, open_episode):
    traveller = open_episode("入境", category="inbound")
    r302, r304 = fresh(room(site, "302")), fresh(room(site, "304"))
    body = {"assignments": [{"episode": traveller.pk, "room": r304.pk, "version": r304.version},
                            {"episode": site.rider.pk, "room": r302.pk, "version": r302.version}]}
    detail = send(client_for(site_a), f"{BASE}/{site.pk}/checkin", body).json()["detail"]
    messages = [d["message"] for d in detail]
    assert "Room 302 is awaiting cleaning; only an available room can be given." in messages
    assert any("入境 (Inbound traveller) cannot go on Floor 3" in m for m in messages)
    assert Stay.objects.count() == 1


def test_checkin_refuses_bad_input(site, site_a, site_b, analyst, facility_b):
    client = client_for(site_a)
    path = f"{BASE}/{site.pk}/checkin"
    elsewhere = room(facility_b, "201")
    assert "assignments" in fields(send(client, path, {"assignments": [
        {"episode": site.rider.pk, "room": elsewhere.pk, "version": 0}]}))
    assert "assignments" in fields(send(client, path, {"assignments": [
        {"episode": site.rider.pk, "room": "301", "version": 0}]}))
    assert "assignments" in fields(send(client, path, {"assignments": []}))
    r304 = room(site, "304")
    assert send(client_for(site_b), path, {"assignments": [
        {"episode": site.rider.pk, "room": r304.pk, "version": 0}]}).status_code == 404
    assert send(client_for(analyst), path, {"assignments": [
        {"episode": site.rider.pk, "room": r304.pk, "version": 0}]}).status_code == 403
    assert not Stay.objects.filter(episode=site.rider).exists()


# --- rooms and the turnaround list -------------------------------------------------------------------------------

def test_room_transitions_through_the_api(site, site_a, site_b, analyst):
    r302 = fresh(room(site, "302"))
    client = client_for(site_a)
    path = f"{BASE}/rooms/{r302.pk}/transition"
    response = send(client, path, {"event": "clean_start", "version": r302.version})
    assert response.status_code == 200 and response.json()["status"] == "cleaning"
    assert send(client, path, {"event": "clean_done", "version": r302.version}).status_code == 409  # stale
    assert fields(send(client, path, {"event": "assign"})) == {
        "event": "Use one of: bring_back, clean_done, clean_start, take_out."}
    assert fields(send(client, f"{BASE}/rooms/{room(site, '305').pk}/transition", {"event": "take_out"})) == {
        "note": "Say why the room is taken out of service."}
    assert send(client_for(site_b), path, {"event": "clean_done"}).json() == {"detail": "No such room."}
    assert send(client_for(analyst), path, {"event": "clean_done"}).status_code == 403
    assert fresh(r302).status == rs.CLEANING


def test_the_turnaround_list_through_the_api(site, site_a, site_b, analyst):
    response = client_for(site_a).get(f"{BASE}/{site.pk}/turnaround")
    assert response.status_code == 200
    body = response.json()
    assert body["turnaround_hours"] == 24
    assert [i["room"]["number"] for i in body["items"]] == ["302", "303"]
    assert all(i["overdue"] is False and i["hours_waiting"] < 1 for i in body["items"])
    assert client_for(site_b).get(f"{BASE}/{site.pk}/turnaround").status_code == 404
    assert client_for(analyst).get(f"{BASE}/{site.pk}/turnaround").status_code == 403


def test_the_openapi_document_lists_the_board_endpoints(site_a):
    paths = client_for(site_a).get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/sites/{facility_id}/board", "/api/v1/sites/{facility_id}/suggest",
                 "/api/v1/sites/{facility_id}/checkin", "/api/v1/sites/rooms/{room_id}/transition",
                 "/api/v1/sites/{facility_id}/turnaround"):
        assert path in paths
