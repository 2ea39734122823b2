"""Pages of the facility registry: the list (and its workbook), a facility's page, the create and edit forms,
status changes and staff accounts, rooms in bulk and from a spreadsheet.

Thin: parse, check permission, call one action, render. A facility outside the
user's scope is 404 (``facilities_visible``), like one that does not exist; a
role without ``manage_facilities`` is 403 on every write.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from closedloop.core.models import AuditEvent
from closedloop.core.pagination import paginate
from closedloop.core.roles import Cap
from closedloop.core.scoping import require
from closedloop.facilities import actions
from closedloop.facilities.choices import FacilityKind, FacilityStatus, RoomStatus
from closedloop.facilities.models import Facility, Room
from closedloop.facilities.registry_forms import (
    BulkRoomsForm,
    FacilityForm,
    MemberForm,
    RoomImportForm,
    StatusForm,
    map_errors,
    visible_towns,
)
from closedloop.facilities.selectors import facilities_visible, room_counts

SORTS = {"name": ("name", "pk"), "kind": ("kind", "name", "pk"), "free": ("free_rooms", "name", "pk")}
# The status actions a facility's page offers, with their buttons.
STATUS_ACTIONS = (
    (FacilityStatus.OPEN, "open"),
    (FacilityStatus.PAUSED, "pause"),
    (FacilityStatus.CLOSED, "close"),
)


# --- reading ------------------------------------------------------------------------------------

def facility_get(user, pk: int) -> Facility:
    """One facility the user may see, or 404."""
    facility = (facilities_visible(user).select_related("jurisdiction", "city", "custodian")
                .filter(pk=pk).first())
    if facility is None:
        raise Http404
    return facility


def room_summary(counts: dict[str, int]) -> dict[str, int]:
    """Rooms by what a desk asks: free, taken, being turned around, out of service."""
    return {
        "available": counts.get(RoomStatus.AVAILABLE, 0),
        "occupied": counts.get(RoomStatus.OCCUPIED, 0),
        "turnaround": counts.get(RoomStatus.AWAITING_CLEANING, 0) + counts.get(RoomStatus.CLEANING, 0),
        "out_of_service": counts.get(RoomStatus.OUT_OF_SERVICE, 0),
        "total": sum(counts.values()),
    }


def facility_search(user, params):
    """The visible facilities filtered and sorted by the list's parameters; (rows, filters)."""
    f = {k: (params.get(k) or "").strip() for k in ("q", "kind", "status", "town", "sort")}
    # A plain filter on the ids: the scope's join on staff accounts must not multiply rows or counts.
    rows = Facility.objects.filter(pk__in=facilities_visible(user).values("pk")).select_related("jurisdiction")
    if f["q"]:
        rows = rows.filter(Q(name__icontains=f["q"]) | Q(code__icontains=f["q"]) | Q(address__icontains=f["q"])
                           | Q(other_city__icontains=f["q"]))
    if f["kind"] in FacilityKind.values:
        rows = rows.filter(kind=f["kind"])
    else:
        f["kind"] = ""
    if f["status"] in FacilityStatus.values:
        rows = rows.filter(status=f["status"])
    else:
        f["status"] = ""
    if f["town"].isdigit():
        rows = rows.filter(jurisdiction_id=int(f["town"]))
    else:
        f["town"] = ""
    key = f["sort"].removeprefix("-")
    if key not in SORTS:
        f["sort"], key = "", "name"
    if key == "free":
        free = (Room.objects.filter(facility=OuterRef("pk"), status=RoomStatus.AVAILABLE).order_by()
                .values("facility").annotate(n=Count("pk")).values("n"))
        rows = rows.annotate(free_rooms=Coalesce(Subquery(free, output_field=IntegerField()), Value(0)))
    order = SORTS[key]
    if f["sort"].startswith("-"):
        order = (f"-{order[0]}", *order[1:])
    return rows.order_by(*order), f


def _with_counts(facilities: list[Facility]) -> list[Facility]:
    counts = room_counts([f.pk for f in facilities])  # one query for the page
    for facility in facilities:
        facility.rooms_by_status = room_summary(counts.get(facility.pk, {}))
    return facilities


@require_GET
@login_required
def facility_list(request):
    rows, filters = facility_search(request.user, request.GET)
    if request.GET.get("format") == "xlsx":
        return _list_workbook(_with_counts(list(rows)))
    page = paginate(request, rows)
    _with_counts(list(page))
    export_query = request.GET.copy()
    export_query.pop("page", None)
    export_query["format"] = "xlsx"
    return render(request, "facilities/registry_list.html", {
        "page": page,
        "filters": filters,
        "kinds": FacilityKind.choices,
        "statuses": FacilityStatus.choices,
        "towns": visible_towns(request.user),
        "export_query": export_query.urlencode(),
        "filtered": any(filters.get(k) for k in ("q", "kind", "status", "town")),
    })


def place_label(facility: Facility) -> str:
    if facility.jurisdiction_id:
        return facility.jurisdiction.label
    return facility.other_city


def _list_workbook(facilities: list[Facility]):
    from closedloop.quarantine.worklist_views import xlsx_response

    columns = [_("Facility"), _("Code"), _("Type"), _("Town or city"), _("Status"), _("Available"), _("Occupied"),
               _("Awaiting or in cleaning"), _("Out of service"), _("Rooms"), _("Contact"), _("Contact phone"),
               _("Facility address")]
    rows = [[f.name, f.code, str(f.get_kind_display()), place_label(f), str(f.get_status_display()),
             f.rooms_by_status["available"], f.rooms_by_status["occupied"], f.rooms_by_status["turnaround"],
             f.rooms_by_status["out_of_service"], f.rooms_by_status["total"], f.contact_name, f.contact_phone,
             f.address] for f in facilities]
    return xlsx_response("facilities.xlsx", [(_("Facilities"), columns, rows)])


def _floors(facility: Facility) -> list[dict]:
    return list(
        Room.objects.filter(facility=facility).values("building", "floor").order_by("building", "floor")
        .annotate(rooms=Count("pk"), beds=Sum("beds"),
                  available=Count("pk", filter=Q(status=RoomStatus.AVAILABLE)),
                  occupied=Count("pk", filter=Q(status=RoomStatus.OCCUPIED)),
                  turnaround=Count("pk", filter=Q(status__in=[RoomStatus.AWAITING_CLEANING, RoomStatus.CLEANING])),
                  out_of_service=Count("pk", filter=Q(status=RoomStatus.OUT_OF_SERVICE)),
                  accessible=Count("pk", filter=Q(accessible=True)))
    )


def _detail(request, facility: Facility, *, status_form=None, member_form=None, status: int = 200):
    manage = request.user.can(Cap.MANAGE_FACILITIES)
    history = AuditEvent.objects.filter(target_type="facility", target_id=str(facility.pk)).order_by("-at", "-id")
    return render(request, "facilities/registry_detail.html", {
        "facility": facility,
        "place": place_label(facility),
        "rooms": room_summary(room_counts([facility.pk]).get(facility.pk, {})),
        "floors": _floors(facility),
        "members": list(facility.members.order_by("username")),
        "manage": manage,
        "status_actions": [(value, verb) for value, verb in STATUS_ACTIONS if value != facility.status],
        "status_form": status_form or StatusForm(),
        "member_form": member_form or MemberForm(user=request.user),
        "board_url": reverse("sites:board", args=[facility.pk]),
        "turnaround_url": reverse("sites:turnaround", args=[facility.pk]),
        "desk_url": reverse("sites:desk", args=[facility.pk]) if request.user.can(Cap.CHECK_IN) else "",
        "history": history[:30] if manage else [],
    }, status=status)


@require_GET
@login_required
def facility_detail(request, pk: int):
    return _detail(request, facility_get(request.user, pk))


# --- registering and editing ------------------------------------------------------------------------

def _save(request, form: FacilityForm, facility: Facility | None) -> Facility | None:
    """Call the action; put its refusals next to the fields. Returns the facility or None."""
    try:
        if facility is not None:
            return actions.facility_update(facility=facility, actor=request.user, **form.changes())
        city = form.city()
        if city is None:
            form.add_error(None, _("Your account belongs to no city; ask an administrator."))
            return None
        data = form.cleaned_data
        return actions.facility_create(kind=data["kind"], code=data["code"], city=city, actor=request.user,
                                       **form.changes())
    except ValidationError as exc:
        map_errors(form, exc)
    return None


@require_http_methods(["GET", "POST"])
@login_required
def facility_create(request):
    require(request.user, Cap.MANAGE_FACILITIES)
    form = FacilityForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        facility = _save(request, form, None)
        if facility is not None:
            messages.success(request, _("%(name)s has been registered.") % {"name": facility.name})
            return redirect("sites:detail", pk=facility.pk)
    return render(request, "facilities/registry_form.html", {"form": form, "facility": None},
                  status=400 if form.is_bound else 200)


@require_http_methods(["GET", "POST"])
@login_required
def facility_edit(request, pk: int):
    facility = facility_get(request.user, pk)
    require(request.user, Cap.MANAGE_FACILITIES)
    form = FacilityForm(request.POST or None, user=request.user, facility=facility)
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, facility)
        if saved is not None:
            messages.success(request, _("The changes to %(name)s have been saved.") % {"name": saved.name})
            return redirect("sites:detail", pk=saved.pk)
    return render(request, "facilities/registry_form.html", {"form": form, "facility": facility},
                  status=400 if form.is_bound else 200)


@require_POST
@login_required
def facility_status(request, pk: int):
    facility = facility_get(request.user, pk)
    require(request.user, Cap.MANAGE_FACILITIES)
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            actions.facility_set_status(facility=facility, status=form.cleaned_data["status"],
                                        reason=form.cleaned_data["reason"].strip(), actor=request.user)
        except ValidationError as exc:
            map_errors(form, exc)
        else:
            facility.refresh_from_db(fields=["status"])
            messages.success(request, _("%(name)s is now %(status)s.")
                             % {"name": facility.name, "status": facility.get_status_display()})
            return redirect("sites:detail", pk=facility.pk)
    return _detail(request, facility, status_form=form, status=400)


@require_POST
@login_required
def facility_member_add(request, pk: int):
    facility = facility_get(request.user, pk)
    require(request.user, Cap.MANAGE_FACILITIES)
    form = MemberForm(request.POST, user=request.user)
    if form.is_valid():
        account = form.cleaned_data["username"]
        actions.facility_member_add(facility=facility, user=account, actor=request.user)
        messages.success(request, _("%(user)s now works at %(name)s.") % {"user": account, "name": facility.name})
        return redirect("sites:detail", pk=facility.pk)
    return _detail(request, facility, member_form=form, status=400)


# --- rooms ------------------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@login_required
def rooms_bulk(request, pk: int):
    facility = facility_get(request.user, pk)
    require(request.user, Cap.MANAGE_FACILITIES)
    form = BulkRoomsForm(request.POST or None)
    result = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = actions.rooms_bulk_create(
                facility=facility, building=data["building"], floor_from=data["floor_from"],
                floor_to=data["floor_to"], room_from=data["room_from"], room_to=data["room_to"], beds=data["beds"],
                accessible_rooms=data["accessible_rooms"], actor=request.user)
        except ValidationError as exc:
            map_errors(form, exc)
        else:
            form = BulkRoomsForm(initial={"building": data["building"], "beds": data["beds"]})
    return render(request, "facilities/registry_bulk.html", {
        "facility": facility, "form": form, "result": result,
        "rooms": room_summary(room_counts([facility.pk]).get(facility.pk, {})),
    }, status=400 if form.is_bound and result is None else 200)


@require_http_methods(["GET", "POST"])
@login_required
def rooms_import(request, pk: int):
    facility = facility_get(request.user, pk)
    require(request.user, Cap.MANAGE_FACILITIES)
    form = RoomImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"rooms{Path(upload.name).suffix.lower()}"
            with path.open("wb") as fh:
                for chunk in upload.chunks():
                    fh.write(chunk)
            try:
                report = actions.rooms_import(facility=facility, path=path, file_name=upload.name,
                                              actor=request.user)
            except ValidationError as exc:
                map_errors(form, exc)
            else:
                return render(request, "facilities/registry_import_result.html", {
                    "facility": facility, "report": report, "problems": report.problems,
                })
    return render(request, "facilities/registry_import.html", {"facility": facility, "form": form},
                  status=400 if form.is_bound else 200)
