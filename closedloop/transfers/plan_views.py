"""Pages of transfer plans: the transfer board, making and adopting a plan, re-planning, one plan, the
plans list, the manifest of a trip (print and workbook), the plan's files.

Thin: parse, check permission, call one action, render. Reads go through ``plan_selectors`` (a city or
plan outside the user's jurisdictions is 404); writes through ``transfers.actions.plans``.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from closedloop.core.pagination import paginate
from closedloop.core.roles import Cap
from closedloop.core.templatetags.cl import cn_datetime
from closedloop.quarantine.observation_forms import map_errors
from closedloop.quarantine.worklist_views import XLSX_TYPE
from closedloop.transfers import manifests
from closedloop.transfers import plan_selectors as ps
from closedloop.transfers.actions import NothingToPlan, PlanConflict, plan_adopt, plan_make, plan_replan
from closedloop.transfers.actions.plans import DEFAULT_TIME_LIMIT
from closedloop.transfers.choices import PlanStatus, TripKind, TripState
from closedloop.transfers.models import Passenger
from closedloop.transfers.plan_forms import CoachOutForm, MakeForm, NotReadyForm
from closedloop.transfers.trip_selectors import trip_get

TIME_LIMIT = DEFAULT_TIME_LIMIT  # seconds the planner may search for a page


def _board(request, *, status: int = 200, nothing: NothingToPlan | None = None, form: MakeForm | None = None):
    city = ps.board_city(request.user, request.GET.get("city", ""))
    board = ps.board(request.user, city)
    return render(request, "transfers/board_page.html", {
        "board": board, "form": form or MakeForm(), "may_plan": request.user.can(Cap.MANAGE_FACILITIES),
        "nothing": nothing, "unplanned": ps.describe(nothing.skipped) if nothing else [],
    }, status=status)


@require_GET
@login_required
def board(request):
    """The transfer board: the headline, the adopted plan as a timeline, trips by state, people by leg."""
    return _board(request)


@require_POST
@login_required
def make(request):
    """Make a draft plan from today's data and show it beside the adopted one."""
    city = ps.board_city(request.user, request.POST.get("city", ""))
    form = MakeForm(request.POST)
    if not form.is_valid():
        return _board(request, status=400, form=form)
    try:
        plan = plan_make(city=city, actor=request.user, time_limit=TIME_LIMIT, note=form.cleaned_data["note"])
    except NothingToPlan as exc:
        return _board(request, status=400, nothing=exc, form=form)
    except ValidationError as exc:
        map_errors(form, exc)
        return _board(request, status=400, form=form)
    messages.success(request, _("Draft plan #%(plan)s is made: the last one home %(last)s. Compare it with the "
                                "adopted plan and adopt it if it is better.") % {
        "plan": plan.pk, "last": cn_datetime(ps.last_home(plan))})
    return redirect("transfers:plan", pk=plan.pk)


def _plan_page(request, plan, *, status: int = 200, not_ready: NotReadyForm | None = None,
               coach_out: CoachOutForm | None = None):
    current = ps.adopted(plan.city)
    under_way = plan.status == PlanStatus.ADOPTED
    trips = ps.trips_by_state(plan) if plan.status != PlanStatus.DRAFT else []
    return render(request, "transfers/plan_detail.html", {
        "plan": plan, "figures": ps.figures(plan), "timeline": ps.timeline(plan), "origins": ps.per_origin(plan),
        "unplanned": ps.unplanned(plan), "may_plan": request.user.can(Cap.MANAGE_FACILITIES),
        "current": ps.figures(current) if current and current.pk != plan.pk else None,
        "legs": [(k, ps.LEGS[k], n) for k, n in ps.legs(plan).items()] if under_way else [],
        "trips": trips, "called_off": sum(r["coach"] + r["shuttle"] for r in trips if r["state"] == TripState.CANCELLED),
        "waiting_groups": _waiting_groups(plan) if under_way else [],
        "not_ready": not_ready or NotReadyForm(), "coach_out": coach_out or CoachOutForm(),
    }, status=status)


def _waiting_groups(plan) -> list[str]:
    """Groups still waiting at their site for a coach of the plan: what "not ready" may name."""
    return list(Passenger.objects.filter(trip__plan=plan, trip__kind=TripKind.COACH, status="planned",
                                         trip__state__in=(TripState.PLANNED, TripState.BOARDING))
                .order_by("group").values_list("group", flat=True).distinct())


@require_GET
@login_required
def plan_detail(request, pk: int):
    """One plan: its figures beside the adopted plan's, its timeline, per origin, who could not be planned."""
    return _plan_page(request, ps.plan_get(request.user, pk))


@require_POST
@login_required
def adopt(request, pk: int):
    plan = ps.plan_get(request.user, pk)
    try:
        plan_adopt(plan=plan, actor=request.user)
    except PlanConflict as exc:
        messages.error(request, " ".join(exc.messages))
        return _plan_page(request, ps.plan_get(request.user, pk), status=409)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _plan_page(request, plan, status=400)
    messages.success(request, _("Plan #%(plan)s is adopted; its trips are ready for the transfer desk.") % {
        "plan": plan.pk})
    return redirect("transfers:board")


@require_POST
@login_required
def replan(request, pk: int):
    """Re-plan the adopted plan for one change: a household not ready, a coach out of service, or (``called_off``)
    the trips the desk cancelled."""
    plan = ps.plan_get(request.user, pk)
    change = request.POST.get("change", "")
    forms = {"not_ready": NotReadyForm, "coach_out": CoachOutForm}
    if change == "called_off":
        try:
            draft = plan_replan(plan=plan, actor=request.user, time_limit=TIME_LIMIT)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return _plan_page(request, plan, status=400)
        return _replanned(request, draft)
    if change not in forms:
        return HttpResponse(_("Say which change: not_ready, coach_out or called_off."), status=400,
                            content_type="text/plain; charset=utf-8")
    form = forms[change](request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if change == "not_ready":
                draft = plan_replan(plan=plan, actor=request.user, not_ready={data["group"]: data["ready_at"]},
                                    time_limit=TIME_LIMIT, note=data["note"])
            else:
                draft = plan_replan(plan=plan, actor=request.user, coach_out={data["coach"] - 1: data["out_from"]},
                                    time_limit=TIME_LIMIT, note=data["note"])
        except ValidationError as exc:
            map_errors(form, exc)
        else:
            return _replanned(request, draft)
    return _plan_page(request, plan, status=400, **{change: form})


def _replanned(request, draft):
    messages.success(request, _("Re-plan #%(plan)s is made: the last one home %(last)s. Adopt it to move the trips "
                                "that have not started.") % {"plan": draft.pk, "last": cn_datetime(ps.last_home(draft))})
    return redirect("transfers:plan", pk=draft.pk)


@require_GET
@login_required
def plan_list(request):
    city = ps.board_city(request.user, request.GET.get("city", ""))
    page = paginate(request, ps.plans_visible(request.user).filter(city=city).select_related("created_by",
                                                                                              "replaces"))
    ps.with_times(page.object_list)
    return render(request, "transfers/plan_list.html", {"page": page, "city": city})


@require_GET
@login_required
def plan_file(request, pk: int, part: str):
    """The plan's instance or plan as JSON (the files ``closedloop returns validate`` reads)."""
    plan = ps.plan_get(request.user, pk)
    if part not in ("instance", "plan"):
        raise Http404
    body = json.dumps(plan.instance if part == "instance" else plan.plan, ensure_ascii=False, indent=1)
    response = HttpResponse(body + "\n", content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"transfer-plan-{plan.pk}-{part}.json")
    return response


@require_GET
@login_required
def manifest(request, pk: int):
    """A trip's manifest: printable A4, or ``?format=xlsx``."""
    trip = trip_get(request.user, pk)
    m = manifests.manifest_for(trip)
    if request.GET.get("format") == "xlsx":
        response = HttpResponse(manifests.xlsx(m), content_type=XLSX_TYPE)
        response["Content-Disposition"] = content_disposition_header(True, m.filename)
        response["Cache-Control"] = "no-store"
        return response
    return render(request, "transfers/plan_manifest.html", {"m": m, "trip": trip})
