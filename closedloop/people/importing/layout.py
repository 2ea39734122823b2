"""Finding the header row (below any title rows) and mapping columns to fields."""

from __future__ import annotations

from dataclasses import dataclass, field

from closedloop.lib.text import clean_cell
from closedloop.people.importing.fields import FIELDS, field_for_header, header_key

HEADER_SEARCH_ROWS = 20


@dataclass
class Layout:
    header_row: int  # Excel row number of the header (1-based)
    headers: list[str]  # header text per column
    columns: dict[int, str]  # column index -> field
    unmapped: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"header_row": self.header_row, "headers": self.headers, "columns": {str(k): v for k, v in self.columns.items()}}

    @property
    def fields(self) -> set[str]:
        return set(self.columns.values())


def _map_headers(headers: list[str], saved: dict[str, str] | None) -> tuple[dict[int, str], list[str], list[str]]:
    saved_keys = {header_key(h): f for h, f in (saved or {}).items() if f in FIELDS or f == ""}
    columns: dict[int, str] = {}
    unmapped, duplicates = [], []
    for i, text in enumerate(headers):
        if not text:
            continue
        key = header_key(text)
        fld = saved_keys[key] if key in saved_keys else field_for_header(text)
        if not fld:
            unmapped.append(text)
        elif fld in columns.values():
            duplicates.append(text)
        else:
            columns[i] = fld
    return columns, unmapped, duplicates


def detect_layout(rows: list[list], saved: dict[str, str] | None = None) -> Layout | None:
    """The row that names the most known fields among the first rows; None if none names two."""
    best: tuple[int, int] | None = None
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        headers = [clean_cell(c) for c in row]
        columns, _u, _d = _map_headers(headers, saved)
        score = len(columns)
        if score >= 2 and (best is None or score > best[1]):
            best = (i, score)
    if best is None:
        return None
    return layout_at(rows, best[0] + 1, saved)


def layout_at(rows: list[list], header_row: int, saved: dict[str, str] | None = None,
              columns: dict[int, str] | None = None) -> Layout:
    """The layout with the header on the given Excel row; explicit columns override detection."""
    headers = [clean_cell(c) for c in rows[header_row - 1]] if 0 < header_row <= len(rows) else []
    detected, unmapped, duplicates = _map_headers(headers, saved)
    if columns is not None:
        detected = {i: f for i, f in columns.items() if f in FIELDS and i < len(headers)}
        unmapped = [h for i, h in enumerate(headers) if h and i not in detected]
        duplicates = []
    return Layout(header_row=header_row, headers=headers, columns=detected, unmapped=unmapped, duplicates=duplicates)


def data_rows(rows: list[list], layout: Layout):
    """(Excel row number, {field: raw cell}) for every non-empty row below the header."""
    for index in range(layout.header_row, len(rows)):
        row = rows[index]
        if not any(clean_cell(c) for c in row):
            continue
        yield index + 1, {fld: (row[i] if i < len(row) else None) for i, fld in layout.columns.items()}
