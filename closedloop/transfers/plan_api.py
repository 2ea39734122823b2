"""JSON API of transfer plans (mounted by transfers.api at ``/api/v1/transfers/plans``).

The conventions of the closed loop's API: a plan or a city outside the caller's jurisdictions is 404 like one
that does not exist (plans belong to a city's headquarters: the city itself must be one of the caller's
jurisdictions); the role is checked next (403: reading needs view_people, making, adopting and re-planning
manage_facilities); bad input is 422 with ``{"detail": [{"field", "message"}]}``; adopting a plan that is no
longer a draft, or a re-plan overtaken by trips that started, is 409 and changes nothing; so is making a
plan when no one can be planned (with who cannot be planned and why).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Q
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Status

from closedloop.people.api import MAX_PAGE_SIZE, NotFound, _whole_number, answers
from closedloop.people.schemas import ErrorOut, FieldErrorsOut, InputError, load, openapi_body
from closedloop.transfers import plan_selectors as ps
from closedloop.transfers.actions import NothingToPlan, PlanConflict, plan_adopt, plan_make, plan_replan
from closedloop.transfers.actions.plans import DEFAULT_TIME_LIMIT
from closedloop.transfers.choices import PassengerStatus
from closedloop.transfers.models import TransferPlan
from closedloop.transfers.plan_schemas import (
    NothingToPlanOut,
    PlanDetailOut,
    PlanMakeIn,
    PlanOut,
    PlansPage,
    ReplanIn,
    TimelineOut,
)

router = Router(tags=["transfer plans"])

_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: FieldErrorsOut}
_ACTION_ERRORS = {**_ERRORS, 409: ErrorOut}
TIME_LIMIT = DEFAULT_TIME_LIMIT

_answers = answers(not_found=lambda: _("No such transfer plan."), conflicts=(PlanConflict,))


def _local(moment):
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _city(user, code: str):
    try:
        return ps.board_city(user, code.strip())
    except Http404:
        raise NotFound(_("No such city in your jurisdictions.")) from None


def _plan(user, pk: int) -> TransferPlan:
    try:
        return ps.plan_get(user, pk)
    except Http404:
        raise NotFound(_("No such transfer plan.")) from None


def _cannot_plan(rows: ps.UnplannedList | None) -> dict:
    if rows is None:
        return {"cannot_plan": [], "cannot_plan_count": 0}
    return {"cannot_plan": [{"name": u.name, "site": u.site, "reason": str(u.reason)} for u in rows],
            "cannot_plan_count": rows.total}


def plan_out(plan: TransferPlan, *, cannot_plan: bool = True) -> dict:
    f = ps.figures(plan)
    return {
        "id": plan.pk, "city": {"id": plan.city.pk, "code": plan.city.code, "name": plan.city.label},
        "status": plan.status, "status_label": str(plan.get_status_display()), "epoch": plan.epoch,
        "people": plan.people, "groups": f.groups, "coach_trips": f.coach_trips, "shuttle_trips": f.shuttle_trips,
        "makespan": plan.makespan, "lower_bound": plan.lower_bound, "last_home_at": f.last_home,
        "bound_at": f.bound_at, "method": f.method, "greedy_makespan": f.greedy_makespan,
        "replaces": plan.replaces_id, "created_at": plan.created_at, "created_by": str(plan.created_by or ""),
        "note": plan.note, **_cannot_plan(ps.unplanned(plan) if cannot_plan else None),
    }


def _place(obj) -> dict | None:
    return {"id": obj.pk, "code": obj.code, "name": getattr(obj, "label", None) or obj.name} if obj else None


def plan_detail_out(plan: TransferPlan) -> dict:
    trips = (plan.trips.select_related("origin", "town")
             .annotate(people=Count("passengers", filter=~Q(passengers__status=PassengerStatus.LEFT_BEHIND)))
             .order_by("kind", "depart_at", "vehicle", "pk"))
    return {
        **plan_out(plan),
        "origins": [line.__dict__ for line in ps.per_origin(plan)],
        "trips": [{
            "id": t.pk, "kind": t.kind, "vehicle": t.vehicle + 1, "origin": _place(t.origin), "town": _place(t.town),
            "start_at": t.start_at, "depart_at": t.depart_at, "arrive_at": t.arrive_at, "state": t.state,
            "state_label": str(t.get_state_display()), "people": t.people, "plate": t.plate,
            "manifest": reverse("transfers:manifest", args=[t.pk]),
        } for t in trips],
    }


@router.get(
    "",
    response={200: PlansPage, **_ERRORS},
    summary="List transfer plans",
    description="The plans of the caller's city (``city``: its code, when the caller has several), newest first. "
    f"At most {MAX_PAGE_SIZE} a page.",
)
@_answers
def plans_list(request, city: str = "", page: str = "1", page_size: str = ""):
    place = _city(request.user, city)
    errors, numbers = [], {}
    for field, raw, default, maximum in (("page", page, 1, None),
                                         ("page_size", page_size, settings.PAGE_SIZE, MAX_PAGE_SIZE)):
        try:
            numbers[field] = _whole_number(field, raw, default, maximum)
        except InputError as exc:
            errors += exc.errors
    if errors:
        raise InputError(errors)
    rows = ps.plans_visible(request.user).filter(city=place).select_related("city", "created_by")
    number, size = numbers["page"], numbers["page_size"]
    start = (number - 1) * size
    return {"count": rows.count(), "page": number, "page_size": size,
            "items": [plan_out(p, cannot_plan=False) for p in rows[start:start + size]]}


@router.post(
    "",
    response={201: PlanOut, 409: NothingToPlanOut, **_ERRORS},
    summary="Make a plan from today's data",
    description="Builds the planner's instance from the out-of-city registry, the fleet, the routes and the "
    "districts, plans (a few seconds), checks the plan against every rule and keeps it as a draft. 409 when "
    "no one can be planned, with who cannot be planned and why.",
    openapi_extra=openapi_body(PlanMakeIn),
)
@_answers
def plans_make(request):
    body = load(PlanMakeIn, request.body or b"{}")
    city = _city(request.user, body.city)
    try:
        plan = plan_make(city=city, actor=request.user, time_limit=TIME_LIMIT, note=body.note)
    except NothingToPlan as exc:
        return Status(409, {"detail": " ".join(exc.messages), **_cannot_plan(ps.describe(exc.skipped))})
    return Status(201, plan_out(_plan(request.user, plan.pk)))


@router.get(
    "/current/timeline",
    response={200: TimelineOut, **_ERRORS},
    summary="The adopted plan as a timeline",
    description="Coaches, station lanes and district shuttles as rows, trips as bars (lanes: screening blocks "
    "that follow each other are one bar). 404 when no plan is adopted.",
)
@_answers
def current_timeline(request, city: str = ""):
    place = _city(request.user, city)
    plan = ps.adopted(place)
    if plan is None:
        raise NotFound(_("No return plan is adopted yet."))
    t = ps.timeline(plan)
    return {"plan": plan.pk, "start": t.start, "end": t.end, "rows": [
        {"section": r.section, "label": r.label, "bars": [
            {"start": b.start, "end": b.end, "label": b.label, "title": b.title, "state": b.state, "trip": b.trip}
            for b in r.bars]} for r in t.rows]}


@router.get(
    "/{int:plan_id}",
    response={200: PlanDetailOut, **_ERRORS},
    summary="One transfer plan",
    description="Its figures, who could not be planned, the table per origin site and its trips (once adopted).",
)
@_answers
def plans_detail(request, plan_id: int):
    return plan_detail_out(_plan(request.user, plan_id))


@router.post(
    "/{int:plan_id}/adopt",
    response={200: PlanDetailOut, **_ACTION_ERRORS},
    summary="Adopt a draft plan",
    description="The adopted plan is superseded, its trips not started are cancelled and the draft's trips and "
    "passengers are created. A plan made from scratch cannot replace one whose people are on their way (422); "
    "a re-plan carries the trips that have started over. 409 when the plan is not a draft, or trips started "
    "since the re-plan was made.",
)
@_answers
def plans_adopt(request, plan_id: int):
    plan = _plan(request.user, plan_id)
    plan_adopt(plan=plan, actor=request.user)
    return plan_detail_out(_plan(request.user, plan_id))


@router.post(
    "/{int:plan_id}/replan",
    response={201: PlanOut, **_ERRORS},
    summary="Re-plan the adopted plan",
    description="For households not ready (left behind at boarding, released later) and coaches out of service: "
    "a draft in which every trip that has started is kept; adopt it to move the rest.",
    openapi_extra=openapi_body(ReplanIn),
)
@_answers
def plans_replan(request, plan_id: int):
    plan = _plan(request.user, plan_id)
    body = load(ReplanIn, request.body or b"{}")
    draft = plan_replan(plan=plan, actor=request.user,
                        not_ready={n.group: _local(n.ready_at) for n in body.not_ready},
                        coach_out={c.coach - 1: _local(c.out_from) for c in body.coach_out},
                        time_limit=TIME_LIMIT, note=body.note)
    return Status(201, plan_out(_plan(request.user, draft.pk)))
