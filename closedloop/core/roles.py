"""Roles and what each may do: the one place where permissions are decided.

A role grants capabilities; a user's jurisdictions (and later facilities)
decide *whose* data the capabilities apply to (see ``scoping``).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COMMANDER = "commander", _("Commander")
    DUTY_OFFICER = "duty_officer", _("Duty officer")
    TASK_GROUP = "task_group", _("Task group member")
    SITE_STAFF = "site_staff", _("Isolation-site staff")
    TRANSFER_DESK = "transfer_desk", _("Transfer desk")
    COMMUNITY_STAFF = "community_staff", _("Community staff")
    MATERIALS_CLERK = "materials_clerk", _("Materials clerk")
    ENTERPRISE_OFFICER = "enterprise_officer", _("Enterprise service officer")
    ANALYST = "analyst", _("Analyst (read-only)")
    ADMIN = "admin", _("System administrator")


class Cap(models.TextChoices):
    VIEW_PEOPLE = "view_people", _("See people")
    EDIT_PEOPLE = "edit_people", _("Register and edit people")
    IMPORT_PEOPLE = "import_people", _("Import rosters")
    DECIDE_MATCHES = "decide_matches", _("Decide possible duplicates")
    UNMASK = "unmask", _("See full ID numbers and phones")
    EXPORT_PEOPLE = "export_people", _("Export people")
    VIEW_AUDIT = "view_audit", _("Read the audit log")
    MANAGE_USERS = "manage_users", _("Manage accounts")
    HANDOVER = "handover", _("Place people under control and hand them over")
    CLOSE_EPISODES = "close_episodes", _("Close episodes listed in error")
    RECORD_OBSERVATIONS = "record_observations", _("Record health checks, samples and results")
    RELEASE = "release", _("Release people whose course is complete")
    OVERRIDE_RELEASE = "override_release", _("Release against the rule, with a written reason")
    REPLAN = "replan", _("Adopt a new protocol version for open episodes")
    MANAGE_FACILITIES = "manage_facilities", _("Register facilities and their rooms")
    CHECK_IN = "check_in", _("Check people in and out and assign rooms")
    CLEAN_ROOMS = "clean_rooms", _("Record room cleaning and take rooms out of service")
    MANAGE_STAFF = "manage_staff", _("Keep the duty roster and staff health records")
    CARE = "care", _("Record and answer care requests")


R, C = Role, Cap
_FRONT_LINE = {C.VIEW_PEOPLE, C.EDIT_PEOPLE, C.IMPORT_PEOPLE, C.DECIDE_MATCHES, C.UNMASK, C.EXPORT_PEOPLE, C.HANDOVER,
               C.RECORD_OBSERVATIONS, C.RELEASE}
_HEADQUARTERS = {C.VIEW_AUDIT, C.CLOSE_EPISODES, C.OVERRIDE_RELEASE, C.REPLAN, C.MANAGE_FACILITIES}
_SITE = {C.CHECK_IN, C.CLEAN_ROOMS, C.MANAGE_STAFF, C.CARE}

CAPABILITIES: dict[str, frozenset[str]] = {
    R.COMMANDER: frozenset(_FRONT_LINE | _HEADQUARTERS | _SITE),
    R.DUTY_OFFICER: frozenset(_FRONT_LINE | _HEADQUARTERS | _SITE),
    # The care group and the other task groups answer what is routed to them.
    R.TASK_GROUP: frozenset({C.VIEW_PEOPLE, C.CARE}),
    R.SITE_STAFF: frozenset({C.VIEW_PEOPLE, C.EDIT_PEOPLE, C.IMPORT_PEOPLE, C.UNMASK, C.HANDOVER,
                             C.RECORD_OBSERVATIONS, C.RELEASE} | _SITE),
    R.TRANSFER_DESK: frozenset({C.VIEW_PEOPLE, C.EDIT_PEOPLE, C.IMPORT_PEOPLE, C.UNMASK, C.HANDOVER}),
    R.COMMUNITY_STAFF: frozenset(_FRONT_LINE | {C.CARE}),
    R.MATERIALS_CLERK: frozenset(),
    R.ENTERPRISE_OFFICER: frozenset(),
    # Analysts read and export, always masked.
    R.ANALYST: frozenset({C.VIEW_PEOPLE, C.EXPORT_PEOPLE}),
    R.ADMIN: frozenset(set(C.values)),
}


def role_can(role: str, cap: str) -> bool:
    return cap in CAPABILITIES.get(role, frozenset())
