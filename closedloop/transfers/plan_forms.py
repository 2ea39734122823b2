"""Forms of the plan pages: making a plan (a note), and the two changes a re-plan knows."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from closedloop.quarantine.observation_forms import DateTimeInput
from closedloop.transfers.actions.plans import NOTE_MAX

MOMENT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]
CHANGES = ("not_ready", "coach_out")


class MakeForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=NOTE_MAX, required=False,
                           help_text=_("Why this plan is made, for the plans list (optional)."))


class NotReadyForm(forms.Form):
    """A household left behind at boarding, or released later than the plan assumed."""

    group = forms.CharField(label=_("Household group"), max_length=40,
                            widget=forms.TextInput(attrs={"list": "waiting-groups", "autocomplete": "off"}),
                            help_text=_("As the manifest names it, e.g. o12-h345."))
    ready_at = forms.DateTimeField(label=_("Ready again at"), input_formats=MOMENT_FORMATS, widget=DateTimeInput())
    note = forms.CharField(label=_("Note"), max_length=NOTE_MAX, required=False)

    def clean_group(self) -> str:
        return self.cleaned_data["group"].strip()


class CoachOutForm(forms.Form):
    coach = forms.IntegerField(label=_("Coach number"), min_value=1,
                               help_text=_("As the timeline numbers coaches: 1, 2, …"))
    out_from = forms.DateTimeField(label=_("Out of service from"), input_formats=MOMENT_FORMATS,
                                   widget=DateTimeInput())
    note = forms.CharField(label=_("Note"), max_length=NOTE_MAX, required=False)
