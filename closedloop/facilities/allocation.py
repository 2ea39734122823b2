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
from closedloop.quarantine.choices import Category


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


# The engine's rules the desk keeps when a clerk picks rooms by hand; the others are about a run of
# the engine (every person placed or refused, floors opened in order) and say nothing of a hand pick.
HARD_AT_DESK = ("room_not_available", "site_not_open", "over_beds", "sharing_not_allowed", "categories_mixed",
                "accessible_unmet", "household_split")


def _violation_text(v, people: dict, rooms: dict[int, Room], placed: dict, floors: dict) -> str:
    """A rule the checker found broken, as a sentence for the clerk (the checker's own text is English
    and names ids)."""
    room = rooms.get(v.subject) if v.rule in ("room_not_available", "site_not_open", "over_beds",
                                              "sharing_not_allowed") else None
    episode = people.get(v.subject)
    name = episode.person.name if episode is not None else ""
    if v.rule == "room_not_available" and room is not None:
        return _("Room %(room)s is %(status)s; only an available room can be given.") % {
            "room": room.label, "status": room.get_status_display().lower()}
    if v.rule == "site_not_open":
        return _("The facility is not open; it takes nobody in.")
    if v.rule == "over_beds" and room is not None:
        return _("Room %(room)s has %(beds)s bed(s); that is too few for everyone chosen for it.") % {
            "room": room.label, "beds": room.beds}
    if v.rule == "sharing_not_allowed" and room is not None:
        return _("Room %(room)s can be shared only by one household with a child, an elderly or a dependent "
                 "person who needs a companion, and only where the site allows it.") % {"room": room.label}
    if v.rule == "categories_mixed" and episode is not None:
        chosen = rooms.get(placed.get(episode.pk))
        held = floors.get((chosen.building, chosen.floor)) if chosen is not None else None
        return _("%(name)s (%(category)s) cannot go on %(floor)s: it holds %(held)s, and a floor holds "
                 "one category only.") % {
            "name": name, "category": category_label(episode.category),
            "floor": floor_label(chosen.building, chosen.floor) if chosen is not None else "?",
            "held": category_label(held) if held else _("another category")}
    if v.rule == "accessible_unmet" and episode is not None:
        chosen = rooms.get(placed.get(episode.pk))
        return _("%(name)s needs an accessible room; room %(room)s is not one.") % {
            "name": name, "room": chosen.label if chosen is not None else "?"}
    if v.rule == "household_split" and episode is not None:
        return _("%(name)s's household must stay together on one floor.") % {"name": name}
    return v.message


def category_label(code: str) -> str:
    return str(dict(Category.choices).get(code, code))


def floor_label(building: str, floor: int) -> str:
    if building:
        return _("Building %(building)s, floor %(floor)s") % {"building": building, "floor": floor}
    return _("Floor %(floor)s") % {"floor": floor}


def check_manual_choice(facility: Facility, groups: dict[int, list], rooms: dict[int, Room]) -> list[str]:
    """The hard allocation rules on rooms chosen at the desk, as sentences (none when all are kept).

    The engine's independent checker (``room_rules.check``) judges the choice with the floors as they
    stand; the fill-floors-first preference is the engine's business, not the desk's, so it is not
    enforced here.
    """
    episodes = {e.pk: e for members in groups.values() for e in members}
    placed = {e.pk: room_id for room_id, members in groups.items() for e in members}
    allocation = engine.Allocation(rooms=dict(placed), refused={})
    floors = plain_floors([facility.pk])
    violations = room_rules.check([plain_person(e) for e in episodes.values()],
                                  [plain_room(r) for r in rooms.values()], [plain_site(facility)], allocation,
                                  floor_categories=floors)
    # The category a floor holds: as it stands, or else the first chosen for it now (as the checker reads it).
    held = {(f.building, f.floor): c for f, c in floors.items()}
    for episode_id, room_id in placed.items():
        r = rooms[room_id]
        held.setdefault((r.building, r.floor), episodes[episode_id].category)
    messages: list[str] = []
    for v in violations:
        if v.rule not in HARD_AT_DESK:
            continue
        text = _violation_text(v, episodes, rooms, placed, held)
        if text not in messages:
            messages.append(text)
    return messages
