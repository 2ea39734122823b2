"""Forms of the facility registry. They parse and check what a clerk typed; the writes are the actions'
(``facility_create`` / ``facility_update`` / ``facility_set_status`` / ``rooms_bulk_create`` / ``rooms_import``)."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from closedloop.core.models import Jurisdiction, User
from closedloop.core.scoping import jurisdictions_visible, user_jurisdictions
from closedloop.facilities.actions.facilities import EDITABLE, REASON_NEEDED
from closedloop.facilities.choices import FacilityKind, FacilityStatus
from closedloop.facilities.models import Facility
from closedloop.lib.phones import PhoneError, parse_phone
from closedloop.lib.text import clean_cell

MAX_UPLOAD_MB = 10


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


def user_city(user) -> Jurisdiction | None:
    """The city the user works for: a facility registered without a town belongs to it."""
    for j in user_jurisdictions(user):
        if j.level == Jurisdiction.Level.CITY:
            return j
    for j in user_jurisdictions(user):
        if j.city_id:
            return Jurisdiction.objects.get(pk=j.city_id)
    return None


def visible_towns(user) -> list[Jurisdiction]:
    return list(jurisdictions_visible(user).filter(level=Jurisdiction.Level.TOWN).order_by("code"))


def clean_contact_phone(text: str) -> str:
    """The contact phone normalised (13812345678, 0579-85123456), or a ValidationError a clerk can act on."""
    text = clean_cell(text)
    if not text:
        return ""
    try:
        return parse_phone(text)
    except PhoneError as exc:
        raise ValidationError(exc.translated(gettext)) from None


class TownField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Jurisdiction) -> str:
        return obj.label


class FacilityForm(forms.Form):
    """The registry data and settings of a facility; kind and code are fixed once registered."""

    kind = forms.ChoiceField(label=_("Type"), choices=FacilityKind.choices)
    name = forms.CharField(label=_("Facility name"), max_length=120)
    code = forms.CharField(label=_("Code"), max_length=60,
                           help_text=_("A short unique code, like site-choucheng-1; it never changes."))
    jurisdiction = TownField(label=_("Town or street"), queryset=Jurisdiction.objects.none(), required=False,
                             help_text=_("Empty for the city's own transfer station or a site in another city."))
    other_city = forms.CharField(label=_("City (if elsewhere)"), max_length=60, required=False,
                                 help_text=_("Required for an isolation site in another city, like 杭州市."))
    address = forms.CharField(label=_("Facility address"), max_length=200, required=False)
    contact_name = forms.CharField(label=_("Contact"), max_length=60, required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=40, required=False)
    turnaround_hours = forms.IntegerField(
        label=_("Room turnaround (hours)"), min_value=1, max_value=240, initial=24,
        help_text=_("Terminal disinfection and airing after check-out, before a room is used again."))
    allow_companions = forms.BooleanField(
        label=_("A child, elderly or dependent person may share a room with a household member"), required=False,
        initial=True)
    staff_test_every_days = forms.IntegerField(label=_("Staff tested every (days)"), min_value=1, max_value=14,
                                               initial=1)
    latitude = forms.FloatField(label=_("Latitude"), min_value=-90, max_value=90, required=False)
    longitude = forms.FloatField(label=_("Longitude"), min_value=-180, max_value=180, required=False)

    def __init__(self, *args, user, facility: Facility | None = None, **kwargs):
        self.user, self.facility = user, facility
        if facility is not None and "initial" not in kwargs:
            kwargs["initial"] = {name: getattr(facility, name) for name in EDITABLE if name != "jurisdiction"}
            kwargs["initial"]["jurisdiction"] = facility.jurisdiction_id
        super().__init__(*args, **kwargs)
        towns = visible_towns(user)
        if facility is not None and facility.jurisdiction is not None and facility.jurisdiction not in towns:
            towns.append(facility.jurisdiction)  # keep the current town selectable
        self._towns = {t.pk: t for t in towns}
        self.fields["jurisdiction"].queryset = Jurisdiction.objects.filter(pk__in=list(self._towns))
        # The choices are known already: no query per render.
        self.fields["jurisdiction"].choices = [("", "—"), *[(t.pk, t.label) for t in towns]]
        if facility is not None:
            del self.fields["kind"], self.fields["code"]
        self.fields["name"].widget.attrs.update({"autocomplete": "off", "autofocus": True})
        self.fields["contact_phone"].widget.attrs.update({"autocomplete": "off", "inputmode": "tel"})

    def clean_name(self) -> str:
        name = clean_cell(self.cleaned_data["name"])
        if not name:
            raise ValidationError(_("Enter the name."))
        return name

    def clean_code(self) -> str:
        code = clean_cell(self.cleaned_data["code"]).replace(" ", "")
        if not code:
            raise ValidationError(_("Enter the code."))
        return code

    def clean_jurisdiction(self):
        town = self.cleaned_data.get("jurisdiction")
        return self._towns.get(town.pk, town) if town is not None else None

    def clean_contact_phone(self) -> str:
        return clean_contact_phone(self.cleaned_data.get("contact_phone", ""))

    def city(self) -> Jurisdiction | None:
        town = self.cleaned_data.get("jurisdiction")
        if town is not None:
            return Jurisdiction.objects.get(pk=town.city_id) if town.city_id else None
        return user_city(self.user)

    def changes(self) -> dict:
        """The editable fields, as the actions take them."""
        data = self.cleaned_data
        out = {name: data.get(name) for name in EDITABLE}
        for name in ("other_city", "address", "contact_name"):
            out[name] = clean_cell(out[name] or "")
        out["allow_companions"] = bool(data.get("allow_companions"))
        return out


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=FacilityStatus.choices)
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False,
                             help_text=_("Kept in the audit log; needed to pause or close."))

    def clean(self):
        data = super().clean()
        if data.get("status") in REASON_NEEDED and not clean_cell(data.get("reason", "")):
            self.add_error("reason", _("Say why the site is paused or closed."))
        return data


class MemberForm(forms.Form):
    username = forms.CharField(label=_("Account (user name)"), max_length=150)

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_username(self):
        name = clean_cell(self.cleaned_data["username"])
        account = User.objects.filter(username=name, is_active=True).first()
        # Only accounts of the places the actor may see: no guessing at other cities' accounts.
        visible = jurisdictions_visible(self.user).values("pk")
        if account is None or not account.jurisdictions.filter(pk__in=visible).exists():
            raise ValidationError(_("No active account of your jurisdiction has the user name %(name)s.")
                                  % {"name": name})
        return account


def parse_room_numbers(text: str) -> frozenset[int]:
    """ "01, 02 03、5" → {1, 2, 3, 5}: room numbers on a floor (01–99)."""
    parts = [p for p in re.split(r"[\s,，;；、]+", clean_cell(text)) if p]
    numbers = set()
    for part in parts:
        if not part.isdigit() or not 0 <= int(part) <= 99:
            raise ValidationError(_("“%(value)s” is not a room number on a floor (01 to 99).") % {"value": part})
        numbers.add(int(part))
    return frozenset(numbers)


class BulkRoomsForm(forms.Form):
    """ "Building B, floors 3–12, rooms 01–30, 1 bed, rooms 01 and 02 of each floor accessible"."""

    building = forms.CharField(label=_("Building"), max_length=20, required=False,
                               help_text=_("Like B or 2号楼; empty when the site has one building."))
    floor_from = forms.IntegerField(label=_("From floor"), min_value=-5, max_value=200)
    floor_to = forms.IntegerField(label=_("To floor"), min_value=-5, max_value=200)
    room_from = forms.IntegerField(label=_("From room"), min_value=0, max_value=99, initial=1,
                                   help_text=_("The last two digits of the room number: 01 makes 301, 401 …"))
    room_to = forms.IntegerField(label=_("To room"), min_value=0, max_value=99)
    beds = forms.IntegerField(label=_("Beds per room"), min_value=1, max_value=8, initial=1)
    accessible_rooms = forms.CharField(label=_("Accessible room numbers on each floor"), max_length=300,
                                       required=False, help_text=_("Like 01, 02: those rooms of every floor."))

    def clean_building(self) -> str:
        return clean_cell(self.cleaned_data.get("building", ""))

    def clean_accessible_rooms(self) -> frozenset[int]:
        return parse_room_numbers(self.cleaned_data.get("accessible_rooms", ""))


class RoomImportForm(forms.Form):
    file = forms.FileField(label=_("Room list"), help_text=_("An .xlsx or .csv file, up to 10 MB."))

    def clean_file(self):
        f = self.cleaned_data["file"]
        if not f.name.lower().endswith((".xlsx", ".xlsm", ".xls", ".csv")):
            raise ValidationError(_("Only .xlsx, .xls and .csv files can be imported."))
        if f.size > MAX_UPLOAD_MB * 1024 * 1024:
            raise ValidationError(_("The file is larger than %(size)s MB; split it into smaller files.")
                                  % {"size": MAX_UPLOAD_MB})
        return f
