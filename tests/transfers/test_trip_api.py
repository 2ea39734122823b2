"""The trip API: /api/v1/transfers/trips (list, one, dispatch, board, arrive, shuttle-board, home, cancel)."""

from __future__ import annotations

import json

import pytest

from closedloop.transfers.models import HandoverCheck
from tests.transfers.trip_support import (
    BOARDING_TRIP_OK,
    HOME_TRIP_OK,
    PERSON_OK,
    SHUTTLE_TRIP_OK,
    STATION_TRIP_OK,
    build_world,
    client_for,
)

BASE = "/api/v1/transfers/trips"


@pytest.fixture
def world(city, town_a, community_a1, community_a2, hangzhou_site, station, fleet, person_factory):
    return build_world(city=city, town_a=town_a, community_a1=community_a1, community_a2=community_a2,
                       hangzhou_site=hangzhou_site, station=station, fleet=fleet, person_factory=person_factory)


def send(client, path, body=None):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body or {})
    return client.post(path, data=data, content_type="application/json")


def fields(response) -> dict:
    assert response.status_code == 422, response.content
    return {e["field"]: e["message"] for e in response.json()["detail"]}


DISPATCH = {"plate": "浙A 12345", "driver": "刘师傅", "escorts": "陈医生"}


def test_list_is_scoped_filtered_and_paginated(world, site_b):
    client = client_for(world.desk)
    body = client.get(BASE, {"page_size": "1"}).json()
    assert (body["count"], body["page_size"]) == (2, 1)
    first = body["items"][0]
    assert first["id"] == world.coach.pk and first["people"] == 3 and first["next_step"] == "dispatch"
    assert first["origin"]["code"] == "away-hz" and first["town"] is None
    assert [t["id"] for t in client.get(BASE, {"kind": "shuttle"}).json()["items"]] == [world.shuttle.pk]
    assert fields(client.get(BASE, {"state": "flying", "page": "0"})).keys() == {"state", "page"}
    assert client_for(site_b).get(BASE).json()["count"] == 0


def test_one_trip_with_its_passengers(world, site_b, materials_clerk):
    response = client_for(world.desk).get(f"{BASE}/{world.coach.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "planned" and body["counts"]["planned"] == 3 and body["checks"] == []
    wang = next(p for p in body["passengers"] if p["episode_id"] == world.wang.pk)
    assert wang["name"] == "王芳" and wang["group"] == "g2" and wang["custody_state"] == "in_custody"
    assert wang["custodian"]["id"] == world.site.custodian_id and "doc_number" not in json.dumps(wang)
    assert client_for(site_b).get(f"{BASE}/{world.coach.pk}").json() == {"detail": "No such trip."}
    assert client_for(site_b).get(f"{BASE}/{world.coach.pk}").status_code == 404
    assert client_for(materials_clerk).get(f"{BASE}/{world.coach.pk}").status_code == 403


def test_dispatch(world, analyst, site_b):
    url = f"{BASE}/{world.coach.pk}/dispatch"
    assert send(client_for(site_b), url, DISPATCH).status_code == 404
    assert send(client_for(analyst), url, DISPATCH).status_code == 403
    assert fields(send(client_for(world.desk), url, {**DISPATCH, "driver": ""})) == {"driver": "Write the driver's name."}
    assert "colour" in fields(send(client_for(world.desk), url, {**DISPATCH, "colour": "red"}))
    assert client_for(world.desk).get(url).status_code == 405
    response = send(client_for(world.desk), url, {**DISPATCH, "version": 0})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "boarding" and body["plate"] == "浙A12345" and body["custodian"]["kind"] == "vehicle_trip"
    response = send(client_for(world.desk), url, {**DISPATCH, "version": 0})
    assert response.status_code == 409 and "Another desk" in response.json()["detail"]


def handover(world, url, **body):
    base = {"giver": "吴医生", "receiver": "陈医生"}
    return send(client_for(body.pop("user", world.desk)), url, {**base, **body})


def test_the_whole_way_through_the_api(world, commander):
    coach, shuttle = f"{BASE}/{world.coach.pk}", f"{BASE}/{world.shuttle.pk}"
    send(client_for(world.desk), f"{coach}/dispatch", DISPATCH)
    answers = {str(e.pk): PERSON_OK for e in world.episodes}
    answers[str(world.wang.pk)] = {"temperature": False, "negative_test_24h": True}
    response = handover(world, f"{coach}/board", answers=answers, trip_answers=BOARDING_TRIP_OK)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["left_behind"] == [world.wang.pk] and len(body["handed_over"]) == 2
    assert body["trip"]["state"] == "under_way" and body["trip"]["next_step"] == "station"
    assert len(body["trip"]["checks"]) == 4

    response = handover(world, f"{coach}/arrive", answers={str(world.zhang.pk): {"screening": True}},
                        trip_answers=STATION_TRIP_OK)
    assert response.json()["waiting"] == [world.li.pk] and response.json()["trip"]["state"] == "arrived"
    response = handover(world, f"{coach}/arrive", answers={str(world.li.pk): {"screening": True}},
                        trip_answers=STATION_TRIP_OK)
    assert response.json()["trip"]["state"] == "done"

    send(client_for(world.desk), f"{shuttle}/dispatch", DISPATCH)
    response = handover(world, f"{shuttle}/shuttle-board", trip_answers=SHUTTLE_TRIP_OK)
    assert response.status_code == 200, response.content
    assert response.json()["left_behind"] == [world.wang.pk]  # still at the site in Hangzhou
    response = handover(world, f"{shuttle}/home", passengers=None,
                        answers={str(world.zhang.pk): {"home_notice": True}, str(world.li.pk): {"home_notice": True}},
                        trip_answers=HOME_TRIP_OK)
    assert response.status_code == 200, response.content
    trip = response.json()["trip"]
    assert trip["state"] == "done"
    assert {p["custodian"]["kind"] for p in trip["passengers"] if p["status"] == "delivered"} == {"home_community"}


def test_handover_refusals(world, commander):
    coach = f"{BASE}/{world.coach.pk}"
    assert handover(world, f"{coach}/board", trip_answers=BOARDING_TRIP_OK).status_code == 422  # not dispatched
    send(client_for(world.desk), f"{coach}/dispatch", DISPATCH)
    answers = {str(e.pk): PERSON_OK for e in world.episodes}
    assert fields(handover(world, f"{coach}/board", answers=answers, trip_answers=BOARDING_TRIP_OK, giver="")) == {
        "giver": "The handing-over side signs: write their name."}
    errors = fields(handover(world, f"{coach}/board", answers=answers,
                             trip_answers={**BOARDING_TRIP_OK, "documents": False}))
    assert list(errors) == ["trip_answers.documents"]
    assert "answers" in fields(handover(world, f"{coach}/board", answers={"abc": PERSON_OK}))
    assert fields(handover(world, f"{coach}/board", answers="yes"))["answers"]
    response = handover(world, f"{coach}/board", answers=answers, trip_answers={**BOARDING_TRIP_OK, "documents": False},
                        override_reason="补交")
    assert response.status_code == 403
    assert not HandoverCheck.objects.exists()
    response = handover(world, f"{coach}/board", answers=answers, trip_answers={**BOARDING_TRIP_OK, "documents": False},
                        override_reason="资料随后补交", user=commander)
    assert response.status_code == 200 and response.json()["waived"] == ["documents"]
    stale = handover(world, f"{coach}/arrive", answers={}, trip_answers=STATION_TRIP_OK, version=1)
    assert stale.status_code == 409
    assert handover(world, f"{BASE}/{world.shuttle.pk}/home", passengers=[1]).status_code == 422


def test_cancel(world):
    url = f"{BASE}/{world.shuttle.pk}/cancel"
    assert fields(send(client_for(world.desk), url, {"reason": ""})) == {"reason": "Say why the trip is cancelled."}
    response = send(client_for(world.desk), url, {"reason": "改期"})
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    assert {p["status"] for p in response.json()["passengers"]} == {"left_behind"}


def test_the_list_answers_in_a_fixed_number_of_queries(world, django_assert_num_queries):
    from closedloop.transfers.models import Trip

    for n in range(1, 8):
        Trip.objects.create(plan=world.plan, kind="shuttle", vehicle=n, town=world.shuttle.town,
                            depart_at=world.shuttle.depart_at, arrive_at=world.shuttle.arrive_at)
    client = client_for(world.desk)
    client.get(BASE)
    with django_assert_num_queries(5):  # session, user, scope, count, rows
        body = client.get(BASE, {"page_size": "5"}).json()
    assert (body["count"], len(body["items"])) == (9, 5)
