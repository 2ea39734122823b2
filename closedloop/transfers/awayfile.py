"""Reading a roster from another city's headquarters: our residents isolated there.

Other cities send an .xlsx or .csv, often under a title row or two: name, ID
number, phone, the isolation site (隔离点, 隔离酒店) and its city (所在城市),
the release day (解除隔离日期, 预计解除时间), the home town or street of our
city (现住址所属镇街, 返乡镇街), sometimes the community and a status (在隔,
已解除, 阳性, 转运). This module turns the file into plain ``AwayLine`` rows with
each cell read; finding people, sites and towns is ``actions.away``'s business.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext as _

from closedloop.lib.dates import DateError, parse_date
from closedloop.lib.identity import mask_id
from closedloop.lib.text import clean_cell, fold_search
from closedloop.people.importing.fields import match_header
from closedloop.people.importing.reader import UnreadableFile, read_table
from closedloop.transfers.choices import AwayStatus

HEADER_SEARCH_ROWS = 20

# field -> (label, synonyms compared after ``header_key``: lower-case, without spaces and punctuation).
# A header naming two fields goes to the longest synonym it contains ("隔离点所在城市" is the city).
AWAY_FIELDS: dict[str, tuple] = {
    "name": (gettext_lazy("Name"), ["姓名", "人员姓名", "name", "fullname"]),
    "doc_type": (gettext_lazy("Document type"), ["证件类型", "证件种类", "证件类别", "idtype", "documenttype"]),
    "doc_number": (gettext_lazy("ID number"), [
        "身份证号", "身份证号码", "身份证", "证件号码", "证件号", "公民身份号码", "身份证件号码", "idnumber", "idno",
        "idcard", "documentnumber", "passportnumber",
    ]),
    "phone": (gettext_lazy("Phone"), ["联系电话", "手机号", "手机号码", "电话", "联系方式", "手机", "phone", "mobile"]),
    "site": (gettext_lazy("Isolation site"), [
        "隔离点", "隔离酒店", "隔离地点", "隔离场所", "隔离点名称", "所在隔离点", "集中隔离点", "隔离宾馆",
        "isolationsite", "site", "hotel",
    ]),
    "city": (gettext_lazy("City"), [
        "所在城市", "隔离城市", "所在地市", "隔离所在城市", "所在市", "城市", "地市", "city",
    ]),
    "release_on": (gettext_lazy("Release day"), [
        "解除隔离日期", "解除隔离时间", "预计解除时间", "预计解除隔离时间", "预计解除隔离日期", "预计解除日期",
        "解除日期", "解除时间", "解隔日期", "解隔时间", "releasedate", "releaseday", "release",
    ]),
    "town": (gettext_lazy("Home town or street"), [
        "现住址所属镇街", "返乡镇街", "返乡镇街道", "所属镇街", "镇街", "镇街道", "乡镇街道", "现住址镇街", "户籍镇街",
        "hometown", "town", "street",
    ]),
    "community": (gettext_lazy("Home community"), [
        "现住址所属村社", "返乡村社", "所属村社", "所属社区", "村社区", "村社", "社区", "村居", "community", "village",
    ]),
    "status": (gettext_lazy("Status"), ["状态", "隔离状态", "人员状态", "当前状态", "status"]),
}
_SYNONYMS = {syn: f for f, (_label, syns) in AWAY_FIELDS.items() for syn in syns}

# What other cities write in the status column (compared after ``fold_search``).
STATUS_WORDS: dict[str, str] = {
    **{w: AwayStatus.ISOLATED for w in ("在隔", "隔离中", "在隔离", "集中隔离", "在管", "正在隔离", "isolated")},
    **{w: AwayStatus.RELEASED for w in ("已解除", "解除", "解除隔离", "已解除隔离", "已解隔", "解隔", "released")},
    **{w: AwayStatus.POSITIVE for w in ("阳性", "确诊", "无症状", "无症状感染者", "阳性感染者", "复阳", "positive")},
    **{w: AwayStatus.MOVED for w in ("转运", "已转运", "转移", "转点", "转隔离点", "转至其他隔离点", "moved")},
}


def field_for_header(text) -> str | None:
    return match_header(text, _SYNONYMS)


def field_label(fld: str) -> str:
    return str(AWAY_FIELDS[fld][0]) if fld in AWAY_FIELDS else fld


def parse_status(text: object) -> str | None:
    """The status a cell says; None when empty; ValueError when it says something else."""
    key = fold_search(text)
    if not key:
        return None
    if key not in STATUS_WORDS:
        raise ValueError(key)
    return STATUS_WORDS[key]


@dataclass
class AwayLayout:
    header_row: int  # Excel row number (1-based)
    headers: list[str]
    columns: dict[str, int]  # field -> column index

    def label(self, fld: str) -> str:
        """The file's own header text for a field, or the field's label."""
        index = self.columns.get(fld)
        return self.headers[index] if index is not None and index < len(self.headers) else field_label(fld)

    @property
    def usable(self) -> bool:
        return {"doc_number", "site", "town"} <= set(self.columns)


def _layout(headers: list[str], header_row: int) -> AwayLayout:
    columns: dict[str, int] = {}
    for i, text in enumerate(headers):
        fld = field_for_header(text) if text else None
        if fld is not None and fld not in columns:  # the first column of a field wins
            columns[fld] = i
    return AwayLayout(header_row=header_row, headers=headers, columns=columns)


def detect_layout(rows: list[list]) -> AwayLayout | None:
    """The row among the first ones that names the person, the site and the home town, with the most fields."""
    best: AwayLayout | None = None
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        layout = _layout([clean_cell(c) for c in row], i + 1)
        if layout.usable and (best is None or len(layout.columns) > len(best.columns)):
            best = layout
    return best


@dataclass
class AwayLine:
    """One data row of a roster, its cells read but not matched to anyone yet."""

    row: int
    name: str = ""
    doc_type_raw: object = None
    doc_raw: object = None
    doc_number: str = ""  # the cleaned text, for messages (always shown masked)
    phone_raw: object = None
    site: str = ""
    city: str = ""
    release_on: date | None = None
    town: str = ""
    community: str = ""
    status: str | None = None
    # A cell that makes the row unusable whatever it matches.
    problem: str = ""
    problem_column: str = ""
    problem_value: str = ""

    @property
    def doc_number_masked(self) -> str:
        return mask_id(self.doc_number) if self.doc_number else ""

    def reject(self, reason: str, column: str = "", value: str = "") -> AwayLine:
        self.problem, self.problem_column, self.problem_value = reason, column, value
        return self


def _cell(row: list, index: int | None):
    return row[index] if index is not None and index < len(row) else None


def read_line(row_number: int, row: list, layout: AwayLayout, *, today: date) -> AwayLine:
    cols = layout.columns

    def cell(fld: str):
        return _cell(row, cols.get(fld))

    line = AwayLine(row=row_number)
    line.name = clean_cell(cell("name"))
    line.doc_type_raw = cell("doc_type")
    line.doc_raw = cell("doc_number")
    line.doc_number = clean_cell(line.doc_raw).replace(" ", "").upper()
    line.phone_raw = cell("phone")
    line.site = clean_cell(cell("site"))
    line.city = clean_cell(cell("city"))
    line.town = clean_cell(cell("town"))
    line.community = clean_cell(cell("community"))
    if not line.name:
        return line.reject(_("The name is empty."), layout.label("name"))
    if not line.doc_number:
        return line.reject(_("The ID number is empty."), layout.label("doc_number"))
    if not line.site:
        return line.reject(_("The isolation site is empty: say where the person is isolated."), layout.label("site"))
    if not line.town:
        return line.reject(_("The home town or street is empty: say where the person comes home to."),
                           layout.label("town"))
    raw_release = cell("release_on")
    if clean_cell(raw_release) or isinstance(raw_release, (date, int, float)):
        try:
            line.release_on = parse_date(raw_release, context_year=today.year, today=today)
        except DateError as exc:
            return line.reject(exc.translated(gettext), layout.label("release_on"), clean_cell(raw_release))
    raw_status = cell("status")
    try:
        line.status = parse_status(raw_status)
    except ValueError:
        return line.reject(
            _("Unknown status “%(value)s”: write 在隔 (isolated), 已解除 (released), 阳性 (positive) or 转运 (moved).")
            % {"value": clean_cell(raw_status)}, layout.label("status"), clean_cell(raw_status))
    return line


@dataclass
class AwayFile:
    layout: AwayLayout
    lines: list[AwayLine] = field(default_factory=list)

    @property
    def header_row(self) -> int:
        return self.layout.header_row

    def label(self, fld: str) -> str:
        return self.layout.label(fld)


def read_away_file(path: Path, *, today: date) -> AwayFile:
    """Every non-empty row below the detected header; UnreadableFile when the file or its header cannot be read."""
    table = read_table(Path(path))
    layout = detect_layout(table.rows)
    if layout is None:
        raise UnreadableFile(_(
            "No header row names the ID number (身份证号), the isolation site (隔离点 or 隔离酒店) and the home town "
            "or street (现住址所属镇街 or 返乡镇街) in the first %(rows)s rows."
        ) % {"rows": HEADER_SEARCH_ROWS})
    away_file = AwayFile(layout=layout)
    for index in range(layout.header_row, len(table.rows)):
        row = table.rows[index]
        if not any(clean_cell(c) for c in row):
            continue
        away_file.lines.append(read_line(index + 1, row, layout, today=today))
    return away_file
