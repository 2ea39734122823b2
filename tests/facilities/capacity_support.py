"""The capacity tests' city, built with actions: two open sites and a paused one, people in rooms, rooms
turning around, someone on the way, people awaiting placement. Each test module wraps
``build_capacity_city`` in a fixture of its own.

Today is the real local day (check-in places people today). Protocol in force for close contacts:
cn-20m-close-contact, 5 centralized days then 3 at home — someone whose anchor is day 1 leaves the site
on anchor + 5. Every site turns a room around in 24 h: usable the day after it is vacated.

Site A (10 rooms): 301 one close contact leaving on +4; 305 a mother (leaving +1) and her child (leaving
+3) sharing, freed on +3; 302 awaiting cleaning since now (back +1); 404 being cleaned, vacated three
days ago (back today: the cleaners are late); 303 out of service; five free.
Site B (3 rooms, all free): one person on the way, expected on +2, leaving +5.
Site C (paused, 2 free rooms): not counted.
Awaiting placement: two close contacts with anchor today (city demand, leave +5); one from a
medium-risk area (home isolation: no room); one close contact whose centralized days are over.
City population 4,000 × 20 per 10,000: 8 rooms kept free.

By hand (days 0–6):
  A free after arrivals  6 7 7 7 8 9 9
  B                      3 3 2 2 2 2 3
  demand                -2 -2 -2 -2 -2 -2 0
  city                   7 8 7 7 8 9 12  → short by 1 today, the first short day.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.test import Client
from django.utils import timezone

from closedloop.core.models import Jurisdiction
from closedloop.facilities import room_states as rs
from closedloop.facilities.actions import checkin, facility_create, room_transition, rooms_bulk_create
from closedloop.facilities.actions.rooms import move_room
from closedloop.facilities.models import Facility, Room
from closedloop.people.actions import household_create
from closedloop.quarantine.actions import episode_place, handover_give

CITY_FREE = [7, 8, 7, 7, 8, 9, 12]
A_FREE = [6, 7, 7, 7, 8, 9, 9]
B_FREE = [3, 3, 2, 2, 2, 2, 3]


def today() -> date:
    return timezone.localdate()


def plus(days: int) -> date:
    return today() + timedelta(days=days)


def room(facility: Facility, number: str) -> Room:
    return Room.objects.get(facility=facility, number=number)


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def send_to(episode, bus, facility: Facility, *, days: int = 0):
    """Placed with the bus and handed over to ``facility``: on the way, expected at 10:00 on ``plus(days)``."""
    episode = episode_place(episode=episode, custodian=bus, actor=None)
    expected = timezone.make_aware(datetime.combine(plus(days), time(10)))
    return handover_give(episode=episode, to_custodian=facility.custodian, expected_by=expected, actor=None,
                         signed_by="司机")


def set_population(city: Jurisdiction, population: int | None) -> None:
    # No action sets a population yet (the demo writes it directly, as here).
    Jurisdiction.objects.filter(pk=city.pk).update(population=population)


def paused_site(city, town_a) -> Facility:
    site = facility_create(kind="isolation_site", name="稠城隔离点C", code="site-c", city=city, jurisdiction=town_a,
                           status="paused", actor=None)
    rooms_bulk_create(facility=site, floor_from=2, floor_to=2, room_from=1, room_to=2, actor=None)
    return site


def build_capacity_city(city, town_a, facility_a, facility_b, open_episode, bus) -> dict[str, Facility]:
    """The city of the module's docstring; returns the three sites by letter."""
    facility_c = paused_site(city, town_a)
    set_population(city, 4000)
    a = facility_a
    single = open_episode("单人", anchor=plus(-1))
    mother = open_episode("母亲", anchor=plus(-4), female=True)
    child = open_episode("孩子", anchor=plus(-2), birth=date(2019, 3, 1))
    household_create(members=[mother.person, child.person], actor=None)
    checkin(facility=a, assignments=[(single, room(a, "301"))], actor=None)
    checkin(facility=a, assignments=[(mother, room(a, "305")), (child, room(a, "305"))], actor=None)
    room_transition(room=room(a, "302"), event=rs.TAKE_OUT, actor=None, note="漏水")
    room_transition(room=room(a, "302"), event=rs.BRING_BACK, actor=None)
    room_transition(room=room(a, "303"), event=rs.TAKE_OUT, actor=None, note="窗户损坏")
    room_transition(room=room(a, "404"), event=rs.TAKE_OUT, actor=None, note="漏水")
    with transaction.atomic():  # vacated three days ago, cleaning started now
        move_room(room(a, "404"), rs.BRING_BACK, actor=None, at=timezone.now() - timedelta(days=3))
        move_room(room(a, "404"), rs.CLEAN_START, actor=None)
    send_to(open_episode("路上", anchor=today()), bus, facility_b, days=2)
    open_episode("待转运一", anchor=today())
    open_episode("待转运二", anchor=today())
    open_episode("中风险", category="medium_risk_area", anchor=today())
    open_episode("已过集中期", anchor=plus(-10))
    return {"a": a, "b": facility_b, "c": facility_c}
