"""A policy change in the browser: choose category and protocol, see the preview, confirm with a reason."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from closedloop.core.roles import Cap
from closedloop.core.scoping import require
from closedloop.quarantine.actions import replan_apply, replan_preview
from closedloop.quarantine.choices import Category
from closedloop.quarantine.models import Protocol, Replan


class ReplanForm(forms.Form):
    category = forms.ChoiceField(label=gettext_lazy("Category"), choices=Category.choices)
    protocol = forms.ModelChoiceField(label=gettext_lazy("New protocol version"), queryset=Protocol.objects.all())

    def clean(self):
        data = super().clean()
        protocol, category = data.get("protocol"), data.get("category")
        if protocol and category and protocol.category != category:
            self.add_error("protocol", _("This protocol is for another category."))
        return data


class ConfirmForm(ReplanForm):
    reason = forms.CharField(label=gettext_lazy("Reason (the notice or decision it follows)"), max_length=500,
                             widget=forms.Textarea(attrs={"rows": 2}))
    expected_people = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


def _page(request, form, preview=None, confirm=None, status=200):
    return render(request, "quarantine/replan.html", {
        "form": form, "preview": preview, "confirm": confirm, "today": timezone.localdate(),
        "history": Replan.objects.select_related("to_protocol", "actor")[:20],
    }, status=status)


@login_required
@require_GET
def replan_preview_view(request):
    require(request.user, Cap.REPLAN)
    if "category" not in request.GET:
        return _page(request, ReplanForm())
    form = ReplanForm(request.GET)
    if not form.is_valid():
        return _page(request, form, status=400)
    preview = replan_preview(category=form.cleaned_data["category"], protocol=form.cleaned_data["protocol"],
                             today=timezone.localdate(), actor=request.user)
    confirm = ConfirmForm(initial={**form.cleaned_data, "expected_people": preview.people})
    return _page(request, form, preview, confirm)


@login_required
@require_POST
def replan_confirm(request):
    require(request.user, Cap.REPLAN)
    confirm = ConfirmForm(request.POST)
    if confirm.is_valid():
        data = confirm.cleaned_data
        try:
            replan = replan_apply(category=data["category"], protocol=data["protocol"], today=timezone.localdate(),
                                  actor=request.user, reason=data["reason"], expected_people=data["expected_people"])
        except ValidationError as exc:
            confirm.add_error(None, exc)
        else:
            messages.success(request, _("%(count)s people moved to %(protocol)s.")
                             % {"count": replan.episodes, "protocol": replan.to_protocol})
            return redirect("loop:replan")
    form = ReplanForm(request.POST)
    preview = None
    if form.is_valid():
        preview = replan_preview(category=form.cleaned_data["category"], protocol=form.cleaned_data["protocol"],
                                 today=timezone.localdate(), actor=request.user)
    return _page(request, form, preview, confirm, status=400)
