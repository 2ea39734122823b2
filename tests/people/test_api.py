"""The person registry's JSON API: /api/v1/people."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from stdnum.cn import ric

from closedloop.core.actions import api_token_create, api_token_revoke
from closedloop.core.models import AuditEvent
from closedloop.people.models import Person
from closedloop.quarantine.actions import episode_open

BASE = "/api/v1/people"


def resident_id(birth: date, seq: int, *, female: bool = False) -> str:
    """A valid resident ID number of Yiwu; the sequence's parity is the sex digit."""
    seq = seq * 2 + (0 if female else 1)
    body = f"330782{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")  # it ignores the last character


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def send(client: Client, method: str, path: str, body=None, **extra):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body) if body is not None else None
    call = getattr(client, method.lower())
    if data is None:
        return call(path, **extra)
    return call(path, data=data, content_type="application/json", **extra)


def fields(response) -> dict[str, str]:
    assert response.status_code == 422, response.content
    return {e["field"]: e["message"] for e in response.json()["detail"]}


@pytest.fixture
def people(person_factory, town_a, community_a2, town_b, community_b1):
    """Three people in town A (one with an open close-contact episode), one in town B."""
    zhang = person_factory("张三", phone="13812345678", address="稠城街道香溪路12号3幢401室")
    li = person_factory("李四", community=community_a2, female=True, birth=date(1950, 3, 1))
    wang = person_factory("王五", town=town_a)
    zhao = person_factory("赵六", community=community_b1)
    episode_open(person=zhang, category="close_contact", anchor_date=date(2022, 8, 1), actor=None)
    return {"zhang": zhang, "li": li, "wang": wang, "zhao": zhao}


# --- list ------------------------------------------------------------------------------

def test_list_is_scoped_masked_and_paginated(site_a, people):
    response = client_for(site_a).get(BASE)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3 and body["page"] == 1 and body["page_size"] == 50
    by_name = {item["name"]: item for item in body["items"]}
    assert set(by_name) == {"张三", "李四", "王五"}  # not 赵六 of town B
    zhang = by_name["张三"]
    assert zhang["doc_number_masked"] == people["zhang"].doc_number_masked
    assert "*" in zhang["doc_number_masked"] and people["zhang"].doc_number not in response.content.decode()
    assert zhang["phone_masked"] == "138****5678" and "13812345678" not in response.content.decode()
    assert "doc_number" not in zhang and "phone" not in zhang and "address" not in zhang
    assert (zhang["town_code"], zhang["town_name"]) == ("330782001", "稠城街道")
    assert (zhang["community_code"], zhang["community_name"]) == ("330782001001", "香溪社区")
    assert zhang["open_category"] == "close_contact"
    assert by_name["李四"]["open_category"] is None
    assert by_name["李四"]["flags"] == ["is_elderly"]  # born 1950: derived
    assert by_name["王五"]["community_code"] is None

    page2 = client_for(site_a).get(BASE, {"page_size": 2, "page": 2}).json()
    assert page2["count"] == 3 and page2["page_size"] == 2 and len(page2["items"]) == 1
    page1 = client_for(site_a).get(BASE, {"page_size": 2}).json()
    assert {i["id"] for i in page1["items"]} | {i["id"] for i in page2["items"]} == {
        p.pk for k, p in people.items() if k != "zhao"}


def test_list_filters(site_a, commander, people, community_a2):
    client = client_for(commander)

    def names(**params):
        response = client.get(BASE, params)
        assert response.status_code == 200, response.content
        return {i["name"] for i in response.json()["items"]}

    assert names() == {"张三", "李四", "王五", "赵六"}
    assert names(town="330782001") == {"张三", "李四", "王五"}
    assert names(community="330782001002") == {"李四"}
    assert names(category="close_contact") == {"张三"}
    assert names(category="密接") == {"张三"}  # a clerk's label works too
    assert names(flag="is_elderly") == {"李四"}
    assert names(q="李四") == {"李四"}
    assert names(q="lisi") == {"李四"}
    assert names(q="5678") == {"张三"}  # phone tail
    assert names(q=people["wang"].doc_number) == {"王五"}


def test_list_bad_parameters_are_422_with_field_messages(site_a, people):
    client = client_for(site_a)
    errors = fields(client.get(BASE, {"page_size": 201, "page": "x", "town": "999", "category": "tourist",
                                      "flag": "is_tall"}))
    assert set(errors) == {"page_size", "page", "town", "category", "flag"}
    assert "200" in errors["page_size"]
    assert "999" in errors["town"]
    assert "close_contact" in errors["category"]
    assert "is_elderly" in errors["flag"]


def test_list_query_count_is_pinned(site_a, person_factory, town_a):
    client = client_for(site_a)
    client.get(BASE)  # warm up: session, content types

    def queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(BASE)
        assert response.status_code == 200
        return len(ctx.captured_queries), response.json()["count"]

    for i in range(3):
        person = person_factory(f"甲{i}")
        episode_open(person=person, category="inbound", anchor_date=date(2022, 8, 1), actor=None)
    few, count = queries()
    assert count == 3
    for i in range(12):
        person_factory(f"乙{i}", town=town_a)
    many, count = queries()
    assert count == 15
    # session + user + the user's jurisdictions + count + one page (towns, communities
    # and the open episode come in the same query).
    assert few == many == 5


def test_list_needs_view_capability(materials_clerk, people):
    response = client_for(materials_clerk).get(BASE)
    assert response.status_code == 403
    assert response.json()["detail"]


# --- detail ------------------------------------------------------------------------------

def test_detail_is_masked(site_a, people):
    zhang = people["zhang"]
    response = client_for(site_a).get(f"{BASE}/{zhang.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == zhang.pk and body["name"] == "张三"
    assert body["doc_number_masked"] == zhang.doc_number_masked
    assert body["address_masked"] and body["address_masked"] != zhang.address
    assert "401" not in body["address_masked"]
    assert body["open_category"] == "close_contact" and body["open_anchor_date"] == "2022-08-01"
    assert body["sex"] == "M" and body["birth_date"] == "1990-05-17"
    text = response.content.decode()
    assert zhang.doc_number not in text and zhang.phone not in text and zhang.address not in text


def test_detail_of_missing_person_is_404(site_a, people):
    response = client_for(site_a).get(f"{BASE}/999999")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such person."}


# --- register ------------------------------------------------------------------------------

def test_register_derives_sex_and_birth_date(site_a, community_a1):
    number = resident_id(date(1985, 2, 3), 21, female=True)
    response = send(client_for(site_a), "post", BASE, {
        "name": " 陈丽 ", "community": "330782001001", "doc_number": number, "phone": "138 1234 0000",
        "address": "稠城街道香溪路1号", "flags": ["has_disability"], "reason": "walk-in",
    })
    assert response.status_code == 201, response.content
    body = response.json()
    person = Person.objects.get(pk=body["id"])
    assert person.name == "陈丽" and person.doc_type == "resident_id" and person.doc_number == number
    assert (person.sex, person.birth_date) == ("F", date(1985, 2, 3))
    assert person.town.code == "330782001" and person.community == community_a1
    assert person.phone == "13812340000" and person.has_disability and not person.is_elderly
    assert body["phone_masked"] == "138****0000" and body["flags"] == ["has_disability"]
    event = AuditEvent.objects.get(action="person.register", target_id=str(person.pk))
    assert event.actor == site_a and event.reason == "walk-in"


def test_register_bad_input_is_422_with_every_field_and_nothing_saved(site_a, town_a):
    client = client_for(site_a)
    number = resident_id(date(1985, 2, 3), 21, female=True)
    errors = fields(send(client, "post", BASE, {
        "name": "  ", "town": "330782999", "doc_number": number[:-1] + ("0" if number[-1] != "0" else "1"),
        "phone": "12345", "flags": ["is_tall"],
    }))
    # A value of the wrong shape fails the schema itself and is reported first, alone.
    assert set(errors) == {"flags"} and "is_elderly" in errors["flags"]
    errors = fields(send(client, "post", BASE, {
        "name": "  ", "town": "330782999", "doc_number": number[:-1] + ("0" if number[-1] != "0" else "1"),
        "phone": "12345",
    }))
    assert set(errors) == {"name", "town", "doc_number", "phone"}
    assert errors["name"] == "Enter the name."
    assert "330782999" in errors["town"]
    assert "mistyped" in errors["doc_number"]
    assert "digits" in errors["phone"]

    errors = fields(send(client, "post", BASE, {
        "name": "陈丽", "town": "330782001", "doc_number": number, "sex": "M", "birth_date": "1985-02-04",
    }))
    assert set(errors) == {"sex", "birth_date"}
    assert "Female" in errors["sex"] and "1985-02-03" in errors["birth_date"]

    assert fields(send(client, "post", BASE, {"town": "330782001"})) == {"name": "This field is required."}
    assert "spelling" in fields(send(client, "post", BASE, {"name": "x", "town": "330782001", "phon": "1"}))["phon"]
    assert fields(send(client, "post", BASE, {"name": 5, "town": "330782001"}))["name"] == "Write this as text."
    assert "2022-08-03" in fields(send(client, "post", BASE, {"name": "x", "town": "330782001",
                                                             "birth_date": "3 May"}))["birth_date"]
    assert fields(send(client, "post", BASE, "{not json"))[None] == "The request body is not valid JSON."
    assert fields(send(client, "post", BASE, {"name": "x"}))["town"]
    assert Person.objects.count() == 0
    assert not AuditEvent.objects.filter(action="person.register").exists()


def test_register_duplicate_document_is_422(site_a, people):
    errors = fields(send(client_for(site_a), "post", BASE, {
        "name": "张三", "town": "330782001", "doc_number": people["zhang"].doc_number}))
    assert "already registered" in errors["doc_number"]


def test_register_refused_without_capability_or_outside_scope(analyst, site_b, town_a):
    body = {"name": "陈丽", "town": "330782001", "doc_number": resident_id(date(1985, 2, 3), 21, female=True)}
    response = send(client_for(analyst), "post", BASE, body)
    assert response.status_code == 403 and "Register and edit people" in response.json()["detail"]
    response = send(client_for(site_b), "post", BASE, body)
    assert response.status_code == 403 and "own jurisdiction" in response.json()["detail"]
    assert Person.objects.count() == 0


# --- update ------------------------------------------------------------------------------------

def test_patch_changes_only_the_given_fields(site_a, people, community_a2):
    zhang = people["zhang"]
    client = client_for(site_a)
    response = send(client, "patch", f"{BASE}/{zhang.pk}", {
        "phone": "13900001111", "community": "330782001002", "flags": ["needs_medication"], "reason": "moved",
    })
    assert response.status_code == 200, response.content
    zhang.refresh_from_db()
    assert zhang.phone == "13900001111" and zhang.community == community_a2
    assert zhang.needs_medication and zhang.doc_number == people["zhang"].doc_number
    assert zhang.address == "稠城街道香溪路12号3幢401室" and zhang.name == "张三"
    assert response.json()["phone_masked"] == "139****1111"
    event = AuditEvent.objects.get(action="person.update", target_id=str(zhang.pk))
    assert event.reason == "moved" and event.after["phone"] == "139****1111"

    # A new resident ID number brings its own sex and birth date.
    number = resident_id(date(1971, 7, 9), 40, female=True)
    response = send(client, "patch", f"{BASE}/{zhang.pk}", {"doc_number": number})
    assert response.status_code == 200, response.content
    zhang.refresh_from_db()
    assert (zhang.doc_number, zhang.sex, zhang.birth_date) == (number, "F", date(1971, 7, 9))


def test_patch_bad_input_and_refusals(site_a, analyst, site_b, people):
    zhang = people["zhang"]
    errors = fields(send(client_for(site_a), "patch", f"{BASE}/{zhang.pk}", {"phone": "0579", "name": None}))
    assert set(errors) == {"phone", "name"}
    response = send(client_for(analyst), "patch", f"{BASE}/{zhang.pk}", {"phone": "13900001111"})
    assert response.status_code == 403
    response = send(client_for(site_b), "patch", f"{BASE}/{zhang.pk}", {"phone": "13900001111"})
    assert response.status_code == 404
    zhang.refresh_from_db()
    assert zhang.phone == "13812345678"
    assert not AuditEvent.objects.filter(action="person.update").exists()


# --- unmask ------------------------------------------------------------------------------

@pytest.mark.parametrize("field", ["doc_number", "phone", "address"])
def test_unmask_returns_the_value_and_audits(site_a, people, field):
    zhang = people["zhang"]
    response = send(client_for(site_a), "post", f"{BASE}/{zhang.pk}/unmask", {"field": field, "reason": "call"})
    assert response.status_code == 200, response.content
    assert response.json() == {"field": field, "value": getattr(zhang, field)}
    event = AuditEvent.objects.get(action="person.unmask", target_id=str(zhang.pk))
    assert event.actor == site_a and event.after == {"field": field} and event.reason == "call"


def test_analyst_sees_masked_data_and_cannot_unmask(analyst, people):
    zhang = people["zhang"]
    client = client_for(analyst)
    listed = client.get(BASE).json()
    assert listed["count"] == 4
    assert zhang.doc_number not in json.dumps(listed, ensure_ascii=False)
    response = send(client, "post", f"{BASE}/{zhang.pk}/unmask", {"field": "doc_number", "reason": "curious"})
    assert response.status_code == 403
    assert zhang.doc_number not in response.content.decode()
    assert not AuditEvent.objects.filter(action="person.unmask").exists()


def test_unmask_bad_input(site_a, people):
    path = f"{BASE}/{people['zhang'].pk}/unmask"
    client = client_for(site_a)
    assert set(fields(send(client, "post", path, {"field": "notes", "reason": "x"}))) == {"field"}
    assert fields(send(client, "post", path, {"field": "phone", "reason": "  "})) == {
        "reason": "Say why you need the full value."}
    assert set(fields(send(client, "post", path, {"field": "phone"}))) == {"reason"}
    assert not AuditEvent.objects.filter(action="person.unmask").exists()


# --- by document ------------------------------------------------------------------------------

def test_by_document(site_a, people):
    client = client_for(site_a)
    wang = people["wang"]
    response = client.get(f"{BASE}/by-document", {"doc_type": "resident_id", "number": wang.doc_number.lower()})
    assert response.status_code == 200, response.content
    assert response.json()["id"] == wang.pk
    assert client.get(f"{BASE}/by-document", {"number": wang.doc_number}).json()["id"] == wang.pk
    unknown = resident_id(date(2001, 1, 1), 99)
    assert client.get(f"{BASE}/by-document", {"number": unknown}).status_code == 404
    errors = fields(client.get(f"{BASE}/by-document", {"number": "1.10105E+17"}))
    assert "Excel" in errors["number"]
    assert set(fields(client.get(f"{BASE}/by-document", {"number": "x", "doc_type": "library card"}))) == {"doc_type"}


# --- method, authentication, schema --------------------------------------------------------------

def test_wrong_method_is_405(site_a, people):
    client = client_for(site_a)
    pk = people["zhang"].pk
    assert client.delete(f"{BASE}/{pk}").status_code == 405
    assert send(client, "put", f"{BASE}/{pk}", {"name": "x"}).status_code == 405
    assert client.delete(BASE).status_code == 405
    assert client.get(f"{BASE}/{pk}/unmask").status_code == 405
    assert send(client, "post", f"{BASE}/by-document", {}).status_code == 405
    assert Person.objects.filter(pk=pk).exists()


def test_token_auth_and_revoked_token(site_a, people):
    token, key = api_token_create(user=site_a, name="dashboard", actor=site_a)
    client = Client()
    response = client.get(BASE, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200 and response.json()["count"] == 3
    assert client.get(BASE).status_code == 401
    assert client.get(BASE, HTTP_AUTHORIZATION="Bearer cl_wrong").status_code == 401
    api_token_revoke(token=token, actor=site_a)
    response = client.get(BASE, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 401
    response = send(client, "post", f"{BASE}/{people['zhang'].pk}/unmask", {"field": "phone", "reason": "x"},
                    HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 401
    assert not AuditEvent.objects.filter(action="person.unmask").exists()


def test_token_auth_writes_without_csrf(site_a, town_a):
    _token, key = api_token_create(user=site_a, name="import robot", actor=site_a)
    client = Client(enforce_csrf_checks=True)
    response = send(client, "post", BASE, {"name": "陈丽", "town": "330782001"}, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 201, response.content


def test_openapi_lists_the_endpoints_with_schemas(db):
    schema = Client().get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    assert set(paths[BASE]) >= {"get", "post"}
    assert set(paths[f"{BASE}/{{person_id}}"]) >= {"get", "patch"}
    assert "post" in paths[f"{BASE}/{{person_id}}/unmask"]
    assert "get" in paths[f"{BASE}/by-document"]
    components = schema["components"]["schemas"]
    assert {"PeoplePage", "PersonOut", "PersonDetailOut", "UnmaskOut", "FieldErrorsOut"} <= set(components)
    assert "doc_number_masked" in components["PersonOut"]["properties"]
    assert "doc_number" not in components["PersonOut"]["properties"]
    post = paths[BASE]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert {"name", "town", "community", "doc_number", "flags"} <= set(body["properties"])
    assert body["required"] == ["name"]
    assert post["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/FieldErrorsOut")
    unmask = paths[f"{BASE}/{{person_id}}/unmask"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert unmask["properties"]["field"]["enum"] == ["doc_number", "phone", "address"]
