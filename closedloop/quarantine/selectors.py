from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count

from closedloop.core.scoping import jurisdiction_q
from closedloop.quarantine import states
from closedloop.quarantine.models import Episode


def episodes_visible(user):
    return Episode.objects.filter(
        jurisdiction_q(user, city="person__city", town="person__town", community="person__community")
    )


def episode_counts(user) -> dict[str, int]:
    rows = episodes_visible(user).filter(status="open").values("category").annotate(n=Count("id"))
    return {r["category"]: r["n"] for r in rows}


def lost_in_transit(user, now: datetime):
    """Hand-overs not confirmed by their expected arrival plus the grace period, oldest first.

    Each row names who answers for the person (the giver, still the custodian)
    and who should have received them.
    """
    limit = now - timedelta(minutes=settings.TRANSIT_GRACE_MINUTES)
    return (
        episodes_visible(user)
        .filter(state=states.IN_TRANSIT, expected_by__lt=limit)
        .select_related("person", "custodian", "pending_custodian")
        .order_by("expected_by", "pk")
    )
