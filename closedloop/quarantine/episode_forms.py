"""Forms of the episode page: placing, handing over, receiving, refusing, closing.

They parse and check what the desk typed; the writes are the custody actions'
(``episode_place``, ``handover_give`` …). Each carries the episode ``version``
the page was drawn from, so a desk acting on a page another desk has since
changed is told so instead of acting on what it no longer sees.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from closedloop.lib.dates import DateError, check_not_future, parse_date, parse_datetime
from closedloop.quarantine.models import Custodian


def _error_text(exc) -> str:
    translated = getattr(exc, "translated", None)
    return translated(gettext) if callable(translated) else str(getattr(exc, "reason", exc))


def custodian_label(custodian: Custodian) -> str:
    return f"{custodian.name} · {custodian.get_kind_display()}"


class CustodianField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Custodian) -> str:
        return custodian_label(obj)


class EpisodeActionForm(forms.Form):
    """The hidden version of the episode as the page showed it."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    prefix_name = ""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", self.prefix_name)
        super().__init__(*args, **kwargs)


def _custodian_choices(field: CustodianField, custodians: list[Custodian]) -> None:
    """Validate against these custodians only, and render them without another query."""
    field.queryset = Custodian.objects.filter(pk__in=[c.pk for c in custodians], active=True)
    field.choices = [("", "—"), *[(c.pk, custodian_label(c)) for c in custodians]]


class PlaceForm(EpisodeActionForm):
    prefix_name = "place"
    custodian = CustodianField(label=_("Custodian"), queryset=Custodian.objects.none())
    placed_on = forms.CharField(
        label=_("Placed under control on"), max_length=30, required=False,
        help_text=_("Like 2022-08-03; today when left empty."),
    )
    signed_by = forms.CharField(label=_("Received and signed by"), max_length=60, required=False)

    def __init__(self, *args, custodians: list[Custodian], **kwargs):
        super().__init__(*args, **kwargs)
        _custodian_choices(self.fields["custodian"], custodians)
        self.fields["placed_on"].widget.attrs.update({"type": "date"})

    def clean_placed_on(self) -> dt.date | None:
        text = (self.cleaned_data.get("placed_on") or "").strip()
        if not text:
            return None
        today = timezone.localdate()
        try:
            return check_not_future(parse_date(text, context_year=today.year, today=today), today)
        except DateError as exc:
            raise forms.ValidationError(_error_text(exc)) from None


class GiveForm(EpisodeActionForm):
    prefix_name = "give"
    to_custodian = CustodianField(label=_("Receiver"), queryset=Custodian.objects.none())
    expected_by = forms.CharField(
        label=_("Expected arrival"), max_length=30,
        help_text=_("Local time, like 2022-08-03 14:30. Not received by then plus the grace period, "
                    "the person is reported lost in transit."),
    )
    signed_by = forms.CharField(label=_("Handed over and signed by"), max_length=60)
    reason = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args, custodians: list[Custodian], **kwargs):
        super().__init__(*args, **kwargs)
        _custodian_choices(self.fields["to_custodian"], custodians)
        self.fields["expected_by"].widget.attrs.update({"type": "datetime-local"})

    def clean_expected_by(self) -> dt.datetime:
        text = (self.cleaned_data.get("expected_by") or "").strip()
        today = timezone.localdate()
        try:
            return parse_datetime(text, context_year=today.year, today=today, tz=timezone.get_default_timezone())
        except DateError as exc:
            raise forms.ValidationError(_error_text(exc)) from None


class ReceiveForm(EpisodeActionForm):
    prefix_name = "receive"
    signed_by = forms.CharField(label=_("Received and signed by"), max_length=60)


class RefuseForm(EpisodeActionForm):
    prefix_name = "refuse"
    reason = forms.CharField(label=_("Why the person is refused"), max_length=300,
                             widget=forms.Textarea(attrs={"rows": 2}))


class CloseForm(EpisodeActionForm):
    prefix_name = "close"
    reason = forms.CharField(
        label=_("Why the episode is closed"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Only for an episode that should not exist (listed in error, a duplicate); never a release."),
    )
