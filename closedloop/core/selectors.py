from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from closedloop.core.models import AuditEvent
from closedloop.core.roles import Cap


def home_summary(user) -> dict:
    """What the overview shows: people in scope, open episodes by category, open possible matches."""
    from closedloop.people.selectors import people_visible, reviews_visible
    from closedloop.quarantine.selectors import episode_counts

    if not user.can(Cap.VIEW_PEOPLE):
        return {}
    people = people_visible(user)
    summary = {"people": people.count(), "episodes": episode_counts(user)}
    if user.can(Cap.DECIDE_MATCHES):
        summary["reviews"] = reviews_visible(user).filter(status="open").count()
    return summary


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def audit_events(user, params) -> tuple:
    """Audit rows, filtered by actor, action, object and day; newest first."""
    rows = AuditEvent.objects.all()
    keys = ("q", "action", "target_type", "target_id", "date_from", "date_to")
    filters = {k: (params.get(k) or "").strip() for k in keys}
    if filters["q"]:
        rows = rows.filter(Q(actor_label__icontains=filters["q"]) | Q(target_label__icontains=filters["q"]))
    if filters["action"]:
        rows = rows.filter(action__startswith=filters["action"])
    if filters["target_type"]:
        rows = rows.filter(target_type=filters["target_type"])
    if filters["target_id"]:
        rows = rows.filter(target_id=filters["target_id"])
    tz = timezone.get_current_timezone()
    start = _day(filters["date_from"])
    if start:
        rows = rows.filter(at__gte=dt.datetime.combine(start, dt.time.min, tzinfo=tz))
    else:
        filters["date_from"] = ""
    end = _day(filters["date_to"])
    if end:
        rows = rows.filter(at__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz))
    else:
        filters["date_to"] = ""
    return rows, filters


def audit_vocabulary() -> dict[str, list[str]]:
    """The actions and object types that occur, for the filter's suggestions."""
    return {
        "actions": list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct()),
        "target_types": list(
            AuditEvent.objects.exclude(target_type="").order_by("target_type")
            .values_list("target_type", flat=True).distinct()
        ),
    }
