"""Pages of release: the checklist and the release (with the override), the printable release
certificate (解除医学观察意见书), and the public verification of a certificate's code.

Thin: parse, check permission, call one action, render. The rule itself is
``release_rules``; the action ``actions.release.episode_release``.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from closedloop.core.roles import Cap
from closedloop.core.scoping import require
from closedloop.quarantine import release_rules as rules
from closedloop.quarantine import states
from closedloop.quarantine.actions.custody import in_reach
from closedloop.quarantine.actions.release import (
    ReleaseBlocked,
    blocker_text,
    certificate_lookup,
    episode_release,
    release_check,
)
from closedloop.quarantine.models import Episode, ReleaseCertificate

STATUS_LABELS = {
    rules.NEGATIVE: gettext_lazy("Negative"),
    rules.MISSING: gettext_lazy("No sample recorded"),
    rules.MISSED_BEFORE_CONTROL: gettext_lazy("Missed before control"),
    rules.PENDING: gettext_lazy("Awaiting result"),
    rules.INVALID: gettext_lazy("Invalid sample"),
    rules.ASSESS: gettext_lazy("Needs risk assessment"),
    rules.POSITIVE: gettext_lazy("Positive"),
    rules.NOT_REQUIRED: gettext_lazy("Not required (before the change of protocol)"),
}
UPCOMING_LABEL = gettext_lazy("Still to come")
EXTRA_CODES = (rules.EXTRA_TEST_POSITIVE, rules.EXTRA_TEST_ASSESS)


class OverrideForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for releasing against the rule"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Recorded in the audit log and the custody ledger, and shown on reports."),
        error_messages={"required": gettext_lazy("Write the reason for releasing against the rule.")},
    )


def _episode(user, pk: int) -> Episode:
    """The episode, if the person or the custodian holding them is in the user's reach; 404 otherwise."""
    episode = (
        Episode.objects.select_related("person__town", "person__community", "protocol", "custodian__jurisdiction", "city")
        .filter(pk=pk).first()
    )
    if episode is None or not in_reach(user, episode):
        raise Http404
    return episode


def _phase_label(kind: str) -> str:
    return _(rules.PHASE_LABELS.get(kind, kind))


def _test_rows(checklist: rules.Checklist) -> list[dict]:
    return [
        {
            "phase": _phase_label(row.test.phase_kind),
            "day": row.test.day_of_phase,
            "date": row.test.date,
            "status": "upcoming" if row.upcoming else row.status,
            "label": UPCOMING_LABEL if row.upcoming else STATUS_LABELS.get(row.status, row.status),
            "met": row.met,
            "ct": getattr(row.specimen, "ct", None),
        }
        for row in checklist.tests
    ]


def _page(request, episode: Episode, *, form: OverrideForm | None = None, errors: list[str] | None = None,
          status: int = 200):
    check = release_check(episode) if episode.state == states.IN_CUSTODY else None
    context = {
        "episode": episode,
        "person": episode.person,
        "check": check,
        "in_custody": episode.state == states.IN_CUSTODY,
        "certificate": ReleaseCertificate.objects.filter(episode=episode).first(),
        "form": form or OverrideForm(),
        "errors": errors or [],
        "may_override": request.user.can(Cap.OVERRIDE_RELEASE),
    }
    if check is not None:
        shown = check.checklist
        context.update({
            "blockers": [blocker_text(b) for b in check.blockers],
            "waived": [blocker_text(b) for b in check.waived_by_override],
            "tests": _test_rows(shown),
            "alerts": [_(rules.ALERT_LABELS.get(a.kind, a.kind)) for a in shown.open_alerts],
            "extras": [blocker_text(b) for b in shown.blockers if b.code in EXTRA_CODES],
            "phase": _phase_label(check.schedule.phases[shown.phase_index].kind) if shown.phase_index is not None else "",
            "next_phase": _phase_label(check.transfer.phase_kind) if check.transfer else "",
        })
    return render(request, "quarantine/release_page.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def release_view(request, pk: int):
    require(request.user, Cap.RELEASE)
    episode = _episode(request.user, pk)
    if request.method == "GET":
        return _page(request, episode)
    override = request.POST.get("action") == "override"
    form = OverrideForm(request.POST if override else None)
    if override and not form.is_valid():
        return _page(request, episode, form=form, status=400)
    try:
        certificate = episode_release(
            episode=episode, actor=request.user, override_reason=form.cleaned_data["reason"] if override else "",
        )
    except ReleaseBlocked as exc:
        return _page(request, episode, form=form, errors=[blocker_text(b) for b in exc.blockers], status=400)
    except ValidationError as exc:
        return _page(request, episode, form=form, errors=exc.messages, status=400)
    messages.success(request, _("%(name)s has been released from control; the release certificate is issued.")
                     % {"name": episode.person.name})
    return redirect("loop:certificate", code=certificate.code)


@require_GET
@login_required
def certificate_view(request, code: str):
    require(request.user, Cap.VIEW_PEOPLE)
    certificate = (
        ReleaseCertificate.objects
        .select_related("episode__person", "episode__protocol", "episode__city", "issued_by")
        .filter(code=rules.normalize_code(code)).first()
    )
    if certificate is None:
        raise Http404
    episode = certificate.episode
    release_row = (
        episode.ledger.filter(kind=states.RELEASE).select_related("from_custodian__jurisdiction").order_by("-seq").first()
    )
    holder = release_row.from_custodian if release_row else None
    if not in_reach(request.user, episode, holder):
        raise Http404
    spec = episode.protocol.spec() if episode.protocol_id else None
    verify_page = request.build_absolute_uri(reverse("loop:verify"))
    return render(request, "quarantine/release_certificate.html", {
        "certificate": certificate,
        "episode": episode,
        "person": episode.person,
        "protocol_title": spec.title.in_language(get_language() or "zh") if spec else "",
        "released_on": timezone.localtime(certificate.issued_at).date(),
        "custodian": holder,
        "headquarters": _("%(city)s epidemic prevention and control headquarters") % {"city": episode.city.label},
        "code": rules.format_code(certificate.code),
        "verify_page": verify_page,
        "verify_url": f"{verify_page}?code={certificate.code}",
    })


@require_GET
def verify_view(request):
    """Public, no login: is this code genuine? A masked name, the release day, the city — nothing more."""
    typed = (request.GET.get("code") or "")[:40]
    return render(request, "quarantine/release_verify.html", {
        "typed": typed,
        "asked": bool(typed.strip()),
        "result": certificate_lookup(typed) if typed.strip() else None,
    })
