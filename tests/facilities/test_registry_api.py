"""The facility registry's JSON API: /api/v1/sites (list, one, register, status, rooms, rooms in bulk)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from closedloop.core.actions import api_token_create, jurisdiction_create, user_create
from closedloop.core.models import AuditEvent
from closedloop.core.roles import Role
from closedloop.facilities import room_states as rs
from closedloop.facilities.actions import facility_create, room_transition
from closedloop.facilities.models import Facility, Room
from tests.facilities.conftest import room

BASE = "/api/v1/sites"


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def send(client: Client, path: str, body=None):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body if body is not None else {})
    return client.post(path, data=data, content_type="application/json")


def fields(response) -> dict:
    assert response.status_code == 422, response.content
    return {e["field"]: e["message"] for e in response.json()["detail"]}


@pytest.fixture
def hangzhou(city):
    return facility_create(kind="out_of_city_site", name="杭州萧山隔离酒店", code="hz-1", city=city, other_city="杭州市",
                           status="open", actor=None)


# --- reading ----------------------------------------------------------------------------------------------

def test_list_has_room_counts_and_is_scoped(commander, site_b, facility_a, facility_b, hangzhou, site_a):
    room_transition(room=room(facility_a, "301"), event=rs.TAKE_OUT, note="漏水", actor=site_a)
    response = client_for(commander).get(f"{BASE}/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["count"], body["page"], body["page_size"]) == (3, 1, 50)
    by_code = {item["code"]: item for item in body["items"]}
    assert by_code["site-a"]["rooms"] == {"available": 9, "occupied": 0, "awaiting_cleaning": 0, "cleaning": 0,
                                          "out_of_service": 1, "total": 10}
    assert (by_code["site-a"]["town_code"], by_code["hz-1"]["town_code"], by_code["hz-1"]["other_city"]) == (
        "330782001", None, "杭州市")
    assert by_code["site-a"]["kind_label"] == "Centralized isolation site"
    outsider = client_for(site_b).get(f"{BASE}/").json()
    assert [item["code"] for item in outsider["items"]] == ["site-b"]


def test_list_filters_and_pages(commander, facility_a, facility_b, hangzhou):
    client = client_for(commander)
    codes = lambda response: [i["code"] for i in response.json()["items"]]  # noqa: E731
    assert codes(client.get(f"{BASE}/", {"kind": "out_of_city_site"})) == ["hz-1"]
    assert codes(client.get(f"{BASE}/", {"town": "330782002"})) == ["site-b"]
    assert codes(client.get(f"{BASE}/", {"q": "工人北路"})) == ["site-a"]
    assert codes(client.get(f"{BASE}/", {"status": "preparing"})) == []
    page = client.get(f"{BASE}/", {"page_size": "2", "page": "2"}).json()
    assert (page["count"], len(page["items"])) == (3, 1)
    errors = fields(client.get(f"{BASE}/", {"kind": "castle", "status": "x", "town": "999", "page": "0"}))
    assert set(errors) == {"kind", "status", "town", "page"}


def test_one_facility(commander, facility_a):
    response = client_for(commander).get(f"{BASE}/{facility_a.pk}")
    assert response.status_code == 200
    body = response.json()
    assert (body["code"], body["city_code"], body["turnaround_hours"], body["rooms"]["total"]) == (
        "site-a", "330782", 24, 10)
    assert body["custodian_id"] == facility_a.custodian_id and body["members"] == []


def test_outsiders_get_404(site_b, facility_a):
    client = client_for(site_b)
    for path in (f"{BASE}/{facility_a.pk}", f"{BASE}/{facility_a.pk}/rooms", f"{BASE}/999999"):
        response = client.get(path)
        assert response.status_code == 404 and response.json() == {"detail": "No such facility."}
    assert send(client, f"{BASE}/{facility_a.pk}/status", {"status": "closed", "reason": "x"}).status_code == 404
    assert send(client, f"{BASE}/{facility_a.pk}/rooms/bulk",
                {"floor_from": 5, "floor_to": 5, "room_to": 2}).status_code == 404
    assert Facility.objects.get(pk=facility_a.pk).status == "open"


def test_needs_authentication_and_takes_a_token(facility_a, commander):
    assert Client().get(f"{BASE}/").status_code == 401
    _token, key = api_token_create(user=commander, name="大屏", actor=None)
    response = Client().get(f"{BASE}/{facility_a.pk}", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200 and response.json()["code"] == "site-a"


# --- registering -------------------------------------------------------------------------------------------

BODY = {"kind": "isolation_site", "name": "稠城隔离点C", "code": "site-c", "town": "330782001",
        "contact_phone": "0579-85123456", "turnaround_hours": 12, "latitude": 29.3, "longitude": 120}


def test_register_a_facility(commander, town_a, city):
    response = send(client_for(commander), f"{BASE}/", BODY)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["code"], body["town_code"], body["status"], body["turnaround_hours"], body["contact_phone"]) == (
        "site-c", "330782001", "preparing", 12, "0579-85123456")
    site = Facility.objects.get(code="site-c")
    assert (site.city_id, site.jurisdiction_id, site.longitude) == (city.pk, town_a.pk, 120.0)
    assert AuditEvent.objects.filter(action="facility.create", actor=commander, target_id=str(site.pk)).exists()


def test_register_out_of_city_needs_its_city(commander, city):
    body = {"kind": "out_of_city_site", "name": "宁波隔离酒店", "code": "nb-1"}
    assert "other_city" in fields(send(client_for(commander), f"{BASE}/", body))
    response = send(client_for(commander), f"{BASE}/", {**body, "other_city": "宁波市", "status": "open"})
    assert response.status_code == 201
    assert (response.json()["other_city"], response.json()["town_code"]) == ("宁波市", None)
    assert Facility.objects.get(code="nb-1").city_id == city.pk


@pytest.mark.parametrize("changes, field", [
    ({"kind": "castle"}, "kind"),
    ({"town": "330782999"}, "town"),
    ({"contact_phone": "12345"}, "contact_phone"),
    ({"turnaround_hours": 0}, "turnaround_hours"),
    ({"status": "burning"}, "status"),
    ({"colour": "red"}, "colour"),
    ({"turnaround_hours": "12"}, "turnaround_hours"),
])
def test_register_refuses_bad_input(commander, town_a, changes, field):
    assert field in fields(send(client_for(commander), f"{BASE}/", {**BODY, **changes}))
    assert not Facility.objects.filter(code="site-c").exists()


def test_register_refuses_a_duplicate_code(commander, facility_a):
    assert "code" in fields(send(client_for(commander), f"{BASE}/", {**BODY, "code": "site-a"}))


def test_register_refuses_a_town_outside_the_scope(town_a):
    other = jurisdiction_create(code="330783", name="东阳市", name_en="Dongyang", level="city", actor=None)
    commander_elsewhere = user_create(username="dy_commander", password="Correct-Horse-42", role=Role.COMMANDER,
                                      jurisdictions=[other], actor=None)
    response = send(client_for(commander_elsewhere), f"{BASE}/", BODY)  # Choucheng is Yiwu's
    assert fields(response)["town"] == "No town or street of your jurisdiction has the code 330782001."
    assert not Facility.objects.exists()


def test_register_refuses_bad_json(commander):
    assert fields(send(client_for(commander), f"{BASE}/", "{not json"))


def test_register_needs_headquarters(site_a, town_a):
    response = send(client_for(site_a), f"{BASE}/", BODY)
    assert response.status_code == 403
    assert "Register facilities and their rooms" in response.json()["detail"]
    assert not Facility.objects.exists()


def test_wrong_methods(commander, facility_a):
    client = client_for(commander)
    assert client.delete(f"{BASE}/{facility_a.pk}").status_code == 405
    assert client.get(f"{BASE}/{facility_a.pk}/status").status_code == 405
    assert client.get(f"{BASE}/{facility_a.pk}/rooms/bulk").status_code == 405


# --- status --------------------------------------------------------------------------------------------------

def test_status_change(commander, facility_a):
    response = send(client_for(commander), f"{BASE}/{facility_a.pk}/status", {"status": "paused", "reason": "消杀"})
    assert response.status_code == 200 and response.json()["status"] == "paused"
    event = AuditEvent.objects.get(action="facility.status")
    assert (event.reason, event.after) == ("消杀", {"status": "paused"})


def test_status_needs_a_reason_to_pause_or_close(commander, facility_a):
    client = client_for(commander)
    assert "reason" in fields(send(client, f"{BASE}/{facility_a.pk}/status", {"status": "closed"}))
    assert "status" in fields(send(client, f"{BASE}/{facility_a.pk}/status", {"status": "gone", "reason": "x"}))
    assert "status" in fields(send(client, f"{BASE}/{facility_a.pk}/status", {}))
    assert Facility.objects.get(pk=facility_a.pk).status == "open"


def test_status_refused_to_site_staff(site_a, facility_a):
    assert send(client_for(site_a), f"{BASE}/{facility_a.pk}/status", {"status": "open"}).status_code == 403


# --- rooms -------------------------------------------------------------------------------------------------

def test_rooms_are_listed_with_filters(site_a, facility_a):
    room_transition(room=room(facility_a, "402"), event=rs.TAKE_OUT, note="漏水", actor=site_a)
    client = client_for(site_a)
    body = client.get(f"{BASE}/{facility_a.pk}/rooms").json()
    assert body["count"] == 10
    assert [r["number"] for r in body["items"]][:5] == ["301", "302", "303", "304", "305"]
    assert body["items"][0]["accessible"] is True and body["items"][4]["beds"] == 2
    floor4 = client.get(f"{BASE}/{facility_a.pk}/rooms", {"floor": "4", "status": "out_of_service"}).json()
    assert [(r["number"], r["status_label"], r["version"]) for r in floor4["items"]] == [
        ("402", "Out of service", 1)]
    assert client.get(f"{BASE}/{facility_a.pk}/rooms", {"building": "B"}).json()["count"] == 0
    page = client.get(f"{BASE}/{facility_a.pk}/rooms", {"page_size": "3", "page": "4"}).json()
    assert [r["number"] for r in page["items"]] == ["405"]
    errors = fields(client.get(f"{BASE}/{facility_a.pk}/rooms", {"floor": "三", "status": "dirty"}))
    assert set(errors) == {"floor", "status"}


def test_rooms_in_bulk(commander, facility_a):
    response = send(client_for(commander), f"{BASE}/{facility_a.pk}/rooms/bulk",
                    {"floor_from": 4, "floor_to": 5, "room_from": 1, "room_to": 6, "beds": 2,
                     "accessible_rooms": [6]})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["created"] == 7 and body["skipped"] == ["401", "402", "403", "404", "405"]
    assert body["rooms"]["total"] == 17
    assert Room.objects.get(facility=facility_a, number="506").accessible is True
    assert Room.objects.get(facility=facility_a, number="501").beds == 2


@pytest.mark.parametrize("body, field", [
    ({"floor_from": 5, "floor_to": 4, "room_to": 2}, "floor_to"),
    ({"floor_from": 5, "floor_to": 5, "room_from": 9, "room_to": 2}, "room_to"),
    ({"floor_from": 5, "floor_to": 5, "room_to": 2, "beds": 9}, "beds"),
    ({"floor_from": 5, "floor_to": 5, "room_to": 2, "accessible_rooms": [120]}, "accessible_rooms"),
    ({"floor_from": 5, "room_to": 2}, "floor_to"),
])
def test_rooms_in_bulk_refuses_bad_input(commander, facility_a, body, field):
    assert field in fields(send(client_for(commander), f"{BASE}/{facility_a.pk}/rooms/bulk", body))
    assert not Room.objects.filter(facility=facility_a, floor=5).exists()


def test_rooms_in_bulk_needs_headquarters(site_a, facility_a):
    response = send(client_for(site_a), f"{BASE}/{facility_a.pk}/rooms/bulk",
                    {"floor_from": 5, "floor_to": 5, "room_to": 2})
    assert response.status_code == 403
    assert not Room.objects.filter(facility=facility_a, floor=5).exists()


def test_list_query_count_is_pinned(commander, city, django_assert_max_num_queries):
    for i in range(20):
        facility_create(kind="isolation_site", name=f"隔离点{i:02d}", code=f"s-{i:02d}", city=city, actor=None)
    client = client_for(commander)
    # session, user, scope, count, the page, its rooms by status
    with django_assert_max_num_queries(6):
        response = client.get(f"{BASE}/")
    assert response.json()["count"] == 20
