"""Back-office pages. Every save goes through an action, so the admin is audited like any desk."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext_lazy as _

from closedloop.core import actions
from closedloop.core.models import ApiToken, AuditEvent, Jurisdiction, User

admin.site.site_header = _("Closed-loop management platform")
admin.site.site_title = _("Closed-loop management platform")


def _mark_saved(obj, saved) -> None:
    """Let the admin carry on (log entry, redirect) with the row the action wrote."""
    obj.pk = saved.pk
    obj._state.adding = False
    obj._state.db = saved._state.db


class JurisdictionForm(forms.ModelForm):
    class Meta:
        model = Jurisdiction
        fields = ("code", "name", "name_en", "level", "parent", "population")

    def clean(self):
        data = super().clean()
        if not self.instance.pk and data.get("level"):
            problem = actions.jurisdiction_parent_problem(data["level"], data.get("parent"))
            if problem:
                self.add_error("parent", problem)
        return data


@admin.register(Jurisdiction)
class JurisdictionAdmin(admin.ModelAdmin):
    form = JurisdictionForm
    list_display = ("code", "name", "name_en", "level", "parent", "population")
    list_filter = ("level",)
    search_fields = ("code", "name", "name_en")
    ordering = ("code",)
    fields = ("code", "name", "name_en", "level", "parent", "population")
    autocomplete_fields = ("parent",)

    def get_readonly_fields(self, request, obj=None):
        # The place of a jurisdiction in the tree is fixed once people are filed under it.
        return ("code", "level", "parent") if obj else ()

    def save_model(self, request, obj, form, change):
        if change:
            actions.jurisdiction_rename(jurisdiction=obj, name=obj.name, name_en=obj.name_en, actor=request.user)
        else:
            created = actions.jurisdiction_create(
                code=obj.code, name=obj.name, name_en=obj.name_en, level=obj.level, parent=obj.parent,
                actor=request.user,
            )
            _mark_saved(obj, created)
        if "population" in form.changed_data:
            actions.jurisdiction_set_population(jurisdiction=obj, population=obj.population, actor=request.user)

    def has_delete_permission(self, request, obj=None):
        return False


class UserCreateForm(forms.ModelForm):
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)

    class Meta:
        model = User
        fields = ("username", "full_name", "role", "jurisdictions")

    def clean_password(self):
        password = self.cleaned_data["password"]
        validate_password(password)  # here, so a weak one is refused next to the field
        return password


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "full_name", "role", "is_active", "last_login")
    list_filter = ("role", "is_active")
    search_fields = ("username", "full_name")
    filter_horizontal = ("jurisdictions",)
    fieldsets = (
        (None, {"fields": ("username", "full_name", "role", "jurisdictions", "is_active")}),
        (_("History"), {"fields": ("last_login", "date_joined")}),
    )
    add_form = UserCreateForm
    add_fieldsets = ((None, {"fields": ("username", "full_name", "role", "jurisdictions", "password")}),)

    def get_readonly_fields(self, request, obj=None):
        return ("username", "last_login", "date_joined") if obj else ()

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            actions.user_update(
                user=User.objects.get(pk=obj.pk), role=data["role"], full_name=data["full_name"],
                jurisdictions=list(data["jurisdictions"]), is_active=data["is_active"], actor=request.user,
            )
        else:
            user = actions.user_create(
                username=data["username"], password=data["password"], role=data["role"], full_name=data["full_name"],
                jurisdictions=list(data["jurisdictions"]), is_staff=data["role"] == "admin", actor=request.user,
            )
            _mark_saved(obj, user)

    def save_related(self, request, form, formsets, change):
        """The actions have set the jurisdictions already."""

    def has_delete_permission(self, request, obj=None):
        return False  # accounts are deactivated, never deleted: the audit log points at them


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "created_at", "last_used_at", "revoked")
    list_filter = ("revoked",)
    fields = ("user", "name")
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return ("user", "name") if obj else ()

    def save_model(self, request, obj, form, change):
        if change:
            return
        token, key = actions.api_token_create(user=obj.user, name=obj.name, actor=request.user)
        _mark_saved(obj, token)
        messages.warning(request, _("The token is %(key)s — copy it now; it is not stored and will not be shown again.")
                         % {"key": key})

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        for token in queryset:
            actions.api_token_revoke(token=token, actor=request.user)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_label", "action", "target_type", "target_id", "target_label")
    list_filter = ("action", "target_type")
    search_fields = ("actor_label", "target_label", "target_id")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
