"""Pages of the staff in the loop: the staff of a site, adding one, the duty roster, the daily
health registration round, the test round, one staff member, and leaving duty into the rotation.

Thin: parse, check permission, call one action (``actions.staff``), render. A
facility outside the user's scope is a 404, like a page that does not exist;
reading needs ``VIEW_PEOPLE``, every write ``MANAGE_STAFF``. Personal data is
shown masked, on the pages and in the export.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from closedloop.core.pagination import paginate
from closedloop.core.roles import Cap
from closedloop.core.scoping import require
from closedloop.facilities.actions import (
    roster_fill,
    roster_update,
    staff_add,
    staff_checks_record,
    staff_leave_duty,
    staff_tests_record,
    staff_update_post,
)
from closedloop.facilities.actions.staff import StaffConflict, check_flags
from closedloop.facilities.choices import PpeLevel, Shift, StaffStatus, TaskGroup
from closedloop.facilities.models import DutyShift, Facility, StaffHealthCheck, StaffMember, StaffTest
from closedloop.facilities.selectors import facility_in_scope
from closedloop.facilities.staff_forms import (
    STATUS_FILTERS,
    DayForm,
    LeaveForm,
    RosterFillForm,
    StaffAddForm,
    StaffEditForm,
    map_errors,
)
from closedloop.facilities.staff_worklist import staff_on_duty, staff_worklist
from closedloop.lib.categories import STAFF_ROTATION
from closedloop.lib.schedule import compute
from closedloop.people.models import Person
from closedloop.people.selectors import people_visible, search_q
from closedloop.quarantine.actions import protocol_for
from closedloop.quarantine.actions.observations import FEVER_FROM, SYMPTOMS, day_text, symptom_labels
from closedloop.quarantine.choices import TestResult
from closedloop.quarantine.models import Episode
from closedloop.quarantine.worklist_views import xlsx_response
from closedloop.quarantine.worklists import PHASE_LABELS, episodes_reachable

ONE_DAY = dt.timedelta(days=1)
SORTS = {
    "name": "person__name_pinyin", "group": "task_group", "post": "post", "ppe": "ppe_level",
    "from": "on_duty_from", "left": "off_duty_on",
}
CANDIDATES = 20  # people shown for a search on the add page
RECENT = 14  # checks and tests shown on a staff member's page
SHIFT_SHORT = {
    Shift.DAY: pgettext_lazy("shift", "Day"),
    Shift.EVENING: pgettext_lazy("shift", "Evening"),
    Shift.NIGHT: pgettext_lazy("shift", "Night"),
}
RESULT_CHOICES = [(v, label) for v, label in TestResult.choices]


# --- finding what the page is about ------------------------------------------------------------

def _facility(request, pk: int, cap: str = Cap.MANAGE_STAFF) -> Facility:
    require(request.user, cap)
    facility = Facility.objects.select_related("custodian", "jurisdiction").filter(pk=pk).first()
    if facility is None or not facility_in_scope(request.user, facility):
        raise Http404
    return facility


def _staff(request, pk: int, cap: str = Cap.MANAGE_STAFF) -> StaffMember:
    require(request.user, cap)
    staff = (StaffMember.objects.select_related("person", "facility__custodian", "rotation_episode")
             .filter(pk=pk).first())
    if staff is None or not facility_in_scope(request.user, staff.facility):
        raise Http404
    return staff


class BadDay(ValueError):
    pass


def _date_param(request, name: str) -> dt.date | None:
    text = (request.GET.get(name) or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadDay(text) from None


def _bad_day(value: str) -> HttpResponseBadRequest:
    return HttpResponseBadRequest(_('"%(value)s" is not a day; write it like 2022-08-03.') % {"value": value[:40]})


def _day_links(day: dt.date) -> dict:
    return {"day": day, "previous": day - ONE_DAY, "next": day + ONE_DAY, "today": timezone.localdate()}


# --- the staff of a site -----------------------------------------------------------------------------

def staff_search(facility: Facility, params, today: dt.date) -> tuple[QuerySet[StaffMember], dict]:
    """The facility's staff filtered by the list's parameters; (rows, filters)."""
    f = {k: (params.get(k) or "").strip() for k in ("q", "task_group", "status", "ppe_level", "sort")}
    rows = StaffMember.objects.filter(facility=facility).select_related("person", "rotation_episode")
    if f["status"] not in dict(STATUS_FILTERS):
        f["status"] = StaffStatus.ON_DUTY
    if f["status"] != "all":
        rows = rows.filter(status=f["status"])
    if f["q"]:
        rows = rows.filter(person__in=Person.objects.filter(search_q(f["q"])).values("pk"))
    if f["task_group"] in TaskGroup.values:
        rows = rows.filter(task_group=f["task_group"])
    if f["ppe_level"] in PpeLevel.values:
        rows = rows.filter(ppe_level=f["ppe_level"])
    rows = rows.annotate(
        checked_today=Exists(StaffHealthCheck.objects.filter(staff=OuterRef("pk"), day=today)),
        last_test_on=Subquery(StaffTest.objects.filter(staff=OuterRef("pk")).exclude(result=TestResult.INVALID)
                              .order_by("-sampled_on").values("sampled_on")[:1]),
    )
    key = f["sort"].removeprefix("-")
    if key in SORTS:
        rows = rows.order_by(("-" if f["sort"].startswith("-") else "") + SORTS[key], "pk")
    else:
        rows = rows.order_by("task_group", "person__name_pinyin", "pk")
    return rows, f


def _staff_sheet(rows) -> list[tuple[str, list[str], list[list]]]:
    columns = [_("Name"), _("ID number"), _("Phone"), _("Task group"), _("Post"), _("Protection level"), _("Status"),
               _("On duty from"), _("Last day on duty"), _("Registered today"), _("Last test")]
    return [(_("Staff"), columns, [
        [s.person.name, s.person.doc_number_masked, s.person.phone_masked, s.get_task_group_display(), s.post,
         s.get_ppe_level_display(), s.get_status_display(), s.on_duty_from, s.off_duty_on,
         _("yes") if s.checked_today else _("no"), s.last_test_on]
        for s in rows
    ])]


def staff_worklist_sheets(wl) -> list[tuple[str, list[str], list[list]]]:
    """The staff section of a site's work list as workbook sheets (for ``worklist_views.xlsx_response``)."""
    who = [_("Name"), _("ID number"), _("Task group"), _("Post")]

    def cells(s: StaffMember) -> list:
        return [s.person.name, s.person.doc_number_masked, s.get_task_group_display(), s.post]

    return [
        (_("Health registration missing"), who, [cells(s) for s in wl.checks_missing]),
        (_("Staff tests due"), [*who, _("Last sample")], [[*cells(t.staff), t.last_sampled_on] for t in wl.tests_due]),
        (_("Staff with fever or symptoms"), [*who, _("Temperature (°C)"), _("Symptoms")],
         [[*cells(u.staff), float(u.check.temperature), "、".join(u.symptoms)] for u in wl.unwell]),
        (_("Staff positive or doubtful"), [*who, _("Sampled on"), _("Result")],
         [[*cells(f.staff), f.sampled_on, f.result_label] for f in wl.flagged_tests]),
    ]


@require_GET
@login_required
def staff_list(request, facility_pk: int):
    facility = _facility(request, facility_pk, Cap.VIEW_PEOPLE)
    today = timezone.localdate()
    rows, filters = staff_search(facility, request.GET, today)
    if request.GET.get("format") == "xlsx":
        return xlsx_response(f"staff-{facility.code}-{today:%Y-%m-%d}.xlsx", _staff_sheet(rows))
    return render(request, "facilities/staff_list.html", {
        "facility": facility, "page": paginate(request, rows), "filters": filters, "today": today,
        "task_groups": TaskGroup.choices, "ppe_levels": PpeLevel.choices, "statuses": STATUS_FILTERS,
        "filtered": any(filters.get(k) for k in ("q", "task_group", "ppe_level")) or filters["status"] != "on_duty",
        "tab": "list",
    })


@require_http_methods(["GET", "POST"])
@login_required
def staff_add_view(request, facility_pk: int):
    facility = _facility(request, facility_pk)
    q = (request.POST.get("q") if request.method == "POST" else request.GET.get("q")) or ""
    q = q.strip()
    visible = people_visible(request.user)
    candidates = list(visible.filter(search_q(q)).select_related("town").order_by("name_pinyin", "pk")[:CANDIDATES]) \
        if q else []
    chosen = request.POST.get("person", "") if request.method == "POST" else ""
    if chosen.isdigit() and not any(p.pk == int(chosen) for p in candidates):
        candidates += list(visible.filter(pk=int(chosen)).select_related("town"))
    form = StaffAddForm(request.POST or None, people=candidates)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        person = next(p for p in candidates if str(p.pk) == data["person"])
        try:
            staff = staff_add(facility=facility, person=person, task_group=data["task_group"], post=data["post"],
                              ppe_level=data["ppe_level"], on_duty_from=data["on_duty_from"], actor=request.user)
        except ValidationError as exc:
            map_errors(form, exc)
        else:
            messages.success(request, _("%(name)s is on duty at %(site)s from %(day)s.") % {
                "name": person.name, "site": facility.name, "day": day_text(staff.on_duty_from)})
            return redirect("sites:staff_list", facility_pk=facility.pk)
    ids = [p.pk for p in candidates]
    on_duty = dict(StaffMember.objects.filter(person_id__in=ids, status=StaffStatus.ON_DUTY)
                   .values_list("person_id", "facility__name"))
    controlled = set(Episode.objects.filter(person_id__in=ids, status="open").values_list("person_id", flat=True))
    return render(request, "facilities/staff_add.html", {
        "facility": facility, "form": form, "q": q, "tab": "add",
        "candidates": [{"person": p, "on_duty_at": on_duty.get(p.pk), "under_control": p.pk in controlled}
                       for p in candidates],
    }, status=400 if form.is_bound else 200)


# --- one staff member --------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@login_required
def staff_detail(request, pk: int):
    staff = _staff(request, pk, Cap.VIEW_PEOPLE)
    initial = {"task_group": staff.task_group, "post": staff.post, "ppe_level": staff.ppe_level}
    form = StaffEditForm(request.POST or None, initial=initial)
    if request.method == "POST":
        require(request.user, Cap.MANAGE_STAFF)
        if form.is_valid():
            try:
                staff_update_post(staff=staff, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                map_errors(form, exc)
            else:
                messages.success(request, _("The post of %(name)s is saved.") % {"name": staff.person.name})
                return redirect("sites:staff_detail", pk=staff.pk)
    today = timezone.localdate()
    checks = list(staff.health_checks.order_by("-day")[:RECENT])
    return render(request, "facilities/staff_detail.html", {
        "staff": staff, "facility": staff.facility, "form": form, "today": today,
        "checks": [(c, check_flags(c.temperature, c.symptoms or []), symptom_labels(c.symptoms or []))
                   for c in checks],
        "tests": list(staff.tests.order_by("-sampled_on")[:RECENT]),
        "shifts": list(staff.shifts.filter(day__gte=today).order_by("day", "shift")[:21]),
        "on_duty": staff.status == StaffStatus.ON_DUTY, "results": RESULT_CHOICES, "tab": "list",
    }, status=400 if form.is_bound else 200)


# --- the roster ------------------------------------------------------------------------------------------

def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _parse_cells(values) -> set[tuple[int, dt.date, str]]:
    """"12:2022-08-03:day" → (12, date, "day"); anything else is bad input (ValueError)."""
    cells = set()
    for value in values:
        staff_id, day, shift = value.split(":")
        cells.add((int(staff_id), dt.date.fromisoformat(day), shift))
    return cells


def _roster_staff(facility: Facility, first: dt.date, last: dt.date) -> list[StaffMember]:
    return list(StaffMember.objects.filter(facility=facility, on_duty_from__lte=last)
                .filter(Q(off_duty_on__isnull=True) | Q(off_duty_on__gte=first))
                .select_related("person").order_by("task_group", "person__name_pinyin", "pk"))


def _roster_rows(staff: list[StaffMember], days: list[dt.date], on: set, may_edit: bool) -> list[dict]:
    rows = []
    for member in staff:
        cells = []
        for day in days:
            working = member.on_duty_from <= day and (member.off_duty_on is None or day <= member.off_duty_on)
            editable = may_edit and working and member.status == StaffStatus.ON_DUTY
            for shift in Shift.values:
                cells.append({"value": f"{member.pk}:{day.isoformat()}:{shift}", "on": (member.pk, day, shift) in on,
                              "editable": editable, "working": working, "shift": shift,
                              "label": f"{member.person.name} {day_text(day)} {SHIFT_SHORT[shift]}"})
        rows.append({"staff": member, "cells": cells})
    return rows


@require_http_methods(["GET", "POST"])
@login_required
def staff_roster(request, facility_pk: int):
    facility = _facility(request, facility_pk, Cap.VIEW_PEOPLE)
    try:
        asked = _date_param(request, "week")
    except BadDay as exc:
        return _bad_day(str(exc))
    week = _monday(asked or timezone.localdate())
    days = [week + dt.timedelta(days=i) for i in range(7)]
    fill = RosterFillForm(request.POST if request.POST.get("form") == "fill" else None,
                          initial={"day_from": days[0], "day_to": days[-1]}, prefix="fill")
    status = 200
    if request.method == "POST":
        require(request.user, Cap.MANAGE_STAFF)
        which = request.POST.get("form")
        if which not in ("grid", "fill"):
            return HttpResponseBadRequest(_("Unknown form."))
        try:
            ticked = _parse_cells(request.POST.getlist("cell"))
            was = _parse_cells(request.POST.getlist("was"))
        except ValueError:
            return HttpResponseBadRequest(_("The roster form is damaged; reload the page."))
        status = 400
        try:
            if which == "grid":
                change = roster_update(facility=facility, assign=ticked - was, remove=was - ticked,
                                       actor=request.user)
            elif fill.is_valid():
                data = fill.cleaned_data
                staff = StaffMember.objects.filter(facility=facility, status=StaffStatus.ON_DUTY).select_related("person")
                if data["task_group"]:
                    staff = staff.filter(task_group=data["task_group"])
                count = (data["day_to"] - data["day_from"]).days + 1
                change = roster_fill(facility=facility, staff=staff,
                                     days=[data["day_from"] + dt.timedelta(days=i) for i in range(count)],
                                     shift=data["shift"], actor=request.user)
            else:
                change = None
        except (ValidationError, StaffConflict) as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            if change is not None:
                messages.success(request, _("Roster saved: %(added)s shifts added, %(removed)s removed.")
                                 % {"added": change.added, "removed": change.removed})
                return redirect(reverse("sites:staff_roster", args=[facility.pk]) + f"?week={week.isoformat()}")
    staff = _roster_staff(facility, days[0], days[-1])
    on = set(DutyShift.objects.filter(staff__in=[s.pk for s in staff], day__in=days)
             .values_list("staff_id", "day", "shift"))
    rows = _roster_rows(staff, days, on, request.user.can(Cap.MANAGE_STAFF))
    totals = [sum(1 for s, d, sh in on if d == day and sh == shift) for day in days for shift in Shift.values]
    return render(request, "facilities/staff_roster.html", {
        "facility": facility, "week": week, "days": days, "rows": rows, "totals": totals, "fill": fill,
        "shifts": [(value, SHIFT_SHORT[value], label) for value, label in Shift.choices],
        "previous_week": week - dt.timedelta(days=7), "next_week": week + dt.timedelta(days=7),
        "this_week": _monday(timezone.localdate()), "today": timezone.localdate(), "tab": "roster",
    }, status=status)


# --- the daily rounds --------------------------------------------------------------------------------------

def _round_day(request) -> tuple[DayForm, dt.date, int]:
    """The day of a round: posted with it, asked for by ``?day=``, or today."""
    if request.method == "POST":
        form = DayForm(request.POST)
    elif "day" in request.GET:
        form = DayForm(request.GET)
    else:
        form = DayForm(initial={"day": timezone.localdate()})
    if form.is_bound and not form.is_valid():
        return form, timezone.localdate(), 400
    return form, form.cleaned_data["day"] if form.is_bound else timezone.localdate(), 200


def _round_redirect(name: str, facility: Facility, day: dt.date):
    return redirect(reverse(name, args=[facility.pk]) + f"?day={day.isoformat()}")


def _round_summary(result) -> str:
    return _("%(written)s recorded, %(unchanged)s unchanged, %(skipped)s left empty.") % {
        "written": result.written, "unchanged": result.unchanged, "skipped": result.skipped}


@require_http_methods(["GET", "POST"])
@login_required
def staff_checks(request, facility_pk: int):
    facility = _facility(request, facility_pk)
    form, day, status = _round_day(request)
    staff = list(staff_on_duty(facility, day))
    typed, problems = None, {}
    if request.method == "POST" and status == 200:
        typed = {m.pk: (request.POST.get(f"t-{m.pk}", ""), request.POST.getlist(f"s-{m.pk}")) for m in staff
                 if f"t-{m.pk}" in request.POST}
        rows = [{"staff": pk, "temperature": t, "symptoms": s} for pk, (t, s) in typed.items()]
        try:
            result = staff_checks_record(facility=facility, day=day, rows=rows, actor=request.user)
        except (ValidationError, StaffConflict) as exc:
            map_errors(form, exc)
            status = 400
        else:
            summary = _round_summary(result)
            if result.flagged:
                summary += " " + _("%(count)s with fever or symptoms.") % {"count": result.flagged}
            if not result.problems:
                messages.success(request, summary)
                return _round_redirect("sites:staff_checks", facility, day)
            messages.warning(request, summary + " " + _("%(rejected)s rows were refused; see the reasons next to them.")
                             % {"rejected": result.rejected})
            problems, status = result.problems_by_staff(), 400
    recorded = {c.staff_id: c for c in StaffHealthCheck.objects.filter(staff__in=[m.pk for m in staff], day=day)}
    rows = []
    for member in staff:
        check = recorded.get(member.pk)
        if typed is not None and member.pk in typed:
            temperature, symptoms = typed[member.pk]
        else:
            temperature = "" if check is None else str(check.temperature)
            symptoms = list(check.symptoms or []) if check is not None else []
        rows.append({"staff": member, "temperature": temperature, "recorded": check is not None,
                     "flags": check_flags(check.temperature, check.symptoms or []) if check else [],
                     "symptoms": [(code, label, code in symptoms) for code, label in SYMPTOMS],
                     "problems": [p.reason for p in problems.get(member.pk, [])]})
    return render(request, "facilities/staff_checks.html", {
        "facility": facility, "form": form, "rows": rows, "fever_from": FEVER_FROM, "tab": "checks",
        **_day_links(day),
    }, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def staff_tests(request, facility_pk: int):
    facility = _facility(request, facility_pk)
    form, day, status = _round_day(request)
    typed, problems = None, {}
    if request.method == "POST" and status == 200:
        ids = [m.pk for m in staff_on_duty(facility, day)]
        typed = {pk: request.POST.get(f"r-{pk}", "") for pk in ids if f"r-{pk}" in request.POST}
        rows = [{"staff": pk, "result": value} for pk, value in typed.items()]
        try:
            result = staff_tests_record(facility=facility, sampled_on=day, rows=rows, actor=request.user)
        except (ValidationError, StaffConflict) as exc:
            map_errors(form, exc)
            status = 400
        else:
            summary = _round_summary(result)
            if result.flagged:
                summary += " " + _("%(count)s positive or doubtful.") % {"count": result.flagged}
            if not result.problems:
                messages.success(request, summary)
                return _round_redirect("sites:staff_tests", facility, day)
            messages.warning(request, summary + " " + _("%(rejected)s rows were refused; see the reasons next to them.")
                             % {"rejected": result.rejected})
            problems, status = result.problems_by_staff(), 400
    wl = staff_worklist(facility, day)
    due = {d.staff.pk: d for d in wl.tests_due}
    recorded = {t.staff_id: t for t in StaffTest.objects.filter(staff__in=[m.pk for m in wl.on_duty], sampled_on=day)}
    rows = []
    for member in wl.on_duty:
        test = recorded.get(member.pk)
        value = typed[member.pk] if typed is not None and member.pk in typed else (test.result if test else "")
        rows.append({"staff": member, "value": value, "test": test, "due": due.get(member.pk),
                     "last_sampled_on": member.last_sampled_on,
                     "problems": [p.reason for p in problems.get(member.pk, [])]})
    return render(request, "facilities/staff_tests.html", {
        "facility": facility, "form": form, "rows": rows, "results": RESULT_CHOICES, "tab": "tests",
        "every": wl.test_every_days, **_day_links(day),
    }, status=status)


# --- leaving duty ---------------------------------------------------------------------------------------------

@dataclass
class RotationPreview:
    """The rotation a staff member leaving duty on ``day`` would follow (the protocol in force that day)."""

    day: dt.date
    title: str
    source: str
    phases: list[dict]
    release_on: dt.date | None


def rotation_preview(day: dt.date) -> RotationPreview | None:
    protocol = protocol_for(STAFF_ROTATION, day)
    if protocol is None:
        return None
    spec = protocol.spec()
    schedule = compute(spec, anchor=day)
    phases = [{"label": PHASE_LABELS.get(p.kind, p.kind), "start": p.start, "end": p.end, "days": p.days,
               "tests": [t.date for t in schedule.phase_tests(p.index)]} for p in schedule.phases]
    return RotationPreview(day=day, title=spec.title.in_language(get_language() or "zh-hans"), source=spec.source,
                           phases=phases, release_on=schedule.release_on)


@require_http_methods(["GET", "POST"])
@login_required
def staff_leave(request, pk: int):
    staff = _staff(request, pk)
    try:
        asked = _date_param(request, "day")
    except BadDay as exc:
        return _bad_day(str(exc))
    form = LeaveForm(request.POST or None, initial={"off_duty_on": asked or timezone.localdate()})
    day = form.initial["off_duty_on"]
    if request.method == "POST" and form.is_valid():
        day = form.cleaned_data["off_duty_on"]
        try:
            left = staff_leave_duty(staff=staff, off_duty_on=day, reason=form.cleaned_data["reason"].strip(),
                                    actor=request.user)
        except (ValidationError, StaffConflict) as exc:
            map_errors(form, exc)
        else:
            episode = left.rotation_episode
            messages.success(request, _("%(name)s has left duty; the rotation counts from %(day)s.")
                             % {"name": staff.person.name, "day": day_text(day)})
            if episodes_reachable(request.user).filter(pk=episode.pk).exists():
                return redirect("loop:episode", pk=episode.pk)
            messages.info(request, _("Their episode is followed by their home jurisdiction until a site takes them."))
            return redirect("sites:staff_detail", pk=staff.pk)
    return render(request, "facilities/staff_leave.html", {
        "staff": staff, "facility": staff.facility, "form": form, "preview": rotation_preview(day),
        "on_duty": staff.status == StaffStatus.ON_DUTY,
    }, status=400 if form.is_bound else 200)
