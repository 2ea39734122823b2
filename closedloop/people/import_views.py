"""Roster import in the browser: upload, check the layout, preview, confirm, watch, download."""

from __future__ import annotations

import re
import tempfile
import threading
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import close_old_connections
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from closedloop.core.pagination import paginate
from closedloop.core.roles import Cap
from closedloop.core.scoping import require, user_jurisdictions
from closedloop.lib.identity import mask_id
from closedloop.lib.phones import mask_phone
from closedloop.people.choices import ImportStatus
from closedloop.people.import_forms import LayoutForm, UploadForm
from closedloop.people.importing.engine import (
    check_context,
    check_rows,
    import_run_create,
    import_run_execute,
    import_run_set_layout,
    load_table,
    report,
)
from closedloop.people.importing.fields import FIELDS, field_label
from closedloop.people.importing.layout import layout_at
from closedloop.people.importing.reader import UnreadableFile
from closedloop.people.importing.rejected import rejected_rows_xlsx
from closedloop.people.importing.rowcheck import OUTCOME_LABELS
from closedloop.people.models import ImportRun

PREVIEW_ROWS = 20


def runs_visible(user):
    """City-wide importers see every import; others see their own."""
    require(user, Cap.IMPORT_PEOPLE)
    runs = ImportRun.objects.select_related("actor")
    if any(j.level == "city" for j in user_jurisdictions(user)):
        return runs
    return runs.filter(actor=user)


def run_get(user, pk) -> ImportRun:
    run = runs_visible(user).filter(pk=pk).first()
    if run is None:
        raise Http404
    return run


@login_required
@require_GET
def import_list(request):
    page = paginate(request, runs_visible(request.user))
    return render(request, "people/import_list.html", {"page": page})


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request):
    require(request.user, Cap.IMPORT_PEOPLE)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        suffix = Path(upload.name).suffix.lower()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"upload{suffix}"
            with path.open("wb") as fh:
                for chunk in upload.chunks():
                    fh.write(chunk)
            try:
                mapping = form.cleaned_data["mapping"]
                run, _table = import_run_create(
                    path=path, file_name=upload.name, actor=request.user,
                    category=form.cleaned_data["category"] or None, mapping=mapping.name if mapping else None,
                )
            except UnreadableFile as exc:
                form.add_error("file", str(exc))
            else:
                return redirect("people:import_detail", pk=run.pk)
    return render(request, "people/import_upload.html", {"form": form})


def _layout_form(run, table, header_row, data=None):
    layout = layout_at(table.rows, header_row, columns=None if header_row != run.header_row else
                       {int(i): f for i, f in run.columns.items()})
    initial = {"header_row": header_row, "category": run.category,
               **{f"col_{i}": f for i, f in layout.columns.items()}}
    return LayoutForm(data, headers=layout.headers, initial=initial), layout


@login_required
@require_GET
def import_detail(request, pk):
    run = run_get(request.user, pk)
    if run.status != ImportStatus.UPLOADED:
        problems = paginate(request, [
            {**p, "value": masked(p["value"]), "outcome": OUTCOME_LABELS.get(p["outcome"], p["outcome"])}
            for p in run.problems
        ], per_page=100)
        return render(request, "people/import_result.html", {
            "run": run, "report": report(run), "problems": problems,
            "running": run.status == ImportStatus.RUNNING,
        })
    try:
        table = load_table(run)
    except UnreadableFile as exc:
        raise Http404(str(exc)) from None
    header_row = _int(request.GET.get("header_row")) or run.header_row or 1
    form, layout = _layout_form(run, table, header_row)
    return render(request, "people/import_detail.html", _preview_context(run, table, form, layout))


def _preview_context(run, table, form, layout):
    ctx = check_context(run, timezone.localdate())
    preview = check_rows(table, layout, ctx, limit=PREVIEW_ROWS) if "name" in layout.fields else []
    ordered = [f for f in FIELDS if f in layout.fields]
    rows = [{"row": r.row, "cells": [masked(r.raw.get(f)) if f in MASKED_FIELDS else _text(r.raw.get(f)) for f in ordered],
             "problems": r.problems, "rejected": r.rejected} for r in preview]
    return {
        "run": run, "form": form, "layout": layout, "rows": rows, "sheets": [],
        "columns": [field_label(f) for f in ordered],
        "title_rows": [[str(c) for c in r if c not in (None, "")] for r in table.rows[: max(layout.header_row - 1, 0)]],
    }


MASKED_FIELDS = {"doc_number", "phone", "address"}
_DIGITS = re.compile(r"[\dXx]")


def _text(value) -> str:
    return "" if value is None else str(value)


def masked(value) -> str:
    """Problem values and preview cells may hold ID numbers or phones: mask anything number-like."""
    text = _text(value)
    digits = len(_DIGITS.findall(text))
    if digits >= 15:
        return mask_id(text.strip())
    if digits >= 7:
        return mask_phone(text.strip()) if len(text.strip()) <= 20 else "***"
    return text


def _int(text) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


@login_required
@require_POST
def import_mapping(request, pk):
    run = run_get(request.user, pk)
    if run.status != ImportStatus.UPLOADED:
        messages.error(request, _("This import has already started; upload the file again to change its columns."))
        return redirect("people:import_detail", pk=run.pk)
    table = load_table(run)
    header_row = _int(request.POST.get("header_row")) or run.header_row or 1
    built_for = _int(request.POST.get("built_for"))
    if built_for != header_row:
        # A new header row brings new column names: show the mapping detected there.
        return redirect(f"{request.path.removesuffix('mapping/')}?header_row={header_row}")
    form, layout = _layout_form(run, table, header_row, data=request.POST)
    if not form.is_valid():
        return render(request, "people/import_detail.html", _preview_context(run, table, form, layout), status=400)
    import_run_set_layout(run=run, header_row=header_row, columns=form.columns(),
                          category=form.cleaned_data["category"], save_as=form.cleaned_data["save_as"],
                          actor=request.user)
    messages.success(request, _("The column mapping is saved; check the preview and start the import."))
    return redirect("people:import_detail", pk=run.pk)


def _execute_in_background(run_pk: int, user_pk: int) -> None:
    from django.contrib.auth import get_user_model

    close_old_connections()
    try:
        run = ImportRun.objects.get(pk=run_pk)
        import_run_execute(run=run, actor=get_user_model().objects.get(pk=user_pk))
    except Exception:  # the run row records the failure; a thread has no one to raise to
        pass
    finally:
        close_old_connections()


@login_required
@require_POST
def import_start(request, pk):
    run = run_get(request.user, pk)
    if not run.header_row or "name" not in run.columns.values():
        messages.error(request, _("Map one column to Name before starting."))
        return redirect("people:import_detail", pk=run.pk)
    if run.status != ImportStatus.UPLOADED:
        messages.info(request, _("This import has already been started."))
        return redirect("people:import_detail", pk=run.pk)
    if settings.IMPORT_RUN_INLINE:
        try:
            import_run_execute(run=run, actor=request.user)
        except UnreadableFile as exc:
            messages.error(request, str(exc))
    else:
        threading.Thread(target=_execute_in_background, args=(run.pk, request.user.pk), daemon=True).start()
    return redirect("people:import_detail", pk=run.pk)


@login_required
@require_GET
def import_progress(request, pk):
    run = run_get(request.user, pk)
    data = {"status": run.status, "rows_done": run.rows_done, "rows_total": run.rows_total, "counts": run.counts,
            "rows_per_second": run.rows_per_second, "seconds_left": run.seconds_left}
    if request.headers.get("HX-Request"):
        response = render(request, "people/_import_progress.html", {"run": run})
        if run.status != ImportStatus.RUNNING:
            response["HX-Refresh"] = "true"  # done: reload the page to show the full result
        return response
    return JsonResponse(data)


@login_required
@require_GET
def import_rejected(request, pk):
    run = run_get(request.user, pk)
    if run.status not in (ImportStatus.DONE, ImportStatus.FAILED):
        raise Http404
    if not request.user.can(Cap.IMPORT_PEOPLE):
        raise PermissionDenied
    response = HttpResponse(
        rejected_rows_xlsx(run), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    stem = Path(run.file_name).stem
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(stem)}-rejected.xlsx"
    return response


@login_required
@require_GET
def import_report(request, pk):
    run = run_get(request.user, pk)
    return JsonResponse(report(run), json_dumps_params={"ensure_ascii": False})


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text)
