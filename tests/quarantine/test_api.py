"""The closed loop's JSON API: /api/v1/loop (episodes, custody actions, custodians, lost in transit)."""

from __future__ import annotations

import json
import threading
from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from closedloop.core.actions import api_token_create, jurisdiction_create, user_create
from closedloop.core.models import AuditEvent
from closedloop.core.roles import Role
from closedloop.quarantine import states
from closedloop.quarantine.actions import (
    custodian_create,
    episode_open,
    episode_place,
    handover_give,
    handover_receive,
)
from closedloop.quarantine.models import CustodyEvent, Episode

BASE = "/api/v1/loop"


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def send(client: Client, path: str, body=None, **extra):
    """POST a JSON body (a dict), raw text or bytes, or an empty body."""
    if body is None:
        body = b""
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json", **extra)


def fields(response) -> dict:
    assert response.status_code == 422, response.content
    return {e["field"]: e["message"] for e in response.json()["detail"]}


def later(hours=2) -> str:
    return (timezone.localtime() + timedelta(hours=hours)).isoformat()


def fresh(episode) -> Episode:
    return Episode.objects.get(pk=episode.pk)


@pytest.fixture
def loop(person_factory, community_a2, community_b1, site_a_custodian, site_b_custodian, bus):
    """张三 (A1, placed at site A), 李四 (A2, awaiting), 赵六 (town B, placed at site B)."""
    zhang = person_factory("张三", phone="13812345678")
    li = person_factory("李四", community=community_a2, female=True)
    zhao = person_factory("赵六", community=community_b1)
    e_zhang = episode_open(person=zhang, category="close_contact", anchor_date=date(2022, 8, 3), actor=None)
    e_li = episode_open(person=li, category="inbound", anchor_date=date(2022, 8, 5), actor=None)
    e_zhao = episode_open(person=zhao, category="close_contact", anchor_date=date(2022, 8, 4), actor=None)
    episode_place(episode=e_zhang, custodian=site_a_custodian, placed_on=date(2022, 8, 4), actor=None)
    episode_place(episode=e_zhao, custodian=site_b_custodian, placed_on=date(2022, 8, 4), actor=None)
    return {"zhang": fresh(e_zhang), "li": fresh(e_li), "zhao": fresh(e_zhao), "people": (zhang, li, zhao)}


# --- list --------------------------------------------------------------------------------------

def test_list_is_scoped_masked_and_paginated(site_a, site_b, loop):
    response = client_for(site_a).get(f"{BASE}/episodes")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["count"], body["page"], body["page_size"]) == (2, 1, 50)
    by_name = {item["person"]["name"]: item for item in body["items"]}
    assert set(by_name) == {"张三", "李四"}  # not 赵六 of town B
    zhang, li = by_name["张三"], by_name["李四"]
    person = loop["people"][0]
    assert zhang["person"]["doc_number_masked"] == person.doc_number_masked and "*" in person.doc_number_masked
    assert zhang["person"]["phone_masked"] == "138****5678"
    text = response.content.decode()
    assert person.doc_number not in text and "13812345678" not in text
    assert "doc_number" not in zhang["person"] and "phone" not in zhang["person"]
    assert (zhang["state"], zhang["state_label"], zhang["status"]) == ("in_custody", "In custody", "open")
    assert zhang["custodian"]["code"] == "site-a" and zhang["pending_custodian"] is None
    assert zhang["protocol"]["code"] == "cn-9-close-contact" and zhang["release_on"] == "2022-08-13"
    assert (zhang["category"], zhang["category_label"]) == ("close_contact", "Close contact")
    assert zhang["placed_on"] == "2022-08-04" and zhang["version"] == 1
    assert li["state"] == "awaiting" and li["custodian"] is None and li["protocol"] is None

    outsider = client_for(site_b).get(f"{BASE}/episodes").json()
    assert [i["person"]["name"] for i in outsider["items"]] == ["赵六"]

    page2 = client_for(site_a).get(f"{BASE}/episodes", {"page_size": 1, "page": 2}).json()
    page1 = client_for(site_a).get(f"{BASE}/episodes", {"page_size": 1}).json()
    assert page1["count"] == page2["count"] == 2 and len(page1["items"]) == len(page2["items"]) == 1
    assert {page1["items"][0]["id"], page2["items"][0]["id"]} == {loop["zhang"].pk, loop["li"].pk}


def test_list_filters(commander, loop, bus, site_a_custodian):
    handover_give(episode=loop["zhang"], to_custodian=bus, expected_by=timezone.now() + timedelta(hours=1),
                  actor=None)
    client = client_for(commander)

    def names(**params):
        response = client.get(f"{BASE}/episodes", params)
        assert response.status_code == 200, response.content
        return {i["person"]["name"] for i in response.json()["items"]}

    assert names() == {"张三", "李四", "赵六"}
    assert names(category="close_contact") == {"张三", "赵六"}
    assert names(category="密接") == {"张三", "赵六"}  # a clerk's label works too
    assert names(state="awaiting") == {"李四"}
    assert names(state="in_transit") == {"张三"}
    assert names(custodian="site-a") == {"张三"}  # the giver answers until the bus confirms
    assert names(custodian=str(site_a_custodian.pk)) == {"张三"}
    assert names(custodian="site-b") == {"赵六"}
    assert names(release_due="2022-08-13") == {"张三"}
    assert names(release_due="2022-08-14") == {"赵六"}
    assert names(release_due="2022-08-12") == set()
    assert names(category="close_contact", state="in_custody") == {"赵六"}


def test_list_bad_parameters_are_422_with_field_messages(site_a, loop):
    errors = fields(client_for(site_a).get(f"{BASE}/episodes", {
        "category": "tourist", "state": "lost", "custodian": "nowhere", "release_due": "13/08/2022",
        "page": "0", "page_size": "500",
    }))
    assert set(errors) == {"category", "state", "custodian", "release_due", "page", "page_size"}
    assert "close_contact" in errors["category"]
    assert "in_transit" in errors["state"]
    assert "nowhere" in errors["custodian"]
    assert "2022-08-03" in errors["release_due"]
    assert "200" in errors["page_size"]


def test_list_of_a_custodian_of_another_city_is_422(site_a, loop, town_a):
    other_city = jurisdiction_create(code="330783", name="东阳市", name_en="Dongyang", level="city", actor=None)
    custodian_create(kind="isolation_site", name="东阳隔离点", code="dy-1", city=other_city, actor=None)
    assert set(fields(client_for(site_a).get(f"{BASE}/episodes", {"custodian": "dy-1"}))) == {"custodian"}


def test_list_needs_the_view_capability(materials_clerk, loop):
    response = client_for(materials_clerk).get(f"{BASE}/episodes")
    assert response.status_code == 403 and response.json()["detail"]


def test_list_query_count_is_pinned(site_a, person_factory, town_a, site_a_custodian, bus):
    client = client_for(site_a)
    client.get(f"{BASE}/episodes")  # warm up: session, content types

    def queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"{BASE}/episodes")
        assert response.status_code == 200
        return len(ctx.captured_queries), response.json()["count"]

    def add(n: int, prefix: str) -> None:
        for i in range(n):
            episode = episode_open(person=person_factory(f"{prefix}{i}"), category="close_contact",
                                   anchor_date=date(2022, 8, 3), actor=None)
            if i % 3:
                episode = episode_place(episode=episode, custodian=site_a_custodian, actor=None)
            if i % 3 == 2:
                handover_give(episode=episode, to_custodian=bus, expected_by=timezone.now() + timedelta(hours=1),
                              actor=None)

    add(3, "甲")
    few, count = queries()
    assert count == 3
    add(12, "乙")
    many, count = queries()
    assert count == 15
    # session + user + the user's jurisdictions + count + one page (person, places, custodians and
    # protocol come in the same query).
    assert few == many == 5


# --- detail ------------------------------------------------------------------------------------

def test_detail_has_the_schedule_and_the_ledger(site_a, loop):
    response = client_for(site_a).get(f"{BASE}/episodes/{loop['zhang'].pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["person"]["name"] == "张三" and body["state"] == "in_custody"
    schedule = body["schedule"]
    assert schedule["protocol"] == {"id": "cn-9-close-contact", "version": 1}
    assert (schedule["anchor"], schedule["placed_on"]) == ("2022-08-03", "2022-08-04")
    assert [(p["kind"], p["start"], p["end"]) for p in schedule["phases"]] == [
        ("centralized", "2022-08-03", "2022-08-09"), ("home_monitoring", "2022-08-10", "2022-08-12")]
    assert [t["date"] for t in schedule["tests"]] == [
        "2022-08-03", "2022-08-04", "2022-08-05", "2022-08-07", "2022-08-09", "2022-08-12"]
    assert schedule["tests"][0]["missed_before_control"] is True  # placed on day 2
    assert not any(t["missed_before_control"] for t in schedule["tests"][1:])
    assert schedule["health_checks"]["from"] == "2022-08-04" and schedule["health_checks"]["per_day"] == 2
    assert schedule["release_on"] == "2022-08-13" == body["release_on"]
    assert schedule["changed_on"] is None and schedule["previous_protocol"] is None
    [row] = body["ledger"]
    assert (row["seq"], row["kind"], row["kind_label"]) == (1, "place", "Placed under control")
    assert row["from_custodian"] is None and row["to_custodian"]["code"] == "site-a"
    assert row["actor_label"] == "system"


def test_detail_without_a_protocol_has_no_schedule(site_a, loop):
    body = client_for(site_a).get(f"{BASE}/episodes/{loop['li'].pk}").json()
    assert body["schedule"] is None and body["ledger"] == [] and body["state"] == "awaiting"


def test_detail_after_a_change_of_protocol(commander, person_factory, site_a_custodian):
    from closedloop.quarantine.actions.replan import replan_apply
    from closedloop.quarantine.models import Protocol

    episode = episode_open(person=person_factory("钱七"), category="close_contact", anchor_date=date(2022, 11, 8),
                           actor=None)
    episode_place(episode=episode, custodian=site_a_custodian, placed_on=date(2022, 11, 8), actor=None)
    new = Protocol.objects.get(code="cn-20m-close-contact")
    replan_apply(category="close_contact", protocol=new, today=date(2022, 11, 12), actor=commander,
                 reason="二十条")
    schedule = client_for(commander).get(f"{BASE}/episodes/{episode.pk}").json()["schedule"]
    assert schedule["protocol"]["id"] == "cn-20m-close-contact"
    assert schedule["previous_protocol"]["id"] == "cn-9-close-contact"
    assert schedule["changed_on"] == timezone.localdate().isoformat()
    assert [(p["kind"], p["end"]) for p in schedule["phases"]] == [
        ("centralized", "2022-11-12"), ("home_isolation", "2022-11-15")]


def test_detail_of_an_outsider_or_missing_episode_is_404(site_b, site_a, loop):
    response = client_for(site_b).get(f"{BASE}/episodes/{loop['zhang'].pk}")
    assert response.status_code == 404 and response.json() == {"detail": "No such episode."}
    assert client_for(site_a).get(f"{BASE}/episodes/999999").status_code == 404


# --- place ---------------------------------------------------------------------------------------

def test_place(site_a, loop):
    li = loop["li"]
    response = send(client_for(site_a), f"{BASE}/episodes/{li.pk}/place",
                    {"custodian": "site-a", "placed_on": "2022-08-06", "signed_by": "李医生", "version": 0})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "in_custody" and body["custodian"]["code"] == "site-a"
    assert body["protocol"]["code"] == "cn-9-inbound" and body["placed_on"] == "2022-08-06"
    assert body["release_on"] == "2022-08-15" and body["schedule"]["release_on"] == "2022-08-15"
    assert body["version"] == 1 and body["ledger"][0]["signatures"] == {"receiver": "李医生"}
    assert AuditEvent.objects.get(action="episode.place", target_id=str(li.pk)).actor == site_a


def test_place_by_custodian_id(site_a, loop, site_a_custodian):
    response = send(client_for(site_a), f"{BASE}/episodes/{loop['li'].pk}/place",
                    {"custodian": site_a_custodian.pk})
    assert response.status_code == 200, response.content
    assert response.json()["placed_on"] == timezone.localdate().isoformat()


def test_place_bad_input_changes_nothing(site_a, loop, town_a):
    client = client_for(site_a)
    url = f"{BASE}/episodes/{loop['li'].pk}/place"
    assert set(fields(send(client, url, {}))) == {"custodian"}
    assert set(fields(send(client, url))) == {"custodian"}  # no body at all
    assert fields(send(client, url, "{not json"))[None] == "The request body is not valid JSON."
    errors = fields(send(client, url, {"custodian": "site-a", "placed_on": "6 Aug", "custodain": "x"}))
    assert set(errors) == {"placed_on", "custodain"}
    assert "spelling" in errors["custodain"]
    assert "nowhere" in fields(send(client, url, {"custodian": "nowhere"}))["custodian"]
    assert set(fields(send(client, url, {"custodian": True}))) == {"custodian"}
    # Refused by the action: before the anchor date (5 Aug).
    errors = fields(send(client, url, {"custodian": "site-a", "placed_on": "2022-08-04"}))
    assert "before" in errors[None]
    # A custodian of another city is not known here.
    other_city = jurisdiction_create(code="330783", name="东阳市", name_en="Dongyang", level="city", actor=None)
    custodian_create(kind="isolation_site", name="东阳隔离点", code="dy-1", city=other_city, actor=None)
    assert set(fields(send(client, url, {"custodian": "dy-1"}))) == {"custodian"}
    # Placed twice: a refused transition.
    errors = fields(send(client, f"{BASE}/episodes/{loop['zhang'].pk}/place", {"custodian": "site-a"}))
    assert "In custody" in errors[None]
    assert fresh(loop["li"]).state == states.AWAITING and fresh(loop["zhang"]).version == 1
    assert not CustodyEvent.objects.filter(episode=loop["li"]).exists()


def test_place_refusals(analyst, site_b, loop):
    url = f"{BASE}/episodes/{loop['li'].pk}/place"
    response = send(client_for(analyst), url, {"custodian": "site-a"})
    assert response.status_code == 403
    assert "Place people under control" in response.json()["detail"]
    response = send(client_for(site_b), url, {"custodian": "site-b"})
    assert response.status_code == 404 and response.json() == {"detail": "No such episode."}
    assert fresh(loop["li"]).state == states.AWAITING


# --- give, receive, refuse ---------------------------------------------------------------------------

def test_give_then_receive(site_a, loop, bus):
    client = client_for(site_a)
    zhang = loop["zhang"]
    response = send(client, f"{BASE}/episodes/{zhang.pk}/give", {
        "to_custodian": "trip-1", "expected_by": later(), "signed_by": "李医生", "reason": "转居家", "version": 1})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "in_transit" and body["custodian"]["code"] == "site-a"
    assert body["pending_custodian"]["code"] == "trip-1" and body["expected_by"]
    assert body["ledger"][-1]["kind"] == "give" and body["ledger"][-1]["signatures"] == {"giver": "李医生"}
    assert body["ledger"][-1]["reason"] == "转居家"

    response = send(client, f"{BASE}/episodes/{zhang.pk}/receive")  # no body
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "in_custody" and body["custodian"]["code"] == "trip-1"
    assert body["pending_custodian"] is None and body["expected_by"] is None
    assert [row["kind"] for row in body["ledger"]] == ["place", "give", "receive"] and body["version"] == 3


def test_give_without_an_offset_is_local_time(site_a, loop):
    naive = (timezone.localtime() + timedelta(hours=3)).replace(tzinfo=None, microsecond=0)
    response = send(client_for(site_a), f"{BASE}/episodes/{loop['zhang'].pk}/give",
                    {"to_custodian": "trip-1", "expected_by": naive.isoformat()})
    assert response.status_code == 200, response.content
    stored = fresh(loop["zhang"]).expected_by
    assert timezone.localtime(stored).replace(tzinfo=None) == naive


def test_give_bad_input_changes_nothing(site_a, loop):
    client = client_for(site_a)
    url = f"{BASE}/episodes/{loop['zhang'].pk}/give"
    errors = fields(send(client, url, {"to_custodian": "trip-1", "expected_by": "tomorrow"}))
    assert set(errors) == {"expected_by"}
    assert set(fields(send(client, url, {"expected_by": later()}))) == {"to_custodian"}
    assert "nowhere" in fields(send(client, url, {"to_custodian": "nowhere", "expected_by": later()}))["to_custodian"]
    assert "later than now" in fields(send(client, url, {"to_custodian": "trip-1", "expected_by": later(-1)}))[None]
    assert "already holds" in fields(send(client, url, {"to_custodian": "site-a", "expected_by": later()}))[None]
    # Nobody holds 李四 yet: a refused transition.
    errors = fields(send(client, f"{BASE}/episodes/{loop['li'].pk}/give",
                         {"to_custodian": "trip-1", "expected_by": later()}))
    assert "Awaiting placement" in errors[None]
    assert fresh(loop["zhang"]).version == 1 and CustodyEvent.objects.filter(episode=loop["zhang"]).count() == 1


def test_receive_and_refuse_need_a_hand_over(site_a, loop):
    client = client_for(site_a)
    assert "In custody" in fields(send(client, f"{BASE}/episodes/{loop['zhang'].pk}/receive", {}))[None]
    assert "In custody" in fields(send(client, f"{BASE}/episodes/{loop['zhang'].pk}/refuse", {"reason": "x"}))[None]
    assert set(fields(send(client, f"{BASE}/episodes/{loop['zhang'].pk}/receive", {"signed": "x"}))) == {"signed"}
    assert fresh(loop["zhang"]).version == 1


def test_refuse_sends_the_person_back_with_the_reason(site_a, loop, bus):
    zhang = handover_give(episode=loop["zhang"], to_custodian=bus, expected_by=timezone.now() + timedelta(hours=1),
                          actor=site_a)
    client = client_for(site_a)
    url = f"{BASE}/episodes/{zhang.pk}/refuse"
    assert fields(send(client, url, {"reason": "  "})) == {"reason": "Say why the person is refused."}
    assert set(fields(send(client, url, {}))) == {"reason"}
    response = send(client, url, {"reason": "体温37.8℃，不符合上车条件", "version": 2})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "in_custody" and body["custodian"]["code"] == "site-a"
    assert body["ledger"][-1]["kind"] == "refuse" and body["ledger"][-1]["reason"] == "体温37.8℃，不符合上车条件"


def test_hand_overs_refused_to_outsiders_and_read_only_roles(site_b, analyst, loop, bus):
    zhang = handover_give(episode=loop["zhang"], to_custodian=bus, expected_by=timezone.now() + timedelta(hours=1),
                          actor=None)
    for action, body in (("receive", {}), ("refuse", {"reason": "x"})):
        response = send(client_for(site_b), f"{BASE}/episodes/{zhang.pk}/{action}", body)
        assert response.status_code == 404, action
        assert send(client_for(analyst), f"{BASE}/episodes/{zhang.pk}/{action}", body).status_code == 403
    response = send(client_for(site_b), f"{BASE}/episodes/{loop['zhao'].pk}/give",
                    {"to_custodian": "trip-1", "expected_by": later()})
    assert response.status_code == 200  # their own person
    response = send(client_for(site_b), f"{BASE}/episodes/{zhang.pk}/give",
                    {"to_custodian": "trip-1", "expected_by": later()})
    assert response.status_code == 404
    assert fresh(zhang).version == 2


# --- close ---------------------------------------------------------------------------------------------

def test_close_is_for_headquarters_with_a_reason(site_a, commander, site_b, loop):
    url = f"{BASE}/episodes/{loop['li'].pk}/close"
    response = send(client_for(site_a), url, {"reason": "重复登记"})
    assert response.status_code == 403
    assert "Close episodes listed in error" in response.json()["detail"]
    assert send(client_for(site_b), url, {"reason": "重复登记"}).status_code == 404
    assert fields(send(client_for(commander), url, {"reason": ""})) == {"reason": "Say why the episode is closed."}
    response = send(client_for(commander), url, {"reason": "重复登记"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["state"], body["status"], body["custodian"]) == ("closed", "closed", None)
    assert "Closed" in fields(send(client_for(commander), url, {"reason": "again"}))[None]
    assert AuditEvent.objects.filter(action="episode.close", target_id=str(loop["li"].pk)).count() == 1


# --- conflicts -------------------------------------------------------------------------------------------

def test_a_stale_version_is_409_and_changes_nothing(site_a, commander, loop, bus, site_b_custodian):
    zhang = loop["zhang"]
    client = client_for(site_a)
    seen = client.get(f"{BASE}/episodes/{zhang.pk}").json()["version"]  # the desk reads …
    # … another desk hands the person over and the bus confirms …
    handover_give(episode=zhang, to_custodian=bus, expected_by=timezone.now() + timedelta(hours=1), actor=commander)
    handover_receive(episode=fresh(zhang), actor=commander)
    # … and the first desk acts on what it read: without the version this hand-over would be accepted.
    response = send(client, f"{BASE}/episodes/{zhang.pk}/give",
                    {"to_custodian": "site-b", "expected_by": later(), "version": seen})
    assert response.status_code == 409, response.content
    assert "changed since you read it" in response.json()["detail"]
    assert CustodyEvent.objects.filter(episode=zhang).count() == 3
    assert fresh(zhang).custodian_id == bus.pk and fresh(zhang).version == 3


def test_a_raw_bump_between_read_and_write_is_409(site_a, loop):
    zhang = loop["zhang"]
    client = client_for(site_a)
    seen = client.get(f"{BASE}/episodes/{zhang.pk}").json()["version"]
    Episode.objects.filter(pk=zhang.pk).update(version=F("version") + 1)
    response = send(client, f"{BASE}/episodes/{zhang.pk}/give",
                    {"to_custodian": "trip-1", "expected_by": later(), "version": seen})
    assert response.status_code == 409
    assert fresh(zhang).state == states.IN_CUSTODY


def test_losing_the_compare_and_swap_is_409(site_a, loop, monkeypatch):
    """Another desk writes between the action's read and its write: the action's CAS fails, nothing is written."""
    zhang = loop["zhang"]
    real = states.can_transition

    def and_another_desk_writes(state, event):
        Episode.objects.filter(pk=zhang.pk).update(version=F("version") + 1)
        return real(state, event)

    monkeypatch.setattr(states, "can_transition", and_another_desk_writes)
    response = send(client_for(site_a), f"{BASE}/episodes/{zhang.pk}/give",
                    {"to_custodian": "trip-1", "expected_by": later()})
    assert response.status_code == 409, response.content
    assert "Someone else changed this person's custody" in response.json()["detail"]
    monkeypatch.undo()
    assert CustodyEvent.objects.filter(episode=zhang).count() == 1
    assert fresh(zhang).state == states.IN_CUSTODY and fresh(zhang).version == 1
    assert not AuditEvent.objects.filter(action="episode.give").exists()


RACERS = 4


@pytest.mark.django_db(transaction=True)
def test_concurrent_hand_overs_through_the_api_one_wins(person_factory, city, town_a, site_a):
    site = custodian_create(kind="isolation_site", name="A", code="a", city=city, jurisdiction=town_a, actor=None)
    for i in range(RACERS):
        custodian_create(kind="vehicle_trip", name=f"bus {i}", code=f"bus-{i}", city=city, actor=None)
    episode = episode_open(person=person_factory("孙八"), category="close_contact", anchor_date=date.today(),
                           actor=None)
    episode_place(episode=episode, custodian=site, actor=site_a)
    clients = [client_for(site_a) for _ in range(RACERS)]
    barrier = threading.Barrier(RACERS)
    statuses: list = [None] * RACERS

    def desk(i):
        try:
            barrier.wait(timeout=10)
            statuses[i] = send(clients[i], f"{BASE}/episodes/{episode.pk}/give",
                               {"to_custodian": f"bus-{i}", "expected_by": later(), "version": 1}).status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=desk, args=(i,)) for i in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert statuses.count(200) == 1, statuses
    assert all(s == 409 for s in statuses if s != 200), statuses  # each loser read version 1
    assert CustodyEvent.objects.filter(episode=episode).count() == 2
    winner = statuses.index(200)
    assert fresh(episode).pending_custodian.code == f"bus-{winner}"


# --- custodians -------------------------------------------------------------------------------------------

def test_custodians(site_a, site_b_custodian, site_a_custodian, bus):
    client = client_for(site_a)
    body = client.get(f"{BASE}/custodians").json()
    assert body["count"] == 3 and body["page_size"] == 50
    by_code = {c["code"]: c for c in body["items"]}
    assert set(by_code) == {"site-a", "site-b", "trip-1"}  # every custodian of the city: any may receive
    assert by_code["site-a"]["kind"] == "isolation_site"
    assert by_code["site-a"]["kind_label"] == "Centralized isolation site"
    assert by_code["site-a"]["jurisdiction_code"] == "330782001" and by_code["trip-1"]["jurisdiction_code"] is None
    assert by_code["site-a"]["id"] == site_a_custodian.pk and by_code["site-a"]["active"] is True
    sites = client.get(f"{BASE}/custodians", {"kind": "vehicle_trip"}).json()
    assert [c["code"] for c in sites["items"]] == ["trip-1"]
    assert set(fields(client.get(f"{BASE}/custodians", {"kind": "boat", "page": "x"}))) == {"kind", "page"}


def test_custodians_of_another_city_are_not_listed(site_a_custodian, bus):
    other_city = jurisdiction_create(code="330783", name="东阳市", name_en="Dongyang", level="city", actor=None)
    outsider = user_create(username="dongyang", password="Correct-Horse-42", role=Role.COMMANDER, full_name="D",
                           jurisdictions=[other_city], actor=None)
    custodian_create(kind="hospital", name="东阳人民医院", code="dy-h", city=other_city, actor=None)
    body = client_for(outsider).get(f"{BASE}/custodians").json()
    assert [c["code"] for c in body["items"]] == ["dy-h"]


# --- lost in transit -------------------------------------------------------------------------------------

def test_lost_in_transit(site_a, site_b, commander, loop, bus, monkeypatch):
    now = timezone.now()
    handover_give(episode=loop["zhang"], to_custodian=bus, expected_by=now + timedelta(minutes=10), actor=None)
    handover_give(episode=loop["zhao"], to_custodian=bus, expected_by=now + timedelta(minutes=20), actor=None)
    client = client_for(site_a)
    assert client.get(f"{BASE}/lost-in-transit").json()["count"] == 0  # not due yet

    monkeypatch.setattr(timezone, "now", lambda: now + timedelta(hours=2))
    body = client.get(f"{BASE}/lost-in-transit").json()
    assert body["count"] == 1
    [item] = body["items"]
    assert item["person"]["name"] == "张三" and item["custodian"]["code"] == "site-a"
    assert item["pending_custodian"]["code"] == "trip-1"
    assert item["minutes_overdue"] == 110
    assert [i["person"]["name"] for i in client_for(site_b).get(f"{BASE}/lost-in-transit").json()["items"]] == ["赵六"]
    everyone = client_for(commander).get(f"{BASE}/lost-in-transit").json()
    assert [i["person"]["name"] for i in everyone["items"]] == ["张三", "赵六"]  # oldest first
    assert set(fields(client.get(f"{BASE}/lost-in-transit", {"page_size": "0"}))) == {"page_size"}


def test_lost_in_transit_needs_the_view_capability(materials_clerk, loop):
    assert client_for(materials_clerk).get(f"{BASE}/lost-in-transit").status_code == 403


# --- method, authentication, schema -------------------------------------------------------------------------

def test_wrong_method_is_405(site_a, commander, loop):
    client = client_for(commander)
    pk = loop["zhang"].pk
    assert send(client, f"{BASE}/episodes", {}).status_code == 405
    assert client.delete(f"{BASE}/episodes/{pk}").status_code == 405
    assert client.put(f"{BASE}/episodes/{pk}", data="{}", content_type="application/json").status_code == 405
    for action in ("place", "give", "receive", "refuse", "close"):
        assert client.get(f"{BASE}/episodes/{pk}/{action}").status_code == 405, action
    assert client.delete(f"{BASE}/episodes/{pk}/close").status_code == 405
    assert send(client, f"{BASE}/custodians", {}).status_code == 405
    assert send(client, f"{BASE}/lost-in-transit", {}).status_code == 405
    assert fresh(loop["zhang"]).version == 1


def test_token_auth(site_a, loop):
    _token, key = api_token_create(user=site_a, name="transfer robot", actor=site_a)
    client = Client(enforce_csrf_checks=True)
    assert client.get(f"{BASE}/episodes").status_code == 401
    assert client.get(f"{BASE}/episodes", HTTP_AUTHORIZATION="Bearer cl_wrong").status_code == 401
    response = client.get(f"{BASE}/episodes", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200 and response.json()["count"] == 2
    response = send(client, f"{BASE}/episodes/{loop['zhang'].pk}/give",
                    {"to_custodian": "trip-1", "expected_by": later()}, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200, response.content  # a bearer POST needs no CSRF token
    assert CustodyEvent.objects.get(episode=loop["zhang"], kind="give").actor == site_a
    assert send(Client(), f"{BASE}/episodes/{loop['zhang'].pk}/receive", {}).status_code == 401


def test_openapi_lists_the_endpoints_with_schemas(db):
    schema = Client().get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    assert "get" in paths[f"{BASE}/episodes"] and "get" in paths[f"{BASE}/episodes/{{episode_id}}"]
    assert "get" in paths[f"{BASE}/custodians"] and "get" in paths[f"{BASE}/lost-in-transit"]
    components = schema["components"]["schemas"]
    assert {"EpisodesPage", "EpisodeOut", "EpisodeDetailOut", "ScheduleOut", "LedgerEventOut", "CustodiansPage",
            "LostPage", "FieldErrorsOut", "ErrorOut"} <= set(components)
    assert "doc_number_masked" in components["EpisodePersonOut"]["properties"]
    assert "doc_number" not in components["EpisodePersonOut"]["properties"]
    assert "from" in components["ScheduleChecksOut"]["properties"]
    bodies = {"place": ("custodian", "placed_on"), "give": ("to_custodian", "expected_by"),
              "receive": ("signed_by",), "refuse": ("reason",), "close": ("reason",)}
    for action, names in bodies.items():
        post = paths[f"{BASE}/episodes/{{episode_id}}/{action}"]["post"]
        body = post["requestBody"]["content"]["application/json"]["schema"]
        assert set(names) | {"version"} <= set(body["properties"]), action
        assert set(post["responses"]) >= {"200", "403", "404", "409", "422"}, action
        assert post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/EpisodeDetailOut")
        assert post["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/FieldErrorsOut")
    more = {
        f"{BASE}/episodes/{{episode_id}}/checks": ("HealthCheckOut", {"slot", "temperature", "symptoms"}),
        f"{BASE}/episodes/{{episode_id}}/specimens": ("SpecimenOut", {"kind", "sampled_at", "barcode"}),
        f"{BASE}/specimens/{{specimen_id}}/result": ("SpecimenOut", {"result", "lab"}),
        f"{BASE}/episodes/{{episode_id}}/release": ("ReleaseOut", {"override_reason", "version"}),
        f"{BASE}/alerts/{{alert_id}}/resolve": ("AlertOut", {"resolution"}),
        f"{BASE}/custodians/{{custodian_id}}/round": ("RoundOut", {"day", "slot", "rows"}),
    }
    for path, (out, names) in more.items():
        post = paths[path]["post"]
        assert names <= set(post["requestBody"]["content"]["application/json"]["schema"]["properties"]), path
        ok = post["responses"].get("200") or post["responses"]["201"]
        assert ok["content"]["application/json"]["schema"]["$ref"].endswith(f"/{out}"), path
        assert {"403", "404", "409", "422"} <= set(post["responses"]), path
    worklist = paths[f"{BASE}/worklist/custodian/{{custodian_id}}"]["get"]
    assert worklist["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/WorklistOut")
    assert "day" in {p["name"] for p in worklist["parameters"]}


def test_labels_speak_the_request_language(site_a, loop):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(site_a)
    body = client.get(f"{BASE}/episodes/{loop['zhang'].pk}").json()
    assert (body["category_label"], body["state_label"]) == ("密切接触者", "管控中")


# --- observations ---------------------------------------------------------------------------------------------

def test_health_checks_and_their_alerts(site_a, loop):
    client = client_for(site_a)
    url = f"{BASE}/episodes/{loop['zhang'].pk}/checks"
    response = send(client, url, {"day": "2022-08-05", "slot": "morning", "temperature": 36.5})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["day"], body["slot"], body["temperature"], body["open_alerts"]) == ("2022-08-05", "morning", 36.5, [])
    response = send(client, url, {"day": "2022-08-05", "slot": "evening", "temperature": "37.8℃",
                                  "symptoms": ["cough"], "note": "咳嗽"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["temperature"] == 37.8 and body["symptoms"] == ["cough"]
    assert {a["kind"] for a in body["open_alerts"]} == {"fever", "symptom"}
    assert all(a["custodian_id"] == loop["zhang"].custodian_id for a in body["open_alerts"])
    assert AuditEvent.objects.filter(action="health_check.record", target_id=str(loop["zhang"].pk)).count() == 2


def test_health_check_bad_input(site_a, loop):
    client = client_for(site_a)
    url = f"{BASE}/episodes/{loop['zhang'].pk}/checks"
    assert set(fields(send(client, url, {"day": "2022-08-05", "slot": "noon", "temperature": 36.5}))) == {"slot"}
    assert set(fields(send(client, url, {"day": "2022-08-05", "slot": "morning", "temperature": "hot"}))) == {
        "temperature"}
    assert set(fields(send(client, url, {"day": "2022-08-03", "slot": "morning", "temperature": 36.5}))) == {"day"}
    assert set(fields(send(client, url, {"slot": "morning", "temperature": 36.5, "symptoms": ["hiccups"]}))) == {
        "symptoms"}
    assert set(fields(send(client, url, {"slot": "morning"}))) == {"temperature"}
    errors = fields(send(client, f"{BASE}/episodes/{loop['li'].pk}/checks", {"slot": "morning", "temperature": 36.5}))
    assert "Awaiting placement" in errors[None]


def test_health_check_refusals(site_b, analyst, loop):
    url = f"{BASE}/episodes/{loop['zhang'].pk}/checks"
    body = {"day": "2022-08-05", "slot": "morning", "temperature": 36.5}
    assert send(client_for(site_b), url, body).status_code == 404
    assert send(client_for(analyst), url, body).status_code == 403
    assert client_for(analyst).get(url).status_code == 405


def test_specimen_and_result(site_a, loop):
    client = client_for(site_a)
    url = f"{BASE}/episodes/{loop['zhang'].pk}/specimens"
    response = send(client, url, {"kind": "pcr", "sampled_at": "2022-08-05T09:00:00+08:00", "barcode": "B001"})
    assert response.status_code == 201, response.content
    specimen = response.json()
    assert specimen["scheduled_for"] == "2022-08-05" and specimen["result"] == "pending"
    assert set(fields(send(client, url, {"sampled_at": "2022-08-05T10:00:00", "barcode": "B001"}))) == {"barcode"}
    assert set(fields(send(client, url, {"kind": "blood", "sampled_at": "2022-08-05T10:00:00"}))) == {"kind"}
    assert set(fields(send(client, url, {"sampled_at": "2022-08-01T10:00:00"}))) == {"sampled_at"}

    result_url = f"{BASE}/specimens/{specimen['id']}/result"
    assert set(fields(send(client, result_url, {"result": "unclear"}))) == {"result"}
    assert set(fields(send(client, result_url, {}))) == {"result"}
    response = send(client, result_url, {"result": 37.2, "lab": "金域"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["result"], body["ct"], body["lab"]) == ("assess", 37.2, "金域")
    assert [a["kind"] for a in body["open_alerts"]] == ["assess"]
    assert send(client, result_url, {"result": 37.2}).status_code == 200  # the same again: unchanged
    assert set(fields(send(client, result_url, {"result": "阴性"}))) == {"result"}  # a different one: refused


def test_a_positive_result_starts_the_case_path(site_a, loop):
    client = client_for(site_a)
    specimen = send(client, f"{BASE}/episodes/{loop['zhang'].pk}/specimens",
                    {"sampled_at": "2022-08-07T09:00:00+08:00"}).json()
    response = send(client, f"{BASE}/specimens/{specimen['id']}/result", {"result": 28})
    assert response.status_code == 200, response.content
    assert response.json()["result"] == "positive"
    assert "positive" in {a["kind"] for a in response.json()["open_alerts"]}
    assert fresh(loop["zhang"]).state == states.BECAME_CASE
    assert Episode.objects.filter(person=loop["zhang"].person, category="case", status="open").exists()


def test_specimen_refusals(site_a, site_b, analyst, loop):
    specimen = send(client_for(site_a), f"{BASE}/episodes/{loop['zhang'].pk}/specimens",
                    {"sampled_at": "2022-08-05T09:00:00+08:00"}).json()
    body = {"sampled_at": "2022-08-05T09:00:00+08:00"}
    assert send(client_for(site_b), f"{BASE}/episodes/{loop['zhang'].pk}/specimens", body).status_code == 404
    assert send(client_for(analyst), f"{BASE}/episodes/{loop['zhang'].pk}/specimens", body).status_code == 403
    response = send(client_for(site_b), f"{BASE}/specimens/{specimen['id']}/result", {"result": "阴性"})
    assert response.status_code == 404 and response.json() == {"detail": "No such sample."}
    assert send(client_for(analyst), f"{BASE}/specimens/{specimen['id']}/result", {"result": "阴性"}).status_code == 403
    assert client_for(site_a).get(f"{BASE}/specimens/{specimen['id']}/result").status_code == 405
    assert client_for(site_a).get(f"{BASE}/episodes/{loop['zhang'].pk}/specimens").status_code == 405


def test_resolve_an_alert(site_a, site_b, loop):
    client = client_for(site_a)
    body = send(client, f"{BASE}/episodes/{loop['zhang'].pk}/checks",
                {"day": "2022-08-05", "slot": "morning", "temperature": 38.1}).json()
    [alert] = body["open_alerts"]
    url = f"{BASE}/alerts/{alert['id']}/resolve"
    assert send(client_for(site_b), url, {"resolution": "x"}).status_code == 404
    assert set(fields(send(client, url, {"resolution": " "}))) == {"resolution"}
    response = send(client, url, {"resolution": "复测36.8℃，已报告医生"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "resolved" and response.json()["resolution"] == "复测36.8℃，已报告医生"
    assert "already" in fields(send(client, url, {"resolution": "again"}))[None]
    assert client.get(url).status_code == 405


def test_a_round_of_checks(site_a, site_b, loop, site_a_custodian, person_factory):
    other = episode_open(person=person_factory("周九"), category="close_contact", anchor_date=date(2022, 8, 3),
                         actor=None)
    episode_place(episode=other, custodian=site_a_custodian, placed_on=date(2022, 8, 3), actor=None)
    url = f"{BASE}/custodians/{site_a_custodian.pk}/round"
    response = send(client_for(site_a), url, {"day": "2022-08-05", "slot": "morning", "rows": [
        {"episode": loop["zhang"].pk, "temperature": 36.6},
        {"episode": other.pk, "temperature": "37.9"},
        {"episode": loop["zhao"].pk, "temperature": 36.4},  # held by site B
        {"episode": other.pk},
    ]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["alerts"], body["custodian_id"]) == (2, 1, site_a_custodian.pk)
    assert [(p["row"], p["field"]) for p in body["problems"]] == [(2, "episode"), (3, "episode")]
    assert set(fields(send(client_for(site_a), url, {"slot": "morning", "rows": [{"episode": "x"}]}))) == {"rows"}
    assert set(fields(send(client_for(site_a), url, {"slot": "supper", "rows": []}))) == {"slot"}
    response = send(client_for(site_b), url, {"slot": "morning", "rows": []})
    assert response.status_code == 404 and response.json() == {"detail": "No such custodian."}


# --- release ---------------------------------------------------------------------------------------------------

@pytest.fixture
def complete(person_factory, site_a_custodian):
    """钱七, a secondary contact whose 7 days are served, all three tests negative."""
    from closedloop.quarantine.actions import result_record, specimen_record

    episode = episode_open(person=person_factory("钱七"), category="secondary_contact",
                           anchor_date=date(2022, 8, 6), actor=None)
    episode = episode_place(episode=episode, custodian=site_a_custodian, placed_on=date(2022, 8, 6), actor=None)
    for day in (6, 9, 12):
        sampled = timezone.make_aware(datetime(2022, 8, day, 9, 0))
        specimen = specimen_record(episode=episode, kind="pcr", sampled_at=sampled, actor=None)
        result_record(specimen=specimen, result_or_ct="阴性", actor=None)
    return fresh(episode)


def test_release_by_the_rule(site_a, complete):
    response = send(client_for(site_a), f"{BASE}/episodes/{complete.pk}/release", {"version": complete.version})
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["certificate_code"]) == 12 and body["override_reason"] == ""
    assert body["episode"]["state"] == "released" and body["episode"]["ledger"][-1]["kind"] == "release"
    assert "already" in fields(send(client_for(site_a), f"{BASE}/episodes/{complete.pk}/release"))[None]


def test_a_blocked_release_lists_every_reason_and_an_override_needs_headquarters(site_a, commander, site_b, loop):
    url = f"{BASE}/episodes/{loop['zhao'].pk}/release"
    assert send(client_for(site_a), url).status_code == 404  # 赵六 lives in town B
    response = send(client_for(site_b), url, {})
    assert response.status_code == 422
    reasons = [e["message"] for e in response.json()["detail"]]
    assert len(reasons) >= 2 and all(e["field"] is None for e in response.json()["detail"])
    response = send(client_for(site_b), url, {"override_reason": "专家会商同意提前解除"})
    assert response.status_code == 403
    response = send(client_for(commander), url, {"override_reason": "专家会商同意提前解除"})
    assert response.status_code == 200, response.content
    assert response.json()["override_reason"] == "专家会商同意提前解除"
    assert AuditEvent.objects.filter(action="episode.release_override", target_id=str(loop["zhao"].pk)).exists()
    assert client_for(commander).get(url).status_code == 405


def test_release_with_a_stale_version_is_409(site_a, complete):
    response = send(client_for(site_a), f"{BASE}/episodes/{complete.pk}/release", {"version": complete.version - 1})
    assert response.status_code == 409
    assert fresh(complete).state == states.IN_CUSTODY


def test_release_refused_to_read_only_roles(analyst, complete):
    assert send(client_for(analyst), f"{BASE}/episodes/{complete.pk}/release").status_code == 403


# --- work lists -------------------------------------------------------------------------------------------------

def test_custodian_worklist(site_a, site_b, loop, site_a_custodian, bus):
    client = client_for(site_a)
    url = f"{BASE}/worklist/custodian/{site_a_custodian.pk}"
    response = client.get(url, {"day": "2022-08-05"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["day"] == "2022-08-05" and body["held"] == 1
    assert [c["code"] for c in body["custodians"]] == ["site-a"]
    assert [(t["episode"]["person"]["name"], t["date"]) for t in body["tests_due"]] == [("张三", "2022-08-05")]
    assert [(t["date"], t["late_days"]) for t in body["overdue_tests"]] == [("2022-08-04", 1)]
    assert {s["slot"]: [e["person"]["name"] for e in s["missing"]] for s in body["checks"]} == {
        "morning": ["张三"], "evening": ["张三"]}
    zhang = body["tests_due"][0]["episode"]["person"]
    assert zhang["doc_number_masked"] == loop["people"][0].doc_number_masked
    assert loop["people"][0].doc_number not in response.content.decode()
    assert set(fields(client.get(url, {"day": "5 Aug"}))) == {"day"}
    assert client.get(url).json()["day"] == timezone.localdate().isoformat()
    response = client_for(site_b).get(url)
    assert response.status_code == 404 and response.json() == {"detail": "No such custodian."}
    assert send(client, url, {}).status_code == 405
