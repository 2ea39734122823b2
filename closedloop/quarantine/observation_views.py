"""Observation pages: a health check, samples and results of one episode, a custodian's
round, the lab's result file, resolving an alert. Thin: parse, check permission,
call one action (``actions.observations``), render.

An episode is reachable when its person lives in the user's jurisdiction or the
custodian holding them lies in it (the site records the checks of everyone it
holds); anything else is a 404, like a page that does not exist.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from closedloop.core.roles import Cap
from closedloop.core.scoping import require
from closedloop.quarantine import states
from closedloop.quarantine.actions import observations as obs
from closedloop.quarantine.choices import AlertStatus, TestResult
from closedloop.quarantine.models import Alert, Custodian, Episode, HealthCheck
from closedloop.quarantine.observation_forms import (
    AlertResolveForm,
    HealthCheckForm,
    ResultForm,
    ResultUploadForm,
    RoundForm,
    SpecimenForm,
    default_slot,
    map_errors,
)

ROUND_PAGE_SIZE = 300  # one site's morning round on one page
RECENT_CHECKS = 20


def _episode(request, pk) -> Episode:
    require(request.user, Cap.RECORD_OBSERVATIONS)
    episode = (
        Episode.objects.select_related(
            "person", "protocol", "custodian__jurisdiction", "pending_custodian"
        ).filter(pk=pk).first()
    )
    if episode is None or not obs.in_reach(request.user, episode):
        raise Http404
    return episode


def _open_alerts(episode: Episode) -> list[Alert]:
    return list(episode.alerts.filter(status=AlertStatus.OPEN).select_related("custodian").order_by("raised_at", "pk"))


# --- one health check ----------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@login_required
def health_check_view(request, pk: int):
    episode = _episode(request, pk)
    slots = obs.episode_slots(episode)
    form = HealthCheckForm(request.POST or None, slots=slots)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            check = obs.health_check_record(
                episode=episode, day=data["day"], slot=data["slot"], temperature=data["temperature"],
                symptoms=data["symptoms"], note=data["note"], actor=request.user,
            )
        except ValidationError as exc:
            map_errors(form, exc)
        else:
            messages.success(request, _("The %(slot)s check of %(day)s is recorded: %(temperature)s °C.") % {
                "slot": obs.slot_label(check.slot), "day": obs.day_text(check.day), "temperature": check.temperature})
            return redirect("loop:health_check", pk=episode.pk)
    checks = list(episode.health_checks.select_related("recorded_by").order_by("-day", "-recorded_at")[:RECENT_CHECKS])
    return render(request, "quarantine/obs_health_check.html", {
        "episode": episode, "form": form, "tab": "checks",
        "checks": [(c, obs.symptom_labels(c.symptoms or [])) for c in checks],
        "alerts": _open_alerts(episode), "in_custody": episode.state == states.IN_CUSTODY,
        "fever_from": obs.FEVER_FROM,
    }, status=400 if form.is_bound else 200)


# --- samples and results ---------------------------------------------------------------------

def _test_rows(schedule, specimens) -> list[dict]:
    if schedule is None:
        return []
    by_day: dict = {}
    for s in specimens:
        if s.scheduled_for:
            by_day.setdefault(s.scheduled_for, []).append(s)
    from closedloop.quarantine.release_rules import PHASE_LABELS

    return [{"test": t, "phase": _(PHASE_LABELS[t.phase_kind]) if t.phase_kind in PHASE_LABELS else t.phase_kind,
             "specimens": by_day.get(t.date, [])} for t in schedule.tests]


@require_http_methods(["GET", "POST"])
@login_required
def specimen_view(request, pk: int):
    episode = _episode(request, pk)
    schedule = obs.schedule_of(episode)
    test_days = [t.date for t in schedule.tests] if schedule is not None else []
    specimens = list(episode.specimens.select_related("recorded_by").order_by("sampled_at", "pk"))
    pending = [s for s in specimens if s.result == TestResult.PENDING]
    which = request.POST.get("form") if request.method == "POST" else None
    if request.method == "POST" and which not in ("specimen", "result"):
        return HttpResponseBadRequest(_("Unknown form."))
    specimen_form = SpecimenForm(request.POST if which == "specimen" else None, test_days=test_days, prefix="s")
    result_form = ResultForm(request.POST if which == "result" else None, specimens=pending, prefix="r")
    if which == "specimen" and specimen_form.is_valid():
        data = specimen_form.cleaned_data
        try:
            specimen = obs.specimen_record(
                episode=episode, kind=data["kind"], sampled_at=data["sampled_at"], barcode=data["barcode"],
                scheduled_for=data["scheduled_for"], actor=request.user,
            )
        except ValidationError as exc:
            map_errors(specimen_form, exc)
        else:
            if specimen.scheduled_for:
                messages.success(request, _("The sample is recorded for the test of %(day)s.")
                                 % {"day": obs.day_text(specimen.scheduled_for)})
            else:
                messages.success(request, _("The sample is recorded (an extra test, not on a scheduled day)."))
            return redirect("loop:specimen", pk=episode.pk)
    elif which == "result" and result_form.is_valid():
        data = result_form.cleaned_data
        chosen = next((s for s in pending if str(s.pk) == data["specimen"]), None)
        try:
            specimen = obs.result_record(specimen=chosen, result_or_ct=data["result_or_ct"], lab=data["lab"],
                                         actor=request.user)
        except ValidationError as exc:
            map_errors(result_form, exc)
        else:
            if specimen.result == TestResult.POSITIVE:
                messages.warning(request, _("Positive: %(name)s has become a case; headquarters has been alerted.")
                                 % {"name": episode.person.name})
            elif specimen.result == TestResult.ASSESS:
                messages.warning(request, _("The result needs a risk assessment; an alert has been raised."))
            else:
                messages.success(request, _("The result is recorded: %(result)s.")
                                 % {"result": specimen.get_result_display()})
            return redirect("loop:specimen", pk=episode.pk)
    return render(request, "quarantine/obs_specimens.html", {
        "episode": episode, "tab": "specimens", "specimen_form": specimen_form, "result_form": result_form,
        "specimens": specimens, "pending": pending, "tests": _test_rows(schedule, specimens),
        "alerts": _open_alerts(episode), "open": episode.status == "open",
    }, status=400 if which else 200)


# --- a custodian's round ---------------------------------------------------------------------

def _custodian(request, pk) -> Custodian:
    require(request.user, Cap.RECORD_OBSERVATIONS)
    custodian = Custodian.objects.select_related("jurisdiction").filter(pk=pk).first()
    if custodian is None or not obs.custodian_in_scope(request.user, custodian):
        raise Http404
    return custodian


def _round_rows(episodes, recorded: dict, typed: dict | None, problems: dict) -> list[dict]:
    rows = []
    for e in episodes:
        check = recorded.get(e.pk)
        if typed is not None and e.pk in typed:
            temperature, symptoms = typed[e.pk]
        else:
            temperature = "" if check is None or check.temperature is None else str(check.temperature)
            symptoms = list(check.symptoms or []) if check is not None else []
        rows.append({
            "episode": e, "temperature": temperature, "recorded": check is not None,
            "symptoms": [(code, label, code in symptoms) for code, label in obs.SYMPTOMS],
            "problems": [p.reason for p in problems.get(e.pk, [])],
        })
    return rows


@require_http_methods(["GET", "POST"])
@login_required
def check_round_view(request, pk: int):
    custodian = _custodian(request, pk)
    held = (
        Episode.objects.filter(custodian=custodian, state=states.IN_CUSTODY)
        .select_related("person", "protocol").order_by("person__name_pinyin", "pk")
    )
    if request.method == "POST":
        form = RoundForm(request.POST)
    elif "day" in request.GET or "slot" in request.GET:
        form = RoundForm(request.GET)
    else:
        form = RoundForm(initial={"day": timezone.localdate(), "slot": default_slot(obs.DEFAULT_SLOTS)})
    page = Paginator(held, ROUND_PAGE_SIZE).get_page(request.GET.get("page"))
    status, typed, result, other_problems, problems = 200, None, None, [], {}
    if form.is_bound and not form.is_valid():
        status = 400
    if request.method == "POST" and form.is_valid():
        day, slot = form.cleaned_data["day"], form.cleaned_data["slot"]
        typed, rows = {}, []
        for key in request.POST:
            if not key.startswith("t-") or not key[2:].isdigit():
                continue
            episode_id = int(key[2:])
            temperature, symptoms = request.POST.get(key, ""), request.POST.getlist(f"s-{episode_id}")
            typed[episode_id] = (temperature, symptoms)
            rows.append({"episode": episode_id, "temperature": temperature, "symptoms": symptoms})
        try:
            result = obs.check_round_record(custodian=custodian, day=day, slot=slot, rows=rows, actor=request.user)
        except ValidationError as exc:
            map_errors(form, exc)
            status = 400
        else:
            summary = _("%(written)s checks recorded, %(unchanged)s unchanged, %(skipped)s left empty.") % {
                "written": result.written, "unchanged": result.unchanged, "skipped": result.skipped}
            if result.alerts:
                summary += " " + _("%(alerts)s alerts raised.") % {"alerts": result.alerts}
            if not result.problems:
                messages.success(request, summary)
                query = f"?day={day.isoformat()}&slot={slot}"
                if page.number > 1:
                    query += f"&page={page.number}"
                return redirect(reverse("loop:check_round", args=[custodian.pk]) + query)
            messages.warning(request, summary + " " + _("%(rejected)s rows were refused; see the reasons next to them.")
                             % {"rejected": result.rejected})
            problems = result.problems_by_episode()
            shown = {e.pk for e in page.object_list}
            other_problems = [p for p in result.problems if p.episode_id not in shown]
    if form.is_valid():
        day, slot = form.cleaned_data["day"], form.cleaned_data["slot"]
    else:
        day, slot = form.initial.get("day") or timezone.localdate(), form.initial.get("slot") or "morning"
    episodes = list(page.object_list)
    recorded = {c.episode_id: c for c in HealthCheck.objects.filter(episode_id__in=[e.pk for e in episodes],
                                                                    day=day, slot=slot)}
    return render(request, "quarantine/obs_round.html", {
        "custodian": custodian, "form": form, "page": page, "day": day, "slot": slot,
        "rows": _round_rows(episodes, recorded, typed, problems), "result": result,
        "other_problems": other_problems, "symptoms": obs.SYMPTOMS, "fever_from": obs.FEVER_FROM,
        "page_query": f"day={day.isoformat()}&slot={slot}",
    }, status=status)


# --- the lab's result file ---------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@login_required
def result_upload_view(request):
    require(request.user, Cap.RECORD_OBSERVATIONS)
    form = ResultUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"results{Path(upload.name).suffix.lower()}"
            with path.open("wb") as fh:
                for chunk in upload.chunks():
                    fh.write(chunk)
            try:
                report = obs.results_import(path=path, file_name=upload.name, actor=request.user)
            except ValidationError as exc:
                map_errors(form, exc)
            else:
                flagged = [r for r in report.rows if r.outcome == "recorded"
                           and r.result in (TestResult.POSITIVE, TestResult.ASSESS)]
                return render(request, "quarantine/obs_result_report.html", {
                    "report": report, "problems": report.problems, "flagged": flagged,
                    "result_labels": dict(TestResult.choices),
                })
    return render(request, "quarantine/obs_result_upload.html", {"form": form}, status=400 if form.is_bound else 200)


# --- resolving an alert ---------------------------------------------------------------------

def _next(request, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback


@require_POST
@login_required
def alert_resolve_view(request, pk: int):
    require(request.user, Cap.RECORD_OBSERVATIONS)
    alert = (
        Alert.objects.select_related("episode__person", "episode__custodian__jurisdiction", "custodian")
        .filter(pk=pk).first()
    )
    if alert is None or not obs.in_reach(request.user, alert.episode):
        raise Http404
    form = AlertResolveForm(request.POST)
    form.is_valid()
    try:
        obs.alert_resolve(alert=alert, resolution=form.cleaned_data.get("resolution", ""), actor=request.user)
    except ValidationError as exc:
        map_errors(form, exc)
        return render(request, "quarantine/obs_alert_resolve.html", {"alert": alert, "form": form}, status=400)
    messages.success(request, _("The alert is resolved."))
    return redirect(_next(request, reverse("loop:health_check", args=[alert.episode_id])))
