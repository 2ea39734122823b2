"""Who may see whose data. Selectors and actions call these; views never
filter by hand, so an outsider can not reach another town's people by any path."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from closedloop.core.models import Jurisdiction


def user_jurisdictions(user) -> list[Jurisdiction]:
    cached = getattr(user, "_scope_cache", None)
    if cached is None:
        cached = list(user.jurisdictions.all()) if user.is_authenticated else []
        user._scope_cache = cached
    return cached


def jurisdiction_q(user, *, city: str = "city", town: str = "town", community: str = "community") -> Q:
    """A filter for rows whose city/town/community fields fall in the user's scope.

    The field names are those of the model filtered; a user with no
    jurisdiction sees nothing (``Q(pk__in=[])``).
    """
    cities, towns, communities = [], [], []
    for j in user_jurisdictions(user):
        {"city": cities, "town": towns, "community": communities}[j.level].append(j.pk)
    q = Q(pk__in=[])
    if cities:
        q |= Q(**{f"{city}_id__in": cities})
    if towns:
        q |= Q(**{f"{town}_id__in": towns})
    if communities:
        q |= Q(**{f"{community}_id__in": communities})
    return q


def jurisdictions_visible(user):
    """Jurisdictions the user may pick from (their own and everything below)."""
    q = Q(pk__in=[])
    for j in user_jurisdictions(user):
        if j.level == Jurisdiction.Level.CITY:
            q |= Q(city_id=j.pk) | Q(pk=j.pk)
        elif j.level == Jurisdiction.Level.TOWN:
            q |= Q(pk=j.pk) | Q(parent_id=j.pk)
        else:
            q |= Q(pk=j.pk)
    return Jurisdiction.objects.filter(q)


def in_scope(user, *, city_id: int | None, town_id: int | None, community_id: int | None) -> bool:
    for j in user_jurisdictions(user):
        if (j.level == "city" and j.pk == city_id) or (j.level == "town" and j.pk == town_id):
            return True
        if j.level == "community" and j.pk == community_id:
            return True
    return False


def require(user, cap: str) -> None:
    if not user.is_authenticated or not user.can(cap):
        raise PermissionDenied(cap)
