from __future__ import annotations

from django.db.models import Count

from closedloop.core.scoping import jurisdiction_q
from closedloop.quarantine.models import Episode


def episodes_visible(user):
    return Episode.objects.filter(
        jurisdiction_q(user, city="person__city", town="person__town", community="person__community")
    )


def episode_counts(user) -> dict[str, int]:
    rows = episodes_visible(user).filter(status="open").values("category").annotate(n=Count("id"))
    return {r["category"]: r["n"] for r in rows}
