"""Forms of the care pages. The actions decide what is valid; these only read the input and keep it."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from closedloop.facilities.actions.care import DETAIL_MAX, OUTCOME_MAX
from closedloop.facilities.choices import CareKind


class CareRequestForm(forms.Form):
    # Nothing is required here: the action says what is missing, in the same words for the page and the API.
    kind = forms.ChoiceField(label=_("Need"), required=False, choices=[("", "—"), *CareKind.choices])
    detail = forms.CharField(label=_("What is needed"), required=False, max_length=DETAIL_MAX,
                             widget=forms.Textarea(attrs={"rows": 4}),
                             help_text=_("The medicine and dose, the food, who the dependent is and where …"))
    urgent = forms.BooleanField(required=False)

    def __init__(self, *args, urgent_hours: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["urgent"].label = _("Urgent (answer within %(hours)s hours)") % {"hours": urgent_hours}


class CareCloseForm(forms.Form):
    outcome = forms.CharField(label=_("What was done"), required=False, max_length=OUTCOME_MAX,
                              widget=forms.Textarea(attrs={"rows": 3}))

