"""Writing the audit log. Actions call ``audit_record`` inside their transaction,
so a refused action leaves no audit row and an accepted one always has one."""

from __future__ import annotations

from typing import Any

from closedloop.core.models import AuditEvent


def actor_label(actor) -> str:
    if actor is None:
        return "system"
    return f"{actor.username} ({actor.full_name})" if getattr(actor, "full_name", "") else actor.username


def audit_record(
    *,
    actor,
    action: str,
    target: Any = None,
    target_type: str = "",
    target_id: str = "",
    target_label: str = "",
    before: dict | None = None,
    after: dict | None = None,
    reason: str = "",
) -> AuditEvent:
    if target is not None:
        target_type = target_type or target._meta.model_name
        target_id = target_id or str(target.pk)
        target_label = target_label or str(target)[:200]
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=actor_label(actor),
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label,
        before=before,
        after=after,
        reason=reason,
    )


def diff(before: dict, after: dict) -> tuple[dict, dict]:
    """The changed keys only, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
