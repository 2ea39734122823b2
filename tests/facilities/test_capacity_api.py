"""The capacity outlook's JSON API: /api/v1/sites/capacity and /api/v1/sites/capacity/{id}."""

from __future__ import annotations

import pytest

from closedloop.core.actions import api_token_create
from closedloop.facilities.actions import checkin
from tests.facilities.capacity_support import (
    A_FREE,
    B_FREE,
    CITY_FREE,
    build_capacity_city,
    client_for,
    plus,
    room,
    set_population,
    today,
)


@pytest.fixture
def capacity_city(city, town_a, facility_a, facility_b, open_episode, bus):
    return build_capacity_city(city, town_a, facility_a, facility_b, open_episode, bus)

BASE = "/api/v1/sites/capacity"


def test_headquarters_get_the_city(capacity_city, commander):
    response = client_for(commander).get(BASE, {"days": "7"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["scope"] == "city" and body["city"]["code"] == "330782"
    assert body["today"] == today().isoformat() and body["days"] == 7
    assert (body["reserve_per_10k"], body["population"], body["reserve_required"], body["reserve_known"]) == (
        20, 4000, 8, True)
    assert body["first_short_day"] == today().isoformat() and body["short_by"] == 1
    assert [d["free_after"] for d in body["outlook"]] == CITY_FREE
    assert [d["day"] for d in body["outlook"]] == [plus(i).isoformat() for i in range(7)]
    assert body["rooms_now"] == {"available": 8, "occupied": 2, "awaiting_cleaning": 1, "cleaning": 1,
                                 "out_of_service": 1, "total": 13}
    assert (body["idle"], body["awaiting_placement"], body["on_the_way"]) == (2, 2, 1)
    sites = {s["code"]: s for s in body["sites"]}
    assert sorted(sites) == ["site-a", "site-b", "site-c"]
    assert sites["site-a"]["rooms_now"]["available"] == 5 and sites["site-a"]["first_short_day"] is None
    assert sites["site-b"]["on_the_way"] == 1 and sites["site-c"]["takes_people"] is False
    assert sites["site-c"]["status"] == "paused"


def test_a_site(capacity_city, site_a):
    a = capacity_city["a"]
    response = client_for(site_a).get(f"{BASE}/{a.pk}", {"days": "7"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["site"]["id"] == a.pk and body["site"]["turnaround_hours"] == 24
    assert [d["free_after"] for d in body["outlook"]] == A_FREE
    assert {d["required"] for d in body["outlook"]} == {0}


def test_site_staff_get_their_sites(capacity_city, site_b):
    body = client_for(site_b).get(BASE, {"days": "7"}).json()
    assert body["scope"] == "sites" and body["city"] is None and body["reserve_required"] == 0
    assert [s["code"] for s in body["sites"]] == ["site-b"]
    assert [d["free_after"] for d in body["outlook"]] == B_FREE
    assert body["awaiting_placement"] == 0


def test_default_horizon_is_14_days(capacity_city, commander, city):
    set_population(city, 1000)
    body = client_for(commander).get(BASE).json()
    assert body["days"] == 14 and len(body["outlook"]) == 14
    assert body["first_short_day"] is None and body["short_by"] is None


@pytest.mark.parametrize("days", ["0", "61", "x", "-1"])
def test_bad_days_is_422(capacity_city, commander, days):
    for path in (BASE, f"{BASE}/{capacity_city['a'].pk}"):
        response = client_for(commander).get(path, {"days": days})
        assert response.status_code == 422
        assert response.json()["detail"] == [{"field": "days", "message": "Write a whole number of days from 1 to 60."}]


def test_outsider_gets_404(capacity_city, site_b):
    response = client_for(site_b).get(f"{BASE}/{capacity_city['a'].pk}")
    assert response.status_code == 404 and response.json() == {"detail": "No such site."}
    assert client_for(site_b).get(f"{BASE}/999999").status_code == 404


def test_roles_without_the_outlook_get_403(capacity_city, materials_clerk):
    client = client_for(materials_clerk)
    assert client.get(BASE).status_code == 403
    assert client.get(f"{BASE}/{capacity_city['a'].pk}").status_code == 403


def test_wrong_method(capacity_city, commander):
    client = client_for(commander)
    assert client.post(BASE).status_code == 405
    assert client.delete(f"{BASE}/{capacity_city['a'].pk}").status_code == 405


def test_token_authentication(capacity_city, analyst):
    from django.test import Client

    _token, secret = api_token_create(user=analyst, name="报表", actor=analyst)
    response = Client().get(BASE, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200 and response.json()["scope"] == "city"
    assert Client().get(BASE).status_code == 401


@pytest.mark.parametrize("count", [1, 5])
def test_query_count_is_pinned(city, facility_a, open_episode, commander, count, django_assert_max_num_queries):
    for i in range(count):
        checkin(facility=facility_a, assignments=[(open_episode(f"人{i}", anchor=plus(-1)), room(facility_a, f"30{i + 1}"))],
                actor=None)
    client = client_for(commander)
    # session, user, jurisdictions; the outlook's 7 queries
    with django_assert_max_num_queries(10):
        response = client.get(BASE)
    assert response.status_code == 200 and response.json()["rooms_now"]["occupied"] == count


def test_in_the_openapi_document(commander):
    paths = client_for(commander).get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/sites/capacity" in paths and "/api/v1/sites/capacity/{facility_id}" in paths
