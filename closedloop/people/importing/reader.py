"""Reading a roster file into rows of cells, whatever Excel or a clerk made of it."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _


class UnreadableFile(Exception):
    """The file as a whole cannot be read; nothing was imported."""


@dataclass
class Table:
    sheet: str
    sheets: list[str]
    rows: list[list]  # rows[i] is Excel row i + 1


# GB18030 is a superset of GBK and GB2312: what Chinese Excel writes for "CSV".
CSV_ENCODINGS = ("utf-8-sig", "gb18030")


def read_table(path: Path, *, sheet: str | None = None) -> Table:
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm", ".xls", ".ods"}:
        return _read_workbook(path, sheet)
    if suffix in {".csv", ".txt"}:
        return _read_csv(path)
    raise UnreadableFile(_("Files of type %(suffix)s cannot be imported; use .xlsx or .csv.") % {"suffix": suffix or "?"})


def _read_workbook(path: Path, sheet: str | None) -> Table:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception:  # calamine raises several types for a damaged file
        raise UnreadableFile(_("The file is not a readable spreadsheet (it may be damaged or password-protected).")) from None
    names = list(book.sheet_names)
    if not names:
        raise UnreadableFile(_("The workbook has no sheets."))
    name = sheet or names[0]
    if name not in names:
        raise UnreadableFile(
            _("The workbook has no sheet named “%(sheet)s”; its sheets are: %(names)s.")
            % {"sheet": name, "names": "、".join(names)}
        )
    try:
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except Exception:
        raise UnreadableFile(_("The sheet “%(sheet)s” cannot be read.") % {"sheet": name}) from None
    return Table(sheet=name, sheets=names, rows=[list(r) for r in rows])


def _read_csv(path: Path) -> Table:
    data = path.read_bytes()
    if not data.strip():
        raise UnreadableFile(_("The file is empty."))
    for encoding in CSV_ENCODINGS:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnreadableFile(_("The file's characters cannot be read; save it as UTF-8 or as CSV from Excel."))
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text, newline=""), dialect))
    return Table(sheet="", sheets=[], rows=rows)
