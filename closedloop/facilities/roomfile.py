"""Reading a site's room list from a spreadsheet: find the header, map the columns, read each row.

A site sends an .xlsx or .csv (often with a title row above the header) with a
row per room: building (楼栋), floor (楼层), room number (房间号), beds (床位数),
accessible (无障碍) and a note (备注). This module turns it into plain
``RoomLine`` rows, each either read or refused with a reason a clerk
understands; comparing them with the site's rooms and creating them is
``actions.room_import``'s business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from closedloop.lib.text import clean_cell
from closedloop.people.importing.fields import match_header
from closedloop.people.importing.reader import UnreadableFile, read_table

HEADER_SEARCH_ROWS = 20
MAX_ROWS = 10000
MIN_FLOOR, MAX_FLOOR = -5, 200  # as room_create allows
MIN_BEDS, MAX_BEDS = 1, 8  # the database's check constraint
MAX_BUILDING, MAX_NUMBER, MAX_NOTE = 20, 20, 200  # the model's field lengths

# field -> (label, synonyms compared after ``header_key``: lower-case, without spaces and punctuation)
ROOM_FIELDS: dict[str, tuple] = {
    "building": (gettext_lazy("Building"), [
        "楼栋", "栋", "楼号", "楼栋号", "栋号", "楼宇", "幢", "幢号", "building", "block", "tower",
    ]),
    "floor": (gettext_lazy("Floor"), ["楼层", "层", "层数", "所在楼层", "floor", "level", "storey"]),
    "number": (gettext_lazy("Room number"), [
        "房间号", "房号", "房间", "房间编号", "房间号码", "门牌号", "room", "roomno", "roomnumber", "number",
    ]),
    "beds": (gettext_lazy("Beds"), ["床位数", "床位", "床数", "床位数量", "beds", "bedcount", "numberofbeds"]),
    "accessible": (gettext_lazy("Accessible"), [
        "无障碍", "是否无障碍", "无障碍房间", "无障碍房", "accessible", "accessibility", "wheelchair",
    ]),
    "note": (gettext_lazy("Note"), ["备注", "说明", "note", "notes", "remark", "remarks"]),
}
_SYNONYMS = {syn: f for f, (_label, syns) in ROOM_FIELDS.items() for syn in syns}

# What clerks write in the accessible column (compared lower-case, without spaces).
YES = frozenset({"是", "有", "y", "yes", "1", "true", "✓", "✔", "√", "☑", "对"})
NO = frozenset({"否", "无", "不是", "n", "no", "0", "false", "×", "✗", "✘", "-", "/"})

# "3", "3层", "3楼", "F3", "3F"; "B1" / "负1" / "-1" are basements.
_FLOOR = re.compile(r"(?P<sign>-|负|B|b)?(?:F|f)?(?P<n>\d{1,3})(?:层|楼|F|f)?")


def field_for_header(text) -> str | None:
    return match_header(text, _SYNONYMS)


def field_label(fld: str) -> str:
    return str(ROOM_FIELDS[fld][0]) if fld in ROOM_FIELDS else fld


@dataclass
class RoomLayout:
    header_row: int  # Excel row number (1-based)
    headers: list[str]
    columns: dict[str, int]  # field -> column index

    def label(self, fld: str) -> str:
        """The file's own header text for a field, or the field's label."""
        index = self.columns.get(fld)
        if index is not None and index < len(self.headers) and self.headers[index]:
            return self.headers[index]
        return field_label(fld)

    @property
    def usable(self) -> bool:
        return "number" in self.columns and "floor" in self.columns


def _layout(headers: list[str], header_row: int) -> RoomLayout:
    columns: dict[str, int] = {}
    for i, text in enumerate(headers):
        fld = field_for_header(text) if text else None
        if fld is not None:
            columns.setdefault(fld, i)  # the first column of a field wins
    return RoomLayout(header_row=header_row, headers=headers, columns=columns)


def detect_room_layout(rows: list[list]) -> RoomLayout | None:
    """The row among the first ones that names the most fields, and at least the floor and the room number."""
    best: RoomLayout | None = None
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        layout = _layout([clean_cell(c) for c in row], i + 1)
        if layout.usable and (best is None or len(layout.columns) > len(best.columns)):
            best = layout
    return best


@dataclass
class RoomLine:
    """One data row of a room file: its values, or why it cannot be used."""

    row: int
    building: str = ""
    floor: int | None = None
    number: str = ""
    beds: int = 1
    accessible: bool = False
    note: str = ""
    problem: str = ""
    problem_column: str = ""
    problem_value: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """What makes a room unique at a site: its building and number."""
        return self.building, self.number

    @property
    def label(self) -> str:
        return f"{self.building}-{self.number}" if self.building else self.number


@dataclass
class RoomFile:
    layout: RoomLayout
    lines: list[RoomLine] = field(default_factory=list)

    @property
    def header_row(self) -> int:
        return self.layout.header_row


def _whole(raw, unit: str = "") -> int | None:
    """A whole number from a cell (3, 3.0, "3", "3.0", or "3张" with ``unit="张"``), or None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        return int(raw) if raw.is_integer() else None
    match = re.fullmatch(rf"(-?\d+)(?:\.0+)?(?:{unit})?" if unit else r"(-?\d+)(?:\.0+)?",
                         clean_cell(raw).replace(" ", ""))
    return int(match[1]) if match else None


def parse_floor(raw) -> int | None:
    """The floor a cell names (3, "3层", "F3", "B1" = -1), or None."""
    number = _whole(raw)
    if number is not None:
        return number
    match = _FLOOR.fullmatch(clean_cell(raw).replace(" ", ""))
    if match is None:
        return None
    n = int(match["n"])
    return -n if match["sign"] else n


def parse_yes_no(raw) -> bool | None:
    """是/否, Y/N, 1/0, ✓; an empty cell is no; None when the cell says something else."""
    if isinstance(raw, bool):
        return raw
    text = clean_cell(raw).lower().replace(" ", "")
    if not text or text in NO:
        return False
    if text in YES:
        return True
    return None


def _refuse(line: RoomLine, column: str, value, reason: str) -> RoomLine:
    line.problem, line.problem_column, line.problem_value = reason, column, clean_cell(value)
    return line


def read_line(row_number: int, row: list, layout: RoomLayout) -> RoomLine:
    """One row's values; the first problem found is the row's reason."""
    line = RoomLine(row=row_number)

    def cell(fld: str):
        index = layout.columns.get(fld)
        return row[index] if index is not None and index < len(row) else None

    line.building = clean_cell(cell("building"))
    line.number = clean_cell(cell("number")).replace(" ", "")
    line.note = clean_cell(cell("note"))
    if not line.number:
        return _refuse(line, layout.label("number"), "", _("The room number is missing."))
    if len(line.number) > MAX_NUMBER:
        return _refuse(line, layout.label("number"), line.number,
                       _("The room number is longer than %(max)s characters.") % {"max": MAX_NUMBER})
    if len(line.building) > MAX_BUILDING:
        return _refuse(line, layout.label("building"), line.building,
                       _("The building is longer than %(max)s characters.") % {"max": MAX_BUILDING})
    raw_floor = cell("floor")
    if not clean_cell(raw_floor):
        return _refuse(line, layout.label("floor"), "", _("The floor is missing."))
    line.floor = parse_floor(raw_floor)
    if line.floor is None:
        return _refuse(line, layout.label("floor"), raw_floor,
                       _("The floor “%(value)s” is not a number.") % {"value": clean_cell(raw_floor)})
    if not MIN_FLOOR <= line.floor <= MAX_FLOOR:
        return _refuse(line, layout.label("floor"), raw_floor, _("The floor must be between %(min)s and %(max)s.")
                       % {"min": MIN_FLOOR, "max": MAX_FLOOR})
    raw_beds = cell("beds")
    if clean_cell(raw_beds):
        beds = _whole(raw_beds, unit="张|床")
        if beds is None or not MIN_BEDS <= beds <= MAX_BEDS:
            return _refuse(line, layout.label("beds"), raw_beds,
                           _("A room has between %(min)s and %(max)s beds; the file says “%(value)s”.")
                           % {"min": MIN_BEDS, "max": MAX_BEDS, "value": clean_cell(raw_beds)})
        line.beds = beds
    accessible = parse_yes_no(cell("accessible"))
    if accessible is None:
        return _refuse(line, layout.label("accessible"), cell("accessible"),
                       _("Write 是 or 否 (Y or N) for accessible, not “%(value)s”.")
                       % {"value": clean_cell(cell("accessible"))})
    line.accessible = accessible
    if len(line.note) > MAX_NOTE:
        return _refuse(line, layout.label("note"), line.note[:40] + "…",
                       _("The note is longer than %(max)s characters.") % {"max": MAX_NOTE})
    return line


def read_room_file(path: Path) -> RoomFile:
    """Every non-empty row below the detected header; UnreadableFile when the file or its header cannot be read."""
    table = read_table(Path(path))
    layout = detect_room_layout(table.rows)
    if layout is None:
        raise UnreadableFile(_(
            "No header row names the floor (楼层) and the room number (房间号) in the first %(rows)s rows."
        ) % {"rows": HEADER_SEARCH_ROWS})
    data_rows = [(i + 1, row) for i, row in enumerate(table.rows[layout.header_row:], start=layout.header_row)
                 if any(clean_cell(c) for c in row)]
    if len(data_rows) > MAX_ROWS:
        raise UnreadableFile(_("The file has %(count)s rooms; import at most %(max)s at once (split the file).")
                             % {"count": len(data_rows), "max": MAX_ROWS})
    room_file = RoomFile(layout=layout)
    room_file.lines = [read_line(number, row, layout) for number, row in data_rows]
    return room_file
