"""Reading a lab's result file: find the header, map the columns, read each row's cells.

A lab sends an .xlsx or .csv, often with a title row or two, keyed by the
specimen's barcode or by the person's ID number and sample date, with a
result column and/or one Ct column per gene. This module turns it into plain
``LabLine`` rows; matching them to specimens and recording the results is
``actions.observations.results_import``'s business.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext as _

from closedloop.lib import identity
from closedloop.lib.dates import DateError, parse_datetime
from closedloop.lib.identity import IdError, mask_id, parse_other_document, parse_resident_id
from closedloop.lib.text import clean_cell
from closedloop.people.importing.fields import match_header
from closedloop.people.importing.reader import UnreadableFile, read_table

HEADER_SEARCH_ROWS = 20

# field -> (label, synonyms compared after ``header_key``: lower-case, without spaces and punctuation)
LAB_FIELDS: dict[str, tuple] = {
    "barcode": (gettext_lazy("Barcode"), [
        "条码", "条码号", "条形码", "样本条码", "标本条码", "试管条码", "采样管条码", "标本编号", "样本编号", "样品编号",
        "试管编号", "barcode", "specimenid", "sampleid", "specimenno", "sampleno", "tubeid",
    ]),
    "doc_number": (gettext_lazy("ID number"), [
        "身份证号", "身份证号码", "身份证", "证件号码", "证件号", "公民身份号码", "身份证件号码", "idnumber", "idno",
        "idcard", "documentnumber", "passportnumber",
    ]),
    "name": (gettext_lazy("Name"), ["姓名", "受检者姓名", "受检者", "name", "fullname"]),
    "sampled": (gettext_lazy("Sample time"), [
        "采样时间", "采样日期", "采集时间", "采集日期", "采样日期时间", "采样时间日期", "sampletime", "sampledate",
        "sampledat", "collectiontime", "collectiondate", "collected",
    ]),
    "result": (gettext_lazy("Result"), [
        "检测结果", "结果", "核酸结果", "核酸检测结果", "结果判定", "检验结果", "抗原结果", "result", "testresult",
    ]),
    "ct": (gettext_lazy("Ct value"), [
        "ct值", "ct", "ct值orf1ab", "orf1ab", "orf1ab基因", "n基因", "e基因", "orf1abct", "nct", "ctvalue",
    ]),
    "lab": (gettext_lazy("Laboratory"), [
        "检测机构", "检测单位", "检测实验室", "实验室", "检测机构名称", "lab", "laboratory", "testinglab",
    ]),
    "kind": (gettext_lazy("Test"), ["检测类型", "检测项目", "检测方法", "检测方式", "testtype", "test", "method"]),
}
# Fields that may come in several columns (one Ct per gene: the lowest counts).
MULTI = {"ct"}
_SYNONYMS = {syn: f for f, (_label, syns) in LAB_FIELDS.items() for syn in syns}

# What a Ct cell says when the gene did not amplify (compared lower-case, without spaces).
NO_AMPLIFICATION = {
    "未检出", "无扩增", "无", "无ct", "noct", "noamp", "noamplification", "undetermined", "undet", "nd",
    "notdetected", "n/a", "na", "-", "/", "—", "--", "阴性", "negative", "neg",
}


def field_for_header(text) -> str | None:
    return match_header(text, _SYNONYMS)


def field_label(fld: str) -> str:
    return str(LAB_FIELDS[fld][0]) if fld in LAB_FIELDS else fld


@dataclass
class LabLayout:
    header_row: int  # Excel row number (1-based)
    headers: list[str]
    columns: dict[str, list[int]]  # field -> column indexes

    def label(self, fld: str) -> str:
        """The file's own header text for a field (several Ct columns joined), or the field's label."""
        names = [self.headers[i] for i in self.columns.get(fld, []) if i < len(self.headers)]
        return " / ".join(names) if names else field_label(fld)

    @property
    def usable(self) -> bool:
        c = self.columns
        return bool(("barcode" in c or "doc_number" in c) and ("result" in c or "ct" in c))


def _layout(headers: list[str], header_row: int) -> LabLayout:
    columns: dict[str, list[int]] = {}
    for i, text in enumerate(headers):
        fld = field_for_header(text) if text else None
        if fld is None:
            continue
        if fld in columns and fld not in MULTI:
            continue  # the first column of a field wins
        columns.setdefault(fld, []).append(i)
    return LabLayout(header_row=header_row, headers=headers, columns=columns)


def detect_lab_layout(rows: list[list]) -> LabLayout | None:
    """The row among the first ones that names the most fields and says which sample and which result."""
    best: LabLayout | None = None
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        layout = _layout([clean_cell(c) for c in row], i + 1)
        if layout.usable and (best is None or len(layout.columns) > len(best.columns)):
            best = layout
    return best


@dataclass
class LabLine:
    """One data row of a lab file, its cells read but not matched to anything yet."""

    row: int
    barcode: str = ""
    doc_raw: object = None
    doc_number: str = ""  # the cleaned text, for messages (always shown masked)
    sampled_raw: str = ""
    sampled_at: datetime | None = None
    sampled_problem: str = ""
    result_text: str = ""
    ct: Decimal | None = None  # the lowest Ct of the gene columns
    no_amplification: bool = False  # a Ct column said the gene did not amplify
    lab: str = ""
    kind: str = "pcr"
    # A cell that makes the row unusable whatever it matches.
    problem: str = ""
    problem_column: str = ""
    problem_value: str = ""

    @property
    def doc_number_masked(self) -> str:
        return mask_id(self.doc_number) if self.doc_number else ""

    @property
    def result_or_ct(self):
        """What to record: the Ct when there is one, else the result word, else negative for no amplification."""
        if self.ct is not None:
            return self.ct
        if self.result_text:
            return self.result_text
        return "negative" if self.no_amplification else None


@dataclass
class LabFile:
    layout: LabLayout
    lines: list[LabLine] = field(default_factory=list)

    @property
    def header_row(self) -> int:
        return self.layout.header_row

    def label(self, fld: str) -> str:
        return self.layout.label(fld)


def _key(text: object) -> str:
    return clean_cell(text).lower().replace(" ", "")


def _kind(text: str) -> str | None:
    key = _key(text)
    if not key:
        return "pcr"
    if "抗原" in key or "antigen" in key or "rat" == key:
        return "antigen"
    if "核酸" in key or "pcr" in key or "nucleic" in key or "rna" in key:
        return "pcr"
    return None


def _cell(row: list, index: int):
    return row[index] if index < len(row) else None


def read_line(row_number: int, row: list, layout: LabLayout, *, today: date, tz: ZoneInfo) -> LabLine:
    line = LabLine(row=row_number)
    cols = layout.columns

    def first(fld: str):
        return _cell(row, cols[fld][0]) if fld in cols else None

    line.barcode = clean_cell(first("barcode")).replace(" ", "")
    line.doc_raw = first("doc_number")
    line.doc_number = clean_cell(line.doc_raw).replace(" ", "").upper()
    line.result_text = clean_cell(first("result"))
    line.lab = clean_cell(first("lab"))
    raw_sampled = first("sampled")
    line.sampled_raw = clean_cell(raw_sampled) if not isinstance(raw_sampled, (date, datetime)) else str(raw_sampled)
    if line.sampled_raw:
        try:
            moment = parse_datetime(raw_sampled, context_year=today.year, today=today, tz=tz)
        except DateError as exc:
            line.sampled_problem = exc.translated(gettext)
        else:
            if moment.date() > today:
                line.sampled_problem = _("The sample date %(date)s is in the future.") % {"date": moment.date().isoformat()}
            else:
                line.sampled_at = moment
    kind = _kind(clean_cell(first("kind")))
    if kind is None:
        line.problem, line.problem_column = _("Unknown test “%(value)s”: nucleic acid (核酸) or antigen (抗原)?") % {
            "value": clean_cell(first("kind"))}, layout.label("kind")
        line.problem_value = clean_cell(first("kind"))
        return line
    line.kind = kind
    cts: list[Decimal] = []
    for index in cols.get("ct", []):
        raw = _cell(row, index)
        text = clean_cell(raw)
        if not text:
            continue
        if _key(text) in NO_AMPLIFICATION:
            line.no_amplification = True
            continue
        try:
            value = Decimal(str(raw)) if isinstance(raw, (int, float)) and not isinstance(raw, bool) else Decimal(text)
            if not value.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            header = layout.headers[index] if index < len(layout.headers) else field_label("ct")
            line.problem = _("“%(value)s” is not a Ct value.") % {"value": text}
            line.problem_column, line.problem_value = header, text
            return line
        cts.append(value)
    line.ct = min(cts) if cts else None
    if line.ct is None and not line.result_text and not line.no_amplification:
        line.problem, line.problem_column = _("The row has no result and no Ct value."), layout.label("result")
    return line


def read_lab_file(path: Path, *, today: date) -> LabFile:
    """Every non-empty row below the detected header; UnreadableFile when the file or its header cannot be read."""
    table = read_table(Path(path))
    layout = detect_lab_layout(table.rows)
    if layout is None:
        raise UnreadableFile(_(
            "No header row names the sample (a barcode such as 条码 or an ID number such as 身份证号) and the result "
            "(检测结果 or a Ct value) in the first %(rows)s rows."
        ) % {"rows": HEADER_SEARCH_ROWS})
    tz = ZoneInfo(settings.TIME_ZONE)
    lab_file = LabFile(layout=layout)
    for index in range(layout.header_row, len(table.rows)):
        row = table.rows[index]
        if not any(clean_cell(c) for c in row):
            continue
        lab_file.lines.append(read_line(index + 1, row, layout, today=today, tz=tz))
    return lab_file


def id_candidates(raw) -> tuple[list[tuple[str, str]], str]:
    """(document type, number) pairs an ID cell may be, and the reason when there are none.

    A valid resident ID number is one candidate. Anything else may be a
    passport or permit number: every document type whose shape it fits.
    """
    try:
        return [(identity.RESIDENT_ID, parse_resident_id(raw).number)], ""
    except IdError as exc:
        reason = exc.translated(gettext)
    text = clean_cell(raw).replace(" ", "").upper()
    if not text or (len(text) >= 15 and text[:-1].isdigit()):
        return [], reason  # meant as a resident ID number, and not a valid one
    candidates = []
    for doc_type in (identity.PASSPORT, identity.HK_MACAO_PERMIT, identity.TAIWAN_PERMIT, identity.OTHER):
        try:
            candidates.append((doc_type, parse_other_document(doc_type, raw)))
        except IdError:
            continue
    return candidates, reason
