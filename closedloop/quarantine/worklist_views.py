"""The work lists front-line staff open every morning, and the headquarters alerts page.

Read-only pages: parse the day (``?day=2022-08-03``, today by default), check
the scope (``worklists``), render — or, with ``?format=xlsx``, the same lists
as a workbook (xlsxwriter, personal data masked). Printable: the print style
hides the navigation and keeps each section together.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import xlsxwriter
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from closedloop.core.roles import Cap
from closedloop.core.scoping import require
from closedloop.quarantine import worklist_extras, worklists

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ONE_DAY = dt.timedelta(days=1)


class BadDay(ValueError):
    pass


def _day(request) -> dt.date:
    text = (request.GET.get("day") or "").strip()
    if not text:
        return timezone.localdate()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadDay(text) from None


def _bad_day(request) -> HttpResponse:
    return HttpResponseBadRequest(
        _('"%(value)s" is not a day; write it like 2022-08-03.') % {"value": request.GET.get("day", "")[:40]}
    )


def _wants_xlsx(request) -> bool:
    return request.GET.get("format") == "xlsx"


# --- durations ------------------------------------------------------------------------------

def overdue_text(delta: dt.timedelta) -> str:
    """How long overdue, for people: '2 d 3 h', '3 h 10 min', '25 min'."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)s d %(hours)s h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)s min") % {"minutes": minutes}


def days_text(days: int) -> str:
    return ngettext("%(count)s day", "%(count)s days", days) % {"count": days}


# --- the workbook ------------------------------------------------------------------------------

def _sheet_name(title: str, used: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "Sheet"
    base, n = name, 2
    while name in used:
        suffix = f" {n}"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name)
    return name


def xlsx_response(filename: str, sheets: list[tuple[str, list[str], list[list]]]) -> HttpResponse:
    """One sheet per list: a bold frozen header, then the rows; text is never read as a formula."""
    zh = (get_language() or "").startswith("zh")
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    header = workbook.add_format({"bold": True, "bg_color": "#EDEDED", "border": 1})
    day_format = workbook.add_format({"num_format": 'yyyy"年"m"月"d"日"' if zh else "yyyy-mm-dd"})
    moment_format = workbook.add_format({"num_format": 'yyyy"年"m"月"d"日" h:mm' if zh else "yyyy-mm-dd hh:mm"})
    used: set[str] = set()
    for title, columns, rows in sheets:
        sheet = workbook.add_worksheet(_sheet_name(title, used))
        sheet.freeze_panes(1, 0)
        for col, label in enumerate(columns):
            sheet.write_string(0, col, label, header)
            sheet.set_column(col, col, max(10, min(len(label) * 2 + 4, 40)))
        for r, row in enumerate(rows, start=1):
            for col, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, dt.datetime):
                    value = timezone.localtime(value) if timezone.is_aware(value) else value
                    sheet.write_datetime(r, col, value.replace(tzinfo=None), moment_format)
                elif isinstance(value, dt.date):
                    sheet.write_datetime(r, col, value, day_format)
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    sheet.write_number(r, col, value)
                else:
                    sheet.write_string(r, col, str(value))
        if rows:
            sheet.autofilter(0, 0, len(rows), max(len(columns) - 1, 0))
    workbook.close()
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    return response


def _person_cells(episode) -> list:
    person = episode.person
    return [person.name, person.doc_number_masked, person.phone_masked, episode.get_category_display()]


def _person_columns() -> list[str]:
    return [_("Name"), _("ID number"), _("Phone"), _("Category")]


def _worklist_sheets(wl: worklists.Worklist) -> list[tuple[str, list[str], list[list]]]:
    p = _person_columns()
    sheets = [
        (_("Tests due"), [*p, _("Phase"), _("Day of phase"), _("Sample taken")],
         [[*_person_cells(r.episode), str(r.phase_label), r.test.day_of_phase, _("yes") if r.taken else _("no")]
          for r in wl.tests_due]),
        (_("Health checks missing"), [*p, _("Slot"), _("Time")],
         [[*_person_cells(e), str(s.label), s.time] for s in wl.checks for e in s.missing]),
        (_("Releases due"), [*p, _("Release due"), _("Custodian")],
         [[*_person_cells(e), e.release_on, e.custodian.name] for e in wl.releases_due]),
        (_("Arrivals expected"), [*p, _("From"), _("Expected arrival"), _("Late")],
         [[*_person_cells(e), e.custodian.name, e.expected_by,
           _("yes") if e.expected_by and e.expected_by < wl.now else _("no")] for e in wl.arrivals]),
        (_("Overdue tests"), [*p, _("Test day"), _("Days overdue")],
         [[*_person_cells(r.episode), r.test.date, (wl.day - r.test.date).days] for r in wl.overdue_tests]),
        (_("Overdue releases"), [*p, _("Release due"), _("Days overdue")],
         [[*_person_cells(e), e.release_on, (wl.day - e.release_on).days] for e in wl.overdue_releases]),
        (_("Open alerts"), [*p, _("Alert"), _("Detail"), _("Raised")],
         [[*_person_cells(a.episode), a.get_kind_display(), a.detail, a.raised_at] for a in wl.alerts]),
    ]
    if wl.residents_elsewhere:
        sheets.append((_("Residents held elsewhere"), [*p, _("Custodian"), _("Release due")],
                       [[*_person_cells(e), e.custodian.name if e.custodian else "", e.release_on]
                        for e in wl.residents_elsewhere]))
    return sheets


# --- front-line work lists -------------------------------------------------------------------------

def _day_links(day: dt.date) -> dict:
    return {"previous": day - ONE_DAY, "next": day + ONE_DAY, "today": timezone.localdate(),
            "printed_at": timezone.now()}


@require_GET
@login_required
def custodian_worklist(request, pk: int):
    require(request.user, Cap.VIEW_PEOPLE)
    custodian = worklists.custodian_get(request.user, pk)
    try:
        day = _day(request)
    except BadDay:
        return _bad_day(request)
    wl = worklists.custodian_worklist(request.user, custodian, day)
    if _wants_xlsx(request):
        return xlsx_response(f"worklist-{custodian.code}-{day:%Y-%m-%d}.xlsx", _worklist_sheets(wl))
    extra_templates, extra = worklist_extras.sections(worklist_extras.SITE, request.user, custodian, wl, wl.now)
    return render(request, "quarantine/worklist_custodian.html", {
        "wl": wl, "custodian": custodian, "day": day, **_day_links(day), **extra, "extra_templates": extra_templates,
    })


@require_GET
@login_required
def community_worklist(request, pk: int):
    community = worklists.community_get(request.user, pk)
    try:
        day = _day(request)
    except BadDay:
        return _bad_day(request)
    wl = worklists.community_worklist(request.user, community, day)
    if _wants_xlsx(request):
        return xlsx_response(f"worklist-{community.code}-{day:%Y-%m-%d}.xlsx", _worklist_sheets(wl))
    extra_templates, extra = worklist_extras.sections(worklist_extras.COMMUNITY, request.user, community, wl,
                                                      wl.now)
    return render(request, "quarantine/worklist_community.html", {
        "wl": wl, "community": community, "day": day, **_day_links(day), **extra, "extra_templates": extra_templates,
    })


# --- headquarters ------------------------------------------------------------------------------------

def _responsible(custodian) -> str:
    if custodian is None:
        return ""
    return f"{custodian.name} ({custodian.jurisdiction.label})" if custodian.jurisdiction else custodian.name


def _decorate(name: str, rows: list, day: dt.date, now: dt.datetime) -> None:
    """Who answers and how long overdue, on each row of a page."""
    if name == "missed":
        missed = worklists.missed_tests_of(rows, day)
    for row in rows:
        if name == "lost":
            row.responsible = row.custodian
            row.overdue = overdue_text(now - row.expected_by)
        elif name == "overdue":
            row.responsible = row.custodian
            row.overdue = days_text((day - row.release_on).days)
        elif name == "missed":
            row.responsible = row.custodian
            row.missed = missed.get(row.pk, [])
            row.overdue = days_text((day - row.missed[0].date).days) if row.missed else ""
        else:  # an alert
            row.responsible = row.custodian or row.episode.custodian
            row.overdue = overdue_text(now - row.raised_at)


def _hq_sheets(lists: dict, day: dt.date, now: dt.datetime) -> list[tuple[str, list[str], list[list]]]:
    p = _person_columns()
    responsible = _("Responsible")
    lost = list(lists["lost"])
    overdue = list(lists["overdue"])
    alerts = list(lists["alerts"])
    missed_rows = []
    # Missed tests: schedules per chunk of the SQL rows, never over the whole city.
    query = lists["missed"]
    chunk, last = 1000, 0
    while True:
        rows = list(query.filter(pk__gt=last).order_by("pk")[:chunk])
        if not rows:
            break
        last = rows[-1].pk
        missed = worklists.missed_tests_of(rows, day)
        for e in rows:
            tests = missed.get(e.pk, [])
            missed_rows.append([*_person_cells(e), ", ".join(t.date.isoformat() for t in tests),
                                (day - tests[0].date).days if tests else "", _responsible(e.custodian)])
    return [
        (_("Lost in transit"), [*p, responsible, _("Receiver"), _("Expected arrival"), _("Overdue")],
         [[*_person_cells(e), _responsible(e.custodian), _responsible(e.pending_custodian), e.expected_by,
           overdue_text(now - e.expected_by)] for e in lost]),
        (_("Kept beyond the release day"), [*p, responsible, _("Release due"), _("Days overdue")],
         [[*_person_cells(e), _responsible(e.custodian), e.release_on, (day - e.release_on).days] for e in overdue]),
        (_("Missed tests"), [*p, _("Test days missed"), _("Days overdue"), responsible], missed_rows),
        (_("Unanswered alerts"), [*p, _("Alert"), _("Detail"), _("Raised"), responsible, _("Overdue")],
         [[*_person_cells(a.episode), a.get_kind_display(), a.detail, a.raised_at,
           _responsible(a.custodian or a.episode.custodian), overdue_text(now - a.raised_at)] for a in alerts]),
    ]


@require_GET
@login_required
def headquarters_alerts(request):
    require(request.user, Cap.VIEW_PEOPLE)
    try:
        day = _day(request)
    except BadDay:
        return _bad_day(request)
    now = worklists.as_of(day)
    lists = worklists.hq_lists(request.user, day, now)
    if _wants_xlsx(request):
        return xlsx_response(f"alerts-{day:%Y-%m-%d}.xlsx", _hq_sheets(lists, day, now))
    figures = worklists.hq_figures(lists).as_dict()
    selected = request.GET.get("list")
    if selected not in worklists.HQ_LISTS:
        selected = next((name for name in worklists.HQ_LISTS if figures[name]), worklists.HQ_LISTS[0])
    paginator = Paginator(lists[selected], settings.PAGE_SIZE)
    paginator.count = figures[selected]  # counted once, for the figure at the top
    page = paginator.get_page(request.GET.get("page"))
    rows = list(page.object_list)
    _decorate(selected, rows, day, now)
    page.object_list = rows
    extra_templates, extra = worklist_extras.sections(worklist_extras.HEADQUARTERS, request.user, None, None, now)
    return render(request, "quarantine/worklist_alerts.html", {
        **extra, "extra_templates": extra_templates,
        "figures": figures, "selected": selected, "page": page, "rows": rows, "day": day, "now": now,
        "grace": settings_grace(), "unanswered_after": int(worklists.UNANSWERED_AFTER.total_seconds() // 60),
        **_day_links(day),
    })


def settings_grace() -> int:
    return int(worklists.transit_grace().total_seconds() // 60)
