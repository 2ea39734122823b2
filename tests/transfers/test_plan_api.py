"""The transfer-plan API: /api/v1/transfers/plans (list, make, one, adopt, re-plan, the current timeline)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from closedloop.transfers import plan_api
from closedloop.transfers.actions import plan_adopt, plan_make
from closedloop.transfers.models import TransferPlan, Trip
from tests.transfers.plan_helpers import away, client_for, world

BASE = "/api/v1/transfers/plans"


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setattr(plan_api, "TIME_LIMIT", 0.3)


@pytest.fixture
def people(person_factory, hangzhou_site, ningbo_site, community_b1, fleet):
    return world(person_factory, hangzhou_site, ningbo_site, community_b1)


@pytest.fixture
def adopted(people, city, commander):
    return plan_adopt(plan=plan_make(city=city, actor=commander, time_limit=0.3), actor=commander)


def send(client, path, body=None):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body or {})
    return client.post(path, data=data, content_type="application/json")


def fields(response) -> dict:
    assert response.status_code == 422, response.content
    return {e["field"]: e["message"] for e in response.json()["detail"]}


def test_make_returns_the_draft_with_its_figures(people, commander, city, person_factory, hangzhou_site):
    away(person_factory, hangzhou_site, "孙八", status="positive")
    response = send(client_for(commander), BASE, {"note": "API"})
    assert response.status_code == 201, response.content
    body = response.json()
    plan = TransferPlan.objects.get()
    assert body["id"] == plan.pk and body["status"] == "draft" and body["people"] == 9 and body["groups"] == 7
    assert body["city"]["code"] == city.code and body["note"] == "API"
    assert body["makespan"] == plan.makespan and body["lower_bound"] == plan.lower_bound
    last_home = datetime.fromisoformat(body["last_home_at"].replace("Z", "+00:00"))
    assert last_home == plan.epoch + timedelta(minutes=plan.makespan)
    assert body["cannot_plan"] == [{"name": "孙八", "site": hangzhou_site.name, "reason": "Tested positive there."}]
    assert body["cannot_plan_count"] == 1


def test_make_refusals(people, analyst, site_b, commander, city, fleet):
    assert send(client_for(analyst), BASE).status_code == 403
    assert send(client_for(site_b), BASE).status_code == 404
    assert send(client_for(commander), BASE, {"city": "999"}).status_code == 404
    assert set(fields(send(client_for(commander), BASE, {"note": 5}))) == {"note"}
    assert set(fields(send(client_for(commander), BASE, {"nite": ""}))) == {"nite"}
    assert client_for(commander).put(BASE).status_code == 405
    assert not TransferPlan.objects.exists()


def test_make_with_no_one_to_plan_is_409_with_the_reasons(person_factory, hangzhou_site, fleet, commander):
    away(person_factory, hangzhou_site, "孙八", status="positive")
    response = send(client_for(commander), BASE)
    assert response.status_code == 409
    assert response.json()["cannot_plan"][0]["name"] == "孙八"


def test_adopt_creates_the_trips_and_a_second_adopt_is_409(people, commander, city, site_b, analyst):
    draft = plan_make(city=city, actor=commander, time_limit=0.3)
    assert send(client_for(site_b), f"{BASE}/{draft.pk}/adopt").status_code == 404
    assert send(client_for(analyst), f"{BASE}/{draft.pk}/adopt").status_code == 403
    response = send(client_for(commander), f"{BASE}/{draft.pk}/adopt")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "adopted"
    assert len(body["trips"]) == Trip.objects.filter(plan=draft).count() == body["coach_trips"] + body["shuttle_trips"]
    trip = body["trips"][0]
    assert trip["manifest"] == f"/transfers/plans/trips/{trip['id']}/manifest/" and trip["state"] == "planned"
    assert sum(t["people"] for t in body["trips"] if t["kind"] == "coach") == 9
    assert {o["code"]: o["people"] for o in body["origins"]} == {"away-hz": 6, "away-nb": 3}
    assert send(client_for(commander), f"{BASE}/{draft.pk}/adopt").status_code == 409
    assert send(client_for(commander), f"{BASE}/999999/adopt").status_code == 404


def test_one_plan_and_the_list(adopted, commander, site_b, settings):
    body = client_for(commander).get(f"{BASE}/{adopted.pk}").json()
    assert body["id"] == adopted.pk and body["trips"] and body["cannot_plan"] == []
    assert client_for(site_b).get(f"{BASE}/{adopted.pk}").status_code == 404
    settings.PAGE_SIZE = 1
    page = client_for(commander).get(BASE).json()
    assert (page["count"], page["page"], page["page_size"]) == (1, 1, 1) and page["items"][0]["id"] == adopted.pk
    assert set(fields(client_for(commander).get(BASE, {"page": "0"}))) == {"page"}


def test_the_current_timeline(adopted, commander, analyst, site_b, city, people):
    response = client_for(analyst).get(f"{BASE}/current/timeline")
    assert response.status_code == 200
    body = response.json()
    assert body["plan"] == adopted.pk
    sections = [r["section"] for r in body["rows"]]
    assert sections.count("coach") == 3 and sections.count("lane") == 2 and sections.count("shuttle") == 3
    bars = [b for r in body["rows"] if r["section"] != "lane" for b in r["bars"]]
    assert sorted(b["trip"] for b in bars) == sorted(Trip.objects.filter(plan=adopted).values_list("pk", flat=True))
    assert all(b["start"] < b["end"] for r in body["rows"] for b in r["bars"])
    assert client_for(site_b).get(f"{BASE}/current/timeline").status_code == 404


def test_no_timeline_without_an_adopted_plan(people, commander):
    response = client_for(commander).get(f"{BASE}/current/timeline")
    assert response.status_code == 404 and response.json()["detail"] == "No return plan is adopted yet."


def test_replan_returns_a_draft_and_refuses_bad_input(adopted, commander, analyst):
    out_from = (adopted.epoch + timedelta(hours=30)).isoformat()
    response = send(client_for(commander), f"{BASE}/{adopted.pk}/replan",
                    {"coach_out": [{"coach": 3, "out_from": out_from}], "note": "故障"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["replaces"] == adopted.pk and body["status"] == "draft"
    group = adopted.instance["origins"][0]["groups"][0]["id"]
    later = timezone.localtime(timezone.now() + timedelta(hours=3)).replace(tzinfo=None).isoformat(timespec="minutes")
    assert send(client_for(commander), f"{BASE}/{adopted.pk}/replan",
                {"not_ready": [{"group": group, "ready_at": later}]}).status_code == 201
    assert set(fields(send(client_for(commander), f"{BASE}/{adopted.pk}/replan",
                           {"coach_out": [{"coach": 0, "out_from": out_from}]}))) == {"coach_out"}
    assert "There is no coach 9" in str(fields(send(client_for(commander), f"{BASE}/{adopted.pk}/replan",
                                                    {"coach_out": [{"coach": 9, "out_from": out_from}]})))
    assert set(fields(send(client_for(commander), f"{BASE}/{adopted.pk}/replan", {}))) == {None}
    assert send(client_for(analyst), f"{BASE}/{adopted.pk}/replan",
                {"coach_out": [{"coach": 3, "out_from": out_from}]}).status_code == 403
    assert TransferPlan.objects.filter(replaces=adopted).count() == 2
