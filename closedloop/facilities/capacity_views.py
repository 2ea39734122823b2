"""The capacity outlook pages: the city's (or your sites') and one site's, as a page or a workbook.

Read-only: parse ``?days=`` (1–60, 14 by default), check the scope (``facilities.capacity``), render —
or with ``?format=xlsx`` the same numbers as a workbook. The chart (ECharts, loaded on these pages only)
draws the table printed under it, so the page reads the same without JavaScript.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from closedloop.core.templatetags.cl import cn_date
from closedloop.facilities import capacity as cap
from closedloop.facilities.capacity_api import parse_days
from closedloop.people.schemas import InputError
from closedloop.planning.capacity import Day
from closedloop.quarantine.worklist_views import xlsx_response

DAY_CHOICES = (7, 14, 28)


def _days_or_400(request):
    try:
        return parse_days(request.GET.get("days", "")), None
    except InputError as exc:
        return None, HttpResponseBadRequest(exc.errors[0]["message"])


def _wants_xlsx(request) -> bool:
    return request.GET.get("format") == "xlsx"


def chart_data(rows: tuple[Day, ...], *, reserve: bool) -> dict:
    """What the chart draws: stacked free / occupied / turning around a day, and the reserve line."""
    first = next((d for d in rows if d.short_by > 0), None)
    return {
        "days": [cn_date(d.day) for d in rows],
        "free": [max(d.free_after, 0) for d in rows],
        "occupied": [d.occupied for d in rows],
        "turning": [d.turning for d in rows],
        "reserve": [d.required for d in rows] if reserve else None,
        "first_short": cn_date(first.day) if first else None,
        "names": {"free": _("Free after arrivals"), "occupied": _("Occupied"), "turning": _("Turning around"),
                  "reserve": _("Reserve required"), "rooms": _("Rooms"), "short": _("First short day")},
    }


def _day_columns() -> list[str]:
    return [_("Date"), _("Free at start of day"), _("Arrivals"), _("Releases"), _("Free after arrivals"),
            _("Occupied"), _("Turning around"), _("Reserve required"), _("Short by")]


def _day_cells(d: Day) -> list:
    return [d.day, d.available, d.arrivals, d.releases, d.free_after, d.occupied, d.turning, d.required, d.short_by]


def _site_columns() -> list[str]:
    return [_("Site"), _("Code"), _("Status"), _("Available"), _("Occupied"), _("Awaiting cleaning"), _("Cleaning"),
            _("Out of service"), _("On the way"), _("First short day"), _("Short by")]


def _site_cells(line: cap.SiteLine) -> list:
    now, first = line.outlook.now, line.first_short
    return [line.facility.name, line.facility.code, line.facility.get_status_display(), now.available,
            now.occupied, now.awaiting_cleaning, now.cleaning, now.out_of_service, line.on_the_way,
            first.day if first else "", first.short_by if first else ""]


@require_GET
@login_required
def capacity_overview(request):
    days, bad = _days_or_400(request)
    if bad:
        return bad
    out = cap.capacity_outlook(request.user, days=days)
    if out is None:
        raise PermissionDenied(_("Only headquarters and site staff see the capacity outlook."))
    if _wants_xlsx(request):
        return xlsx_response(f"capacity-{out.today:%Y-%m-%d}.xlsx", [
            (_("Day by day"), _day_columns(), [_day_cells(d) for d in out.result.city]),
            (_("Sites"), _site_columns(), [_site_cells(line) for line in out.sites]),
            (_("Sites day by day"), [_("Site"), *_day_columns()],
             [[line.facility.name, *_day_cells(d)] for line in out.sites for d in line.outlook.days]),
        ])
    return render(request, "facilities/capacity_overview.html", {
        "out": out, "rows": out.result.city, "first": out.result.first_short, "day_choices": DAY_CHOICES,
        "chart": chart_data(out.result.city, reserve=out.reserve_applies and out.result.reserve_known),
    })


@require_GET
@login_required
def capacity_site(request, pk: int):
    days, bad = _days_or_400(request)
    if bad:
        return bad
    if cap.capacity_scope(request.user) is None:
        raise PermissionDenied(_("Only headquarters and site staff see the capacity outlook."))
    facility = cap.capacity_facility(request.user, pk)
    out = cap.site_outlook(facility, days=days)
    line = out.sites[0]
    if _wants_xlsx(request):
        return xlsx_response(f"capacity-{facility.code}-{out.today:%Y-%m-%d}.xlsx", [
            (_("Day by day"), _day_columns(), [_day_cells(d) for d in line.outlook.days]),
        ])
    return render(request, "facilities/capacity_site.html", {
        "out": out, "line": line, "facility": facility, "rows": line.outlook.days, "first": line.first_short,
        "day_choices": DAY_CHOICES, "chart": chart_data(line.outlook.days, reserve=False),
    })
