"""Forms of the observation pages. They carry what was typed to the actions,
which check it (``actions.observations``); a refusal goes back next to its field."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from closedloop.core.templatetags.cl import cn_date
from closedloop.quarantine.actions.observations import SYMPTOMS, slot_label
from closedloop.quarantine.choices import CheckSlot, TestKind, TestResult

MAX_UPLOAD_MB = 50


def default_slot(slots, now=None) -> str:
    """The check due at this hour: the last slot whose time has come (the first before any)."""
    now = timezone.localtime(now)
    times = {"morning": 8, "noon": 12, "afternoon": 15, "evening": 18, "daily": 8}
    current = [s for s in slots if times.get(s, 0) <= now.hour]
    return current[-1] if current else slots[0]


def map_errors(form: forms.Form, exc: ValidationError) -> None:
    """An action's refusal onto the form: a field's reason next to it, anything else at the top."""
    if hasattr(exc, "error_dict"):
        for key, errors in exc.error_dict.items():
            target = key if key in form.fields else None
            for error in errors:
                form.add_error(target, error)
    else:
        for message in exc.messages:
            form.add_error(None, message)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class HealthCheckForm(forms.Form):
    day = forms.DateField(label=_("Date"), widget=DateInput())
    slot = forms.ChoiceField(label=_("Check"))
    temperature = forms.CharField(
        label=_("Temperature (°C)"), max_length=10, required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "size": 5}),
        help_text=_("Like 36.5; 37.3 °C or more raises a fever alert."),
    )
    symptoms = forms.MultipleChoiceField(
        label=_("Symptoms"), choices=SYMPTOMS, required=False, widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, slots, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slot"].choices = [(s, slot_label(s)) for s in slots]
        if not self.is_bound:
            self.initial.setdefault("day", timezone.localdate())
            self.initial.setdefault("slot", default_slot(slots))


class SpecimenForm(forms.Form):
    kind = forms.ChoiceField(label=_("Test"), choices=TestKind.choices, initial=TestKind.PCR)
    sampled_at = forms.DateTimeField(label=_("Sampled at"), widget=DateTimeInput())
    barcode = forms.CharField(label=_("Barcode"), max_length=60, required=False,
                              widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    scheduled_for = forms.ChoiceField(
        label=_("Scheduled test day"), required=False,
        help_text=_("Left empty, a nucleic-acid sample taken on a test day answers that day's test."),
    )

    def __init__(self, *args, test_days=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scheduled_for"].choices = [("", _("— the day it was taken, if a test day —"))] + [
            (d.isoformat(), cn_date(d)) for d in test_days
        ]
        if not self.is_bound:
            self.initial.setdefault("sampled_at", timezone.localtime().replace(second=0, microsecond=0))

    def clean_scheduled_for(self):
        from datetime import date

        value = self.cleaned_data.get("scheduled_for")
        return date.fromisoformat(value) if value else None


RESULT_CHOICES = [("", "—")] + [(v, label) for v, label in TestResult.choices if v != TestResult.PENDING]


class ResultForm(forms.Form):
    specimen = forms.ChoiceField(label=_("Sample"))
    ct = forms.CharField(label=_("Ct value"), max_length=10, required=False,
                         widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "size": 5}),
                         help_text=_("For a nucleic-acid test: the lowest Ct of the genes tested."))
    result = forms.ChoiceField(label=_("Result"), choices=RESULT_CHOICES, required=False,
                               help_text=_("Without a Ct value: the result as the lab reports it."))
    lab = forms.CharField(label=_("Laboratory"), max_length=120, required=False)

    def __init__(self, *args, specimens=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["specimen"].choices = [
            (s.pk, f"{s.barcode or '#' + str(s.pk)} · {s.get_kind_display()} · "
                   f"{cn_date(s.sampled_at)}") for s in specimens
        ]

    def clean(self):
        data = super().clean()
        ct, result = (data.get("ct") or "").strip(), data.get("result") or ""
        if ct and result:
            raise ValidationError(_("Give a Ct value or a result, not both."))
        if not ct and not result:
            self.add_error("ct", _("Enter the Ct value, or choose the result."))
        data["result_or_ct"] = ct or result
        return data


class RoundForm(forms.Form):
    day = forms.DateField(label=_("Date"), widget=DateInput())
    slot = forms.ChoiceField(label=_("Check"), choices=[
        (s, label) for s, label in CheckSlot.choices
    ])


class ResultUploadForm(forms.Form):
    file = forms.FileField(label=_("Result file"), help_text=_("The lab's .xlsx or .csv file, up to 50 MB."))

    def clean_file(self):
        f = self.cleaned_data["file"]
        if not f.name.lower().endswith((".xlsx", ".xlsm", ".xls", ".csv")):
            raise ValidationError(_("Only .xlsx, .xls and .csv files can be imported."))
        if f.size > MAX_UPLOAD_MB * 1024 * 1024:
            raise ValidationError(_("The file is larger than 50 MB; split it into smaller files."))
        return f


class AlertResolveForm(forms.Form):
    resolution = forms.CharField(label=_("What was done"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 2}))
    next = forms.CharField(required=False, widget=forms.HiddenInput)
