"""Pages of care requests: the list (search, filters, sort, pages, Excel), recording a request for a person,
one request with its close form. Thin: parse, check permission, call one action, render.

Every read goes through ``care_selectors`` (an outsider gets 404); every write through
``facilities.actions.care``.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from closedloop.core.pagination import paginate
from closedloop.core.roles import Cap
from closedloop.core.scoping import require
from closedloop.core.templatetags.cl import cn_datetime
from closedloop.facilities import care_selectors as cs
from closedloop.facilities.actions.care import CareConflict, care_request_close, care_request_create
from closedloop.facilities.care_forms import CareCloseForm, CareRequestForm
from closedloop.facilities.choices import CareKind, CareStatus
from closedloop.facilities.models import CareRequest
from closedloop.facilities.selectors import open_stay
from closedloop.people.choices import FLAGS
from closedloop.quarantine.observation_forms import map_errors
from closedloop.quarantine.worklist_views import xlsx_response

EXPORT_CHUNK = 2000


def _flags(person) -> str:
    return "、".join(str(label) for name, label in FLAGS if getattr(person, name, False))


def _where(care: CareRequest) -> str:
    if care.facility_id:
        return care.facility.name
    return care.custodian.name if care.custodian_id else ""


def _sheet(rows, now: dt.datetime) -> tuple[str, list[str], list[list]]:
    columns = [_("Name"), _("ID number"), _("Phone"), _("Needs attention"), _("Need"), _("Urgent"),
               _("What is needed"), _("Where"), _("Recorded"), _("Recorded by"), _("Answer by"),
               _("Hours overdue"), _("Status"), _("Closed"), _("Closed by"), _("What was done")]
    out = []
    for care in rows.iterator(chunk_size=EXPORT_CHUNK):
        person = care.episode.person
        late = now - care.due_at if care.status == CareStatus.OPEN and care.due_at < now else None
        out.append([
            person.name, person.doc_number_masked, person.phone_masked, _flags(person), care.get_kind_display(),
            _("yes") if care.urgent else _("no"), care.detail, _where(care), care.created_at,
            str(care.created_by or ""), care.due_at, round(late.total_seconds() / 3600, 1) if late else "",
            care.get_status_display(), care.closed_at, str(care.closed_by or ""), care.outcome,
        ])
    return _("Care requests"), columns, out


@require_GET
@login_required
def care_list(request):
    require(request.user, Cap.CARE)
    now = timezone.now()
    filters, bad = cs.parse_filters(request.GET)
    rows = cs.care_search(request.user, filters, now)
    if request.GET.get("format") == "xlsx":
        return xlsx_response(f"care-requests-{timezone.localdate():%Y-%m-%d}.xlsx", [_sheet(rows, now)])
    page = paginate(request, rows)
    page.object_list = cs.mark_late(page.object_list, now)
    export_query = request.GET.copy()
    export_query.pop("page", None)
    export_query["format"] = "xlsx"
    return render(request, "facilities/care_list.html", {
        "page": page, "filters": filters, "bad": bad, "now": now,
        "kinds": CareKind.choices, "places": cs.places_for_filter(request.user), "home": cs.HOME,
        "export_query": export_query.urlencode(),
    })


@require_http_methods(["GET", "POST"])
@login_required
def care_new(request, episode_pk: int):
    """Record a request for the person of an episode (linked from the episode page and the site board)."""
    episode = cs.episode_for_care(request.user, episode_pk)
    bound = request.method == "POST"
    form = CareRequestForm(request.POST if bound else None, urgent_hours=settings.CARE_URGENT_HOURS)
    if bound and form.is_valid():
        data = form.cleaned_data
        try:
            care = care_request_create(episode=episode, kind=data["kind"], detail=data["detail"],
                                       urgent=data["urgent"], actor=request.user)
        except ValidationError as exc:
            map_errors(form, exc)
        else:
            messages.success(request, _("The care request for %(name)s is recorded; answer by %(due)s.") % {
                "name": episode.person.name, "due": cn_datetime(care.due_at)})
            return redirect("sites:care_detail", pk=care.pk)
    now = timezone.now()
    held = episode.state in cs.HELD_STATES
    earlier = CareRequest.objects.filter(episode=episode, status=CareStatus.OPEN).order_by("due_at", "pk")
    return render(request, "facilities/care_new.html", {
        "episode": episode, "person": episode.person, "form": form, "earlier": cs.mark_late(earlier, now),
        "now": now, "held": held, "stay": open_stay(episode) if held else None,
        "answer_hours": settings.CARE_ANSWER_HOURS,
    }, status=400 if bound else 200)


@require_http_methods(["GET", "POST"])
@login_required
def care_detail(request, pk: int):
    """One request: the person (with their vulnerability flags), the need, the deadline; the close form."""
    care = cs.care_get(request.user, pk)
    bound = request.method == "POST"
    form = CareCloseForm(request.POST if bound else None)
    status = 200
    if bound:
        status = 400
        if form.is_valid():
            try:
                care_request_close(request=care, outcome=form.cleaned_data["outcome"], actor=request.user)
            except CareConflict as exc:
                map_errors(form, exc)
                status = 409
                care = cs.care_get(request.user, pk)  # as the other desk left it
            except ValidationError as exc:
                map_errors(form, exc)
            else:
                messages.success(request, _("The care request is closed."))
                return redirect("sites:care_detail", pk=care.pk)
    now = timezone.now()
    cs.mark_late([care], now)
    episode = care.episode
    return render(request, "facilities/care_detail.html", {
        "care": care, "episode": episode, "person": episode.person, "form": form, "now": now,
        "stay": open_stay(episode) if episode.state in cs.HELD_STATES else None,
    }, status=status)
