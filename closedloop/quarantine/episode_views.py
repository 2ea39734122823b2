"""Pages of episodes: the list, the episode page (schedule, checks, alerts, custody timeline) and
the hand-over forms. Thin: parse, check permission, call one custody action, render.

Each form carries the episode version the page was drawn from. A desk posting
from a page that another desk has changed since gets "someone else acted
first" with the fresh state and what it typed — the same answer as a true race
caught by the action's compare-and-swap (``CustodyConflict``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from closedloop.core.pagination import paginate
from closedloop.core.roles import Cap
from closedloop.core.scoping import in_scope, require
from closedloop.people.selectors import people_visible, search_q
from closedloop.quarantine import actions, states, worklists
from closedloop.quarantine.actions.observations import FEVER_FROM
from closedloop.quarantine.choices import AlertStatus, Category, CustodianKind, EpisodeState
from closedloop.quarantine.episode_forms import CloseForm, GiveForm, PlaceForm, ReceiveForm, RefuseForm
from closedloop.quarantine.models import Alert, Custodian, CustodyEvent, Episode, HealthCheck

SORTS = {
    "name": "person__name_pinyin", "anchor": "anchor_date", "release": "release_on", "opened": "opened_at",
    "state": "state",
}
STATUSES = ("open", "closed", "all")
DUE = {"today": gettext_lazy("Release due today"), "overdue": gettext_lazy("Release overdue"),
       "tomorrow": gettext_lazy("Release due tomorrow")}


# --- the list ------------------------------------------------------------------------------

def episode_search(user, params, today: dt.date):
    """The visible episodes filtered by the list page's parameters; (rows, filters)."""
    require(user, Cap.VIEW_PEOPLE)
    f = {k: (params.get(k) or "").strip() for k in ("q", "category", "state", "custodian", "due", "status", "sort")}
    # Residents of the user's jurisdiction, and whoever their custodians hold or expect (the page's rule).
    rows = worklists.episodes_reachable(user)
    if f["status"] not in STATUSES:
        f["status"] = "open" if not f["state"] else "all"
    if f["status"] != "all":
        rows = rows.filter(status=f["status"])
    if f["q"]:
        rows = rows.filter(person__in=people_visible(user).filter(search_q(f["q"])).values("pk"))
    if f["category"] in Category.values:
        rows = rows.filter(category=f["category"])
    if f["state"] in EpisodeState.values:
        rows = rows.filter(state=f["state"])
    if f["custodian"].isdigit():
        rows = rows.filter(Q(custodian_id=int(f["custodian"])) | Q(pending_custodian_id=int(f["custodian"])))
    if f["due"] == "today":
        rows = rows.filter(state=states.IN_CUSTODY, release_on=today)
    elif f["due"] == "tomorrow":
        rows = rows.filter(state=states.IN_CUSTODY, release_on=today + dt.timedelta(days=1))
    elif f["due"] == "overdue":
        rows = rows.filter(state=states.IN_CUSTODY, release_on__lt=today)
    key = f["sort"].removeprefix("-")
    if key in SORTS:
        order = ("-" if f["sort"].startswith("-") else "") + SORTS[key]
        rows = rows.order_by(order, "-pk")
    else:
        rows = rows.order_by("-opened_at", "-pk")
    return rows, f


def _filter_custodians(user, selected: str) -> list[Custodian]:
    """Sites, the station, home custody and hospitals of the user's scope (vehicle trips are too many),
    and the one chosen if it is a trip."""
    rows = worklists.custodians_visible(user).filter(active=True)
    q = ~Q(kind=CustodianKind.VEHICLE_TRIP)
    if selected.isdigit():
        q |= Q(pk=int(selected))
    return list(rows.filter(q).order_by("kind", "name", "pk"))


@require_GET
@login_required
def episode_list(request):
    today = timezone.localdate()
    rows, filters = episode_search(request.user, request.GET, today)
    page = paginate(request, rows.select_related("person", "protocol", "custodian", "pending_custodian"))
    return render(request, "quarantine/episode_list.html", {
        "page": page,
        "filters": filters,
        "today": today,
        "categories": Category.choices,
        "states": EpisodeState.choices,
        "custodians": _filter_custodians(request.user, filters["custodian"]),
        "due_choices": list(DUE.items()),
        "filtered": any(filters.get(k) for k in ("q", "category", "state", "custodian", "due"))
        or filters["status"] != "open",
    })


# --- the episode page ------------------------------------------------------------------------

def episode_get(user, pk) -> Episode:
    """One episode the user may open (``worklists.episodes_reachable``), or 404."""
    require(user, Cap.VIEW_PEOPLE)
    episode = (
        worklists.episodes_reachable(user)
        .select_related("person__town", "person__community", "protocol", "custodian__jurisdiction",
                        "pending_custodian__jurisdiction", "opened_by")
        .filter(pk=pk).first()
    )
    if episode is None:
        raise Http404
    return episode


@dataclass
class TestLine:
    """A scheduled test on the episode page, with its specimens and what it means today."""

    test: object
    specimens: list
    status: str  # taken | missed | today | upcoming | before_control | before_change

    @property
    def phase_label(self):
        return worklists.PHASE_LABELS.get(self.test.phase_kind, self.test.phase_kind)


TEST_STATUS = {
    "taken": gettext_lazy("Sample taken"),
    "missed": gettext_lazy("Missed"),
    "today": gettext_lazy("Due today"),
    "upcoming": gettext_lazy("Upcoming"),
    "before_control": gettext_lazy("Missed before control"),
    "before_change": gettext_lazy("Before the change of protocol"),
}


def _schedule_context(episode: Episode, today: dt.date) -> dict:
    schedule = actions.episode_schedule(episode)  # the one the release rule reads
    if schedule is None:
        return {"schedule": None}
    taken = worklists.specimens_by_day([episode.pk]).get(episode.pk, {})
    tests = []
    for test in schedule.tests:
        specimens = list(taken.get(test.date, []))
        if test.missed_before_control:
            status = "before_control"
        elif test.before_change:
            status = "before_change"
        elif worklists._answered(specimens):
            status = "taken"
        elif test.date < today:
            status = "missed"
        elif test.date == today:
            status = "today"
        else:
            status = "upcoming"
        tests.append(TestLine(test, specimens, status))
    scheduled_days = {t.date for t in schedule.tests}
    extra = [s for day, found in sorted(taken.items()) if day not in scheduled_days for s in found]
    phases = [
        {"label": worklists.PHASE_LABELS.get(p.kind, p.kind), "start": p.start, "end": p.end, "days": p.days,
         "current": p.contains(today)}
        for p in schedule.phases
    ]
    # Health checks from the placement to today (or the end of the course): one row a day.
    recorded = {(c.day, c.slot): c for c in HealthCheck.objects.filter(episode=episode)}
    slots = schedule.protocol.health_checks.slots
    last = min(today, schedule.ends_at_end_of)
    check_days = []
    for check in schedule.checks_between(schedule.checks_from, last):
        if not check_days or check_days[-1]["day"] != check.date:
            check_days.append({"day": check.date, "cells": []})
        check_days[-1]["cells"].append({"slot": check.slot, "check": recorded.get((check.date, check.slot))})
    check_days.reverse()  # the latest first
    due = sum(len(d["cells"]) for d in check_days)
    done = sum(1 for d in check_days for c in d["cells"] if c["check"] is not None)
    return {
        "schedule": schedule,
        "title": schedule.protocol.title.in_language(get_language() or "zh-hans"),
        "phases": phases,
        "tests": tests,
        "extra_specimens": extra,
        "slots": [(s, worklists.SLOT_LABELS.get(s, s)) for s in slots],
        "check_days": check_days,
        "checks_due": due,
        "checks_done": done,
        "course_day": schedule.course_day(today),
    }


@dataclass
class ActionPanel:
    name: str
    title: str
    form: object
    url: str
    button: str
    danger: bool = False
    failed: bool = False


ACTIONS = {
    # name: (form, allowed states, capability, title, button)
    "place": (PlaceForm, {states.AWAITING}, Cap.HANDOVER, gettext_lazy("Place under control"),
              gettext_lazy("Place")),
    "give": (GiveForm, {states.IN_CUSTODY}, Cap.HANDOVER, gettext_lazy("Hand over"), gettext_lazy("Hand over")),
    "receive": (ReceiveForm, {states.IN_TRANSIT}, Cap.HANDOVER, gettext_lazy("Confirm receipt"),
                gettext_lazy("Receive")),
    "refuse": (RefuseForm, {states.IN_TRANSIT}, Cap.HANDOVER, gettext_lazy("Refuse the person"),
               gettext_lazy("Refuse")),
    "close": (CloseForm, set(states.OPEN_STATES), Cap.CLOSE_EPISODES, gettext_lazy("Close the episode"),
              gettext_lazy("Close")),
}
NEEDS_CUSTODIANS = {"place", "give"}


def _custodian_choices(episode: Episode) -> list[Custodian]:
    return list(Custodian.objects.filter(city_id=episode.city_id, active=True).order_by("kind", "name", "pk"))


def _form(name: str, episode: Episode, custodians, data=None):
    form_class = ACTIONS[name][0]
    kwargs = {"custodians": custodians} if name in NEEDS_CUSTODIANS else {}
    if data is None:
        return form_class(initial={"version": episode.version}, **kwargs)
    return form_class(data, **kwargs)


def _panels(user, episode: Episode, bound=None) -> list[ActionPanel]:
    """The forms the user may use on this episode now; a form that failed is kept, with what was typed."""
    names = [n for n, (_f, allowed, cap, _t, _b) in ACTIONS.items() if episode.state in allowed and user.can(cap)]
    if bound is not None and bound[0] not in names:
        names.append(bound[0])
    custodians = _custodian_choices(episode) if NEEDS_CUSTODIANS & set(names) else []
    panels = []
    for name in names:
        _f, _allowed, _cap, title, button = ACTIONS[name]
        failed = bound is not None and bound[0] == name
        form = bound[1] if failed else _form(name, episode, custodians)
        panels.append(ActionPanel(name, str(title), form, f"loop:{name}", str(button),
                                  danger=name in ("refuse", "close"), failed=failed))
    return panels


def _render(request, episode: Episode, *, bound=None, conflict: str = "", status: int = 200):
    today = timezone.localdate()
    person = episode.person
    ledger = list(
        CustodyEvent.objects.filter(episode=episode).select_related("from_custodian", "to_custodian").order_by("seq")
    )
    alerts = list(
        Alert.objects.filter(episode=episode, status=AlertStatus.OPEN).select_related("custodian")
        .order_by("raised_at", "pk")
    )
    user = request.user
    held = episode.state == states.IN_CUSTODY
    return render(request, "quarantine/episode_detail.html", {
        "episode": episode,
        "person": person,
        "person_link": in_scope(user, city_id=person.city_id, town_id=person.town_id,
                                community_id=person.community_id),
        "today": today,
        "now": timezone.now(),
        "late": episode.state == states.IN_TRANSIT and episode.expected_by is not None
        and episode.expected_by < timezone.now(),
        "ledger": ledger,
        "alerts": alerts,
        "panels": _panels(user, episode, bound) if episode.state in states.OPEN_STATES or bound else [],
        "conflict": conflict,
        "can_observe": held and user.can(Cap.RECORD_OBSERVATIONS),
        "can_release": held and user.can(Cap.RELEASE),
        "fever_from": FEVER_FROM,
        **_schedule_context(episode, today),
    }, status=status)


@require_GET
@login_required
def episode_detail(request, pk: int):
    return _render(request, episode_get(request.user, pk))


# --- the forms ----------------------------------------------------------------------------------

def _conflict_text(episode: Episode) -> str:
    holder = episode.custodian.name if episode.custodian else "—"
    return _("Someone else acted on this person first: they are now %(state)s (custodian: %(custodian)s). "
             "Nothing was saved. Check the page, then submit again if it still applies.") % {
        "state": episode.get_state_display(), "custodian": holder}


def _act(request, pk: int, name: str, run, done: str):
    """Parse the form, check the page was current, call the action; errors go next to the form."""
    episode = episode_get(request.user, pk)
    custodians = _custodian_choices(episode) if name in NEEDS_CUSTODIANS else []
    form = _form(name, episode, custodians, request.POST)
    if not form.is_valid():
        return _render(request, episode, bound=(name, form), status=400)
    if form.cleaned_data["version"] != episode.version:
        return _conflicted(request, episode, name, custodians)
    try:
        run(episode, form.cleaned_data)
    except actions.CustodyConflict:
        return _conflicted(request, episode_get(request.user, pk), name, custodians)
    except ValidationError as exc:
        for message in exc.messages:
            form.add_error(None, message)
        return _render(request, episode_get(request.user, pk), bound=(name, form), status=400)
    except PermissionDenied as exc:
        form.add_error(None, str(exc) or _("You may not do this."))
        return _render(request, episode, bound=(name, form), status=403)
    messages.success(request, done % {"name": episode.person.name})
    return redirect("loop:episode", pk=episode.pk)


def _conflicted(request, fresh: Episode, name: str, custodians):
    """The fresh state, the message, and what was typed — with the fresh version, so a deliberate
    second submission acts on what the desk now sees."""
    prefix = ACTIONS[name][0].prefix_name
    data = request.POST.copy()
    data[f"{prefix}-version"] = str(fresh.version)
    form = _form(name, fresh, custodians, data)
    form.is_valid()
    text = _conflict_text(fresh)
    form.add_error(None, text)
    return _render(request, fresh, bound=(name, form), conflict=text, status=409)


@require_POST
@login_required
def episode_place_view(request, pk: int):
    def run(episode, data):
        return actions.episode_place(episode=episode, custodian=data["custodian"], placed_on=data["placed_on"],
                                     signed_by=data["signed_by"].strip(), actor=request.user)
    return _act(request, pk, "place", run, _("%(name)s is placed under control."))


@require_POST
@login_required
def handover_give_view(request, pk: int):
    def run(episode, data):
        return actions.handover_give(episode=episode, to_custodian=data["to_custodian"],
                                     expected_by=data["expected_by"], signed_by=data["signed_by"].strip(),
                                     reason=data["reason"].strip(), actor=request.user)
    return _act(request, pk, "give", run, _("%(name)s is handed over and in transit until the receiver confirms."))


@require_POST
@login_required
def handover_receive_view(request, pk: int):
    def run(episode, data):
        return actions.handover_receive(episode=episode, signed_by=data["signed_by"].strip(), actor=request.user)
    return _act(request, pk, "receive", run, _("Receipt of %(name)s is confirmed."))


@require_POST
@login_required
def handover_refuse_view(request, pk: int):
    def run(episode, data):
        return actions.handover_refuse(episode=episode, reason=data["reason"].strip(), actor=request.user)
    return _act(request, pk, "refuse", run, _("%(name)s is refused and back in the giver's custody."))


@require_POST
@login_required
def episode_close_view(request, pk: int):
    def run(episode, data):
        return actions.episode_close(episode=episode, reason=data["reason"].strip(), actor=request.user)
    return _act(request, pk, "close", run, _("The episode of %(name)s is closed."))
