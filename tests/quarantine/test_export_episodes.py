"""``closedloop export episodes``: scoped, masked unless --unmask (audited), read back from CSV and XLSX."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from python_calamine import CalamineWorkbook

from closedloop.core.models import AuditEvent
from closedloop.people.exports import csv_chunks
from closedloop.quarantine.actions import episode_open, episode_place, handover_give
from closedloop.quarantine.exports import export_episodes

HEADER_EN = [
    "Episode", "Name", "Document type", "Document number", "Category", "Protocol", "Anchor date",
    "Placed under control",
    "Phase 1", "Phase 1 from", "Phase 1 until", "Phase 2", "Phase 2 from", "Phase 2 until",
    "Custodian", "Receiving custodian", "Expected arrival", "State", "Release due",
]


def run(*args) -> str:
    out = io.StringIO()
    call_command("export", *args, stdout=out)
    return out.getvalue()


def read_csv(path) -> list[list[str]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 BOM for Excel"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def read_xlsx(path) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python(skip_empty_area=False)


def by_name(table: list[list]) -> dict[str, dict]:
    header = table[0]
    return {row[1]: dict(zip(header, row, strict=True)) for row in table[1:]}


@pytest.fixture
def loop(person_factory, community_a2, community_b1, site_a_custodian, site_b_custodian, bus):
    """张三 (A1) in transit from site A, 李四 (A2) awaiting, 赵六 (town B) at site B, 钱七 (A1) secondary contact."""
    zhang = person_factory("张三")
    li = person_factory("李四", community=community_a2, female=True)
    zhao = person_factory("赵六", community=community_b1)
    qian = person_factory("钱七")
    e = episode_open(person=zhang, category="close_contact", anchor_date=date(2022, 8, 3), actor=None)
    e = episode_place(episode=e, custodian=site_a_custodian, placed_on=date(2022, 8, 4), actor=None)
    handover_give(episode=e, to_custodian=bus, expected_by=timezone.now() + timedelta(hours=1), actor=None)
    episode_open(person=li, category="inbound", anchor_date=date(2022, 8, 5), actor=None)
    e = episode_open(person=zhao, category="close_contact", anchor_date=date(2022, 8, 4), actor=None)
    episode_place(episode=e, custodian=site_b_custodian, placed_on=date(2022, 8, 4), actor=None)
    e = episode_open(person=qian, category="secondary_contact", anchor_date=date(2022, 8, 6), actor=None)
    episode_place(episode=e, custodian=site_a_custodian, placed_on=date(2022, 8, 6), actor=None)
    return {"zhang": zhang, "li": li, "zhao": zhao, "qian": qian}


def test_csv_rows_are_masked_with_the_schedule(analyst, loop, tmp_path):
    path = tmp_path / "episodes.csv"
    out = run("episodes", "-o", str(path), "--user", "analyst", "--language", "en")
    assert out.strip() == f"Exported 4 rows to {path}."
    table = read_csv(path)
    assert table[0] == HEADER_EN
    rows = by_name(table)
    assert set(rows) == {"张三", "李四", "赵六", "钱七"}
    zhang = rows["张三"]
    assert zhang["Document number"] == loop["zhang"].doc_number_masked and "*" in zhang["Document number"]
    assert zhang["Document type"] == "Resident ID card"
    assert zhang["Category"] == "Close contact" and zhang["Protocol"] == "cn-9-close-contact v1"
    assert (zhang["Anchor date"], zhang["Placed under control"]) == ("2022-08-03", "2022-08-04")
    assert (zhang["Phase 1"], zhang["Phase 1 from"], zhang["Phase 1 until"]) == (
        "Centralized isolation", "2022-08-03", "2022-08-09")
    assert (zhang["Phase 2"], zhang["Phase 2 from"], zhang["Phase 2 until"]) == (
        "Home health monitoring", "2022-08-10", "2022-08-12")
    assert zhang["Custodian"] == "稠城隔离点A" and zhang["Receiving custodian"] == "转运车 浙G-12345 第1趟"
    assert zhang["Expected arrival"] and zhang["State"] == "In transit" and zhang["Release due"] == "2022-08-13"
    li = rows["李四"]
    assert (li["State"], li["Protocol"], li["Phase 1"], li["Custodian"], li["Release due"]) == (
        "Awaiting placement", "", "", "", "")
    qian = rows["钱七"]
    assert (qian["Phase 1"], qian["Phase 1 until"], qian["Phase 2"]) == ("Home isolation", "2022-08-12", "")
    text = path.read_text(encoding="utf-8-sig")
    assert all(p.doc_number not in text for p in loop.values())
    event = AuditEvent.objects.get(action="episode.export")
    assert event.actor == analyst and event.after == {"filters": {}, "count": 4, "format": "csv"}


def test_xlsx_with_filters(analyst, loop, tmp_path):
    path = tmp_path / "contacts.XLSX"
    out = run("episodes", "-o", str(path), "--user", "analyst", "--category", "密接", "--state", "in_custody",
              "--language", "en")
    assert out.strip() == f"Exported 1 row to {path}."
    sheet = read_xlsx(path)
    assert sheet[0] == HEADER_EN and len(sheet) == 2
    row = dict(zip(sheet[0], sheet[1], strict=True))
    assert row["Name"] == "赵六" and row["Document number"] == loop["zhao"].doc_number_masked
    assert row["Anchor date"] == date(2022, 8, 4)  # a real date cell, not text
    assert row["Phase 2 until"] == date(2022, 8, 13) and row["Release due"] == date(2022, 8, 14)
    assert row["Custodian"] == "北苑隔离点B" and row["State"] == "In custody"
    event = AuditEvent.objects.get(action="episode.export")
    assert event.after["filters"] == {"category": "close_contact", "state": "in_custody"}
    assert event.after["count"] == 1 and event.after["format"] == "xlsx"


def test_chinese_labels_and_dates(analyst, loop, tmp_path):
    path = tmp_path / "episodes.csv"
    run("episodes", "-o", str(path), "--user", "analyst", "--state", "in_transit", "--language", "zh-hans")
    table = read_csv(path)
    assert len(table) == 2 and table[1][1] == "张三"
    assert "2022年8月3日" in table[1] and "2022年8月13日" in table[1]
    assert "密切接触者" in table[1]


def test_scope_of_the_account(community_worker, loop, tmp_path):
    path = tmp_path / "a1.csv"
    run("episodes", "-o", str(path), "--user", "community_a1", "--language", "en")
    assert set(by_name(read_csv(path))) == {"张三", "钱七"}  # community A1 only


def test_unmask_needs_the_capability_and_is_audited(analyst, commander, loop, tmp_path):
    path = tmp_path / "full.csv"
    with pytest.raises(CommandError, match="See full ID numbers"):
        run("episodes", "-o", str(path), "--user", "analyst", "--unmask", "--language", "en")
    assert not path.exists()
    assert not AuditEvent.objects.filter(action__startswith="episode.export").exists()

    run("episodes", "-o", str(path), "--user", "commander", "--unmask", "--language", "en")
    rows = by_name(read_csv(path))
    assert rows["张三"]["Document number"] == loop["zhang"].doc_number
    assert rows["赵六"]["Document number"] == loop["zhao"].doc_number
    event = AuditEvent.objects.get(action="episode.export_unmasked")
    assert event.actor == commander and event.after["count"] == 4
    assert not AuditEvent.objects.filter(action="episode.export").exists()


def test_site_staff_may_not_export(site_a, loop, tmp_path):
    with pytest.raises(PermissionDenied):
        export_episodes(site_a)
    with pytest.raises(CommandError, match="Export people"):
        run("episodes", "-o", str(tmp_path / "x.csv"), "--user", "site_a", "--language", "en")
    assert list(tmp_path.iterdir()) == []


def test_usage_errors(analyst, loop, tmp_path):
    with pytest.raises(CommandError) as error:
        run("episodes", "-o", str(tmp_path / "e.csv"), "--user", "analyst", "--state", "lost", "--language", "en")
    assert error.value.returncode == 2 and "in_transit" in str(error.value)
    with pytest.raises(CommandError) as error:
        run("episodes", "-o", str(tmp_path / "e.csv"), "--user", "analyst", "--category", "tourist")
    assert error.value.returncode == 2
    with pytest.raises(CommandError) as error:
        run("episodes", "-o", str(tmp_path / "e.pdf"), "--user", "analyst")
    assert error.value.returncode == 2
    with pytest.raises(CommandError) as error:
        run("episodes", "-o", str(tmp_path / "e.csv"))
    assert error.value.returncode == 2
    assert list(tmp_path.iterdir()) == []
    assert not AuditEvent.objects.filter(action__startswith="episode.export").exists()


def test_query_count_does_not_grow_with_rows(analyst, person_factory, site_a_custodian, bus):
    def queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            rows = list(export_episodes(analyst))
        return len(ctx.captured_queries), len(rows)

    def add(n: int, prefix: str) -> None:
        for i in range(n):
            episode = episode_open(person=person_factory(f"{prefix}{i}"), category="close_contact",
                                   anchor_date=date(2022, 8, 3), actor=None)
            if i % 2:
                episode_place(episode=episode, custodian=site_a_custodian, actor=None)

    add(2, "甲")
    queries()  # warm up: the user's jurisdictions are read once and kept
    few = queries()
    add(10, "乙")
    many = queries()
    assert (few[1], many[1]) == (2, 12)
    assert few[0] == many[0]


def test_rows_feed_the_registry_writers(analyst, loop):
    with translation.override("en"):
        rows = export_episodes(analyst, category="secondary_contact")
        assert rows.count == 1
        table = list(csv.reader(io.StringIO("".join(csv_chunks(rows)).lstrip("\ufeff"))))
    assert table[0] == HEADER_EN and table[1][1] == "钱七"


def test_the_subject_is_registered():
    from closedloop.core.management.commands.export import SUBJECTS

    assert {"people", "episodes"} <= set(SUBJECTS) and callable(SUBJECTS["episodes"].rows)
