"""The care pages: the list (search, filters, sort, pages, Excel), recording a request, one request and its
close form; the work-list and headquarters fragments the lead includes."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.test import override_settings
from django.utils import timezone
from python_calamine import CalamineWorkbook

from closedloop.facilities import care_selectors as cs
from closedloop.facilities.actions import care_request_close, care_request_create
from closedloop.facilities.models import CareRequest
from tests.facilities.care_support import build_world, client_for

LIST = "/sites/care/"


@pytest.fixture
def world(open_episode, facility_a, facility_b, community_a1, community_b1, city):
    return build_world(open_episode, facility_a, facility_b, community_a1, community_b1, city)


def record(episode, kind="medicine", detail="降压药", urgent=False, actor=None):
    return care_request_create(episode=episode, kind=kind, detail=detail, urgent=urgent, actor=actor)


def rows(response) -> list[str]:
    """The names in the list's rows, in order."""
    html = response.content.decode()
    body = html.split('<table class="data" id="care-requests">', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<a href="/sites/care/\d+/">([^<]+)</a>', body)


# --- the list --------------------------------------------------------------------------------------

def test_list_shows_open_requests_in_reach_soonest_due_first(world, site_a):
    record(world.zhang, kind="medicine")
    record(world.wang, kind="counselling", urgent=True)
    record(world.zhao, kind="special_food")  # site B's person
    response = client_for(site_a).get(LIST)
    assert response.status_code == 200
    assert rows(response) == ["王五", "张三"]
    html = response.content.decode()
    assert "Elderly (65+)" in html and "Needs regular medication" in html  # 张三's flags
    assert "urgent" in html and "稠城隔离点A" in html


def test_overdue_rows_are_highlighted_with_how_late(world, site_a):
    care = record(world.zhang)
    CareRequest.objects.filter(pk=care.pk).update(due_at=timezone.now() - timedelta(hours=3, minutes=10))
    html = client_for(site_a).get(LIST).content.decode()
    assert f'<tr data-care="{care.pk}" class="care-overdue">' in html
    assert re.search(r"3\xa0hours, 10\xa0minutes overdue", html), html


def test_search_filters_and_sort(world, site_a, facility_a):
    zhang = record(world.zhang, kind="medicine")
    record(world.wang, kind="counselling", urgent=True)
    li = record(world.li, kind="dependent")
    care_request_close(request=li, outcome="社区已安排", actor=site_a)
    CareRequest.objects.filter(pk=zhang.pk).update(due_at=timezone.now() - timedelta(minutes=5))
    client = client_for(site_a)
    assert rows(client.get(LIST, {"q": "张三"})) == ["张三"]
    assert rows(client.get(LIST, {"q": "wangwu"})) == ["王五"]
    assert rows(client.get(LIST, {"status": "closed"})) == ["李四"]
    assert sorted(rows(client.get(LIST, {"status": "all"}))) == sorted(["张三", "王五", "李四"])
    assert rows(client.get(LIST, {"kind": "counselling"})) == ["王五"]
    assert rows(client.get(LIST, {"overdue": "1"})) == ["张三"]
    assert rows(client.get(LIST, {"urgent": "1"})) == ["王五"]
    assert rows(client.get(LIST, {"where": "home", "status": "all"})) == ["李四"]
    assert sorted(rows(client.get(LIST, {"where": facility_a.pk}))) == ["张三", "王五"]
    assert rows(client.get(LIST, {"sort": "created"})) == ["张三", "王五"]
    assert rows(client.get(LIST, {"sort": "-created"})) == ["王五", "张三"]
    response = client.get(LIST, {"q": "nobody"})
    assert "No care request matches these filters." in response.content.decode()


def test_a_bad_filter_is_said_and_left_out(world, site_a):
    record(world.zhang)
    response = client_for(site_a).get(LIST, {"kind": "massage"})
    assert response.status_code == 200
    assert rows(response) == ["张三"]
    assert 'id="bad-filters"' in response.content.decode()


@override_settings(PAGE_SIZE=5)
def test_pages_and_a_pinned_query_count(world, site_a, django_assert_max_num_queries):
    client = client_for(site_a)
    record(world.zhang)
    client.get(LIST)  # warm the session
    with django_assert_max_num_queries(6) as few:  # session, user, jurisdictions, count, page, facilities
        assert client.get(LIST).status_code == 200
    for i in range(11):
        record(world.wang if i % 2 else world.zhang, kind="other", detail=str(i), urgent=bool(i % 3))
    with django_assert_max_num_queries(len(few.captured_queries)):
        first = client.get(LIST)
    assert len(rows(first)) == 5 and "page 1 of 3" in first.content.decode()
    assert len(rows(client.get(LIST, {"page": 3}))) == 2


def test_excel_export_masked_and_filtered(world, site_a):
    record(world.zhang, detail="降压药 每日一次")
    record(world.wang, kind="counselling")
    response = client_for(site_a).get(LIST, {"kind": "medicine", "format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0).to_python()
    assert sheet[0][:5] == ["Name", "ID number", "Phone", "Needs attention", "Need"]
    assert len(sheet) == 2
    name, id_number, _phone, flags, need = sheet[1][:5]
    assert (name, need) == ("张三", "Medicine") and "Elderly (65+)" in flags
    assert "*" in id_number and world.zhang.person.doc_number not in id_number


def test_the_list_needs_the_care_capability(world, analyst, site_b):
    record(world.zhang)
    assert client_for(analyst).get(LIST).status_code == 403
    assert rows(client_for(site_b).get(LIST)) == []  # the outsider sees none of town A's


def test_the_list_is_read_only(site_a):
    assert client_for(site_a).post(LIST).status_code == 405


# --- recording ---------------------------------------------------------------------------------------

def new(episode) -> str:
    return f"/sites/care/new/{episode.pk}/"


def test_record_a_request(world, site_a):
    client = client_for(site_a)
    page = client.get(new(world.zhang))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="vulnerable"' in html and "Elderly (65+)" in html and "room 301" in html
    response = client.post(new(world.zhang), {"kind": "medicine", "detail": "降压药 氨氯地平", "urgent": "on"})
    care = CareRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/sites/care/{care.pk}/"
    assert care.urgent and care.kind == "medicine" and care.created_by == site_a
    again = client.get(new(world.zhang)).content.decode()
    assert 'id="earlier"' in again  # the open request is shown before recording another


def test_bad_input_keeps_the_form(world, site_a):
    response = client_for(site_a).post(new(world.zhang), {"kind": "medicine", "detail": "  ", "urgent": "on"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Say what the person needs." in html
    assert re.search(r'<option value="medicine" selected>', html)
    assert re.search(r'name="urgent"[^>]*checked', html)
    assert not CareRequest.objects.exists()


def test_a_person_not_held_is_refused_with_the_reason(world, site_a):
    client = client_for(site_a)
    assert 'id="not-held"' in client.get(new(world.sun)).content.decode()
    response = client.post(new(world.sun), {"kind": "medicine", "detail": "降压药"})
    assert response.status_code == 400
    assert "in custody or on the way" in response.content.decode()
    assert not CareRequest.objects.exists()


def test_recording_wrong_method_outsider_and_role(world, site_a, site_b, analyst):
    assert client_for(site_a).put(new(world.zhang)).status_code == 405
    assert client_for(site_b).get(new(world.zhang)).status_code == 404
    assert client_for(site_b).post(new(world.zhang), {"kind": "medicine", "detail": "x"}).status_code == 404
    assert client_for(analyst).get(new(world.zhang)).status_code == 403
    assert client_for(site_a).get("/sites/care/new/999999/").status_code == 404
    assert not CareRequest.objects.exists()


# --- one request and closing it -----------------------------------------------------------------------------

def detail(care) -> str:
    return f"/sites/care/{care.pk}/"


def test_the_request_page_shows_the_person_and_closes(world, site_a):
    care = record(world.zhang, detail="降压药 氨氯地平")
    client = client_for(site_a)
    html = client.get(detail(care)).content.decode()
    assert "降压药 氨氯地平" in html and 'id="vulnerable"' in html and "Needs regular medication" in html
    assert 'id="close"' in html
    response = client.post(detail(care), {"outcome": "已送药到房间"})
    assert response.status_code == 302 and response["Location"] == detail(care)
    stored = CareRequest.objects.get(pk=care.pk)
    assert (stored.status, stored.outcome, stored.closed_by) == ("closed", "已送药到房间", site_a)
    html = client.get(detail(care)).content.decode()
    assert 'id="outcome"' in html and 'id="close"' not in html


def test_closing_without_an_outcome_keeps_the_form(world, site_a):
    care = record(world.zhang)
    response = client_for(site_a).post(detail(care), {"outcome": "   "})
    assert response.status_code == 400
    assert "Say what was done." in response.content.decode()
    assert CareRequest.objects.get(pk=care.pk).status == "open"


def test_closing_a_closed_request_says_who_did(world, site_a, community_worker):
    care = record(world.zhang)
    care_request_close(request=care, outcome="已送药", actor=community_worker)
    response = client_for(site_a).post(detail(care), {"outcome": "我也送了"})
    assert response.status_code == 409
    html = response.content.decode()
    assert "closed already, by Community_A1" in html and "已送药" in html
    assert CareRequest.objects.get(pk=care.pk).outcome == "已送药"


def test_request_page_wrong_method_outsider_and_role(world, site_a, site_b, analyst):
    care = record(world.zhang)
    assert client_for(site_a).delete(detail(care)).status_code == 405
    assert client_for(site_b).get(detail(care)).status_code == 404
    assert client_for(site_b).post(detail(care), {"outcome": "x"}).status_code == 404
    assert client_for(analyst).get(detail(care)).status_code == 403
    assert client_for(site_a).get("/sites/care/999999/").status_code == 404
    assert CareRequest.objects.get(pk=care.pk).status == "open"


def test_chinese_dates(world, site_a):
    care = record(world.zhang)
    client = client_for(site_a)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    html = client.get(detail(care)).content.decode()
    local = timezone.localtime(care.due_at)
    assert f"{local.year}年{local.month}月{local.day}日" in html


# --- the fragments ------------------------------------------------------------------------------------------

def test_worklist_section(world, facility_a, site_a, rf):
    late = record(world.zhang, kind="medical_care", urgent=True)
    record(world.wang, kind="counselling")
    CareRequest.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(minutes=30))
    request = rf.get("/")
    request.user = site_a
    html = render_to_string("facilities/care_worklist_section.html",
                            {"care_work": cs.open_for_custodian(facility_a.custodian, timezone.now())},
                            request=request)
    assert "2 open" in html and "1 overdue" in html
    assert html.index(f'data-care="{late.pk}"') < html.index("王五")  # overdue first
    assert re.search(r"30\xa0minutes overdue", html)


def test_headquarters_section(world, commander, rf):
    late = record(world.zhang, kind="medicine")
    record(world.zhao, kind="medicine", urgent=True)
    record(world.li, kind="dependent")
    CareRequest.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(hours=2))
    request = rf.get("/")
    request.user = commander
    html = render_to_string("facilities/care_hq_section.html",
                            {"care_hq": cs.headquarters_open(commander, timezone.now())}, request=request)
    assert '<a class="wl-late" href="/sites/care/?kind=medicine&amp;overdue=1">1</a>' in html
    assert '<a href="/sites/care/?kind=medicine">2</a>' in html
    assert '<a href="/sites/care/?kind=dependent">1</a>' in html
    assert f'data-care="{late.pk}"' in html


def test_the_request_page_reads_a_fixed_number_of_queries(world, site_a, django_assert_max_num_queries):
    care = record(world.zhang)
    client = client_for(site_a)
    client.get(detail(care))
    with django_assert_max_num_queries(5):  # session, user, jurisdictions, the request with its person, the stay
        assert client.get(detail(care)).status_code == 200
