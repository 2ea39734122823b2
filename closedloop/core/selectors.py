from __future__ import annotations

from django.db.models import Q

from closedloop.core.models import AuditEvent
from closedloop.core.roles import Cap


def home_summary(user) -> dict:
    from closedloop.people.selectors import people_visible
    from closedloop.quarantine.selectors import episode_counts

    if not user.can(Cap.VIEW_PEOPLE):
        return {}
    people = people_visible(user)
    return {"people": people.count(), "episodes": episode_counts(user)}


def audit_events(user, params) -> tuple:
    """Audit rows, filtered by actor, action and object; newest first."""
    rows = AuditEvent.objects.all()
    filters = {k: (params.get(k) or "").strip() for k in ("q", "action", "target_type", "target_id")}
    if filters["q"]:
        rows = rows.filter(Q(actor_label__icontains=filters["q"]) | Q(target_label__icontains=filters["q"]))
    if filters["action"]:
        rows = rows.filter(action__startswith=filters["action"])
    if filters["target_type"]:
        rows = rows.filter(target_type=filters["target_type"])
    if filters["target_id"]:
        rows = rows.filter(target_id=filters["target_id"])
    return rows, filters
