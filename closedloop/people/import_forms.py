from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from closedloop.people.importing.fields import FIELDS
from closedloop.people.models import ImportMapping
from closedloop.quarantine.choices import Category

MAX_UPLOAD_MB = 50


class UploadForm(forms.Form):
    file = forms.FileField(label=_("Roster file"), help_text=_("An .xlsx or .csv file, up to 50 MB."))
    category = forms.ChoiceField(
        label=_("Category for rows without one"), required=False,
        choices=[("", _("— none: the file says —"))] + list(Category.choices),
    )
    mapping = forms.ModelChoiceField(
        label=_("Saved column mapping"), required=False, queryset=ImportMapping.objects.all(), to_field_name="name",
        empty_label=_("— detect the columns —"),
    )

    def clean_file(self):
        f = self.cleaned_data["file"]
        name = f.name.lower()
        if not name.endswith((".xlsx", ".xlsm", ".xls", ".csv")):
            raise forms.ValidationError(_("Only .xlsx, .xls and .csv files can be imported."))
        if f.size > MAX_UPLOAD_MB * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than 50 MB; split it into smaller files."))
        return f


def field_choices():
    return [("", _("— not imported —"))] + [(k, label) for k, (label, _syn) in FIELDS.items()]


class LayoutForm(forms.Form):
    """The header row and one select per column; built for the file's headers."""

    header_row = forms.IntegerField(label=_("Header row"), min_value=1, max_value=50)
    category = forms.ChoiceField(
        label=_("Category for rows without one"), required=False,
        choices=[("", _("— none: the file says —"))] + list(Category.choices),
    )
    save_as = forms.CharField(label=_("Save this mapping as"), required=False, max_length=60,
                              help_text=_("Give it a name to reuse it for files of the same layout."))

    def __init__(self, *args, headers: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.headers = headers
        for i, text in enumerate(headers):
            if text:
                self.fields[f"col_{i}"] = forms.ChoiceField(label=text, required=False, choices=field_choices())

    def column_fields(self):
        return [self[f"col_{i}"] for i, text in enumerate(self.headers) if text]

    def clean(self):
        data = super().clean()
        chosen: dict[str, str] = {}
        for i, text in enumerate(self.headers):
            fld = data.get(f"col_{i}")
            if not fld:
                continue
            if fld in chosen:
                self.add_error(f"col_{i}", _("“%(other)s” is already mapped to this field.") % {"other": chosen[fld]})
            chosen[fld] = text
        if "name" not in chosen:
            raise forms.ValidationError(_("Map one column to Name: every row needs a name."))
        return data

    def columns(self) -> dict[int, str]:
        return {i: self.cleaned_data[f"col_{i}"] for i, text in enumerate(self.headers)
                if text and self.cleaned_data.get(f"col_{i}")}
