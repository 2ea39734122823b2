"""Observation pages: a health check, samples and results, the lab upload, resolving an alert.

Each: happy path, bad input kept with the error next to its field, wrong method, outsider refused.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from closedloop.quarantine.actions import health_check_record, specimen_record
from closedloop.quarantine.models import Alert, Episode, HealthCheck, Specimen
from tests.quarantine import test_obs_support as support
from tests.quarantine.test_obs_support import sampled, today

held = support.held  # a shared fixture
hospital = support.hospital  # a shared fixture


@pytest.fixture
def client():
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def html(response) -> str:
    return response.content.decode()


def field_errors(response, name: str) -> str:
    match = re.search(rf'<ul class="field-errors" id="id_{name}_errors">(.*?)</ul>', html(response), re.S)
    return match.group(1) if match else ""


# --- health check -------------------------------------------------------------------------------

def test_health_check_page_records_a_check(client, held, site_a):
    client.force_login(site_a)
    url = reverse("loop:health_check", args=[held.pk])
    page = client.get(url)
    assert page.status_code == 200 and "李四" in html(page) and held.person.doc_number not in html(page)
    assert 'value="morning"' in html(page) and 'value="evening"' in html(page) and 'value="noon"' not in html(page)
    response = client.post(url, {"day": today().isoformat(), "slot": "evening", "temperature": "37.6",
                                 "symptoms": ["cough"], "note": "复测"})
    assert response.status_code == 302 and response["Location"] == url
    check = HealthCheck.objects.get(episode=held)
    assert (str(check.temperature), check.symptoms, check.note) == ("37.6", ["cough"], "复测")
    page = client.get(url)
    assert "is recorded: 37.6 °C" in html(page)
    assert set(Alert.objects.values_list("kind", flat=True)) == {"fever", "symptom"}
    assert html(page).count('action="/loop/alerts/') == 2  # each open alert has its resolve form


def test_health_check_bad_input_keeps_what_was_typed(client, held, site_a):
    client.force_login(site_a)
    url = reverse("loop:health_check", args=[held.pk])
    response = client.post(url, {"day": today().isoformat(), "slot": "morning", "temperature": "3.65",
                                 "symptoms": ["fatigue"], "note": "体温计读数"})
    assert response.status_code == 400
    assert "not plausible" in field_errors(response, "temperature")
    assert 'value="3.65"' in html(response) and 'value="体温计读数"' in html(response)
    assert re.search(r'value="fatigue"[^>]*checked', html(response))
    response = client.post(url, {"day": (today() + timedelta(days=1)).isoformat(), "slot": "morning",
                                 "temperature": "36.5"})
    assert response.status_code == 400 and "in the future" in field_errors(response, "day")
    response = client.post(url, {"day": "", "slot": "noon", "temperature": "36.5"})
    assert response.status_code == 400 and field_errors(response, "day") and field_errors(response, "slot")
    assert not HealthCheck.objects.exists()


def test_health_check_page_refuses_other_methods_outsiders_and_roles(client, held, site_b, analyst, site_a):
    url = reverse("loop:health_check", args=[held.pk])
    client.force_login(site_a)
    assert client.put(url).status_code == 405
    client.force_login(site_b)
    assert client.get(url).status_code == 404
    assert client.post(url, {"day": today().isoformat(), "slot": "morning", "temperature": "36.5"}).status_code == 404
    client.force_login(analyst)
    assert client.get(url).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302  # to the login page
    assert not HealthCheck.objects.exists()


def test_health_check_page_for_a_person_not_in_custody_says_why(client, person_factory, site_a):
    from closedloop.quarantine.actions import episode_open

    awaiting = episode_open(person=person_factory("孙八"), category="close_contact", anchor_date=today(), actor=None)
    client.force_login(site_a)
    url = reverse("loop:health_check", args=[awaiting.pk])
    assert "recorded for people in custody" in html(client.get(url))
    response = client.post(url, {"day": today().isoformat(), "slot": "morning", "temperature": "36.5"})
    assert response.status_code == 400 and "recorded for people in custody" in html(response)


# --- samples and results ---------------------------------------------------------------------------

def test_specimen_page_records_a_sample_and_its_result(client, held, site_a):
    client.force_login(site_a)
    url = reverse("loop:specimen", args=[held.pk])
    page = client.get(url)
    assert page.status_code == 200 and 'id="schedule-tests"' in html(page)
    taken = timezone.localtime(sampled()).strftime("%Y-%m-%dT%H:%M")
    response = client.post(url, {"form": "specimen", "s-kind": "pcr", "s-sampled_at": taken, "s-barcode": "V0001",
                                 "s-scheduled_for": ""})
    assert response.status_code == 302
    specimen = Specimen.objects.get(barcode="V0001")
    assert specimen.scheduled_for == today()
    assert "recorded for the test of" in html(client.get(url))
    response = client.post(url, {"form": "result", "r-specimen": str(specimen.pk), "r-ct": "36.2", "r-result": "",
                                 "r-lab": "义乌市疾控"})
    assert response.status_code == 302
    assert Specimen.objects.get(pk=specimen.pk).result == "assess"
    page = client.get(url)
    assert "needs a risk assessment" in html(page) and "No sample is waiting for a result." in html(page)


def test_specimen_page_positive_result_says_the_person_became_a_case(client, held, site_a, hospital):
    specimen = specimen_record(episode=held, kind="pcr", sampled_at=sampled(), actor=site_a)
    client.force_login(site_a)
    url = reverse("loop:specimen", args=[held.pk])
    response = client.post(url, {"form": "result", "r-specimen": str(specimen.pk), "r-ct": "", "r-result": "positive"})
    assert response.status_code == 302
    assert "has become a case" in html(client.get(url))
    assert Episode.objects.get(person=held.person, status="open").pending_custodian == hospital


def test_specimen_page_bad_input_keeps_what_was_typed(client, held, site_a):
    specimen_record(episode=held, kind="pcr", sampled_at=sampled(), barcode="W0001", actor=site_a)
    client.force_login(site_a)
    url = reverse("loop:specimen", args=[held.pk])
    taken = timezone.localtime(sampled()).strftime("%Y-%m-%dT%H:%M")
    response = client.post(url, {"form": "specimen", "s-kind": "pcr", "s-sampled_at": taken, "s-barcode": "W0001"})
    assert response.status_code == 400
    assert "already on another sample" in field_errors(response, "s-barcode")
    assert 'value="W0001"' in html(response)
    response = client.post(url, {"form": "specimen", "s-kind": "pcr", "s-sampled_at": "", "s-barcode": "W0002"})
    assert response.status_code == 400 and field_errors(response, "s-sampled_at") and 'value="W0002"' in html(response)
    pending = Specimen.objects.get()
    response = client.post(url, {"form": "result", "r-specimen": str(pending.pk), "r-ct": "77", "r-lab": "某实验室"})
    assert response.status_code == 400
    assert "between 0 and 50" in html(response) and 'value="77"' in html(response) and 'value="某实验室"' in html(response)
    response = client.post(url, {"form": "result", "r-specimen": str(pending.pk), "r-ct": "30", "r-result": "negative"})
    assert response.status_code == 400 and "not both" in html(response)
    assert client.post(url, {"form": "other"}).status_code == 400
    assert Specimen.objects.get().result == "pending" and Specimen.objects.count() == 1


def test_specimen_page_refuses_other_methods_and_outsiders(client, held, site_a, site_b):
    url = reverse("loop:specimen", args=[held.pk])
    client.force_login(site_a)
    assert client.delete(url).status_code == 405
    client.force_login(site_b)
    assert client.get(url).status_code == 404
    assert client.post(url, {"form": "specimen", "s-kind": "pcr", "s-sampled_at": "2022-08-05T08:00"}).status_code == 404
    assert not Specimen.objects.exists()


# --- the lab's result file ----------------------------------------------------------------------------

def test_result_upload_shows_the_report(client, held, site_a):
    specimen_record(episode=held, kind="pcr", sampled_at=sampled(), barcode="U0001", actor=site_a)
    client.force_login(site_a)
    url = reverse("loop:result_upload")
    assert client.get(url).status_code == 200
    content = "条码,检测结果\nU0001,阴性\nU0404,阴性\n".encode("utf-8-sig")
    response = client.post(url, {"file": SimpleUploadedFile("结果.csv", content, content_type="text/csv")})
    assert response.status_code == 200
    page = html(response)
    assert "结果.csv" in page
    assert re.search(r'Recorded</div><div class="figure">1<', page)
    assert re.search(r'Rejected</div><div class="figure">1<', page)
    assert "No sample with the barcode U0404" in page
    assert Specimen.objects.get(barcode="U0001").result == "negative"
    response = client.post(url, {"file": SimpleUploadedFile("结果.csv", content, content_type="text/csv")})
    assert "every result was already recorded" not in html(response)  # one row is still rejected
    assert re.search(r'Unchanged</div><div class="figure">1<', html(response))


def test_result_upload_bad_file_wrong_method_and_roles(client, site_a, analyst):
    url = reverse("loop:result_upload")
    client.force_login(site_a)
    response = client.post(url, {"file": SimpleUploadedFile("scan.pdf", b"%PDF-1.4", content_type="application/pdf")})
    assert response.status_code == 400 and "Only .xlsx" in field_errors(response, "file")
    response = client.post(url, {"file": SimpleUploadedFile("list.csv", "姓名,电话\n张三,1\n".encode())})
    assert response.status_code == 400 and "No header row names the sample" in field_errors(response, "file")
    assert client.put(url).status_code == 405
    client.force_login(analyst)
    assert client.get(url).status_code == 403


# --- resolving an alert ----------------------------------------------------------------------------------

def test_resolving_an_alert_from_a_page(client, held, site_a, site_b):
    health_check_record(episode=held, day=today(), slot="morning", temperature="38.1", symptoms=[], actor=site_a)
    alert = Alert.objects.get()
    url = reverse("loop:alert_resolve", args=[alert.pk])
    back = reverse("loop:health_check", args=[held.pk])
    client.force_login(site_b)
    assert client.post(url, {"resolution": "已处理", "next": back}).status_code == 404
    client.force_login(site_a)
    assert client.get(url).status_code == 405
    response = client.post(url, {"resolution": "  ", "next": back})
    assert response.status_code == 400 and "Say what was done" in field_errors(response, "resolution")
    assert 'name="next" value="' + back + '"' in html(response)
    response = client.post(url, {"resolution": "复测36.9℃，继续观察", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == back  # only a local page
    assert Alert.objects.get().status == "resolved"
    response = client.post(url, {"resolution": "again", "next": back})
    assert response.status_code == 400 and "already been resolved" in html(response)


# --- Chinese ----------------------------------------------------------------------------------------------

def test_the_pages_render_in_chinese(held, site_a):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(site_a)
    for name in ("loop:health_check", "loop:specimen"):
        assert client.get(reverse(name, args=[held.pk])).status_code == 200
    assert client.get(reverse("loop:check_round", args=[held.custodian_id])).status_code == 200
    assert client.get(reverse("loop:result_upload")).status_code == 200
