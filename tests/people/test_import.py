"""The roster import against the messy roster of the spec."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.core.management import call_command
from django.utils import timezone

from closedloop.people.importing.engine import import_run_create, import_run_execute
from closedloop.people.models import ImportRun, MatchReview, Person, PersonContactHistory
from closedloop.quarantine.models import Episode
from tests.people.rosters import messy_rows, rid, write_csv, write_xlsx

KEYS = ("read", "created", "updated", "unchanged", "merged_in_file", "flagged", "rejected")


@pytest.fixture
def registry(city, town_a, town_b, community_a1, community_a2, community_b1, person_factory):
    """What is registered before the roster arrives: one documented person, one without a document."""
    from closedloop.people.actions import PersonData, person_register

    existing = person_factory("老住户", phone="13800000000")
    person_register(data=PersonData(name="李娜", city=city, town=town_a, phone="13500001111"), actor=None)
    return existing


def run_import(path, *, actor=None, category=None):
    run, table = import_run_create(path=path, file_name=path.name, actor=actor, category=category)
    import_run_execute(run=run, actor=actor, table=table)
    run.refresh_from_db()
    return run


def counts(run):
    return {k: run.counts[k] for k in KEYS}


def problems_by_row(run):
    result = {}
    for p in run.problems:
        result.setdefault(p["row"], []).append(p)
    return result


def test_messy_xlsx_imports_with_exact_counts_and_reasons(registry, tmp_path):
    rows, expected = messy_rows(timezone.localdate(), registry.doc_number)
    run = run_import(write_xlsx(tmp_path / "名单.xlsx", rows))
    assert run.status == "done"
    assert run.header_row == 3  # below the merged title and the note row
    assert counts(run) == expected
    assert sum(run.counts[k] for k in KEYS[1:]) == run.counts["read"]

    by_row = problems_by_row(run)
    # Excel rows: title 1, note 2, header 3, data from 4.
    assert "scientific notation" in by_row[7][0]["reason"] and by_row[7][0]["outcome"] == "rejected"
    assert "15 digits" in by_row[8][0]["reason"]
    assert by_row[9][0]["column"] == "身份证号码" and "checksum" in by_row[9][0]["reason"].lower() or \
        "does not match" in by_row[9][0]["reason"]
    assert "belongs to a man" in by_row[10][0]["reason"]
    assert by_row[11][0]["outcome"] == "merged" and "row 4" in by_row[11][0]["reason"]
    assert "future" in by_row[14][0]["reason"]
    assert by_row[18][0]["column"] == "姓名" and "missing" in by_row[18][0]["reason"]
    assert "60 days" in by_row[19][0]["reason"]
    assert by_row[21][0]["outcome"] == "flagged"

    # The right people, normalised.
    wang = Person.objects.get(name="王芳")
    assert wang.phone == "13912345678" and wang.doc_number.isdigit() and wang.sex == "F"
    li = Person.objects.get(name="李强")
    assert li.doc_number.endswith("X") and li.phone == "13712345678" and li.town.code == "330782002"
    assert Person.objects.get(name="陈晨").doc_number[0] != "'"
    assert Person.objects.filter(name="张伟").count() == 1
    assert Person.objects.get(name="张伟").phone == "13812345678"  # the first row's phone is kept in a merge
    old = Person.objects.get(pk=registry.pk)
    assert old.phone == "13811112222" and old.address == "新地址9号"
    assert PersonContactHistory.objects.filter(person=old, field="phone", old_value="13800000000").exists()
    # Episodes: one per created person with a category, anchor dates parsed from every form.
    zhang_ep = Episode.objects.get(person__name="张伟")
    assert zhang_ep.category == "close_contact" and zhang_ep.anchor_kind == "last_exposure"
    anchor = zhang_ep.anchor_date
    assert Episode.objects.get(person__name="王芳").anchor_date == anchor
    assert Episode.objects.get(person__name="郑爽").anchor_date == anchor  # Excel serial
    assert Episode.objects.get(person__name="吴刚").category == "secondary_contact"
    assert Episode.objects.get(person__name="蒋琴").anchor_date is None
    assert MatchReview.objects.filter(kind="possible_duplicate", candidate__name="李娜", status="open").count() == 1


def test_reimporting_the_same_file_changes_nothing(registry, tmp_path):
    rows, expected = messy_rows(timezone.localdate(), registry.doc_number)
    path = write_xlsx(tmp_path / "roster.xlsx", rows)
    run_import(path)
    people, episodes, reviews = Person.objects.count(), Episode.objects.count(), MatchReview.objects.count()
    history = PersonContactHistory.objects.count()

    again = run_import(path)
    assert counts(again) == {**expected, "created": 0, "updated": 0, "unchanged": expected["created"] + expected["updated"]}
    assert (Person.objects.count(), Episode.objects.count(), MatchReview.objects.count()) == (people, episodes, reviews)
    assert PersonContactHistory.objects.count() == history


def test_gbk_csv_is_detected_and_imported(registry, tmp_path):
    rows, expected = messy_rows(timezone.localdate(), registry.doc_number)
    # CSV cannot carry Excel numbers: the float ID arrives as text and the serial date as digits.
    run = run_import(write_csv(tmp_path / "roster.csv", rows, encoding="gb18030"))
    assert run.header_row == 1
    assert counts(run) == expected
    assert Person.objects.filter(name="王芳").exists()


def test_utf8_bom_csv(registry, tmp_path):
    rows, _expected = messy_rows(timezone.localdate(), registry.doc_number)
    run = run_import(write_csv(tmp_path / "roster.csv", rows[:3], encoding="utf-8-sig"))
    assert run.counts["created"] == 3


def test_a_crash_mid_import_leaves_whole_batches_and_a_rerun_completes(registry, tmp_path, settings, monkeypatch):
    from closedloop.people.importing import engine

    settings.IMPORT_BATCH_SIZE = 3
    rows = [[i, f"测试{i}", "", "", rid(date(1990, 1, 1 + i % 28), 100 + i), f"1370000{i:04d}", "", "稠城街道", "", "密接",
             timezone.localdate().isoformat(), ""] for i in range(1, 11)]
    path = write_xlsx(tmp_path / "big.xlsx", rows, title=False)
    before = Person.objects.count()
    real_commit = engine.commit_batch
    calls = {"n": 0}

    def dying_commit(batch, state, *, source):
        calls["n"] += 1
        if calls["n"] == 3:
            # Fail inside the third batch's transaction, after part of it was written.
            from django.db import transaction

            with transaction.atomic():
                real_commit(batch[:1], state, source=source)
                raise KeyboardInterrupt("killed")
        real_commit(batch, state, source=source)

    monkeypatch.setattr(engine, "commit_batch", dying_commit)
    with pytest.raises(KeyboardInterrupt):
        run_import(path)
    assert Person.objects.count() - before == 6  # two whole batches, nothing of the third
    assert ImportRun.objects.get(file_name="big.xlsx").status == "failed"

    monkeypatch.setattr(engine, "commit_batch", real_commit)
    rerun = run_import(path)
    assert Person.objects.count() - before == 10
    assert rerun.counts["created"] == 4 and rerun.counts["unchanged"] == 6
    assert Episode.objects.filter(person__name__startswith="测试").count() == 10


def test_unreadable_file_and_cli_exit_codes(registry, tmp_path, capsys):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"this is not a workbook")
    with pytest.raises(SystemExit) as exc:
        call_command("import", "people", str(bad))
    assert exc.value.code == 2

    rows, expected = messy_rows(timezone.localdate(), registry.doc_number)
    path = write_xlsx(tmp_path / "roster.xlsx", rows)
    report = tmp_path / "report.json"
    call_command("import", "people", str(path), "--report", str(report))
    data = json.loads(report.read_text())
    assert {k: data[k] for k in KEYS} == expected
    assert {"row", "column", "value", "reason", "outcome"} <= set(data["problems"][0])
    assert "created 8" in capsys.readouterr().out


def test_cli_category_option_opens_episodes(registry, tmp_path):
    rows = [[1, "默认类", "", "", rid(date(1991, 3, 3), 7), "13711110000", "", "稠城街道", "", "", "", ""]]
    path = write_xlsx(tmp_path / "r.xlsx", rows, title=False)
    call_command("import", "people", str(path), "--category", "次密接")
    assert Episode.objects.get(person__name="默认类").category == "secondary_contact"


def test_different_category_is_flagged_not_opened(registry, tmp_path):
    d = timezone.localdate().isoformat()
    number = rid(date(1991, 3, 3), 7)
    first = write_xlsx(tmp_path / "a.xlsx", [[1, "甲", "", "", number, "13711110000", "", "稠城街道", "", "密接", d, ""]], title=False)
    second = write_xlsx(tmp_path / "b.xlsx", [[1, "甲", "", "", number, "13711110000", "", "稠城街道", "", "入境", d, ""]], title=False)
    run_import(first)
    run = run_import(second)
    assert run.counts["flagged"] == 1
    assert Episode.objects.filter(person__name="甲").count() == 1
    assert MatchReview.objects.filter(kind="category_conflict").count() == 1


def test_import_is_refused_to_a_role_without_the_capability(registry, tmp_path, materials_clerk):
    from django.core.exceptions import PermissionDenied

    path = write_xlsx(tmp_path / "r.xlsx", [[1, "甲", "", "", rid(date(1991, 3, 3), 7), "13711110000", "", "", "", "", "", ""]])
    with pytest.raises(PermissionDenied):
        import_run_create(path=path, file_name="r.xlsx", actor=materials_clerk)


def test_rows_outside_the_importers_town_are_rejected(registry, tmp_path, site_b):
    d = timezone.localdate().isoformat()
    rows = [[1, "甲", "", "", rid(date(1991, 3, 3), 7), "13711110000", "", "稠城街道", "", "密接", d, ""],
            [2, "乙", "", "", rid(date(1992, 3, 3), 9), "13711110001", "", "", "", "密接", d, ""]]
    run = run_import(write_xlsx(tmp_path / "r.xlsx", rows, title=False), actor=site_b)
    assert run.counts["rejected"] == 1 and run.counts["created"] == 1
    assert Person.objects.get(name="乙").town.code == "330782002"  # the importer's own town


def test_employer_credit_code_is_checked_with_stdnum(registry, tmp_path):
    from closedloop.lib.uscc import make_uscc
    from tests.people.rosters import HEADERS

    good = make_uscc("91330782MA28FQ6P4")
    headers = [*HEADERS, "统一社会信用代码"]
    import xlsxwriter

    path = tmp_path / "e.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, headers)
    sheet.write_row(1, 0, [1, "甲", "", "", rid(date(1991, 3, 3), 7), "13711110000", "", "", "", "", "", "", good.lower()])
    sheet.write_row(2, 0, [2, "乙", "", "", rid(date(1992, 3, 3), 9), "13711110001", "", "", "", "", "", "", good[:-1] + "0"])
    book.close()
    run = run_import(path)
    assert run.counts["created"] == 2
    assert Person.objects.get(name="甲").employer_uscc == good
    assert Person.objects.get(name="乙").employer_uscc == ""
    assert [p["outcome"] for p in run.problems] == ["value ignored"]


def test_deciding_same_person_keeps_what_the_row_leaves_blank(registry, tmp_path, duty_officer, community_a1):
    from closedloop.people.actions import review_decide

    li_na = Person.objects.get(name="李娜")
    li_na.community = community_a1
    Person.objects.filter(pk=li_na.pk).update(community=community_a1, address="老地址1号")
    d = timezone.localdate().isoformat()
    path = write_xlsx(tmp_path / "r.xlsx", [[1, "李娜", "女", "", "", "13500001111", "", "稠城街道", "", "密接", d, ""]],
                      title=False)
    run = run_import(path)
    assert run.counts["flagged"] == 1
    review = MatchReview.objects.get(candidate=li_na)
    review_decide(review=review, decision="same", actor=duty_officer, reason="checked by phone")
    li_na.refresh_from_db()
    assert li_na.community == community_a1 and li_na.address == "老地址1号" and li_na.sex == "F"
    assert Episode.objects.get(person=li_na, status="open").category == "close_contact"
    assert Person.objects.filter(name="李娜").count() == 1
