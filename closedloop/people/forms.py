"""Forms of the person registry. They parse and check what a clerk typed; the
writes are the actions' (``person_register`` / ``person_update``)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from closedloop.core.models import Jurisdiction
from closedloop.core.scoping import jurisdictions_visible, user_jurisdictions
from closedloop.lib.dates import DateError, check_not_future, parse_date
from closedloop.lib.identity import RESIDENT_ID, IdError, parse_other_document, parse_resident_id
from closedloop.lib.phones import PhoneError, parse_phone, parse_phones
from closedloop.lib.text import CellError, clean_cell
from closedloop.people.actions import PersonData
from closedloop.people.choices import FLAGS, DocType, Sex

# Personal data a form never shows back: on edit these start empty, and empty keeps the stored value.
PII_FIELDS = ("doc_number", "phone", "phone_other", "address")


def error_text(exc: CellError) -> str:
    """The reason of a helper's error in the active language."""
    translated = getattr(exc, "translated", None)
    return translated(gettext) if callable(translated) else exc.reason


def sex_label(code: str) -> str:
    return str(dict(Sex.choices).get(code, code))


class PlaceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Jurisdiction) -> str:
        if obj.level == Jurisdiction.Level.COMMUNITY and obj.parent is not None:
            return f"{obj.parent.label} · {obj.label}"
        return obj.label


def place_choices(user) -> tuple[list[Jurisdiction], list[Jurisdiction]]:
    """(towns, communities) the user may pick: their own and those below, plus the
    town of a community-level user's community so the town select is never empty."""
    rows = list(jurisdictions_visible(user).select_related("parent", "city").order_by("code"))
    communities = [j for j in rows if j.level == Jurisdiction.Level.COMMUNITY]
    towns = {j.pk: j for j in rows if j.level == Jurisdiction.Level.TOWN}
    for c in communities:
        if c.parent_id not in towns and c.parent is not None:
            towns[c.parent_id] = c.parent
    return sorted(towns.values(), key=lambda j: j.code), communities


class PersonForm(forms.Form):
    """The registrable fields of ``PersonData``, with the rules a clerk is told about."""

    name = forms.CharField(label=_("Name"), max_length=60)
    doc_type = forms.ChoiceField(
        label=_("Document type"), choices=[("", "—"), *DocType.choices], required=False, initial=RESIDENT_ID
    )
    doc_number = forms.CharField(label=_("Document number"), max_length=40, required=False)
    sex = forms.ChoiceField(label=_("Sex"), choices=[("", "—"), *Sex.choices], required=False)
    birth_date = forms.CharField(
        label=_("Birth date"), max_length=30, required=False,
        help_text=_("Like 1990-05-17 or 1990年5月17日; filled from a resident ID number when left empty."),
    )
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    phone_other = forms.CharField(label=_("Other phones"), max_length=60, required=False)
    town = PlaceChoiceField(label=_("Town or street"), queryset=Jurisdiction.objects.none(), required=False)
    community = PlaceChoiceField(
        label=_("Village or community"), queryset=Jurisdiction.objects.none(), required=False
    )
    address = forms.CharField(label=_("Home address"), max_length=200, required=False)
    employer = forms.CharField(label=_("Employer"), max_length=120, required=False)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    reason = forms.CharField(
        label=_("Reason for the change"), max_length=300, required=False,
        help_text=_("Kept in the audit log with the change."),
    )

    def __init__(self, *args, user, person=None, **kwargs):
        self.user = user
        self.person = person
        if person is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(person)
        super().__init__(*args, **kwargs)
        for flag, label in FLAGS:
            self.fields[flag] = forms.BooleanField(label=label, required=False)
        towns, communities = place_choices(user)
        self.fields["town"].queryset = Jurisdiction.objects.filter(pk__in=[t.pk for t in towns]).order_by("code")
        self.fields["community"].queryset = (
            Jurisdiction.objects.filter(pk__in=[c.pk for c in communities]).select_related("parent").order_by("code")
        )
        # The choices are already known: avoid a query per select when rendering.
        self.fields["town"].choices = [("", "—"), *[(t.pk, t.label) for t in towns]]
        self.fields["community"].choices = [
            ("", "—"), *[(c.pk, self.fields["community"].label_from_instance(c)) for c in communities]
        ]
        self._places = {j.pk: j for j in [*towns, *communities]}
        if person is None:
            del self.fields["reason"]
        else:
            # Stored personal data is never put back into the page unmasked.
            masked = {
                "doc_number": person.doc_number_masked, "phone": person.phone_masked,
                "phone_other": "***" if person.phone_other else "", "address": "***" if person.address else "",
            }
            for name in PII_FIELDS:
                if masked[name]:
                    self.fields[name].widget.attrs["placeholder"] = masked[name]
                    self.fields[name].help_text = _("Leave empty to keep the current value.")
        self.fields["name"].widget.attrs.update({"autocomplete": "off", "autofocus": True})
        self.fields["doc_number"].widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})
        self.fields["phone"].widget.attrs.update({"autocomplete": "off", "inputmode": "tel"})

    @staticmethod
    def initial_for(person) -> dict:
        initial = {
            "name": person.name, "doc_type": person.doc_type, "sex": person.sex,
            "birth_date": person.birth_date.isoformat() if person.birth_date else "",
            "town": person.town_id, "community": person.community_id, "employer": person.employer,
            "notes": person.notes,
        }
        initial.update({flag: getattr(person, flag) for flag, _label in FLAGS})
        return initial

    # --- single fields ---------------------------------------------------------------
    def clean_name(self) -> str:
        name = clean_cell(self.cleaned_data["name"])
        if not name:
            raise forms.ValidationError(_("Enter the name."))
        return name

    def clean_town(self):
        town = self.cleaned_data.get("town")
        return self._places.get(town.pk, town) if town is not None else None

    def clean_community(self):
        community = self.cleaned_data.get("community")
        return self._places.get(community.pk, community) if community is not None else None

    def clean_birth_date(self):
        text = clean_cell(self.cleaned_data.get("birth_date"))
        if not text:
            return None
        today = timezone.localdate()
        try:
            return check_not_future(parse_date(text, context_year=today.year, today=today), today)
        except DateError as exc:
            raise forms.ValidationError(error_text(exc)) from None

    def clean_phone(self) -> str:
        text = clean_cell(self.cleaned_data.get("phone"))
        if not text:
            return ""
        try:
            return parse_phone(text)
        except PhoneError as exc:
            raise forms.ValidationError(error_text(exc)) from None

    def clean_phone_other(self) -> str:
        text = clean_cell(self.cleaned_data.get("phone_other"))
        if not text:
            return ""
        try:
            return " / ".join(parse_phones(text))
        except PhoneError as exc:
            raise forms.ValidationError(error_text(exc)) from None

    # --- across fields ---------------------------------------------------------------
    def clean(self):
        data = super().clean()
        self._clean_place(data)
        self._clean_document(data)
        return data

    def _clean_place(self, data) -> None:
        town, community = data.get("town"), data.get("community")
        if "town" in self.errors or "community" in self.errors:
            return
        if community is not None and town is None:
            data["town"] = town = self._places.get(community.parent_id) or community.parent
        if community is not None and town is not None and community.parent_id != town.pk:
            self.add_error("community", _("This community is not in the chosen town or street."))
        elif town is None:
            self.add_error("town", _("Choose the town or street where the person lives."))

    def _clean_document(self, data) -> None:
        doc_type = data.get("doc_type") or ""
        text = clean_cell(data.get("doc_number"))
        kept = self.person is not None and not text
        if kept:
            # An empty number on edit keeps the stored one (never shown back in the page).
            if doc_type and doc_type != self.person.doc_type and self.person.doc_number:
                self.add_error("doc_number", _("Enter the number again when you change the document type."))
                return
            number = self.person.doc_number
            if number:
                doc_type = doc_type or self.person.doc_type
        else:
            number = text
        if number and not doc_type:
            self.add_error("doc_type", _("Choose the type of this document."))
            return
        if doc_type and not number:
            if doc_type == RESIDENT_ID and "doc_type" not in self.changed_data and self.person is None:
                data["doc_type"] = ""  # the default type with no number: no document at all
                return
            self.add_error("doc_number", _("Enter the document number, or leave the type empty."))
            return
        data["doc_type"], data["doc_number"] = doc_type, number
        if not number:
            return
        if doc_type == RESIDENT_ID:
            try:
                rid = parse_resident_id(number, today=timezone.localdate())
            except IdError as exc:
                self.add_error("doc_number", error_text(exc))
                return
            data["doc_number"] = rid.number
            self._cross_check(data, rid.sex, rid.birth_date)
        elif not kept:
            try:
                data["doc_number"] = parse_other_document(doc_type, number)
            except IdError as exc:
                self.add_error("doc_number", error_text(exc))

    def _cross_check(self, data, sex: str, birth) -> None:
        """Sex and birth date come from the ID number; a different typed value is pointed out."""
        typed_sex = data.get("sex")
        if typed_sex and typed_sex != sex:
            self.add_error("sex", _("The ID number says %(sex)s, not %(typed)s; check both.") % {
                "sex": sex_label(sex), "typed": sex_label(typed_sex)})
        elif "sex" not in self.errors:
            data["sex"] = sex
        typed_birth = data.get("birth_date")
        if "birth_date" in self.errors:
            return
        if typed_birth and typed_birth != birth:
            self.add_error("birth_date", _("The ID number says born on %(date)s, not %(typed)s; check both.") % {
                "date": birth.isoformat(), "typed": typed_birth.isoformat()})
        else:
            data["birth_date"] = birth

    # --- what the action receives ------------------------------------------------------
    def person_data(self) -> PersonData:
        d = self.cleaned_data
        town, community = d.get("town"), d.get("community")
        city = (town.city if town is not None else None) or self._user_city()
        keep = self.person
        return PersonData(
            name=d["name"], city=city, town=town, community=community,
            doc_type=d.get("doc_type") or "", doc_number=d.get("doc_number") or "",
            sex=d.get("sex") or "", birth_date=d.get("birth_date"),
            phone=d.get("phone") or (keep.phone if keep else ""),
            phone_other=d.get("phone_other") or (keep.phone_other if keep else ""),
            address=clean_cell(d.get("address")) or (keep.address if keep else ""),
            employer=clean_cell(d.get("employer")), notes=(d.get("notes") or "").strip(),
            flags={flag: bool(d.get(flag)) for flag, _label in FLAGS},
            is_synthetic=keep.is_synthetic if keep else False,
        )

    def _user_city(self):
        for j in user_jurisdictions(self.user):
            return j.city or j
        return None
