"""The transfer board, making and adopting a plan from the page, re-planning, one plan, the plans list."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from closedloop.core.models import AuditEvent
from closedloop.transfers import plan_api, plan_views
from closedloop.transfers.actions import plan_adopt, plan_make
from closedloop.transfers.models import TransferPlan, Trip
from tests.transfers.plan_helpers import away, board, client_for, world

BOARD = "/transfers/plans/"


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setattr(plan_views, "TIME_LIMIT", 0.3)
    monkeypatch.setattr(plan_api, "TIME_LIMIT", 0.3)


@pytest.fixture
def people(person_factory, hangzhou_site, ningbo_site, community_b1, fleet):
    """The nine of ``world``; plans are made now (the pages make plans from the clock)."""
    return world(person_factory, hangzhou_site, ningbo_site, community_b1)


@pytest.fixture
def adopted(people, city, commander):
    return plan_adopt(plan=plan_make(city=city, actor=commander, time_limit=0.3), actor=commander)


def figure(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*data-count="(\d+)"', html)
    assert match, element_id
    return match.group(1)


def legs(html: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-leg="(\w+)" data-count="(\d+)"', html)}


# --- the board ---------------------------------------------------------------------------------------

def test_the_board_without_a_plan_offers_to_make_one(people, commander):
    response = client_for(commander).get(BOARD)
    assert response.status_code == 200
    html = response.content.decode()
    assert figure(html, "board-still-out") == "9"
    assert 'id="no-plan"' in html and 'id="make-button"' in html and 'id="timeline"' not in html


def test_the_board_shows_the_adopted_plan(adopted, commander, people, city):
    adopted.refresh_from_db()
    html = client_for(commander).get(BOARD).content.decode()
    assert figure(html, "board-still-out") == "9"
    last_home = adopted.epoch + timedelta(minutes=adopted.makespan)
    bound = adopted.epoch + timedelta(minutes=adopted.lower_bound)
    assert f'data-at="{timezone.localtime(last_home).isoformat()}"' in html
    assert f"no plan can finish before {timezone.localtime(bound):%Y-%m-%d %H:%M}" in html
    assert legs(html) == {"at_origin": 9, "on_coach": 0, "at_station": 0, "on_shuttle": 0, "home": 0}
    # The timeline: three coaches, two lanes, three shuttles (two for town A, one for town B), bars per trip.
    assert len(re.findall(r'class="tl-row coach"', html)) == 3
    assert len(re.findall(r'class="tl-row lane"', html)) == 2
    assert len(re.findall(r'class="tl-row shuttle"', html)) == 3
    trips = Trip.objects.filter(plan=adopted)
    for trip in trips:
        assert f'href="/transfers/plans/trips/{trip.pk}/manifest/" data-trip="{trip.pk}" data-state="planned"' in html
    planned = re.search(r'data-state="planned"><td>[^<]+</td><td class="num" data-kind="coach">(\d+)</td>'
                        r'<td class="num" data-kind="shuttle">(\d+)</td>', html)
    assert planned.groups() == (str(trips.filter(kind="coach").count()), str(trips.filter(kind="shuttle").count()))
    origins = dict(re.findall(r'data-origin="([\w-]+)">.*?data-col="people">(\d+)<', html, re.S))
    assert origins == {"away-hz": "6", "away-nb": "3"}
    assert f'data-plan="{adopted.pk}" data-status="adopted"' in html


def test_the_board_follows_people_along_their_legs(adopted, commander):
    coach = Trip.objects.filter(plan=adopted, kind="coach").order_by("depart_at").first()
    board(coach, commander)
    html = client_for(commander).get(BOARD).content.decode()
    aboard = coach.passengers.count()
    assert legs(html)["on_coach"] == aboard and legs(html)["at_origin"] == 9 - aboard
    assert f'data-trip="{coach.pk}" data-state="under_way"' in html


def test_the_board_is_headquarters_only(adopted, site_a, site_b, community_worker, materials_clerk, analyst, client):
    for outsider in (site_a, site_b, community_worker):
        assert client_for(outsider).get(BOARD).status_code == 404
    assert client_for(materials_clerk).get(BOARD).status_code == 403
    html = client_for(analyst).get(BOARD).content.decode()  # reads, but may not plan
    assert 'id="board-legs"' in html and 'id="make-button"' not in html
    assert client.get(BOARD).status_code == 302
    assert client_for(analyst).post(BOARD).status_code == 405


def test_the_board_reads_in_a_fixed_number_of_queries(adopted, commander, person_factory, hangzhou_site, city,
                                                      community_b1):
    client = client_for(commander)
    client.get(BOARD)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(BOARD).status_code == 200
        return len(ctx.captured_queries)

    small = count()
    for i in range(12):
        away(person_factory, hangzhou_site, f"新{i}", status="released", home=community_b1 if i % 2 else None)
    plan_adopt(plan=plan_make(city=city, actor=commander, time_limit=0.3), actor=commander)
    # session, user, scope; the adopted plan, recent plans, still out, legs, trips by state, origin names,
    # the timeline's trips and towns.
    assert count() == small <= 11


# --- making and adopting from the pages -----------------------------------------------------------------

def test_making_a_plan_from_the_board_shows_the_draft_beside_the_adopted_one(adopted, commander, person_factory,
                                                                             hangzhou_site):
    away(person_factory, hangzhou_site, "孙八", status="positive")
    client = client_for(commander)
    response = client.post("/transfers/plans/make/", {"note": "下午再排一次"})
    draft = TransferPlan.objects.get(status="draft")
    assert response.status_code == 302 and response["Location"] == f"/transfers/plans/{draft.pk}/"
    assert draft.note == "下午再排一次"
    html = client.get(response["Location"]).content.decode()
    assert f"Adopted plan #{adopted.pk}" in html and 'id="adopt-button"' in html
    assert "孙八" in html and "Tested positive there." in html  # who could not be planned, and why
    response = client.post(f"/transfers/plans/{draft.pk}/adopt/")
    assert response.status_code == 302 and response["Location"] == BOARD
    adopted.refresh_from_db()
    draft.refresh_from_db()
    assert (adopted.status, draft.status) == ("superseded", "adopted")
    assert client.post(f"/transfers/plans/{draft.pk}/adopt/").status_code == 409  # no longer a draft


def test_making_a_plan_when_no_one_can_be_planned_says_why(person_factory, hangzhou_site, fleet, commander):
    away(person_factory, hangzhou_site, "孙八", status="positive")
    response = client_for(commander).post("/transfers/plans/make/", {"note": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="nothing-to-plan"' in html and "1 person out there cannot be planned" in html and "孙八" in html
    assert not TransferPlan.objects.exists()


def test_a_long_list_of_who_cannot_be_planned_is_counted_by_reason(people, person_factory, hangzhou_site, city,
                                                                   commander, monkeypatch):
    from closedloop.transfers import plan_selectors

    monkeypatch.setattr(plan_selectors, "UNPLANNED_SHOWN", 1)
    away(person_factory, hangzhou_site, "孙八", status="positive")
    away(person_factory, hangzhou_site, "周九", release_on=None)
    away(person_factory, hangzhou_site, "吴十", status="positive")
    draft = plan_make(city=city, actor=commander, time_limit=0.3)
    html = client_for(commander).get(f"/transfers/plans/{draft.pk}/").content.decode()
    assert "3 people cannot be planned" in html and "The first 1 are listed; 2 more are counted above." in html
    reasons = html[html.index('id="unplanned-reasons"'):]
    assert "Tested positive there. <strong>2</strong>" in reasons
    assert "The other city has not said when they are released. <strong>1</strong>" in reasons


def test_making_and_adopting_need_headquarters(people, analyst, site_b, commander, city):
    assert client_for(analyst).post("/transfers/plans/make/").status_code == 403
    assert client_for(site_b).post("/transfers/plans/make/").status_code == 404
    assert client_for(commander).get("/transfers/plans/make/").status_code == 405
    assert client_for(commander).post("/transfers/plans/make/", {"note": "x" * 201}).status_code == 400
    draft = plan_make(city=city, actor=commander, time_limit=0.3)
    assert client_for(analyst).post(f"/transfers/plans/{draft.pk}/adopt/").status_code == 403
    assert client_for(site_b).post(f"/transfers/plans/{draft.pk}/adopt/").status_code == 404
    assert client_for(site_b).get(f"/transfers/plans/{draft.pk}/").status_code == 404
    assert client_for(analyst).get(f"/transfers/plans/{draft.pk}/").status_code == 200
    assert client_for(commander).get("/transfers/plans/999999/").status_code == 404
    draft.refresh_from_db()
    assert draft.status == "draft" and not AuditEvent.objects.filter(action="transfer_plan.adopt").exists()


def test_adopting_from_scratch_while_people_are_on_the_way_is_refused_on_the_page(adopted, commander, city):
    board(Trip.objects.filter(plan=adopted, kind="coach").first(), commander)
    draft = plan_make(city=city, actor=commander, time_limit=0.3)
    response = client_for(commander).post(f"/transfers/plans/{draft.pk}/adopt/")
    assert response.status_code == 400 and "on their way home" in response.content.decode()


# --- re-planning from the page ---------------------------------------------------------------------------

def test_re_planning_a_coach_out_of_service_from_the_plan_page(adopted, commander):
    client = client_for(commander)
    html = client.get(f"/transfers/plans/{adopted.pk}/").content.decode()
    assert 'id="replan-coach-out"' in html and 'id="replan-not-ready"' in html
    out_from = timezone.localtime(adopted.epoch + timedelta(hours=30))
    response = client.post(f"/transfers/plans/{adopted.pk}/replan/", {
        "change": "coach_out", "coach": "3", "out_from": f"{out_from:%Y-%m-%dT%H:%M}", "note": "3号车故障"})
    draft = TransferPlan.objects.get(replaces=adopted)
    assert response.status_code == 302 and response["Location"] == f"/transfers/plans/{draft.pk}/"
    assert draft.note == "3号车故障" and draft.status == "draft"


def test_re_planning_a_household_not_ready_and_bad_input(adopted, commander, people):
    client = client_for(commander)
    group = adopted.instance["origins"][0]["groups"][0]["id"]
    html = client.get(f"/transfers/plans/{adopted.pk}/").content.decode()
    assert f'<option value="{group}">' in html
    ready = timezone.localtime(timezone.now() + timedelta(hours=5))
    response = client.post(f"/transfers/plans/{adopted.pk}/replan/", {
        "change": "not_ready", "group": group, "ready_at": f"{ready:%Y-%m-%dT%H:%M}"})
    assert response.status_code == 302
    response = client.post(f"/transfers/plans/{adopted.pk}/replan/", {
        "change": "not_ready", "group": "o999-p1", "ready_at": f"{ready:%Y-%m-%dT%H:%M}"})
    assert response.status_code == 400 and "There is no household group o999-p1" in response.content.decode()
    response = client.post(f"/transfers/plans/{adopted.pk}/replan/", {"change": "coach_out", "coach": "0"})
    assert response.status_code == 400
    assert client.post(f"/transfers/plans/{adopted.pk}/replan/", {"change": "flood"}).status_code == 400
    assert TransferPlan.objects.filter(replaces=adopted).count() == 1


# --- the plan page, the list, the files -------------------------------------------------------------------

def test_the_plan_page_and_its_files(adopted, commander):
    client = client_for(commander)
    html = client.get(f"/transfers/plans/{adopted.pk}/").content.decode()
    assert 'id="timeline"' in html and 'id="per-origin"' in html and 'data-status="adopted"' in html
    body = json.loads(client.get(f"/transfers/plans/{adopted.pk}/plan.json").content)
    assert body["makespan"] == adopted.makespan
    instance = client.get(f"/transfers/plans/{adopted.pk}/instance.json").json()
    assert instance["format"] == "closedloop.returns-instance/1"
    assert client.get(f"/transfers/plans/{adopted.pk}/other.json").status_code == 404


def test_the_plans_list_is_paginated(adopted, commander, city, settings):
    settings.PAGE_SIZE = 1
    plan_make(city=city, actor=commander, time_limit=0.3)
    client = client_for(commander)
    html = client.get("/transfers/plans/all/").content.decode()
    assert len(re.findall(r'data-plan="\d+" data-status=', html)) == 1 and "page 1 of 2" in html
    html = client.get("/transfers/plans/all/?page=2").content.decode()
    assert f'data-plan="{adopted.pk}" data-status="adopted"' in html


def test_re_planning_the_people_of_a_cancelled_trip_from_the_plan_page(adopted, commander):
    from closedloop.transfers.actions import trip_cancel

    client = client_for(commander)
    assert 'id="replan-called-off"' not in client.get(f"/transfers/plans/{adopted.pk}/").content.decode()
    trip_cancel(trip=Trip.objects.filter(plan=adopted, kind="coach").first(), reason="车辆故障", actor=commander)
    assert 'id="replan-called-off"' in client.get(f"/transfers/plans/{adopted.pk}/").content.decode()
    response = client.post(f"/transfers/plans/{adopted.pk}/replan/", {"change": "called_off"})
    draft = TransferPlan.objects.get(replaces=adopted)
    assert response.status_code == 302 and response["Location"] == f"/transfers/plans/{draft.pk}/"
