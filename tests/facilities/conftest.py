"""Facilities of the test city: site A in town A (Choucheng), site B in town B (Beiyuan), a bus, rooms."""

from __future__ import annotations

from datetime import date

import pytest

from closedloop.facilities.actions import facility_create, rooms_bulk_create
from closedloop.facilities.models import Room
from closedloop.quarantine.actions import custodian_create, episode_open


@pytest.fixture
def facility_a(city, town_a):
    """Open, two floors (3 and 4) of five rooms: x01 accessible, x05 with two beds."""
    site = facility_create(kind="isolation_site", name="稠城隔离点A", code="site-a", city=city, jurisdiction=town_a,
                           status="open", address="稠城街道工人北路1号", actor=None)
    rooms_bulk_create(facility=site, floor_from=3, floor_to=4, room_from=1, room_to=4, actor=None,
                      accessible_rooms=frozenset({1}))
    rooms_bulk_create(facility=site, floor_from=3, floor_to=4, room_from=5, room_to=5, beds=2, actor=None)
    return site


@pytest.fixture
def facility_b(city, town_b):
    site = facility_create(kind="isolation_site", name="北苑隔离点B", code="site-b", city=city, jurisdiction=town_b,
                           status="open", actor=None)
    rooms_bulk_create(facility=site, floor_from=2, floor_to=2, room_from=1, room_to=3, actor=None)
    return site


def room(facility, number: str) -> Room:
    return Room.objects.get(facility=facility, number=number)


@pytest.fixture
def bus(city):
    return custodian_create(kind="vehicle_trip", name="转运车 浙G-12345 第1趟", code="trip-1", city=city, actor=None)


@pytest.fixture
def open_episode(person_factory):
    """Episodes awaiting placement: ``open_episode("李四", category=…, **person fields)``."""

    def make(name="张三", *, category="close_contact", anchor=date(2022, 8, 3), **person):
        p = person_factory(name, **person)
        return episode_open(person=p, category=category, anchor_date=anchor, actor=None)

    return make
