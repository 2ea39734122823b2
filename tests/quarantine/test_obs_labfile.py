"""A lab's result file: keyed by barcode or by ID number and sample date; every row an outcome; re-import idempotent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import xlsxwriter
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from closedloop.core.models import AuditEvent
from closedloop.quarantine import states
from closedloop.quarantine.actions import results_import, specimen_record
from closedloop.quarantine.labfile import detect_lab_layout, read_lab_file
from closedloop.quarantine.models import Alert, Episode, Specimen
from tests.quarantine import test_obs_support as support
from tests.quarantine.test_obs_support import held_episode, sampled, today

held = support.held  # a shared fixture
hospital = support.hospital  # a shared fixture


def write_csv(tmp_path: Path, rows: list[list], name="results.csv", encoding="utf-8-sig") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(",".join(str(c) for c in r) for r in rows) + "\n", encoding=encoding)
    return path


def write_xlsx(tmp_path: Path, rows: list[list], name="results.xlsx") -> Path:
    path = tmp_path / name
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("结果")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.close()
    return path


def outcomes(report):
    return [(r.row, r.outcome) for r in report.rows]


# --- reading ------------------------------------------------------------------------------------

def test_the_header_is_found_below_title_rows_and_the_lowest_ct_counts(tmp_path):
    path = write_csv(tmp_path, [
        ["义乌市核酸检测结果报告（2022年8月5日）"],
        ["序号", "姓名", "条码号", "采样时间", "ORF1ab基因Ct值", "N基因Ct值", "检测结果", "检测机构"],
        [1, "张三", "A0001", "2022-08-05 08:10", "38.2", "36.5", "阴性", "义乌市疾控"],
        [2, "李四", "A0002", "2022-08-05 08:12", "未检出", "未检出", "阴性", "义乌市疾控"],
    ])
    lab_file = read_lab_file(path, today=today())
    assert lab_file.header_row == 2
    assert set(lab_file.layout.columns) >= {"name", "barcode", "sampled", "ct", "result", "lab"}
    assert len(lab_file.layout.columns["ct"]) == 2
    first, second = lab_file.lines
    assert (first.row, first.barcode, first.ct, first.result_or_ct) == (3, "A0001", Decimal("36.5"), Decimal("36.5"))
    assert (second.ct, second.no_amplification, second.result_or_ct) == (None, True, "阴性")
    assert lab_file.label("ct") == "ORF1ab基因Ct值 / N基因Ct值"


def test_a_file_without_a_usable_header_is_refused(tmp_path, site_a):
    path = write_csv(tmp_path, [["姓名", "电话"], ["张三", "13812345678"]])
    assert detect_lab_layout([["姓名", "电话"]]) is None
    with pytest.raises(ValidationError) as caught:
        results_import(path=path, file_name="名单.csv", actor=site_a)
    assert "No header row names the sample" in " ".join(caught.value.message_dict["file"])
    with pytest.raises(ValidationError):
        results_import(path=write_csv(tmp_path, [["x"]], name="a.pdf"), file_name="a.pdf", actor=site_a)


# --- by barcode -----------------------------------------------------------------------------------

def test_results_by_barcode_and_a_second_import_changes_nothing(tmp_path, held, site_a, person_factory,
                                                               site_a_custodian):
    other = held_episode(person_factory("王五"), site_a_custodian)
    specimen_record(episode=held, kind="pcr", sampled_at=sampled(), barcode="B0001", actor=site_a)
    specimen_record(episode=other, kind="pcr", sampled_at=sampled(), barcode="B0002", actor=site_a)
    path = write_csv(tmp_path, [
        ["条码", "ORF1ab", "N基因", "结果", "检测机构"],
        ["B0001", "38.2", "36.5", "阴性", "义乌市疾控"],
        ["B0002", "未检出", "未检出", "阴性", "义乌市疾控"],
        ["B9999", "未检出", "未检出", "阴性", "义乌市疾控"],
    ])
    report = results_import(path=path, file_name="results.csv", actor=site_a)
    assert outcomes(report) == [(2, "recorded"), (3, "recorded"), (4, "rejected")]
    assert (report.read, report.recorded, report.unchanged, report.rejected, report.assess) == (3, 2, 0, 1, 1)
    assert "No sample with the barcode B9999" in report.problems[0].reason
    assert report.problems[0].column == "条码" and report.problems[0].value == "B9999"
    first, second = Specimen.objects.get(barcode="B0001"), Specimen.objects.get(barcode="B0002")
    assert (first.result, first.ct, first.lab) == ("assess", Decimal("36.5"), "义乌市疾控")  # the lowest Ct
    assert (second.result, second.ct) == ("negative", None)
    assert Alert.objects.get().kind == "assess"
    audit = AuditEvent.objects.get(action="results.import")
    assert audit.after["recorded"] == 2 and audit.after["rejected"] == 1 and audit.target_label == "results.csv"

    again = results_import(path=path, file_name="results.csv", actor=site_a)
    assert outcomes(again) == [(2, "unchanged"), (3, "unchanged"), (4, "rejected")]
    assert AuditEvent.objects.filter(action="specimen.result").count() == 2
    assert Specimen.objects.count() == 2 and Alert.objects.count() == 1


def test_a_result_that_contradicts_its_ct_and_a_barcode_of_another_person_are_rejected(
    tmp_path, held, site_a, person_factory
):
    specimen_record(episode=held, kind="pcr", sampled_at=sampled(), barcode="C0001", actor=site_a)
    stranger = person_factory("陌生人")
    path = write_csv(tmp_path, [
        ["标本编号", "身份证号", "Ct值", "检测结果"],
        ["C0001", stranger.doc_number, "", "阴性"],
        ["C0001", held.person.doc_number, "20", "阴性"],
        ["C0001", "", "abc", ""],
    ])
    report = results_import(path=path, file_name="results.csv", actor=site_a)
    assert [r.outcome for r in report.rows] == ["rejected"] * 3
    reasons = [r.reason for r in report.rows]
    assert "belongs to another person" in reasons[0]
    assert "says Negative but the Ct value 20.0 means Positive" in reasons[1]
    assert "is not a Ct value" in reasons[2]
    assert Specimen.objects.get(barcode="C0001").result == "pending"
    assert stranger.doc_number not in str(report.as_dict())  # ID numbers are reported masked


# --- by ID number and sample date ---------------------------------------------------------------------

def test_results_by_id_number_find_or_create_the_sample_and_reimport_is_unchanged(
    tmp_path, held, site_a, person_factory, site_a_custodian
):
    other = held_episode(person_factory("王五"), site_a_custodian)
    pending = specimen_record(episode=other, kind="pcr", sampled_at=sampled(3), actor=site_a)
    day = timezone.localtime(sampled()).date()
    rows = [
        ["证件号码", "采样日期", "检测结果", "Ct值", "检测机构"],
        [held.person.doc_number, day.isoformat(), "阴性", "", "金域检验"],
        [other.person.doc_number, day.isoformat(), "阴性", "", "金域检验"],
        [held.person.doc_number, "", "阴性", "", "金域检验"],
        ["330782199005170000", day.isoformat(), "阴性", "", "金域检验"],
    ]
    path = write_xlsx(tmp_path, rows)
    report = results_import(path=path, file_name="results.xlsx", actor=site_a)
    assert outcomes(report) == [(2, "recorded"), (3, "recorded"), (4, "rejected"), (5, "rejected")]
    assert report.specimens_created == 1
    created = Specimen.objects.get(episode=held)
    assert (created.result, created.lab, created.scheduled_for) == ("negative", "金域检验", day)
    assert Specimen.objects.get(pk=pending.pk).result == "negative"  # the pending sample of that day
    assert "sample date is needed" in report.rows[2].reason
    assert report.rows[3].reason and report.rows[3].value.count("*") >= 8

    again = results_import(path=path, file_name="results.xlsx", actor=site_a)
    assert outcomes(again) == [(2, "unchanged"), (3, "unchanged"), (4, "rejected"), (5, "rejected")]
    assert Specimen.objects.count() == 2


def test_a_positive_row_starts_the_case_path(tmp_path, held, site_a, hospital):
    path = write_csv(tmp_path, [
        ["身份证号", "采样时间", "ORF1ab", "N基因"],
        [held.person.doc_number, timezone.localtime(sampled()).strftime("%Y-%m-%d %H:%M"), "31.5", "29.8"],
    ])
    report = results_import(path=path, file_name="results.csv", actor=site_a)
    assert (report.recorded, report.positive) == (1, 1)
    assert Episode.objects.get(pk=held.pk).state == states.BECAME_CASE
    case = Episode.objects.get(person=held.person, status="open")
    assert (case.category, case.pending_custodian) == ("case", hospital)
    assert Alert.objects.get(kind="positive").episode_id == held.pk
    # Re-importing finds the sample on the ended episode: nothing new.
    again = results_import(path=path, file_name="results.csv", actor=site_a)
    assert outcomes(again) == [(2, "unchanged")]
    assert Episode.objects.filter(person=held.person).count() == 2


def test_rows_of_people_outside_the_jurisdiction_are_rejected_as_unknown(tmp_path, held, site_a, site_b, analyst):
    specimen_record(episode=held, kind="pcr", sampled_at=sampled(), barcode="D0001", actor=site_a)
    path = write_csv(tmp_path, [
        ["条码", "身份证号", "采样日期", "结果"],
        ["D0001", "", "", "阴性"],
        ["", held.person.doc_number, today().isoformat(), "阴性"],
    ])
    report = results_import(path=path, file_name="results.csv", actor=site_b)
    assert [r.outcome for r in report.rows] == ["rejected", "rejected"]
    assert "No sample with the barcode D0001" in report.rows[0].reason
    assert "Nobody under control in your jurisdiction" in report.rows[1].reason or \
        "no episode in your jurisdiction" in report.rows[1].reason
    assert Specimen.objects.get(barcode="D0001").result == "pending"
    with pytest.raises(PermissionDenied):
        results_import(path=path, file_name="results.csv", actor=analyst)


def test_an_antigen_file_and_a_future_sample_date(tmp_path, held, site_a):
    tomorrow = today() + timedelta(days=1)
    path = write_csv(tmp_path, [
        ["身份证号", "采样日期", "检测项目", "检测结果"],
        [held.person.doc_number, today().isoformat(), "抗原", "阴性"],
        [held.person.doc_number, tomorrow.isoformat(), "核酸", "阴性"],
    ])
    report = results_import(path=path, file_name="antigen.csv", actor=site_a)
    assert outcomes(report) == [(2, "recorded"), (3, "rejected")]
    assert Specimen.objects.get().kind == "antigen"
    assert "in the future" in report.rows[1].reason
