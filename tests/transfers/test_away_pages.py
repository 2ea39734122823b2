"""The pages of the out-of-city registry: the headline, the list and its workbook, a roster's import, one record
and what its city reports. Happy path, bad input, wrong method, outsiders."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from python_calamine import CalamineWorkbook

from closedloop.core.models import AuditEvent
from closedloop.transfers.models import AwayRecord, TransferPlan
from tests.transfers import away_support as sup
from tests.transfers.away_support import NB_SITE, client_for, import_rows, record_of, resident_id, row

transfer_desk = sup.transfer_desk  # a shared fixture
OVERVIEW, LIST, IMPORT = "/transfers/", "/transfers/away/list/", "/transfers/away/import/"


@pytest.fixture
def three(tmp_path, city, town_a, town_b, hangzhou_site, ningbo_site, transfer_desk):
    today = timezone.localdate()
    import_rows(tmp_path, [
        row(1, "张伟", status="已解除", release=(today - timedelta(days=1)).isoformat()),
        row(2, "李娜", release=(today + timedelta(days=1)).isoformat(), site=NB_SITE, city="宁波市"),
        row(3, "王芳", release=(today + timedelta(days=5)).isoformat(), town="北苑街道"),
    ], actor=transfer_desk)
    return {n: record_of(n) for n in ("张伟", "李娜", "王芳")}


def names(response) -> list[str]:
    return re.findall(r'data-record="\d+"[^>]*>\s*<td><a [^>]*>([^<]+)</a>', response.content.decode())


# --- the headline --------------------------------------------------------------------------------------

def test_the_headline_page_answers_with_links_to_the_list(three, city, commander):
    response = client_for(commander).get(OVERVIEW)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="still-out" data-count="3"' in html
    assert f'href="{LIST}?readiness=now" data-readiness="now" data-count="1"' in html
    assert f'href="{LIST}?readiness=tomorrow" data-readiness="tomorrow" data-count="1"' in html
    assert f'{LIST}?site={three["李娜"].origin_id}' in html and f"{LIST}?city=%E6%9D%AD%E5%B7%9E%E5%B8%82" in html
    assert f'{LIST}?town={three["王芳"].home_town_id}&amp;readiness=later' in html
    assert "No return plan is adopted yet." in html
    TransferPlan.objects.create(city=city, status="adopted", epoch=timezone.now(), instance={}, plan={},
                                makespan=600, lower_bound=570, people=3)
    html = client_for(commander).get(OVERVIEW).content.decode()
    assert 'id="last-home"' in html and "no plan can do it before" in html


def test_the_headline_fragment_speaks_chinese(three, commander):
    client = client_for(commander)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    response = client.get(OVERVIEW)
    assert response.status_code == 200 and 'data-count="3"' in response.content.decode()


def test_the_headline_refuses_roles_without_people_and_other_methods(three, materials_clerk, commander):
    assert client_for(materials_clerk).get(OVERVIEW).status_code == 403
    assert client_for(commander).post(OVERVIEW).status_code == 405


def test_an_outsider_sees_only_their_towns_people(three, site_b):
    html = client_for(site_b).get(OVERVIEW).content.decode()
    assert 'id="still-out" data-count="1"' in html
    response = client_for(site_b).get(LIST)
    assert names(response) == ["王芳"]
    assert client_for(site_b).get(f"/transfers/away/{three['张伟'].pk}/").status_code == 404


# --- the list ------------------------------------------------------------------------------------------

def test_the_list_filters_searches_sorts_and_masks(three, commander):
    client = client_for(commander)
    assert names(client.get(LIST)) == ["张伟", "李娜", "王芳"]  # by release day
    assert names(client.get(LIST, {"sort": "-release"})) == ["王芳", "李娜", "张伟"]
    assert names(client.get(LIST, {"readiness": "now"})) == ["张伟"]
    assert names(client.get(LIST, {"city": "宁波市"})) == ["李娜"]
    assert names(client.get(LIST, {"site": three["王芳"].origin_id})) == ["张伟", "王芳"]
    assert names(client.get(LIST, {"town": three["王芳"].home_town_id})) == ["王芳"]
    assert names(client.get(LIST, {"status": "released"})) == ["张伟"]
    assert names(client.get(LIST, {"q": "wangfang"})) == ["王芳"]
    assert names(client.get(LIST, {"q": "李"})) == ["李娜"]
    assert names(client.get(LIST, {"q": resident_id(1)})) == ["张伟"]
    html = client.get(LIST).content.decode()
    assert resident_id(1) not in html and "13912340001" not in html and resident_id(1)[:6] + "****" in html


def test_bad_filters_are_said_and_ignored(three, commander):
    response = client_for(commander).get(LIST, {"readiness": "soon", "site": "abc", "sort": "age"})
    assert response.status_code == 200
    assert 'id="filter-errors"' in response.content.decode() and len(names(response)) == 3


def test_the_list_is_paginated_with_a_fixed_number_of_queries(tmp_path, three, commander, transfer_desk, settings,
                                                              django_assert_num_queries):
    settings.PAGE_SIZE = 5
    client = client_for(commander)
    client.get(LIST)  # the session and the user are loaded once per request anyway: warm nothing else
    # the session, the user, their jurisdictions, the sites, the count, the page, the towns
    with django_assert_num_queries(7) as first:
        client.get(LIST)
    import_rows(tmp_path, [row(10 + i, f"新{i}", town="北苑街道") for i in range(8)], actor=transfer_desk,
                name="more.csv")
    with django_assert_num_queries(len(first.captured_queries)):
        response = client.get(LIST, {"page": "2"})
    assert "page 2 of 3" in response.content.decode() and len(names(response)) == 5


def test_the_workbook_is_masked_and_audited(three, analyst):
    response = client_for(analyst).get(LIST, {"format": "xlsx", "town": three["王芳"].home_town_id})
    assert response.status_code == 200
    book = CalamineWorkbook.from_filelike(io.BytesIO(b"".join(response.streaming_content)
                                                     if response.streaming else response.content))
    rows = book.get_sheet_by_index(0).to_python()
    assert rows[0][:3] == ["Name", "ID number", "Phone"] and rows[1][0] == "王芳"
    assert "*" in rows[1][1] and "*" in rows[1][2] and len(rows) == 2
    audit = AuditEvent.objects.get(action="away.export")
    assert audit.actor == analyst and audit.after["count"] == 1


# --- the import ----------------------------------------------------------------------------------------

def test_the_import_page_imports_and_shows_every_row(tmp_path, city, town_a, hangzhou_site, transfer_desk):
    client = client_for(transfer_desk)
    assert client.get(IMPORT).status_code == 200
    data = sup.write_csv(tmp_path, [row(1, "张伟"), row(2, "李娜", town="火星街道")]).read_bytes()
    response = client.post(IMPORT, {"file": SimpleUploadedFile("杭州名单.csv", data)})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-count="created">1<' in html and 'data-count="rejected">1<' in html
    assert 'class="row-rejected" data-row="3"' in html and "火星街道" in html
    assert AwayRecord.objects.count() == 1


def test_the_import_page_refuses_bad_files_roles_and_methods(tmp_path, transfer_desk, analyst, city):
    client = client_for(transfer_desk)
    assert client.post(IMPORT, {}).status_code == 400
    response = client.post(IMPORT, {"file": SimpleUploadedFile("roster.pdf", b"%PDF")})
    assert response.status_code == 400 and "Only .xlsx, .xls and .csv" in response.content.decode()
    response = client.post(IMPORT, {"file": SimpleUploadedFile("roster.csv", "姓名,备注\n张伟,x\n".encode())})
    assert response.status_code == 400 and "No header row names the ID number" in response.content.decode()
    assert client_for(analyst).get(IMPORT).status_code == 403
    assert client.put(IMPORT).status_code == 405
    assert not AuditEvent.objects.filter(action="away.import").exists()


# --- one record and its report --------------------------------------------------------------------------

def test_a_record_and_a_report_from_its_city(three, transfer_desk, ningbo_site):
    zhang = three["王芳"]
    client = client_for(transfer_desk)
    page = client.get(f"/transfers/away/{zhang.pk}/")
    assert page.status_code == 200 and 'id="report"' in page.content.decode()
    response = client.post(f"/transfers/away/{zhang.pk}/report/", {"status": "moved", "origin": ningbo_site.pk,
                                                                    "note": "转点"})
    assert response.status_code == 302 and response["Location"] == f"/transfers/away/{zhang.pk}/"
    record = record_of("王芳")
    assert record.origin == ningbo_site and record.episode.custodian_id == ningbo_site.custodian_id
    html = client.get(response["Location"]).content.decode()
    assert 'data-kind="give"' in html and 'data-kind="receive"' in html and 'data-action="away.report"' in html


def test_a_bad_report_is_shown_next_to_its_field(three, transfer_desk):
    zhang = three["张伟"]
    client = client_for(transfer_desk)
    response = client.post(f"/transfers/away/{zhang.pk}/report/", {"status": "moved"})
    assert response.status_code == 400 and "Say which site the person was moved to." in response.content.decode()
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    response = client.post(f"/transfers/away/{zhang.pk}/report/", {"status": "released", "release_on": future})
    assert response.status_code == 400 and "cannot be in the future" in response.content.decode()
    assert not AuditEvent.objects.filter(action="away.report").exists()


def test_reports_refuse_other_methods_roles_and_outsiders(three, analyst, site_b, transfer_desk):
    zhang = three["张伟"]
    url = f"/transfers/away/{zhang.pk}/report/"
    assert client_for(transfer_desk).get(url).status_code == 405
    assert client_for(analyst).post(url, {"status": "released"}).status_code == 403
    assert client_for(site_b).post(url, {"status": "released"}).status_code == 404
    assert 'id="report"' not in client_for(analyst).get(f"/transfers/away/{zhang.pk}/").content.decode()
    assert record_of("张伟").status == "released" and not AuditEvent.objects.filter(action="away.report").exists()
