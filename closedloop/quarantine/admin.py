"""Back office of the closed loop: protocol versions are added from a file, never edited."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from closedloop.lib.protocols import ProtocolError, load_protocol, parse_json
from closedloop.quarantine.actions import custodian_create, protocol_add
from closedloop.quarantine.models import Custodian, Protocol


class ProtocolFileForm(forms.ModelForm):
    file = forms.FileField(label=gettext_lazy("Protocol file (.json)"),
                           help_text=gettext_lazy("A new version of a protocol, in the format of docs/protocols.md."))

    class Meta:
        model = Protocol
        fields = ()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            data = parse_json(upload.read().decode("utf-8-sig"), file=upload.name)
            self.spec = load_protocol(data, name=upload.name)
        except UnicodeDecodeError:
            raise ValidationError(_("The file is not UTF-8 text.")) from None
        except ProtocolError as exc:
            raise ValidationError(exc.translated(_)) from None
        if Protocol.objects.filter(code=self.spec.id, version=self.spec.version).exists():
            raise ValidationError(_("Protocol %(code)s version %(version)s already exists; add a new version instead.")
                                  % {"code": self.spec.id, "version": self.spec.version})
        return upload


@admin.register(Protocol)
class ProtocolAdmin(admin.ModelAdmin):
    list_display = ("code", "version", "category", "anchor", "effective_from", "title", "source")
    list_filter = ("category",)
    search_fields = ("code", "title")
    readonly_fields = ("code", "version", "category", "anchor", "effective_from", "title", "definition", "source")

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ProtocolFileForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ("file",) if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        saved = protocol_add(definition=form.spec.to_dict(), source=f"admin: {form.cleaned_data['file'].name}",
                             actor=request.user)
        obj.pk = saved.pk
        obj._state.adding = False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # episodes point at versions; a policy change is a new version


@admin.register(Custodian)
class CustodianAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "jurisdiction", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name")
    fields = ("kind", "name", "code", "city", "jurisdiction")

    def get_readonly_fields(self, request, obj=None):
        return self.fields if obj else ()

    def save_model(self, request, obj, form, change):
        if change:
            return
        saved = custodian_create(kind=obj.kind, name=obj.name, code=obj.code, city=obj.city,
                                 jurisdiction=obj.jurisdiction, actor=request.user)
        obj.pk = saved.pk
        obj._state.adding = False

    def has_delete_permission(self, request, obj=None):
        return False
