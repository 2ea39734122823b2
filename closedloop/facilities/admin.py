"""Back office of the facility registry. Facilities are registered and changed through the actions (so the
admin is audited like any desk); rooms are added through ``room_create`` and otherwise only read: a room's
status changes through check-in, check-out and the cleaners' actions, never by hand."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from closedloop.facilities.actions import facility_create, facility_set_status, facility_update, room_create
from closedloop.facilities.actions.facilities import EDITABLE, facility_check
from closedloop.facilities.choices import FacilityStatus
from closedloop.facilities.models import Facility, Room
from closedloop.facilities.registry_forms import REASON_NEEDED, clean_contact_phone

REGISTRY_FIELDS = ("kind", "name", "code", "city", "jurisdiction", "other_city", "address", "status",
                   "contact_name", "contact_phone", "turnaround_hours", "allow_companions", "staff_test_every_days",
                   "latitude", "longitude")
FIXED = ("kind", "code", "city")  # never change once registered


def _mark_saved(obj, saved) -> None:
    """Let the admin carry on (log entry, redirect) with the row the action wrote."""
    obj.pk = saved.pk
    obj._state.adding = False
    obj._state.db = saved._state.db


class FacilityAdminForm(forms.ModelForm):
    reason = forms.CharField(label=gettext_lazy("Reason for a change of status"), required=False, max_length=300)

    class Meta:
        model = Facility
        fields = REGISTRY_FIELDS

    def clean_contact_phone(self) -> str:
        return clean_contact_phone(self.cleaned_data.get("contact_phone", ""))

    def clean(self):
        data = super().clean()
        # The action's own rules, checked here so a refusal shows next to its field instead of failing the save.
        probe = Facility(**{name: data[name] if name in data else getattr(self.instance, name)
                            for name in REGISTRY_FIELDS if name in data or self.instance.pk})
        if self.instance.pk:
            probe.pk, probe.custodian_id = self.instance.pk, self.instance.custodian_id
            probe._state.adding = False  # so the uniqueness checks leave the facility itself out
        try:
            facility_check(probe)
        except ValidationError as exc:
            for field_name, errors in exc.message_dict.items():
                if field_name not in self.errors:  # a field refused already says why
                    self.add_error(field_name if field_name in self.fields else None, errors)
        if self.instance.pk and "status" in self.changed_data:
            if data["status"] in REASON_NEEDED and not data.get("reason", "").strip():
                self.add_error("reason", _("Say why the site is paused or closed."))
            if data["status"] == FacilityStatus.CLOSED and self.instance.stays.filter(
                    checked_out_at__isnull=True).exists():
                self.add_error("status", _("People still stay here; check them out before closing the facility."))
        return data


@admin.register(Facility)
class FacilityAdmin(admin.ModelAdmin):
    form = FacilityAdminForm
    list_display = ("name", "code", "kind", "jurisdiction", "other_city", "status", "contact_name", "contact_phone")
    list_filter = ("kind", "status", "jurisdiction")
    search_fields = ("name", "code", "address", "other_city")
    list_select_related = ("jurisdiction",)
    ordering = ("kind", "name")

    def get_fields(self, request, obj=None):
        fields = list(REGISTRY_FIELDS)
        return [*fields, "reason"] if obj is not None else fields

    def get_readonly_fields(self, request, obj=None):
        return FIXED if obj is not None else ()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        from closedloop.core.models import Jurisdiction

        if db_field.name == "city":
            kwargs["queryset"] = Jurisdiction.objects.filter(level=Jurisdiction.Level.CITY)
        elif db_field.name == "jurisdiction":
            kwargs["queryset"] = Jurisdiction.objects.filter(level=Jurisdiction.Level.TOWN)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            saved = facility_create(kind=data["kind"], code=data["code"], city=data["city"], status=data["status"],
                                    actor=request.user, **{name: data[name] for name in EDITABLE})
            _mark_saved(obj, saved)
            return
        current = Facility.objects.get(pk=obj.pk)
        changes = {name: data[name] for name in EDITABLE if name in form.changed_data}
        if changes:
            facility_update(facility=current, actor=request.user, **changes)
        if "status" in form.changed_data:
            facility_set_status(facility=current, status=data["status"], reason=data.get("reason", ""),
                                actor=request.user)

    def save_related(self, request, form, formsets, change):
        """Staff accounts are assigned on the facility's page (``facility_member_add``), audited."""

    def has_delete_permission(self, request, obj=None):
        return False  # the custody ledger names the facility's custodian


class RoomAdminForm(forms.ModelForm):
    class Meta:
        model = Room
        fields = ("facility", "building", "floor", "number", "beds", "accessible", "note")

    def clean_floor(self) -> int:
        floor = self.cleaned_data["floor"]
        if not -5 <= floor <= 200:
            raise ValidationError(_("The floor must be between -5 and 200."))
        return floor

    def clean_beds(self) -> int:
        beds = self.cleaned_data["beds"]
        if not 1 <= beds <= 8:
            raise ValidationError(_("A room has between 1 and 8 beds."))
        return beds


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    form = RoomAdminForm
    list_display = ("facility", "building", "floor", "number", "beds", "accessible", "status", "status_since")
    list_filter = ("status", "accessible", "facility__kind", "facility")
    search_fields = ("number", "building", "facility__name", "facility__code")
    list_select_related = ("facility",)
    autocomplete_fields = ("facility",)
    readonly_fields = ("status", "status_since")

    def get_fields(self, request, obj=None):
        base = ["facility", "building", "floor", "number", "beds", "accessible", "note"]
        return [*base, "status", "status_since"] if obj is not None else base

    def save_model(self, request, obj, form, change):
        if change:
            return  # read-only once made
        data = form.cleaned_data
        saved = room_create(facility=data["facility"], building=data["building"], floor=data["floor"],
                            number=data["number"], beds=data["beds"], accessible=data["accessible"],
                            note=data["note"], actor=request.user)
        _mark_saved(obj, saved)

    def has_change_permission(self, request, obj=None):
        # Rooms are viewed, not edited: status changes go through the actions.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # stays and room events point at rooms
