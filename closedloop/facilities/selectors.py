"""Reads of facilities: who may see which facility, rooms by status, who stays where."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from closedloop.core.scoping import jurisdiction_q, user_jurisdictions
from closedloop.facilities.models import Facility, Room, Stay
from closedloop.quarantine.actions.custody import custodian_in_scope


def facility_in_scope(user, facility: Facility) -> bool:
    """Staff assigned to the facility, or anyone whose jurisdiction holds it (its town; its city)."""
    if not user.is_authenticated:
        return False
    if facility.members.filter(pk=user.pk).exists():
        return True
    return custodian_in_scope(user, facility.custodian)


def facilities_visible(user) -> QuerySet[Facility]:
    if not user.is_authenticated:
        return Facility.objects.none()
    cities = [j.pk for j in user_jurisdictions(user) if j.level == "city"]
    q = Q(members=user) | Q(city_id__in=cities) | jurisdiction_q(user, city="jurisdiction", town="jurisdiction",
                                                                   community="jurisdiction")
    # By id, so that counts and sorting are not multiplied by the staff-account join.
    return Facility.objects.filter(pk__in=Facility.objects.filter(q).values("pk"))


def room_counts(facility_ids) -> dict[int, dict[str, int]]:
    """Rooms by status for each facility: {facility id: {status: n}}."""
    out: dict[int, dict[str, int]] = {}
    rows = Room.objects.filter(facility_id__in=facility_ids).values("facility_id", "status").annotate(n=Count("id"))
    for row in rows:
        out.setdefault(row["facility_id"], {})[row["status"]] = row["n"]
    return out


def open_stays(room_ids) -> dict[int, list[Stay]]:
    """The people in each room now."""
    out: dict[int, list[Stay]] = {}
    stays = (Stay.objects.filter(room_id__in=room_ids, checked_out_at__isnull=True)
             .select_related("episode", "episode__person").order_by("checked_in_at", "id"))
    for stay in stays:
        out.setdefault(stay.room_id, []).append(stay)
    return out


def open_stay(episode) -> Stay | None:
    return Stay.objects.filter(episode=episode, checked_out_at__isnull=True).select_related("room", "facility").first()


def floor_categories(facility_ids) -> dict[tuple[int, str, int], str]:
    """The category each floor holds now, from the people staying on it: {(facility, building, floor): category}."""
    rows = (Stay.objects.filter(facility_id__in=facility_ids, checked_out_at__isnull=True)
            .values_list("facility_id", "room__building", "room__floor", "episode__category").distinct())
    out: dict[tuple[int, str, int], str] = {}
    for facility_id, building, floor, category in rows:
        out.setdefault((facility_id, building, floor), category)
    return out
