"""Exports of the person registry: one builder, two writers, the web download.

``export_rows`` is the only way people leave the platform in bulk: it reads
through ``people_search`` (so the caller's scope and the list page's filters
apply), masks ID numbers, phones and addresses unless ``unmask=True`` (which
needs the unmask capability), and writes exactly one audit row per export
before the first row is produced — ``person.export`` or
``person.export_unmasked``, with the filters and the row count.

The writers take those rows: ``csv_chunks`` (UTF-8 with a BOM, so Excel in
Chinese opens it without garbling) and ``write_xlsx`` (xlsxwriter in
constant-memory mode: a header row in bold, frozen, sized columns).
The command ``closedloop export people`` uses the same builder and writers.
"""

from __future__ import annotations

import csv
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime

import xlsxwriter
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from closedloop.core.audit import audit_record
from closedloop.core.roles import Cap
from closedloop.core.scoping import require
from closedloop.core.templatetags.cl import mask_address
from closedloop.lib.dates import format_cn, format_cn_datetime
from closedloop.lib.identity import mask_id
from closedloop.people.choices import FLAGS, DocType, Sex
from closedloop.people.selectors import people_search
from closedloop.quarantine.choices import Category
from closedloop.quarantine.models import Episode

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK_SIZE = 2000


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # lazy: translated when a file is written
    width: int
    kind: type = str


COLUMNS = (
    Column("name", _("Name"), 12),
    Column("sex", _("Sex"), 6),
    Column("birth_date", _("Birth date"), 14, date),
    Column("doc_type", _("Document type"), 14),
    Column("doc_number", _("Document number"), 22),
    Column("phone", _("Phone"), 15),
    Column("town", _("Town or street"), 14),
    Column("community", _("Village or community"), 14),
    Column("address", _("Address"), 32),
    Column("household_id", _("Household"), 10, int),
    Column("employer", _("Employer"), 20),
    Column("flags", _("Flags"), 22),
    Column("open_category", _("Open episode category"), 16),
    Column("anchor_date", _("Anchor date"), 14, date),
    Column("registered_at", _("Registered at"), 18, datetime),
)
# Free-text columns: a value starting like a formula is written so Excel does not run it.
_TEXT_KEYS = frozenset({"name", "address", "employer"})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def with_open_episode(rows: QuerySet) -> QuerySet:
    """Annotate people with their open episode's category and anchor date (one query in all)."""
    open_episode = Episode.objects.filter(person=OuterRef("pk"), status="open")
    return rows.annotate(
        open_category=Subquery(open_episode.values("category")[:1]),
        open_anchor_date=Subquery(open_episode.values("anchor_date")[:1]),
    )


def _mask_query(text: str) -> str:
    """A search text as the audit log keeps it: a number searched for is masked."""
    return mask_id(text) if re.search(r"\d{5}", text) else text


@transaction.atomic
def people_export_record(*, actor, filters: dict, count: int, unmasked: bool, fmt: str = "") -> None:
    """The audit row of one export (``person.export`` or ``person.export_unmasked``)."""
    audit_record(
        actor=actor,
        action="person.export_unmasked" if unmasked else "person.export",
        target_type="person",
        target_label=f"{count} people",
        after={"filters": filters, "count": count, "format": fmt},
    )


class ExportRows:
    """The rows of one export, as dicts keyed by ``Column.key``; ``count`` is known up front."""

    def __init__(self, queryset: QuerySet, *, count: int, unmask: bool, language: str) -> None:
        self.count = count
        self.unmask = unmask
        self.language = language
        with translation.override(language):
            self.columns = [(c.key, str(c.label), c.width, c.kind) for c in COLUMNS]
            self._sex = {k: str(v) for k, v in Sex.choices}
            self._doc_type = {k: str(v) for k, v in DocType.choices}
            self._category = {k: str(v) for k, v in Category.choices}
            self._flags = [(name, str(label)) for name, label in FLAGS]
            self._separator = "、" if language.startswith("zh") else ", "
        self._rows = self._generate(queryset)

    def __iter__(self) -> ExportRows:
        return self

    def __next__(self) -> dict:
        return next(self._rows)

    def _place(self, jurisdiction) -> str:
        if jurisdiction is None:
            return ""
        if self.language == "en" and jurisdiction.name_en:
            return jurisdiction.name_en
        return jurisdiction.name

    def _generate(self, queryset: QuerySet) -> Iterator[dict]:
        for p in queryset.iterator(chunk_size=CHUNK_SIZE):
            yield {
                "name": p.name,
                "sex": self._sex.get(p.sex, ""),
                "birth_date": p.birth_date,
                "doc_type": self._doc_type.get(p.doc_type, ""),
                "doc_number": p.doc_number if self.unmask else p.doc_number_masked,
                "phone": p.phone if self.unmask else p.phone_masked,
                "town": self._place(p.town),
                "community": self._place(p.community),
                "address": p.address if self.unmask else mask_address(p.address),
                "household_id": p.household_id,
                "employer": p.employer,
                "flags": self._separator.join(label for name, label in self._flags if getattr(p, name)),
                "open_category": self._category.get(p.open_category or "", ""),
                "anchor_date": p.open_anchor_date,
                "registered_at": timezone.localtime(p.created_at),
            }


def export_rows(user, params: Mapping, *, unmask: bool = False, fmt: str = "") -> ExportRows:
    """The people ``user`` may see that match ``params`` (the list page's filters).

    Refused (PermissionDenied) without the export capability, and with
    ``unmask=True`` without the unmask capability. Writes the export's one
    audit row before returning.
    """
    require(user, Cap.EXPORT_PEOPLE)
    if unmask:
        require(user, Cap.UNMASK)
    rows, filters = people_search(user, params)
    if params.get("open") == "1":
        # The list page's "under control now" filter (people with an open episode).
        rows = rows.filter(episodes__status="open")
        filters["open"] = "1"
    rows = with_open_episode(rows)
    count = rows.count()
    kept = {k: (_mask_query(v) if k == "q" else v) for k, v in filters.items() if v}
    people_export_record(actor=user, filters=kept, count=count, unmasked=unmask, fmt=fmt)
    return ExportRows(rows, count=count, unmask=unmask, language=translation.get_language() or "zh-hans")


# --- writers ------------------------------------------------------------------------

class _Line:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def _csv_value(value, key: str, zh: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_cn_datetime(value) if zh else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return format_cn(value) if zh else value.isoformat()
    text = str(value)
    if key in _TEXT_KEYS and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def csv_chunks(rows: ExportRows) -> Iterator[str]:
    """The CSV file as text chunks: a BOM, the header line, one line a person."""
    writer = csv.writer(_Line())
    zh = rows.language.startswith("zh")
    yield "\ufeff" + writer.writerow([label for _key, label, _width, _kind in rows.columns])
    keys = [key for key, _label, _width, _kind in rows.columns]
    for row in rows:
        yield writer.writerow([_csv_value(row[key], key, zh) for key in keys])


def write_csv(rows: ExportRows, path) -> int:
    written = -1  # the header line is not a row
    with open(path, "w", encoding="utf-8", newline="") as handle:
        for chunk in csv_chunks(rows):
            handle.write(chunk)
            written += 1
    return written


def write_xlsx(rows: ExportRows, target) -> int:
    """Write the rows to ``target`` (a path or a binary file object); returns the number of rows."""
    zh = rows.language.startswith("zh")
    workbook = xlsxwriter.Workbook(target, {"constant_memory": True})
    try:
        header = workbook.add_format({"bold": True, "bg_color": "#EDEDED", "border": 1})
        day = workbook.add_format({"num_format": 'yyyy"年"m"月"d"日"' if zh else "yyyy-mm-dd"})
        moment = workbook.add_format({"num_format": 'yyyy"年"m"月"d"日" h:mm' if zh else "yyyy-mm-dd hh:mm"})
        with translation.override(rows.language):
            sheet = workbook.add_worksheet(str(_("People")))
        for col, (_key, _label, width, _kind) in enumerate(rows.columns):
            sheet.set_column(col, col, width)
        sheet.freeze_panes(1, 0)
        for col, (_key, label, _width, _kind) in enumerate(rows.columns):
            sheet.write_string(0, col, label, header)
        keys = [key for key, _label, _width, _kind in rows.columns]
        r = 0
        for r, row in enumerate(rows, start=1):
            for col, key in enumerate(keys):
                value = row[key]
                if value is None or value == "":
                    continue
                if isinstance(value, datetime):
                    sheet.write_datetime(r, col, value.replace(tzinfo=None), moment)
                elif isinstance(value, date):
                    sheet.write_datetime(r, col, value, day)
                elif isinstance(value, int):
                    sheet.write_number(r, col, value)
                else:
                    # write_string, never write(): a value is never taken for a formula.
                    sheet.write_string(r, col, str(value))
        sheet.autofilter(0, 0, max(r, 1), len(keys) - 1)
    finally:
        workbook.close()
    return r


WRITERS = {"csv", "xlsx"}


# --- the web download ------------------------------------------------------------------

@login_required
@require_GET
def export_people(request, fmt: str):
    """``/people/export.xlsx`` and ``/people/export.csv``: the list page's filters, always masked."""
    if fmt not in WRITERS:
        raise Http404
    rows = export_rows(request.user, request.GET, unmask=False, fmt=fmt)
    filename = f"people-{timezone.localdate():%Y-%m-%d}.{fmt}"
    if fmt == "csv":
        response = StreamingHttpResponse(
            (chunk.encode("utf-8") for chunk in csv_chunks(rows)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = content_disposition_header(True, filename)
    else:
        handle = tempfile.TemporaryFile()
        write_xlsx(rows, handle)
        handle.seek(0)
        response = FileResponse(handle, as_attachment=True, filename=filename, content_type=XLSX_TYPE)
    response["Cache-Control"] = "no-store"
    response["X-Row-Count"] = str(rows.count)
    return response
