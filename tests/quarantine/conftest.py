from __future__ import annotations

from datetime import date

import pytest

from closedloop.quarantine.actions import custodian_create, episode_open


@pytest.fixture
def site_a_custodian(city, town_a):
    return custodian_create(kind="isolation_site", name="稠城隔离点A", code="site-a", city=city, jurisdiction=town_a,
                            actor=None)


@pytest.fixture
def site_b_custodian(city, town_b):
    return custodian_create(kind="isolation_site", name="北苑隔离点B", code="site-b", city=city, jurisdiction=town_b,
                            actor=None)


@pytest.fixture
def bus(city):
    return custodian_create(kind="vehicle_trip", name="转运车 浙G-12345 第1趟", code="trip-1", city=city, actor=None)


@pytest.fixture
def episode(person_factory):
    person = person_factory("张三")
    return episode_open(person=person, category="close_contact", anchor_date=date(2022, 8, 3), actor=None)
