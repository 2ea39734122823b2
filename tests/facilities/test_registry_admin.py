"""The back office of the registry: facilities are registered and changed through the actions (audited, their
custodian made and renamed with them); rooms are added through room_create and never edited by hand."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from closedloop.core.models import AuditEvent
from closedloop.facilities.models import Facility, Room
from closedloop.quarantine.models import Custodian


@pytest.fixture
def admin_client(admin_user):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin_user)
    return client


def facility_form(the_city, the_town, **changes) -> dict:
    data = {
        "kind": "isolation_site", "name": "稠城隔离点C", "code": "site-c", "city": the_city.pk,
        "jurisdiction": the_town.pk,
        "other_city": "", "address": "稠城街道1号", "status": "preparing", "contact_name": "王五",
        "contact_phone": "13812345678", "turnaround_hours": "24", "allow_companions": "on",
        "staff_test_every_days": "1", "latitude": "", "longitude": "", "reason": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_admin_registers_a_facility_through_the_action(admin_client, admin_user, city, town_a):
    response = admin_client.post(reverse("admin:facilities_facility_add"), facility_form(city, town_a))
    assert response.status_code == 302, response.content.decode()[:2000]
    site = Facility.objects.get(code="site-c")
    assert Custodian.objects.get(pk=site.custodian_id).name == "稠城隔离点C"
    assert AuditEvent.objects.filter(action="facility.create", actor=admin_user, target_id=str(site.pk)).exists()


def test_admin_shows_the_actions_refusals_next_to_the_field(admin_client, city):
    data = facility_form(city, city, kind="out_of_city_site", jurisdiction="", contact_phone="85123456")
    response = admin_client.post(reverse("admin:facilities_facility_add"), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "Say which city the site is in." in errors["other_city"]
    assert "area code" in errors["contact_phone"][0]
    assert not Facility.objects.exists() and not Custodian.objects.exists()


def test_admin_edits_through_the_actions(admin_client, admin_user, facility_a, city, town_a):
    url = reverse("admin:facilities_facility_change", args=[facility_a.pk])
    assert admin_client.get(url).status_code == 200
    data = facility_form(city, town_a, name="稠城一号隔离点", status="open", kind=None, code=None, city=None,
                         address="稠城街道工人北路1号")
    assert admin_client.post(url, data).status_code == 302
    site = Facility.objects.get(pk=facility_a.pk)
    assert (site.name, site.code) == ("稠城一号隔离点", "site-a")
    assert Custodian.objects.get(pk=site.custodian_id).name == "稠城一号隔离点"
    assert AuditEvent.objects.get(action="facility.update", actor=admin_user).after["name"] == "稠城一号隔离点"
    assert not AuditEvent.objects.filter(action="facility.status").exists()


def test_admin_status_change_needs_a_reason(admin_client, admin_user, facility_a, city, town_a):
    url = reverse("admin:facilities_facility_change", args=[facility_a.pk])
    base = facility_form(city, town_a, name="稠城隔离点A", kind=None, code=None, city=None,
                         address="稠城街道工人北路1号", contact_name="", contact_phone="")
    response = admin_client.post(url, {**base, "status": "closed"})
    assert response.status_code == 200
    assert "Say why the site is paused or closed." in response.context["adminform"].form.errors["reason"]
    assert admin_client.post(url, {**base, "status": "closed", "reason": "撤点"}).status_code == 302
    assert Custodian.objects.get(pk=facility_a.custodian_id).active is False
    assert AuditEvent.objects.get(action="facility.status", actor=admin_user).reason == "撤点"


def test_admin_adds_rooms_through_the_action_and_never_edits_them(admin_client, admin_user, facility_a):
    response = admin_client.post(reverse("admin:facilities_room_add"), {
        "facility": facility_a.pk, "building": "B", "floor": "5", "number": "501", "beds": "2", "note": "靠电梯"})
    assert response.status_code == 302
    made = Room.objects.get(facility=facility_a, building="B", number="501")
    assert (made.beds, made.order, made.status) == (2, 1, "available")
    assert AuditEvent.objects.filter(action="room.create", actor=admin_user, target_id=str(made.pk)).exists()
    duplicate = admin_client.post(reverse("admin:facilities_room_add"), {
        "facility": facility_a.pk, "building": "B", "floor": "5", "number": "501", "beds": "1"})
    assert duplicate.status_code == 200 and Room.objects.filter(number="501").count() == 1
    url = reverse("admin:facilities_room_change", args=[made.pk])
    assert admin_client.get(url).status_code == 200  # read-only view
    assert admin_client.post(url, {"facility": facility_a.pk, "building": "B", "floor": "5", "number": "501",
                                   "beds": "8"}).status_code == 403
    assert Room.objects.get(pk=made.pk).beds == 2
    assert admin_client.get(reverse("admin:facilities_room_changelist"), {"status": "available"}).status_code == 200
    assert admin_client.get(reverse("admin:facilities_facility_changelist"), {"q": "稠城"}).status_code == 200
