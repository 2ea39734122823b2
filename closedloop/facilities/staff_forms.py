"""Forms of the staff pages. They carry what was typed to the actions (``actions.staff``),
which check it; a refusal goes back next to its field (``map_errors``)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from closedloop.facilities.choices import PpeLevel, Shift, StaffStatus, TaskGroup
from closedloop.quarantine.observation_forms import DateInput, map_errors  # noqa: F401  (re-exported for views)


class StaffAddForm(forms.Form):
    """A registered person, chosen among the search results, and their post."""

    person = forms.ChoiceField(label=_("Person"), widget=forms.RadioSelect,
                               error_messages={"required": _("Search for the person, then choose them."),
                                               "invalid_choice": _("Choose a person from the search results.")})
    task_group = forms.ChoiceField(label=_("Task group"), choices=TaskGroup.choices)
    post = forms.CharField(label=_("Post"), max_length=60, required=False,
                           help_text=_("Where they work, e.g. floor 3 nurses' station, red zone, gate."))
    ppe_level = forms.ChoiceField(label=_("Protection level"), choices=PpeLevel.choices, initial=PpeLevel.LEVEL_2)
    on_duty_from = forms.DateField(label=_("On duty from"), widget=DateInput())

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [(str(p.pk), p.name) for p in people]
        if not self.is_bound:
            self.initial.setdefault("on_duty_from", timezone.localdate())


class StaffEditForm(forms.Form):
    task_group = forms.ChoiceField(label=_("Task group"), choices=TaskGroup.choices)
    post = forms.CharField(label=_("Post"), max_length=60, required=False)
    ppe_level = forms.ChoiceField(label=_("Protection level"), choices=PpeLevel.choices)


class DayForm(forms.Form):
    """The day a round is for (``?day=2022-08-03``); today when not given."""

    day = forms.DateField(label=_("Date"), widget=DateInput())


class LeaveForm(forms.Form):
    off_duty_on = forms.DateField(label=_("Last day on duty"), widget=DateInput(),
                                  help_text=_("Day 1 of the rotation: it is counted as the last day of exposure."))
    reason = forms.CharField(label=_("Note"), max_length=300, required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))


class RosterFillForm(forms.Form):
    """Put a whole task group (or everyone) on one shift for several days of the week shown."""

    task_group = forms.ChoiceField(label=_("Task group"), required=False,
                                   choices=[("", _("Everyone on duty"))] + list(TaskGroup.choices))
    shift = forms.ChoiceField(label=_("Shift"), choices=Shift.choices)
    day_from = forms.DateField(label=_("From"), widget=DateInput())
    day_to = forms.DateField(label=_("To"), widget=DateInput())

    def clean(self):
        data = super().clean()
        first, last = data.get("day_from"), data.get("day_to")
        if first and last:
            if last < first:
                self.add_error("day_to", _("The last day comes before the first."))
            elif (last - first).days > 30:
                self.add_error("day_to", _("Fill at most 31 days at a time."))
        return data


STATUS_FILTERS = [("on_duty", StaffStatus.ON_DUTY.label), ("off_duty", StaffStatus.OFF_DUTY.label),
                  ("all", _("All"))]
