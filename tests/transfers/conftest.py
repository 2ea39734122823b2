"""The way home in the test city: two sites in other cities, the transfer station, a fleet, districts."""

from __future__ import annotations

import pytest

from closedloop.facilities.actions import facility_create
from closedloop.transfers.models import District, Fleet, Route


@pytest.fixture
def hangzhou_site(city):
    site = facility_create(kind="out_of_city_site", name="杭州市萧山区集中隔离点", code="away-hz", city=city,
                           other_city="杭州市", status="open", actor=None)
    Route.objects.create(origin=site, travel_minutes=120)
    return site


@pytest.fixture
def ningbo_site(city):
    site = facility_create(kind="out_of_city_site", name="宁波市鄞州区集中隔离点", code="away-nb", city=city,
                           other_city="宁波市", status="open", actor=None)
    Route.objects.create(origin=site, travel_minutes=180)
    return site


@pytest.fixture
def station(city):
    return facility_create(kind="transfer_station", name="义乌市客运中心中转站", code="station", city=city,
                           status="open", actor=None)


@pytest.fixture
def fleet(city, station, town_a, town_b):
    District.objects.create(town=town_a, travel_minutes=20, shuttles=2)
    District.objects.create(town=town_b, travel_minutes=30, shuttles=1)
    return Fleet.objects.create(city=city, station=station, lanes=2, coaches=3)
