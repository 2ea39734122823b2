"""The care-request API: /api/v1/sites/care (list, record, one, close)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from closedloop.core.models import AuditEvent
from closedloop.facilities.actions import care_request_close, care_request_create
from closedloop.facilities.models import CareRequest
from tests.facilities.care_support import build_world, client_for

BASE = "/api/v1/sites/care"


@pytest.fixture
def world(open_episode, facility_a, facility_b, community_a1, community_b1, city):
    return build_world(open_episode, facility_a, facility_b, community_a1, community_b1, city)


def record(episode, kind="medicine", urgent=False):
    return care_request_create(episode=episode, kind=kind, detail="降压药", urgent=urgent, actor=None)


def send(client, path, body=None):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body or {})
    return client.post(path, data=data, content_type="application/json")


def fields(response) -> dict:
    assert response.status_code == 422, response.content
    return {e["field"]: e["message"] for e in response.json()["detail"]}


# --- list --------------------------------------------------------------------------------------------

def test_list_is_scoped_masked_and_paginated(world, site_a, facility_a):
    record(world.zhang)
    record(world.wang, kind="counselling", urgent=True)
    record(world.zhao)
    response = client_for(site_a).get(BASE, {"page_size": "1"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["count"], body["page"], body["page_size"]) == (2, 1, 1)
    item = body["items"][0]
    assert item["person"]["name"] == "王五" and item["urgent"] and item["kind_label"] == "Psychological counselling"
    assert item["facility"] == {"id": facility_a.pk, "code": "site-a", "name": "稠城隔离点A"}
    assert item["custodian"]["id"] == facility_a.custodian_id and item["status"] == "open" and item["overdue"] is False
    assert item["minutes_overdue"] is None and item["closed_at"] is None
    assert "*" in item["person"]["doc_number_masked"] and "doc_number" not in item["person"]
    second = client_for(site_a).get(BASE, {"page_size": "1", "page": "2"}).json()["items"][0]
    assert second["person"]["name"] == "张三"
    assert second["person"]["flags"] == ["is_elderly", "needs_medication"]


def test_list_filters(world, site_a):
    zhang = record(world.zhang)
    li = record(world.li, kind="dependent")
    care_request_close(request=li, outcome="ok", actor=site_a)
    CareRequest.objects.filter(pk=zhang.pk).update(due_at=timezone.now() - timedelta(minutes=10))
    client = client_for(site_a)

    def names(**params):
        return [i["person"]["name"] for i in client.get(BASE, params).json()["items"]]

    assert names(status="closed") == ["李四"] and names(where="home", status="all") == ["李四"]
    assert names(overdue="true") == ["张三"] and names(q="zhangsan") == ["张三"]
    item = client.get(BASE, {"overdue": "true"}).json()["items"][0]
    assert item["overdue"] is True and item["minutes_overdue"] >= 10


def test_list_bad_input_is_422_field_by_field(world, site_a):
    body = fields(client_for(site_a).get(BASE, {"kind": "massage", "status": "x", "page": "0", "page_size": "999"}))
    assert set(body) == {"kind", "status", "page", "page_size"}


def test_list_needs_the_care_capability(analyst):
    assert client_for(analyst).get(BASE).status_code == 403


def test_list_outsider_sees_nothing_of_town_a(world, site_b):
    record(world.zhang)
    assert client_for(site_b).get(BASE).json()["count"] == 0


# --- record --------------------------------------------------------------------------------------------

@override_settings(CARE_URGENT_HOURS=2)
def test_record(world, site_a):
    response = send(client_for(site_a), BASE, {"episode": world.zhang.pk, "kind": "medical_care",
                                              "detail": "胸闷气短", "urgent": True})
    assert response.status_code == 201, response.content
    body = response.json()
    care = CareRequest.objects.get()
    assert body["id"] == care.pk and body["kind"] == "medical_care" and body["created_by"] == "Site_A"
    assert care.due_at - care.created_at == timedelta(hours=2)
    assert AuditEvent.objects.filter(action="care.create", target_id=str(care.pk)).exists()


def test_record_bad_input(world, site_a):
    client = client_for(site_a)
    assert set(fields(send(client, BASE, {"episode": world.zhang.pk, "kind": "massage", "detail": " "}))) == {
        "kind", "detail"}
    assert set(fields(send(client, BASE, {"episode": "one", "kind": "medicine", "detail": "x", "extra": 1}))) == {
        "episode", "extra"}
    assert fields(send(client, BASE, "{not json"))
    response = send(client, BASE, {"episode": world.sun.pk, "kind": "medicine", "detail": "x"})  # not held
    assert "in custody or on the way" in fields(response)[None]
    assert not CareRequest.objects.exists()


def test_record_outsider_404_and_role_403(world, site_b, analyst):
    response = send(client_for(site_b), BASE, {"episode": world.zhang.pk, "kind": "medicine", "detail": "x"})
    assert response.status_code == 404 and response.json() == {"detail": "No such episode."}
    response = send(client_for(analyst), BASE, {"episode": world.zhang.pk, "kind": "medicine", "detail": "x"})
    assert response.status_code == 403
    assert not CareRequest.objects.exists()


# --- one, close ----------------------------------------------------------------------------------------

def test_detail(world, site_a, site_b):
    care = record(world.zhang)
    assert client_for(site_a).get(f"{BASE}/{care.pk}").json()["detail"] == "降压药"
    response = client_for(site_b).get(f"{BASE}/{care.pk}")
    assert response.status_code == 404 and response.json() == {"detail": "No such care request."}
    assert client_for(site_a).get(f"{BASE}/999999").status_code == 404


def test_close(world, site_a, community_worker):
    care = record(world.zhang)
    client = client_for(site_a)
    assert set(fields(send(client, f"{BASE}/{care.pk}/close", {"outcome": "  "}))) == {"outcome"}
    assert set(fields(send(client, f"{BASE}/{care.pk}/close", {}))) == {"outcome"}
    response = send(client, f"{BASE}/{care.pk}/close", {"outcome": "已送药"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "closed" and response.json()["outcome"] == "已送药"
    again = send(client_for(community_worker), f"{BASE}/{care.pk}/close", {"outcome": "我也送了"})
    assert again.status_code == 409 and "closed already" in again.json()["detail"]
    assert CareRequest.objects.get(pk=care.pk).outcome == "已送药"


def test_close_outsider_and_wrong_method(world, site_b, site_a):
    care = record(world.zhang)
    assert send(client_for(site_b), f"{BASE}/{care.pk}/close", {"outcome": "x"}).status_code == 404
    assert client_for(site_a).get(f"{BASE}/{care.pk}/close").status_code == 405
    assert client_for(site_a).delete(f"{BASE}/{care.pk}").status_code == 405
    assert CareRequest.objects.get(pk=care.pk).status == "open"


def test_list_query_count_is_pinned(world, site_a, django_assert_max_num_queries):
    client = client_for(site_a)
    record(world.zhang)
    client.get(BASE)
    with django_assert_max_num_queries(5) as few:  # session, user, jurisdictions, count, page
        assert client.get(BASE).status_code == 200
    for i in range(10):
        record(world.wang if i % 2 else world.zhang, kind="other")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(BASE).json()["count"] == 11
