"""Pages of the site board: the floors as a grid of rooms by status, a room with its occupants, events and
actions, and the cleaners' turnaround list.

Thin: parse, check permission, call one action (``room_transition``, the audited ``person_unmask``),
render. The board reads a whole site in a fixed number of queries (``board_selectors.board``).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from closedloop.core.roles import Cap
from closedloop.core.scoping import require
from closedloop.facilities import board_selectors as sel
from closedloop.facilities import room_states as rs
from closedloop.facilities.actions import RoomConflict, room_transition
from closedloop.facilities.allocation import category_label
from closedloop.facilities.choices import RoomStatus
from closedloop.facilities.desk_forms import TransitionForm, events_for
from closedloop.facilities.models import Stay
from closedloop.people.actions import person_unmask
from closedloop.quarantine.choices import Category

# Short marks of the categories on the board's cells (the floor rows name them in full).
CATEGORY_MARKS = {
    Category.CLOSE_CONTACT: gettext_lazy("CC"),
    Category.SECONDARY_CONTACT: gettext_lazy("SC"),
    Category.INBOUND: gettext_lazy("IN"),
    Category.HIGH_RISK_AREA: gettext_lazy("HR"),
    Category.MEDIUM_RISK_AREA: gettext_lazy("MR"),
    Category.CASE: gettext_lazy("CA"),
    Category.OUT_OF_CITY: gettext_lazy("OC"),
    Category.STAFF_ROTATION: gettext_lazy("SR"),
}


def _marks() -> dict[str, str]:
    return {code: str(mark) for code, mark in CATEGORY_MARKS.items()}


# --- the board -------------------------------------------------------------------------------

@require_GET
@login_required
def board_view(request, pk: int):
    facility = sel.facility_get(request.user, pk)
    building = request.GET.get("building")
    status = request.GET.get("status") or None
    if status not in (None, *RoomStatus.values):
        status = None
    grid = sel.board(facility, building=building if building is not None and building != "*" else None,
                     status=status)
    if building is not None and building != "*" and building not in grid.all_buildings:
        building = None
        grid = sel.board(facility, status=status)
    labels = dict(RoomStatus.choices)
    _label_cells(grid, labels)
    return render(request, "facilities/board_page.html", {
        "facility": facility,
        "grid": grid,
        "legend": [(s, labels[s], n) for s, n in grid.legend],
        "filters": {"building": building if building not in (None, "*") else None, "status": status},
        "statuses": RoomStatus.choices,
        "room_base": reverse("sites:room", args=[0]).removesuffix("0/"),
        "used_marks": [(c, _marks().get(c, "?"), category_label(c))
                       for c in sorted({c for b in grid.buildings for f in b.floors for c in f.categories})],
    })


def _label_cells(grid: sel.Board, labels: dict) -> None:
    """What each cell and floor row says (computed once per category, not per cell in the template)."""
    marks, names = _marks(), {c: category_label(c) for c in Category.values}
    for building in grid.buildings:
        for row in building.floors:
            row.labels = [(c, names.get(c, c)) for c in row.categories]
            for c in row.cells:
                c.mark = marks.get(c.category, "?") if c.category else ""
                parts = [c.room.label, str(labels.get(c.room.status, c.room.status))]
                if c.occupants:
                    parts.append(ngettext("%(n)s person", "%(n)s people", c.occupants) % {"n": c.occupants})
                    parts.extend(names.get(cat, cat) for cat in c.categories)
                c.title = " · ".join(parts)


# --- one room ------------------------------------------------------------------------------------

def _room_page(request, room, *, form: TransitionForm | None = None, error: str = "", unmasked: dict | None = None,
               status: int = 200):
    user = request.user
    stays = sel.room_stays(room)
    for stay in stays:
        stay.full = (unmasked or {}).get(stay.pk, "")
    return render(request, "facilities/board_room.html", {
        "facility": room.facility,
        "room": room,
        "stays": stays,
        "events": sel.room_events(room),
        "past": sel.room_past_stays(room),
        "actions": events_for(room.status) if user.can(Cap.CLEAN_ROOMS) else [],
        "form": form,
        "error": error,
        "may_check_out": user.can(Cap.CHECK_IN),
        "now": timezone.now(),
    }, status=status)


@require_GET
@login_required
def room_view(request, pk: int):
    return _room_page(request, sel.room_get(request.user, pk))


def _next_url(request, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback


@require_POST
@login_required
def room_transition_view(request, pk: int):
    """Cleaning started or done, out of service (with a reason) and back: from the room page or the
    turnaround list (``next`` says where to go back to)."""
    room = sel.room_get(request.user, pk, Cap.CLEAN_ROOMS)
    form = TransitionForm(request.POST)
    back = _next_url(request, reverse("sites:room", args=[room.pk]))
    if not form.is_valid():
        return _room_page(request, room, form=form, error=_("Choose what happened to the room."), status=400)
    room.version = form.cleaned_data["version"]  # as the page showed it: a stale page is refused
    event = form.cleaned_data["event"]
    try:
        room_transition(room=room, event=event, actor=request.user, note=form.cleaned_data["note"].strip())
    except RoomConflict as exc:
        return _room_page(request, sel.room_get(request.user, pk), form=form, error=" ".join(exc.messages),
                          status=409)
    except ValidationError as exc:
        return _room_page(request, sel.room_get(request.user, pk), form=form, error=" ".join(exc.messages),
                          status=400)
    except PermissionDenied as exc:
        return _room_page(request, room, form=form, error=str(exc) or _("You may not do this."), status=403)
    messages.success(request, _("Room %(room)s: %(status)s.") % {
        "room": room.label, "status": room.get_status_display()})
    return redirect(back)


@require_POST
@login_required
def room_unmask_view(request, pk: int, stay: int):
    """The full ID number of someone staying in the room; the viewing is audited (``person_unmask``)."""
    require(request.user, Cap.UNMASK)
    room = sel.room_get(request.user, pk)
    found = Stay.objects.select_related("episode__person").filter(pk=stay, room=room,
                                                                  checked_out_at__isnull=True).first()
    if found is None:
        raise Http404
    person = found.episode.person
    value = person_unmask(person=person, field="doc_number", actor=request.user,
                          reason=_("Room page of %(room)s") % {"room": room.label})
    if request.headers.get("HX-Request"):
        return render(request, "facilities/board_pii.html", {"stay": found, "room": room, "full": value or "—"})
    return _room_page(request, room, unmasked={found.pk: value or "—"})


# --- the turnaround list ----------------------------------------------------------------------------

@require_GET
@login_required
def turnaround_view(request, pk: int):
    facility = sel.facility_get(request.user, pk, Cap.CLEAN_ROOMS)
    now = timezone.now()
    rows = sel.turnaround(facility, now)
    return render(request, "facilities/board_turnaround.html", {
        "facility": facility,
        "rows": rows,
        "overdue": sum(r.overdue for r in rows),
        "awaiting": sum(r.room.status == rs.AWAITING_CLEANING for r in rows),
        "cleaning": sum(r.room.status == rs.CLEANING for r in rows),
        "now": now,
    })
