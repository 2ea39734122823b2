"""Between the database and the pure room allocation engine (closedloop.planning.rooms).

``suggest`` turns the open sites, their available rooms and the floors as they
stand into plain data, asks the engine, and returns a room or a reason for each
person; the desk confirms with ``actions.checkin``. ``check_manual_choice`` runs
the engine's independent rule checker on rooms a person chose by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from closedloop.facilities.choices import FacilityStatus
from closedloop.facilities.models import Facility, Room
from closedloop.facilities.selectors import floor_categories
from closedloop.planning import room_rules
from closedloop.planning import rooms as engine


def _needs_companion(person) -> bool:
    return bool(person.is_child or person.is_elderly or person.has_disability)


def plain_person(episode) -> engine.Person:
    p = episode.person
    town = None
    if p.town_id:
        town = str(p.town_id)
    return engine.Person(id=episode.pk, category=episode.category, household=p.household_id,
                         needs_accessible=bool(p.has_disability), needs_companion=_needs_companion(p),
                         home_town=town)


def plain_site(facility: Facility) -> engine.Site:
    return engine.Site(id=facility.pk, town=str(facility.jurisdiction_id) if facility.jurisdiction_id else None,
                       x=facility.longitude, y=facility.latitude, open=facility.status == FacilityStatus.OPEN,
                       allow_companions=facility.allow_companions)


def plain_room(room: Room) -> engine.Room:
    return engine.Room(id=room.pk, site=room.facility_id, building=room.building, floor=room.floor,
                       number=room.number, beds=room.beds, accessible=room.accessible, status=room.status,
                       order=room.order)


def plain_floors(facility_ids) -> dict:
    return {engine.Floor(site=f, building=b, floor=n): c for (f, b, n), c in floor_categories(facility_ids).items()}


@dataclass
class Suggestion:
    episode: object
    room: Room | None
    reason: str  # empty when a room was found


def suggest(episodes, facilities) -> list[Suggestion]:
    """A room for each person at the given facilities (in the order given), or the reason there is none."""
    facilities = list(facilities)
    ids = [f.pk for f in facilities]
    rooms = list(Room.objects.filter(facility_id__in=ids, status="available"))
    result = engine.allocate(
        [plain_person(e) for e in episodes], [plain_room(r) for r in rooms], [plain_site(f) for f in facilities],
        floor_categories=plain_floors(ids), sites_preferred=ids,
    )
    by_id = {r.pk: r for r in rooms}
    out = []
    for e in episodes:
        room_id = result.rooms.get(e.pk)
        reason = "" if room_id is not None else _(engine.REASONS.get(result.refused.get(e.pk, ""), "No room."))
        out.append(Suggestion(episode=e, room=by_id.get(room_id), reason=reason))
    return out


def check_manual_choice(facility: Facility, groups: dict[int, list], rooms: dict[int, Room]) -> list[str]:
    """The hard allocation rules on rooms chosen at the desk; the fill-floors-first preference is the
    engine's business, not the desk's, so it is not enforced here."""
    people = [plain_person(e) for episodes in groups.values() for e in episodes]
    allocation = engine.Allocation(rooms={e.pk: room_id for room_id, episodes in groups.items() for e in episodes},
                                   refused={})
    violations = room_rules.check(people, [plain_room(r) for r in rooms.values()], [plain_site(facility)],
                                  allocation, floor_categories=plain_floors([facility.pk]))
    return [_(room_rules.MESSAGES.get(v.rule, v.message)) for v in violations if v.rule in room_rules.HARD_AT_DESK]
