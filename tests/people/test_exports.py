"""Exports of the person registry: the builder, the CSV and XLSX writers, the web
download and ``closedloop export people``."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone, translation
from python_calamine import CalamineWorkbook

from closedloop.core.models import AuditEvent
from closedloop.people.exports import csv_chunks, export_rows, write_xlsx
from closedloop.quarantine.actions import episode_open

HEADER_EN = [
    "Name", "Sex", "Birth date", "Document type", "Document number", "Phone", "Town or street",
    "Village or community", "Address", "Household", "Employer", "Flags", "Open episode category",
    "Anchor date", "Registered at",
]


@pytest.fixture
def people(person_factory, town_a, community_a2, community_b1):
    zhang = person_factory("张三", phone="13812345678", address="稠城街道香溪路12号3幢401室", employer="义乌小商品城")
    li = person_factory("李四", community=community_a2, female=True, birth=date(1950, 3, 1))
    zhao = person_factory("赵六", community=community_b1)
    episode_open(person=zhang, category="close_contact", anchor_date=date(2022, 8, 1), actor=None)
    return {"zhang": zhang, "li": li, "zhao": zhao}


def client_for(user, language="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 BOM for Excel"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def read_xlsx(data_or_path) -> list[list]:
    source = io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else str(data_or_path)
    book = CalamineWorkbook.from_object(source) if isinstance(source, io.BytesIO) else CalamineWorkbook.from_path(source)
    return book.get_sheet_by_index(0).to_python(skip_empty_area=False)


def as_dicts(table: list[list]) -> dict[str, dict]:
    header = table[0]
    return {row[0]: dict(zip(header, row, strict=True)) for row in table[1:]}


# --- the builder -----------------------------------------------------------------------

def test_export_rows_are_scoped_masked_and_audited_once(analyst, site_a, people, community_worker):
    rows = export_rows(analyst, {})
    assert rows.count == 3
    # The audit row is written before any row is read.
    event = AuditEvent.objects.get(action="person.export")
    assert event.actor == analyst and event.after["count"] == 3 and event.after["filters"] == {}
    got = {row["name"]: row for row in rows}
    assert set(got) == {"张三", "李四", "赵六"}
    zhang = got["张三"]
    assert zhang["doc_number"] == people["zhang"].doc_number_masked
    assert zhang["phone"] == "138****5678"
    assert zhang["address"] and "401" not in zhang["address"]
    assert zhang["anchor_date"] == date(2022, 8, 1)
    assert zhang["employer"] == "义乌小商品城"

    # A community worker of A1 exports only A1.
    assert [r["name"] for r in export_rows(community_worker, {})] == ["张三"]
    assert AuditEvent.objects.filter(action__startswith="person.export").count() == 2


def test_unmasked_export_needs_the_capability_and_writes_one_audit_row(analyst, commander, people, town_a):
    with pytest.raises(PermissionDenied):
        export_rows(analyst, {}, unmask=True)
    assert not AuditEvent.objects.filter(action__startswith="person.export").exists()

    rows = export_rows(commander, {"town": str(town_a.pk)}, unmask=True)
    got = {row["name"]: row for row in rows}
    assert set(got) == {"张三", "李四"}
    assert got["张三"]["doc_number"] == people["zhang"].doc_number
    assert got["张三"]["phone"] == "13812345678"
    assert got["张三"]["address"] == "稠城街道香溪路12号3幢401室"
    events = AuditEvent.objects.filter(action__startswith="person.export")
    assert [e.action for e in events] == ["person.export_unmasked"]
    assert events[0].actor == commander
    assert events[0].after["count"] == 2 and events[0].after["filters"] == {"town": str(town_a.pk)}


def test_export_query_count_does_not_grow_with_rows(analyst, person_factory, town_a, community_a2):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            rows = list(export_rows(analyst, {}))
        return len(ctx.captured_queries), len(rows)

    for i in range(2):
        episode_open(person=person_factory(f"甲{i}"), category="inbound", anchor_date=date(2022, 8, 1), actor=None)
    queries()  # warm up: the user's jurisdictions are read once and kept
    few = queries()
    for i in range(8):
        person_factory(f"乙{i}", community=community_a2 if i % 2 else None, town=town_a)
    many = queries()
    assert (few[1], many[1]) == (2, 10)
    assert few[0] == many[0]


def test_site_staff_may_not_export(site_a, people):
    with pytest.raises(PermissionDenied):
        export_rows(site_a, {})


def test_search_text_is_masked_in_the_audit_row(analyst, people):
    list(export_rows(analyst, {"q": people["zhang"].doc_number}))
    filters = AuditEvent.objects.get(action="person.export").after["filters"]
    assert people["zhang"].doc_number not in str(filters) and "*" in filters["q"]


def test_writers_in_english_and_chinese(analyst, people, tmp_path):
    with translation.override("en"):
        table = read_csv("".join(csv_chunks(export_rows(analyst, {"category": "close_contact"}))).encode())
    assert table[0] == HEADER_EN
    assert len(table) == 2
    row = dict(zip(table[0], table[1], strict=True))
    assert row["Sex"] == "Male" and row["Birth date"] == "1990-05-17" and row["Anchor date"] == "2022-08-01"
    assert row["Document type"] == "Resident ID card" and row["Open episode category"] == "Close contact"
    assert row["Town or street"] == "Choucheng" and row["Village or community"] == "Xiangxi"

    with translation.override("zh-hans"):
        table = read_csv("".join(csv_chunks(export_rows(analyst, {"category": "close_contact"}))).encode())
        path = tmp_path / "people.xlsx"
        write_xlsx(export_rows(analyst, {"flag": "is_elderly"}), str(path))
    row = dict(zip(table[0], table[1], strict=True))
    assert "2022年8月1日" in table[1] and "1990年5月17日" in table[1]
    assert "稠城街道" in table[1] and "香溪社区" in table[1]
    sheet = read_xlsx(path)
    assert len(sheet) == 2 and sheet[1][0] == "李四"
    assert sheet[1][2] == date(1950, 3, 1)  # a real date cell, not text


def test_formulas_in_names_are_not_run(analyst, person_factory):
    person_factory("=HYPERLINK(\"http://x\")", employer="@SUM(A1)")
    with translation.override("en"):
        table = read_csv("".join(csv_chunks(export_rows(analyst, {}))).encode())
    row = dict(zip(table[0], table[1], strict=True))
    assert row["Name"] == "'=HYPERLINK(\"http://x\")" and row["Employer"] == "'@SUM(A1)"
    buffer = io.BytesIO()
    write_xlsx(export_rows(analyst, {}), buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # stored as text, never as a formula


# --- the web download ------------------------------------------------------------------------

def test_web_csv_download(analyst, people):
    response = client_for(analyst).get("/people/export.csv", {"category": "close_contact"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    today = timezone.localdate().isoformat()
    assert f"people-{today}.csv" in response["Content-Disposition"]
    assert "attachment" in response["Content-Disposition"]
    table = read_csv(b"".join(response.streaming_content))
    assert table[0] == HEADER_EN
    assert [r[0] for r in table[1:]] == ["张三"]
    assert table[1][4] == people["zhang"].doc_number_masked and table[1][5] == "138****5678"
    event = AuditEvent.objects.get(action="person.export")
    assert event.actor == analyst
    assert event.after == {"filters": {"category": "close_contact"}, "count": 1, "format": "csv"}


def test_web_xlsx_download(analyst, people):
    response = client_for(analyst).get("/people/export.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert f"people-{timezone.localdate().isoformat()}.xlsx" in response["Content-Disposition"]
    data = b"".join(response.streaming_content)
    table = read_xlsx(data)
    assert table[0] == HEADER_EN
    rows = as_dicts(table)
    assert set(rows) == {"张三", "李四", "赵六"}
    zhang = rows["张三"]
    assert zhang["Document number"] == people["zhang"].doc_number_masked
    assert zhang["Phone"] == "138****5678"
    assert zhang["Anchor date"] == date(2022, 8, 1)
    assert isinstance(zhang["Registered at"], datetime)
    assert rows["李四"]["Flags"] == "Elderly (65+)"
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        styles = book.read("xl/styles.xml").decode()
    assert 'ySplit="1"' in sheet and 'state="frozen"' in sheet  # frozen header
    assert "<cols>" in sheet and "<b/>" in styles  # sized columns, bold header
    assert AuditEvent.objects.get(action="person.export").after["count"] == 3


def test_web_export_is_always_masked(commander, people):
    response = client_for(commander).get("/people/export.csv", {"unmask": "1"})
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    assert people["zhang"].doc_number not in content and "13812345678" not in content
    assert not AuditEvent.objects.filter(action="person.export_unmasked").exists()


def test_web_export_follows_the_list_filters(commander, people, town_a):
    response = client_for(commander).get("/people/export.csv", {"town": town_a.pk, "flag": "is_elderly"})
    table = read_csv(b"".join(response.streaming_content))
    assert [r[0] for r in table[1:]] == ["李四"]
    response = client_for(commander).get("/people/export.csv", {"open": "1"})
    assert [r[0] for r in read_csv(b"".join(response.streaming_content))[1:]] == ["张三"]


def test_web_export_refusals(site_a, analyst, people):
    assert client_for(site_a).get("/people/export.csv").status_code == 403  # no export capability
    anonymous = Client().get("/people/export.csv")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert client_for(analyst).get("/people/export.pdf").status_code == 404
    assert client_for(analyst).post("/people/export.csv").status_code == 405
    assert not AuditEvent.objects.filter(action__startswith="person.export").exists()


# --- the command -------------------------------------------------------------------------------

def run(*args) -> str:
    out = io.StringIO()
    call_command("export", *args, stdout=out)
    return out.getvalue()


def test_command_exports_csv_and_xlsx_masked(analyst, people, tmp_path):
    csv_path = tmp_path / "people.csv"
    out = run("people", "-o", str(csv_path), "--user", "analyst", "--language", "en")
    assert "Exported 3 rows" in out and str(csv_path) in out
    table = read_csv(csv_path.read_bytes())
    assert table[0] == HEADER_EN and {r[0] for r in table[1:]} == {"张三", "李四", "赵六"}
    assert people["zhang"].doc_number not in csv_path.read_text(encoding="utf-8-sig")

    xlsx_path = tmp_path / "elderly.XLSX"
    out = run("people", "-o", str(xlsx_path), "--user", "analyst", "--town", "330782001", "--category", "密接",
              "--language", "en")
    assert out.strip() == f"Exported 1 row to {xlsx_path}."
    rows = read_xlsx(xlsx_path)
    assert len(rows) == 2 and rows[1][0] == "张三"
    assert rows[1][4] == people["zhang"].doc_number_masked
    events = AuditEvent.objects.filter(action="person.export").order_by("id")
    assert [e.after["count"] for e in events] == [3, 1]
    assert events[1].after["filters"]["category"] == "close_contact"
    assert all(e.actor == analyst for e in events)


def test_command_unmask_is_audited_and_refused_to_analysts(analyst, commander, people, tmp_path):
    path = tmp_path / "full.csv"
    with pytest.raises(CommandError, match="See full ID numbers"):
        run("people", "-o", str(path), "--user", "analyst", "--unmask", "--language", "en")
    assert not path.exists()
    assert not AuditEvent.objects.filter(action__startswith="person.export").exists()

    run("people", "-o", str(path), "--user", "commander", "--unmask")
    content = path.read_text(encoding="utf-8-sig")
    assert people["zhang"].doc_number in content and "13812345678" in content
    event = AuditEvent.objects.get(action="person.export_unmasked")
    assert event.actor == commander and event.after["count"] == 3


def test_command_usage_errors(analyst, people, tmp_path):
    with pytest.raises(CommandError) as error:
        run("people", "-o", str(tmp_path / "people.pdf"), "--user", "analyst", "--language", "en")
    assert error.value.returncode == 2 and ".csv or .xlsx" in str(error.value)
    with pytest.raises(CommandError) as error:
        run("people", "-o", str(tmp_path / "people.csv"), "--language", "en")
    assert error.value.returncode == 2 and "--user" in str(error.value)
    with pytest.raises(CommandError) as error:
        run("people", "-o", str(tmp_path / "people.csv"), "--user", "nobody", "--language", "en")
    assert error.value.returncode == 2 and "nobody" in str(error.value)
    with pytest.raises(CommandError) as error:
        run("people", "-o", str(tmp_path / "people.csv"), "--user", "analyst", "--town", "123", "--language", "en")
    assert error.value.returncode == 2 and "123" in str(error.value)
    with pytest.raises(CommandError) as error:
        run("people", "-o", str(tmp_path / "people.csv"), "--user", "analyst", "--category", "tourist")
    assert error.value.returncode == 2
    with pytest.raises(CommandError):
        run("people", "--user", "analyst")  # no -o
    assert list(tmp_path.iterdir()) == []
    assert not AuditEvent.objects.filter(action__startswith="person.export").exists()


def test_command_subjects_are_a_registry():
    from closedloop.core.management.commands.export import SUBJECTS

    assert "people" in SUBJECTS and callable(SUBJECTS["people"].rows)
