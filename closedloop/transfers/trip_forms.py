"""Forms of the trip pages: the dispatch, the cancel, and the checklist of a hand-over built from the data
file. The actions decide what is valid; these only read the input, keep it, and put refusals next to the
field they are about."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from closedloop.transfers import checklist as cl
from closedloop.transfers.actions.trips import (
    DRIVER_MAX,
    ESCORTS_MAX,
    OVERRIDE_MAX,
    PLATE_MAX,
    REASON_MAX,
    SIGNATURE_MAX,
)
from closedloop.transfers.models import Passenger


class VersionMixin(forms.Form):
    # The trip's version the page was made from: a desk acting on a page another desk has overtaken is told.
    version = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)


class DispatchForm(VersionMixin):
    plate = forms.CharField(label=_("Plate"), required=False, max_length=PLATE_MAX,
                            widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "浙G·12345"}))
    driver = forms.CharField(label=_("Driver"), required=False, max_length=DRIVER_MAX)
    escorts = forms.CharField(label=_("Escort staff"), required=False, max_length=ESCORTS_MAX,
                              help_text=_("Names, separated by spaces."))


class CancelForm(VersionMixin):
    reason = forms.CharField(label=_("Why is the trip cancelled?"), required=False, max_length=REASON_MAX)


def map_errors(form: forms.Form, exc: ValidationError, *, computed: dict[str, list[str]] | None = None) -> None:
    """An action's refusal onto the form: ``trip_answers.<item>`` next to the item's tick (a counted item's
    reason into ``computed``), a field's next to it, anything else at the top."""
    if not hasattr(exc, "error_dict"):
        for message in exc.messages:
            form.add_error(None, message)
        return
    for key, errors in exc.error_dict.items():
        messages = [m for e in errors for m in e.messages]
        target = key
        if key.startswith("trip_answers."):
            code = key.split(".", 1)[1]
            target = f"t-{code}"
            if target not in form.fields and computed is not None:
                computed.setdefault(code, []).extend(messages)
                continue
        for message in messages:
            form.add_error(target if target in form.fields else None, message)


class ChecklistForm(VersionMixin):
    """One hand-over: per person a tick for each of their items (and, at home, whether they are handed over
    here), per trip a tick for each item that is ticked, both signatures, and headquarters' override."""

    giver = forms.CharField(label=_("Handed over by (signature)"), required=False, max_length=SIGNATURE_MAX)
    receiver = forms.CharField(label=_("Received by (signature)"), required=False, max_length=SIGNATURE_MAX)
    override_reason = forms.CharField(
        label=_("Override a failed item (headquarters), because"), required=False, max_length=OVERRIDE_MAX,
        help_text=_("Only to let the hand-over go ahead despite a failed item; the reason is kept with it."))

    def __init__(self, *args, stage: cl.Stage, passengers: list[Passenger], pick: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stage, self.passengers, self.pick = stage, passengers, pick
        language = get_language() or ""
        for p in passengers:
            if pick:
                self.fields[f"take-{p.episode_id}"] = forms.BooleanField(required=False, label=_("Hand over here"))
            for item in stage.person_items:
                self.fields[f"p{p.episode_id}-{item.code}"] = forms.BooleanField(required=False,
                                                                                 label=item.label(language))
        for item in stage.ticked_trip_items:
            self.fields[f"t-{item.code}"] = forms.BooleanField(
                required=False, label=item.label(language),
                help_text="" if item.blocking else _("Recorded; it does not stop the hand-over."))
        self.computed_errors: dict[str, list[str]] = {}

    # --- what the template walks --------------------------------------------------------------

    def rows(self) -> list[tuple[Passenger, forms.BoundField | None, list[forms.BoundField]]]:
        return [(p, self[f"take-{p.episode_id}"] if self.pick else None,
                 [self[f"p{p.episode_id}-{i.code}"] for i in self.stage.person_items]) for p in self.passengers]

    def person_labels(self) -> list[str]:
        language = get_language() or ""
        return [i.label(language) for i in self.stage.person_items]

    def trip_fields(self) -> list[forms.BoundField]:
        return [self[f"t-{i.code}"] for i in self.stage.ticked_trip_items]

    # --- what the action gets -----------------------------------------------------------------

    def chosen(self) -> list[int] | None:
        if not self.pick:
            return None
        return [p.episode_id for p in self.passengers if self.cleaned_data.get(f"take-{p.episode_id}")]

    def answers(self) -> dict[int, dict[str, bool]]:
        chosen = self.chosen()
        return {p.episode_id: {i.code: bool(self.cleaned_data.get(f"p{p.episode_id}-{i.code}"))
                               for i in self.stage.person_items}
                for p in self.passengers if chosen is None or p.episode_id in chosen}

    def trip_answers(self) -> dict[str, bool]:
        return {i.code: bool(self.cleaned_data.get(f"t-{i.code}")) for i in self.stage.ticked_trip_items}
