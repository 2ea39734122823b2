"""The out-of-city registry's API: /api/v1/transfers/headline, /away, /away/{id}, /away/{id}/report."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from closedloop.core.models import AuditEvent
from tests.transfers import away_support as sup
from tests.transfers.away_support import NB_SITE, client_for, import_rows, record_of, resident_id, row

transfer_desk = sup.transfer_desk  # a shared fixture
BASE = "/api/v1/transfers"


@pytest.fixture
def three(tmp_path, city, town_a, town_b, hangzhou_site, ningbo_site, transfer_desk):
    today = timezone.localdate()
    import_rows(tmp_path, [
        row(1, "张伟", status="已解除", release=(today - timedelta(days=1)).isoformat()),
        row(2, "李娜", release=(today + timedelta(days=1)).isoformat(), site=NB_SITE, city="宁波市"),
        row(3, "王芳", release=(today + timedelta(days=5)).isoformat(), town="北苑街道", status="阳性"),
    ], actor=transfer_desk)
    return {n: record_of(n) for n in ("张伟", "李娜", "王芳")}


def send(client, path, body):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json")


def fields(response) -> dict:
    assert response.status_code == 422, response.content
    return {e["field"]: e["message"] for e in response.json()["detail"]}


def test_the_headline(three, commander, site_b, town_b):
    body = client_for(commander).get(f"{BASE}/headline").json()
    assert body["all"] == {"total": 3, "now": 1, "tomorrow": 1, "later": 0, "unknown": 0, "positive": 1,
                           "on_the_way": 0}
    assert [(c["city"], c["total"]) for c in body["cities"]] == [("宁波市", 1), ("杭州市", 2)]
    assert body["sites"][1]["travel_minutes"] == 120 and body["plan"] is None
    assert body["today"] == timezone.localdate().isoformat()
    outsider = client_for(site_b).get(f"{BASE}/headline").json()
    assert outsider["all"]["total"] == 1 and [t["town_id"] for t in outsider["towns"]] == [town_b.pk]


def test_the_headline_needs_people_and_get(three, materials_clerk, commander):
    assert client_for(materials_clerk).get(f"{BASE}/headline").status_code == 403
    assert client_for(commander).post(f"{BASE}/headline").status_code == 405


def test_the_list_is_scoped_filtered_masked_and_paginated(three, commander, site_b):
    client = client_for(commander)
    body = client.get(f"{BASE}/away", {"page_size": "2"}).json()
    assert (body["count"], body["page"], body["page_size"]) == (3, 1, 2)
    first = body["items"][0]
    assert first["person"]["name"] == "张伟" and first["readiness"] == "now" and first["status"] == "released"
    assert first["person"]["doc_number_masked"].startswith("330782") and "*" in first["person"]["doc_number_masked"]
    assert "doc_number" not in first["person"] and first["origin"]["city"] == "杭州市"
    assert first["held_by"] == "杭州市萧山区集中隔离点" and first["home_town_code"] == "330782001"
    assert [i["person"]["name"] for i in client.get(f"{BASE}/away", {"page_size": "2", "page": "2"}).json()["items"]] \
        == ["王芳"]

    def names(user=commander, **params):
        return [i["person"]["name"] for i in client_for(user).get(f"{BASE}/away", params).json()["items"]]

    assert names(readiness="positive") == ["王芳"] and names(city="宁波市") == ["李娜"]
    assert names(q=resident_id(2)) == ["李娜"] and names(sort="-name") == ["张伟", "王芳", "李娜"]
    assert names(site_b) == ["王芳"]


def test_the_list_says_what_is_wrong_with_its_input(three, commander):
    body = fields(client_for(commander).get(f"{BASE}/away", {"readiness": "soon", "status": "x", "site": "a",
                                                             "sort": "age", "page": "0", "page_size": "999"}))
    assert set(body) == {"readiness", "status", "site", "sort", "page", "page_size"}


def test_one_record_and_outsiders(three, commander, site_b):
    pk = three["张伟"].pk
    assert client_for(commander).get(f"{BASE}/away/{pk}").json()["id"] == pk
    response = client_for(site_b).get(f"{BASE}/away/{pk}")
    assert response.status_code == 404 and response.json() == {"detail": "No such resident out of the city."}


def test_a_report(three, transfer_desk, ningbo_site):
    li = three["李娜"]
    response = send(client_for(transfer_desk), f"{BASE}/away/{li.pk}/report",
                    {"status": "released", "release_on": timezone.localdate().isoformat(), "note": "宁波通报"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["readiness"], body["release_on"]) == ("released", "now",
                                                                        timezone.localdate().isoformat())
    assert AuditEvent.objects.get(action="away.report").reason == "宁波通报"
    zhang = three["张伟"]
    moved = send(client_for(transfer_desk), f"{BASE}/away/{zhang.pk}/report", {"status": "moved",
                                                                               "origin": ningbo_site.pk}).json()
    assert moved["origin"]["id"] == ningbo_site.pk and moved["held_by"] == ningbo_site.name


def test_a_bad_report_is_422_field_by_field(three, transfer_desk, city):
    url = f"{BASE}/away/{three['张伟'].pk}/report"
    client = client_for(transfer_desk)
    assert set(fields(send(client, url, {"status": "released", "colour": "red"}))) == {"colour"}
    assert set(fields(send(client, url, {"status": 5}))) == {"status"}
    assert set(fields(send(client, url, {"status": "moved"}))) == {"origin"}
    assert set(fields(send(client, url, {"status": "moved", "origin": 999999}))) == {"origin"}
    assert set(fields(send(client, url, {"status": "home"}))) == {"status"}
    assert set(fields(send(client, url, "not json"))) == {None}
    assert not AuditEvent.objects.filter(action="away.report").exists()


def test_reports_refuse_roles_outsiders_and_other_methods(three, analyst, site_b, transfer_desk):
    url = f"{BASE}/away/{three['张伟'].pk}/report"
    assert send(client_for(analyst), url, {"status": "released"}).status_code == 403
    assert send(client_for(site_b), url, {"status": "released"}).status_code == 404
    assert client_for(transfer_desk).get(url).status_code == 405
    assert record_of("张伟").status == "released" and not AuditEvent.objects.filter(action="away.report").exists()
