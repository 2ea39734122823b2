"""Forms of the out-of-city registry's pages. They read what was typed; the actions decide what is valid
(``actions.away``), and a refusal goes back next to its field."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from closedloop.facilities.models import Facility
from closedloop.lib.text import clean_cell
from closedloop.quarantine.observation_forms import DateInput
from closedloop.transfers.actions.away import NOTE_MAX, REPORTABLE
from closedloop.transfers.choices import AwayStatus

MAX_UPLOAD_MB = 20


class AwayImportForm(forms.Form):
    file = forms.FileField(label=_("Roster file"), help_text=_("The .xlsx or .csv file the other city sent, "
                                                               "up to 20 MB."))
    origin_city = forms.CharField(
        label=_("City the people are isolated in"), max_length=60, required=False,
        help_text=_("Only needed when the file has no city column (所在城市), like 杭州市."))

    def clean_file(self):
        f = self.cleaned_data["file"]
        if not f.name.lower().endswith((".xlsx", ".xlsm", ".xls", ".csv")):
            raise ValidationError(_("Only .xlsx, .xls and .csv files can be imported."))
        if f.size > MAX_UPLOAD_MB * 1024 * 1024:
            raise ValidationError(_("The file is larger than %(size)s MB; split it into smaller files.")
                                  % {"size": MAX_UPLOAD_MB})
        return f

    def clean_origin_city(self) -> str:
        return clean_cell(self.cleaned_data.get("origin_city", ""))


class SiteField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Facility) -> str:
        return f"{obj.other_city} · {obj.name}"


class AwayReportForm(forms.Form):
    """What the other city reports of one resident."""

    status = forms.ChoiceField(label=_("Status"), choices=[(s.value, s.label) for s in REPORTABLE])
    release_on = forms.DateField(label=_("Release day there"), required=False, widget=DateInput(),
                                 help_text=_("The day they are (or were) released; empty keeps the one recorded."))
    origin = SiteField(label=_("Moved to the site"), queryset=Facility.objects.none(), required=False,
                       help_text=_("Only for a move to another site there."))
    note = forms.CharField(label=_("Note"), max_length=NOTE_MAX, required=False,
                           help_text=_("Who reported it, and how (kept in the audit log)."))

    def __init__(self, *args, sites: list[Facility], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._sites = {s.pk: s for s in sites}
        self.fields["origin"].queryset = Facility.objects.filter(pk__in=list(self._sites))
        # The choices are known already: no query per render.
        self.fields["origin"].choices = [("", "—"), *[(s.pk, f"{s.other_city} · {s.name}") for s in sites]]

    def clean_origin(self):
        site = self.cleaned_data.get("origin")
        return self._sites.get(site.pk, site) if site is not None else None

    def clean(self):
        data = super().clean()
        if data.get("status") == AwayStatus.MOVED and not data.get("origin"):
            self.add_error("origin", _("Say which site the person was moved to."))
        return data
