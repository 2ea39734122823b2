"""Pages of trips: the list (filters, search by plate, pages) and one trip with its passengers by status, its
checks, and the form of its next step — the dispatch, or the hand-over's checklist rendered from the data file.

Thin: parse, check permission, call one action, render. Reads go through ``trip_selectors`` (an outsider
gets 404); writes through ``transfers.actions.trips``. A refused form comes back with the input kept and
the reasons next to the fields (400); a page another desk overtook comes back as the trip now stands (409).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from closedloop.core.pagination import paginate
from closedloop.core.roles import Cap
from closedloop.core.scoping import require
from closedloop.transfers import checklist as cl
from closedloop.transfers import trip_selectors as sel
from closedloop.transfers import trip_states as ts
from closedloop.transfers.actions.trips import (
    HandoverResult,
    TripConflict,
    load_limits,
    may_override,
    shuttle_arrive_home,
    shuttle_board,
    trip_arrive_station,
    trip_board,
    trip_cancel,
    trip_dispatch,
)
from closedloop.transfers.choices import PassengerStatus, Stage, TripKind, TripState
from closedloop.transfers.trip_forms import CancelForm, ChecklistForm, DispatchForm, map_errors

ACTIONS = {ts.STAGE_BOARDING: trip_board, ts.STAGE_STATION: trip_arrive_station, ts.STAGE_SHUTTLE: shuttle_board,
           ts.STAGE_HOME: shuttle_arrive_home}
STEP_URLS = {ts.STAGE_BOARDING: "transfers:trip_board", ts.STAGE_STATION: "transfers:trip_arrive",
             ts.STAGE_SHUTTLE: "transfers:trip_shuttle_board", ts.STAGE_HOME: "transfers:trip_home"}
CANCELLABLE = (TripState.PLANNED, TripState.BOARDING)


@require_GET
@login_required
def trip_list(request):
    filters, bad = sel.parse_filters(request.GET)
    rows = sel.trip_search(request.user, filters)  # checks the role first
    page = paginate(request, rows)
    page.object_list = sel.mark_late(page.object_list, timezone.now())
    return render(request, "transfers/trip_list.html", {
        "page": page, "filters": filters, "bad": bad, "kinds": TripKind.choices, "states": TripState.choices,
    })


def _check_rows(checks, checklist: cl.Checklist):
    """Each check with its answers as (label, yes/no), in the order of the checklist."""
    language = get_language() or ""
    order = {i.code: n for n, i in enumerate(checklist.items)}
    labels = {i.code: i.label(language) for i in checklist.items}
    return [(c, [(labels.get(code, code), value)
                 for code, value in sorted(c.answers.items(), key=lambda kv: order.get(kv[0], len(order)))])
            for c in checks]


def _step_form(trip, stage: str, passengers, data=None) -> ChecklistForm:
    return ChecklistForm(data, stage=cl.load().stage(stage), passengers=sel.waiting_for(stage, passengers),
                         pick=stage == ts.STAGE_HOME, initial={"version": trip.version})


def _page(request, trip, *, dispatch_form=None, step_form=None, cancel_form=None, conflict: str = "",
          status: int = 200):
    passengers = sel.passengers_of(trip)
    step = ts.next_step(trip.kind, trip.state)
    stage = step if step in ts.STAGES else None
    if stage and step_form is None:
        step_form = _step_form(trip, stage, passengers)
    if step == ts.DISPATCH and dispatch_form is None:
        dispatch_form = DispatchForm(initial={"version": trip.version, "plate": trip.plate, "driver": trip.driver,
                                              "escorts": trip.escorts})
    if trip.state in CANCELLABLE and cancel_form is None:
        cancel_form = CancelForm(initial={"version": trip.version})
    checklist = cl.load()
    now = timezone.now()
    loads = [(item, item.label(get_language() or ""), seats, most, step_form.computed_errors.get(item.code, []))
             for item, seats, most in load_limits(trip, stage)] if stage else []
    return render(request, "transfers/trip_detail.html", {
        "trip": trip, "passengers": passengers, "counts": sel.counts(passengers), "step": step, "stage": stage,
        "stage_label": Stage(stage).label if stage else "",
        "step_url": reverse(STEP_URLS[stage], args=[trip.pk]) if stage else "", "dispatch_form": dispatch_form,
        "step_form": step_form, "cancel_form": cancel_form, "checks": _check_rows(sel.checks_of(trip), checklist),
        "conflict": conflict, "late": sel.is_late(trip, now), "may_act": request.user.can(Cap.HANDOVER),
        "may_override": may_override(request.user),
        "left_behind": [p for p in passengers if p.status == PassengerStatus.LEFT_BEHIND],
        "checklist_version": checklist.version, "loads": loads,
        "on_the_list": len(step_form.passengers) if step_form is not None else 0,
    }, status=status)


@require_GET
@login_required
def trip_detail(request, pk: int):
    return _page(request, sel.trip_get(request.user, pk))


def _as_seen(trip, form) -> None:
    """Act on the trip as the page showed it: a page another desk has overtaken loses the compare-and-swap."""
    version = form.cleaned_data.get("version")
    if version is not None:
        trip.version = version


def _overtaken(request, pk: int, exc: ValidationError):
    return _page(request, sel.trip_get(request.user, pk), conflict=" ".join(exc.messages), status=409)


@require_POST
@login_required
def trip_dispatch_view(request, pk: int):
    trip = sel.trip_get(request.user, pk)
    require(request.user, Cap.HANDOVER)
    form = DispatchForm(request.POST)
    if form.is_valid():
        _as_seen(trip, form)
        data = form.cleaned_data
        try:
            trip_dispatch(trip=trip, plate=data["plate"], driver=data["driver"], escorts=data["escorts"],
                          actor=request.user)
        except TripConflict as exc:
            return _overtaken(request, pk, exc)
        except ValidationError as exc:
            map_errors(form, exc)
        else:
            messages.success(request, _("The trip is dispatched: %(plate)s answers for its passengers from boarding "
                                        "on.") % {"plate": trip.plate})
            return redirect("transfers:trip", pk=trip.pk)
    return _page(request, sel.trip_get(request.user, pk), dispatch_form=form, status=400)


@require_POST
@login_required
def trip_cancel_view(request, pk: int):
    trip = sel.trip_get(request.user, pk)
    require(request.user, Cap.HANDOVER)
    form = CancelForm(request.POST)
    if form.is_valid():
        _as_seen(trip, form)
        try:
            trip_cancel(trip=trip, reason=form.cleaned_data["reason"], actor=request.user)
        except TripConflict as exc:
            return _overtaken(request, pk, exc)
        except ValidationError as exc:
            map_errors(form, exc)
        else:
            messages.success(request, _("The trip is cancelled; whoever was to travel on it stays where they are."))
            return redirect("transfers:trip", pk=trip.pk)
    return _page(request, sel.trip_get(request.user, pk), cancel_form=form, status=400)


def _tell(request, result: HandoverResult) -> None:
    n = len(result.handed_over)
    messages.success(request, ngettext("%(n)s person handed over.", "%(n)s people handed over.", n) % {"n": n})
    if result.left_behind:
        names = "、".join(p.episode.person.name for p in result.left_behind)
        messages.warning(request, _("Stayed behind: %(names)s. They need a new trip: re-plan the adopted plan.")
                         % {"names": names})
    if result.waiting:
        names = "、".join(p.episode.person.name for p in result.waiting)
        messages.warning(request, _("Not handed over yet: %(names)s. Complete their items and hand them over "
                                    "from this page.") % {"names": names})


@require_POST
@login_required
def trip_step_view(request, pk: int, stage: str):
    trip = sel.trip_get(request.user, pk)
    require(request.user, Cap.HANDOVER)
    if ts.stage_for(trip.kind, trip.state) != stage:
        return _page(request, trip, status=409, conflict=_(
            "This hand-over is not this trip's next step: the trip is %(state)s. The page shows where it stands now.")
            % {"state": trip.get_state_display()})
    form = _step_form(trip, stage, sel.passengers_of(trip), request.POST)
    if form.is_valid():
        _as_seen(trip, form)
        data = form.cleaned_data
        extra = {"passengers": form.chosen()} if stage == ts.STAGE_HOME else {}
        try:
            result = ACTIONS[stage](trip=trip, answers=form.answers(), trip_answers=form.trip_answers(),
                                    giver=data["giver"], receiver=data["receiver"],
                                    override_reason=data["override_reason"], actor=request.user, **extra)
        except TripConflict as exc:
            return _overtaken(request, pk, exc)
        except ValidationError as exc:
            map_errors(form, exc, computed=form.computed_errors)
        else:
            _tell(request, result)
            return redirect("transfers:trip", pk=trip.pk)
    return _page(request, sel.trip_get(request.user, pk), step_form=form, status=400)
