"""An outsider cannot reach another town's people by any path: page, API, export.

``person_a`` lives in town A (Choucheng). ``site_b`` is isolation-site staff of
town B: every path answers as if ``person_a`` did not exist (404, never a 403
that would confirm it). Site staff may not export at all, so the export paths
are also tried by ``community_b``, a town-B community worker who may export.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from python_calamine import CalamineWorkbook

from closedloop.core.actions import api_token_create, user_create
from closedloop.core.models import AuditEvent
from closedloop.core.roles import Role
from tests.conftest import PASSWORD

API = "/api/v1/people"


@pytest.fixture
def community_b(community_b1):
    return user_create(username="community_b", password=PASSWORD, role=Role.COMMUNITY_STAFF,
                       full_name="Community B", jurisdictions=[community_b1], actor=None)


@pytest.fixture
def person_a(person_factory):
    return person_factory("张三", phone="13812345678", address="稠城街道香溪路12号")


@pytest.fixture
def person_b(person_factory, community_b1):
    return person_factory("赵六", community=community_b1)


def logged_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_the_insider_reaches_the_person_by_every_path(site_a, commander, person_a):
    """The control case: the same requests succeed for someone in scope."""
    client = logged_in(site_a)
    assert client.get(f"/people/{person_a.pk}/").status_code == 200
    assert client.get(f"{API}/{person_a.pk}").status_code == 200
    assert person_a.pk in [i["id"] for i in client.get(API).json()["items"]]
    assert client.get(f"{API}/by-document", {"number": person_a.doc_number}).json()["id"] == person_a.pk
    export = logged_in(commander).get("/people/export.csv")
    assert "张三" in b"".join(export.streaming_content).decode("utf-8-sig")


def test_outsider_gets_404_on_the_page(site_b, person_a, person_b):
    client = logged_in(site_b)
    assert client.get(f"/people/{person_a.pk}/").status_code == 404
    assert client.get(f"/people/{person_a.pk}/edit/").status_code == 404
    assert client.post(f"/people/{person_a.pk}/unmask/phone/", {"reason": "x"}).status_code == 404
    assert client.get(f"/people/{person_b.pk}/").status_code == 200  # their own town's person
    list_page = client.get("/people/")
    assert "张三" not in list_page.content.decode() and "赵六" in list_page.content.decode()
    assert not AuditEvent.objects.filter(action="person.unmask").exists()


def test_outsider_gets_404_from_the_api_just_like_for_a_missing_person(site_b, person_a, person_b):
    client = logged_in(site_b)
    outsider = client.get(f"{API}/{person_a.pk}")
    missing = client.get(f"{API}/999999")
    assert outsider.status_code == missing.status_code == 404
    assert outsider.json() == missing.json()
    assert person_a.name not in outsider.content.decode()

    listed = client.get(API).json()
    assert [i["id"] for i in listed["items"]] == [person_b.pk] and listed["count"] == 1
    assert client.get(API, {"q": "张三"}).json()["count"] == 0
    assert client.get(API, {"town": "330782001"}).json()["items"] == []

    assert client.get(f"{API}/by-document", {"number": person_a.doc_number}).status_code == 404

    patch = client.patch(f"{API}/{person_a.pk}", data=json.dumps({"phone": "13900000000"}),
                         content_type="application/json")
    assert patch.status_code == 404
    unmask = client.post(f"{API}/{person_a.pk}/unmask", data=json.dumps({"field": "phone", "reason": "x"}),
                         content_type="application/json")
    assert unmask.status_code == 404 and "13812345678" not in unmask.content.decode()
    person_a.refresh_from_db()
    assert person_a.phone == "13812345678"
    assert not AuditEvent.objects.filter(action__in=["person.unmask", "person.update"]).exists()


def test_outsider_with_a_token_gets_404_too(site_b, person_a):
    _token, key = api_token_create(user=site_b, name="b", actor=site_b)
    response = Client().get(f"{API}/{person_a.pk}", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 404
    listed = Client().get(API, HTTP_AUTHORIZATION=f"Bearer {key}").json()
    assert person_a.pk not in [i["id"] for i in listed["items"]]


def test_outsider_cannot_export_the_person_on_the_web(site_b, community_b, person_a, person_b):
    assert logged_in(site_b).get("/people/export.csv").status_code == 403  # site staff may not export

    client = logged_in(community_b)
    response = client.get("/people/export.csv")
    table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [r[0] for r in table[1:]] == ["赵六"]
    # Even asking for town A by its id gives nothing of town A.
    response = client.get("/people/export.xlsx", {"town": person_a.town_id})
    book = CalamineWorkbook.from_object(io.BytesIO(b"".join(response.streaming_content)))
    rows = book.get_sheet_by_index(0).to_python()
    assert len(rows) == 1  # the header only
    assert [e.after["count"] for e in AuditEvent.objects.filter(action="person.export").order_by("id")] == [1, 0]


def test_outsider_cannot_export_the_person_from_the_command(site_b, community_b, person_a, person_b, tmp_path):
    path = tmp_path / "b.csv"
    with pytest.raises(CommandError, match="Export people"):
        call_command("export", "people", "-o", str(path), "--user", "site_b", "--language", "en",
                     stdout=io.StringIO())
    assert not path.exists()

    out = io.StringIO()
    call_command("export", "people", "-o", str(path), "--user", "community_b", "--language", "en", stdout=out)
    assert "Exported 1 row" in out.getvalue()
    content = path.read_text(encoding="utf-8-sig")
    assert "赵六" in content and "张三" not in content

    out = io.StringIO()
    call_command("export", "people", "-o", str(path), "--user", "community_b", "--town", "330782001",
                 "--language", "en", stdout=out)
    assert "Exported 0 rows" in out.getvalue()
    assert "张三" not in path.read_text(encoding="utf-8-sig")
