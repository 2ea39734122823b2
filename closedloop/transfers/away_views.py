"""Pages of the out-of-city registry: the headline ("how many of ours are still out of the city?"), the
list behind every figure (and its workbook), a roster's import, one record and what its city reports.

Thin: parse, check permission, call one action, render. A record outside the user's scope is 404, like
one that does not exist; a role without the capability is 403.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from closedloop.core.models import AuditEvent
from closedloop.core.pagination import paginate
from closedloop.core.roles import Cap
from closedloop.core.scoping import in_scope, require
from closedloop.facilities.registry_forms import visible_towns
from closedloop.quarantine.models import CustodyEvent
from closedloop.quarantine.observation_forms import map_errors
from closedloop.transfers import away_selectors as sel
from closedloop.transfers.actions import away_export_record, away_import, away_report
from closedloop.transfers.actions.away import at_origin
from closedloop.transfers.away_forms import AwayImportForm, AwayReportForm
from closedloop.transfers.choices import AwayStatus


def _record(user, pk: int):
    record = sel.away_get(user, pk)
    if record is None:
        raise Http404
    return record


@require_GET
@login_required
def away_overview(request):
    require(request.user, Cap.VIEW_PEOPLE)
    return render(request, "transfers/away_overview.html", {
        "away": sel.headline(request.user, timezone.localdate()),
        "readiness": sel.READINESS,
    })


@require_GET
@login_required
def away_list(request):
    require(request.user, Cap.VIEW_PEOPLE)
    today = timezone.localdate()
    sites = sel.origin_sites(request.user)
    filters, errors = sel.parse_filters(request.GET, sites=sites)
    rows = sel.away_search(request.user, filters, today)
    if request.GET.get("format") == "xlsx":
        return _workbook(request, list(rows), filters, today)
    page = paginate(request, rows)
    for record in page:
        record.readiness = sel.readiness_of(record, today)
    export_query = request.GET.copy()
    export_query.pop("page", None)
    export_query["format"] = "xlsx"
    return render(request, "transfers/away_list.html", {
        "page": page,
        "filters": filters,
        "errors": errors,
        "sites": sites,
        "cities": sorted({s.other_city for s in sites}),
        "towns": visible_towns(request.user),
        "statuses": AwayStatus.choices,
        "readiness": sel.READINESS,
        "export_query": export_query.urlencode(),
        "filtered": any(filters.get(k) for k in ("q", "city", "site", "town", "readiness", "status", "all")),
    })


def _workbook(request, records: list, filters: dict, today):
    from closedloop.quarantine.worklist_views import xlsx_response

    away_export_record(actor=request.user, filters={k: v for k, v in filters.items() if v}, count=len(records))
    columns = [_("Name"), _("ID number"), _("Phone"), _("City"), _("Isolation site"), _("Home town or street"),
               _("Village or community"), _("Release day there"), _("Status"), _("Readiness"), _("Held by"),
               _("Last reported"), _("Source")]
    rows = []
    for r in records:
        person, readiness = r.episode.person, sel.readiness_of(r, today)
        rows.append([person.name, person.doc_number_masked, person.phone_masked, r.origin.other_city, r.origin.name,
                     r.home_town.label, person.community.label if person.community else "", r.release_on,
                     str(r.get_status_display()), str(sel.READINESS[readiness]) if readiness else "",
                     r.episode.custodian.name if r.episode.custodian else "", r.reported_at, r.source])
    return xlsx_response("out-of-city.xlsx", [(_("Out of the city"), columns, rows)])


@require_http_methods(["GET", "POST"])
@login_required
def away_import_view(request):
    require(request.user, Cap.IMPORT_PEOPLE)
    require(request.user, Cap.HANDOVER)
    form = AwayImportForm(request.POST, request.FILES) if request.method == "POST" else AwayImportForm()
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"roster{Path(upload.name).suffix.lower()}"
            with path.open("wb") as fh:
                for chunk in upload.chunks():
                    fh.write(chunk)
            try:
                report = away_import(path=path, file_name=upload.name, actor=request.user,
                                     origin_city_hint=form.cleaned_data["origin_city"])
            except ValidationError as exc:
                map_errors(form, exc)
            else:
                return render(request, "transfers/away_import_result.html", {
                    "report": report, "problems": report.problems,
                    "statuses": dict(AwayStatus.choices),
                })
    return render(request, "transfers/away_import.html", {"form": form}, status=400 if form.is_bound else 200)


def _detail(request, record, *, form=None, status: int = 200):
    reportable = request.user.can(Cap.HANDOVER) and record.status != AwayStatus.HOME and at_origin(record)
    if reportable and form is None:
        form = AwayReportForm(sites=sel.origin_sites(request.user),
                              initial={"status": record.status if record.status in AwayStatus.values else ""})
    ledger = (CustodyEvent.objects.filter(episode_id=record.episode_id)
              .select_related("from_custodian", "to_custodian").order_by("seq"))
    history = AuditEvent.objects.filter(target_type="awayrecord", target_id=str(record.pk)).order_by("-at", "-id")
    person = record.episode.person
    return render(request, "transfers/away_detail.html", {
        "record": record,
        "person": person,
        # A town's staff see the people coming home to them; the registry's page only if they live there too.
        "person_link": in_scope(request.user, city_id=person.city_id, town_id=person.town_id,
                                community_id=person.community_id),
        "readiness": sel.readiness_of(record, timezone.localdate()),
        "readiness_labels": sel.READINESS,
        "form": form if reportable else None,
        "ledger": ledger,
        "history": history[:30],
    }, status=status)


@require_GET
@login_required
def away_detail(request, pk: int):
    require(request.user, Cap.VIEW_PEOPLE)
    return _detail(request, _record(request.user, pk))


@require_POST
@login_required
def away_report_view(request, pk: int):
    require(request.user, Cap.VIEW_PEOPLE)
    record = _record(request.user, pk)
    require(request.user, Cap.HANDOVER)
    form = AwayReportForm(request.POST, sites=sel.origin_sites(request.user))
    if form.is_valid():
        data = form.cleaned_data
        try:
            away_report(record=record, status=data["status"], release_on=data["release_on"], origin=data["origin"],
                        note=data["note"], actor=request.user)
        except ValidationError as exc:
            map_errors(form, exc)
        else:
            messages.success(request, _("Recorded: %(name)s is %(status)s.") % {
                "name": record.episode.person.name, "status": AwayStatus(data["status"]).label})
            return redirect("transfers:away_detail", pk=record.pk)
    return _detail(request, _record(request.user, pk), form=form, status=400)
