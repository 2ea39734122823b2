"""The rejected rows of an import, written back as a spreadsheet ready to correct and re-import."""

from __future__ import annotations

import io

import xlsxwriter
from django.utils.translation import gettext as _

from closedloop.people.importing.engine import load_table
from closedloop.people.models import ImportRun


def rejected_rows_xlsx(run: ImportRun) -> bytes:
    table = load_table(run)
    reasons: dict[int, list[str]] = {}
    for p in run.problems:
        if p["outcome"] == "rejected":
            reasons.setdefault(p["row"], []).append(f"{p['column']}: {p['reason']}")
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet(_("Rejected rows")[:31])
    bold = book.add_format({"bold": True, "bg_color": "#F2F2F2"})
    text = book.add_format({"num_format": "@"})  # keep ID numbers as text this time
    header = table.rows[run.header_row - 1] if run.header_row else []
    width = max((len(r) for r in table.rows), default=0)
    sheet.write_row(0, 0, [_("Reason"), _("Row in the original file"), *[str(h or "") for h in header]], bold)
    for out_row, number in enumerate(sorted(reasons), start=1):
        cells = table.rows[number - 1] if number - 1 < len(table.rows) else []
        sheet.write_string(out_row, 0, "；".join(reasons[number]))
        sheet.write_number(out_row, 1, number)
        for j in range(width):
            value = cells[j] if j < len(cells) else None
            if value is None:
                continue
            sheet.write_string(out_row, j + 2, value if isinstance(value, str) else str(value), text)
    sheet.freeze_panes(1, 0)
    sheet.set_column(0, 0, 60)
    sheet.set_column(2, width + 2, 16)
    book.close()
    return out.getvalue()
