"""The staff API: /api/v1/sites/staff (list, add, health registration, tests, leave duty, what is missing)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from closedloop.core.models import AuditEvent
from closedloop.facilities.actions import staff_add, staff_health_record
from closedloop.facilities.models import StaffHealthCheck, StaffMember, StaffTest
from closedloop.quarantine.models import Episode

BASE = "/api/v1/sites/staff"
START = date(2022, 7, 20)
DAY = date(2022, 8, 3)


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def send(client: Client, path: str, body=None):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body or {})
    return client.post(path, data=data, content_type="application/json")


def fields(response) -> dict:
    assert response.status_code == 422, response.content
    return {e["field"]: e["message"] for e in response.json()["detail"]}


@pytest.fixture
def staff(facility_a, person_factory, site_a):
    return staff_add(facility=facility_a, person=person_factory("王护士", female=True), task_group="health_observation",
                     post="3楼护士站", on_duty_from=START, actor=site_a)


# --- list ---------------------------------------------------------------------------------------

def test_list_staff_masked_and_filtered(staff, facility_a, person_factory, site_a):
    staff_add(facility=facility_a, person=person_factory("李保安"), task_group="security", ppe_level="1",
              on_duty_from=START, actor=site_a)
    client = client_for(site_a)
    body = client.get(f"{BASE}/{facility_a.pk}").json()
    assert body["count"] == 2 and body["page"] == 1
    item = next(i for i in body["items"] if i["name"] == "王护士")
    assert item["doc_number_masked"] == staff.person.doc_number_masked and "doc_number" not in item
    assert (item["task_group"], item["post"], item["ppe_level"], item["status"]) == (
        "health_observation", "3楼护士站", "2", "on_duty")
    assert [i["name"] for i in client.get(f"{BASE}/{facility_a.pk}?task_group=security").json()["items"]] == ["李保安"]
    assert [i["name"] for i in client.get(f"{BASE}/{facility_a.pk}?ppe_level=2").json()["items"]] == ["王护士"]
    assert [i["name"] for i in client.get(f"{BASE}/{facility_a.pk}?q=王护士").json()["items"]] == ["王护士"]
    assert client.get(f"{BASE}/{facility_a.pk}?status=off_duty").json()["count"] == 0


def test_list_bad_input(staff, facility_a, site_a):
    response = client_for(site_a).get(f"{BASE}/{facility_a.pk}?status=gone&task_group=cooking&page=0")
    assert set(fields(response)) == {"status", "task_group", "page"}


def test_list_refusals(staff, facility_a, site_b, materials_clerk, site_a):
    response = client_for(site_b).get(f"{BASE}/{facility_a.pk}")
    assert response.status_code == 404 and response.json() == {"detail": "No such facility."}
    assert client_for(materials_clerk).get(f"{BASE}/{facility_a.pk}").status_code == 403
    assert client_for(site_a).get(f"{BASE}/999999").status_code == 404
    assert client_for(site_a).delete(f"{BASE}/{facility_a.pk}").status_code == 405
    assert Client().get(f"{BASE}/{facility_a.pk}").status_code == 401


# --- add ----------------------------------------------------------------------------------------

def test_add_staff(facility_a, person_factory, site_a):
    person = person_factory("孙医生")
    response = send(client_for(site_a), f"{BASE}/{facility_a.pk}", {
        "person": person.pk, "task_group": "care", "post": "心理疏导", "ppe_level": "3", "on_duty_from": "2022-07-25"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["ppe_level"], body["on_duty_from"], body["status"]) == ("孙医生", "3", "2022-07-25",
                                                                                        "on_duty")
    assert StaffMember.objects.get(pk=body["id"]).person == person
    assert AuditEvent.objects.filter(action="staff.add", target_id=str(body["id"])).exists()


def test_add_staff_bad_input(staff, facility_a, person_factory, town_b, site_a):
    client = client_for(site_a)
    assert set(fields(send(client, f"{BASE}/{facility_a.pk}", {"person": "1", "task_group": "care", "x": 1}))) == {
        "person", "x"}
    outsider = person_factory("外镇人", town=town_b)
    assert "person" in fields(send(client, f"{BASE}/{facility_a.pk}", {"person": outsider.pk, "task_group": "care"}))
    other = person_factory("孙医生")
    assert "task_group" in fields(send(client, f"{BASE}/{facility_a.pk}", {"person": other.pk,
                                                                         "task_group": "cooking"}))
    # One duty at a time: the action's refusal is a 422 for the request as a whole.
    response = send(client, f"{BASE}/{facility_a.pk}", {"person": staff.person.pk, "task_group": "care"})
    assert None in fields(response) and "already on duty" in fields(response)[None]
    assert send(client, f"{BASE}/{facility_a.pk}", "not json").status_code == 422
    assert StaffMember.objects.count() == 1


def test_add_staff_refusals(facility_a, person_factory, site_b, analyst):
    person = person_factory("孙医生")
    assert send(client_for(site_b), f"{BASE}/{facility_a.pk}", {"person": person.pk, "task_group": "care"}
                ).status_code == 404
    response = send(client_for(analyst), f"{BASE}/{facility_a.pk}", {"person": person.pk, "task_group": "care"})
    assert response.status_code == 403
    assert not StaffMember.objects.exists()


# --- health registration and tests ------------------------------------------------------------------

def test_record_a_health_check_with_its_flags(staff, site_a):
    client = client_for(site_a)
    response = send(client, f"{BASE}/members/{staff.pk}/checks", {"day": "2022-08-03", "temperature": 37.6,
                                                                  "symptoms": ["cough"]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["day"], body["temperature"], body["flags"]) == ("2022-08-03", 37.6, ["fever", "symptoms"])
    response = send(client, f"{BASE}/members/{staff.pk}/checks", {"day": "2022-08-03", "temperature": "36.5"})
    assert response.json()["flags"] == [] and StaffHealthCheck.objects.count() == 1


def test_health_check_bad_input_and_refusals(staff, site_a, site_b, community_worker):
    client = client_for(site_a)
    future = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert set(fields(send(client, f"{BASE}/members/{staff.pk}/checks", {"day": future, "temperature": "hot",
                                                                         "symptoms": ["hiccups"]}))) == {
        "day", "temperature", "symptoms"}
    assert "temperature" in fields(send(client, f"{BASE}/members/{staff.pk}/checks", {}))
    assert send(client_for(site_b), f"{BASE}/members/{staff.pk}/checks", {"temperature": 36.5}).status_code == 404
    assert send(client_for(community_worker), f"{BASE}/members/{staff.pk}/checks",
                {"temperature": 36.5}).status_code == 403
    assert client.get(f"{BASE}/members/{staff.pk}/checks").status_code == 405
    assert send(client, f"{BASE}/members/999999/checks", {"temperature": 36.5}).json() == {
        "detail": "No such staff member."}
    assert not StaffHealthCheck.objects.exists()


def test_record_a_test_sample_then_result(staff, site_a):
    client = client_for(site_a)
    response = send(client, f"{BASE}/members/{staff.pk}/tests", {"sampled_on": "2022-08-03"})
    assert response.status_code == 200 and response.json()["result"] == "pending"
    response = send(client, f"{BASE}/members/{staff.pk}/tests", {"sampled_on": "2022-08-03", "result": 31.2})
    assert (response.json()["result"], response.json()["result_label"]) == ("positive", "Positive")
    assert StaffTest.objects.get().result == "positive"


def test_test_bad_input_and_refusals(staff, site_a, site_b):
    client = client_for(site_a)
    assert "result" in fields(send(client, f"{BASE}/members/{staff.pk}/tests", {"result": "maybe"}))
    assert "sampled_on" in fields(send(client, f"{BASE}/members/{staff.pk}/tests", {"sampled_on": "3 Aug"}))
    assert send(client_for(site_b), f"{BASE}/members/{staff.pk}/tests", {"result": "negative"}).status_code == 404
    assert not StaffTest.objects.exists()


# --- leaving duty ----------------------------------------------------------------------------------------

def test_leave_duty_opens_the_rotation(staff, site_a):
    response = send(client_for(site_a), f"{BASE}/members/{staff.pk}/leave", {"off_duty_on": "2022-08-03",
                                                                            "reason": "期满"})
    assert response.status_code == 200, response.content
    body = response.json()
    episode = Episode.objects.get(person=staff.person)
    assert (body["status"], body["off_duty_on"], body["rotation_episode_id"]) == ("off_duty", "2022-08-03", episode.pk)
    assert body["rotation_release_on"] is None  # until a site places them
    assert (episode.category, episode.anchor_date) == ("staff_rotation", DAY)


def test_leave_duty_bad_input_and_refusals(staff, site_a, site_b, analyst):
    client = client_for(site_a)
    assert "off_duty_on" in fields(send(client, f"{BASE}/members/{staff.pk}/leave", {"off_duty_on": "2022-07-01"}))
    assert "off_duty_on" in fields(send(client, f"{BASE}/members/{staff.pk}/leave", {"off_duty_on": 20220803}))
    assert send(client_for(site_b), f"{BASE}/members/{staff.pk}/leave", {}).status_code == 404
    assert send(client_for(analyst), f"{BASE}/members/{staff.pk}/leave", {}).status_code == 403
    assert not Episode.objects.exists()
    send(client, f"{BASE}/members/{staff.pk}/leave", {"off_duty_on": "2022-08-03"})
    response = send(client, f"{BASE}/members/{staff.pk}/leave", {"off_duty_on": "2022-08-03"})
    assert "has left duty" in fields(response)[None]


# --- what is missing ----------------------------------------------------------------------------------------

def test_worklist(staff, facility_a, person_factory, site_a, analyst):
    other = staff_add(facility=facility_a, person=person_factory("李保安"), task_group="security", on_duty_from=START,
                      actor=site_a)
    staff_health_record(staff=other, day=DAY, temperature="38.4", actor=site_a)
    response = client_for(analyst).get(f"{BASE}/{facility_a.pk}/worklist?day=2022-08-03")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["day"], body["on_duty"], body["test_every_days"]) == ("2022-08-03", 2, 1)
    assert [r["name"] for r in body["checks_missing"]] == ["王护士"]
    assert sorted(r["name"] for r in body["tests_due"]) == ["李保安", "王护士"]
    assert body["unwell"] == [{"id": other.pk, "name": "李保安", "task_group": "security", "temperature": 38.4,
                               "flags": ["fever"], "symptoms": []}]
    assert "day" in fields(client_for(analyst).get(f"{BASE}/{facility_a.pk}/worklist?day=tomorrow"))


def test_openapi_lists_the_staff_endpoints(site_a):
    paths = client_for(site_a).get("/api/v1/openapi.json").json()["paths"]
    assert {f"{BASE}/{{facility_id}}", f"{BASE}/{{facility_id}}/worklist", f"{BASE}/members/{{staff_id}}/checks",
            f"{BASE}/members/{{staff_id}}/tests", f"{BASE}/members/{{staff_id}}/leave"} <= set(paths)
