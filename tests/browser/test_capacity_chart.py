"""The capacity outlook's chart in real Chromium: drawn from the table's numbers, in Chinese."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.facilities import conftest as sites
from tests.facilities.capacity_support import build_capacity_city

# The facilities' fixtures, here too (browser tests live outside tests/facilities).
bus, facility_a, facility_b, open_episode = sites.bus, sites.facility_a, sites.facility_b, sites.open_episode


@pytest.fixture
def capacity_city(city, town_a, facility_a, facility_b, open_episode, bus):
    return build_capacity_city(city, town_a, facility_a, facility_b, open_episode, bus)


def test_capacity_chart_draws(page, server, commander, capacity_city, shot):
    page.goto(f"{server}/login/")
    page.fill('input[name="username"]', commander.username)
    page.fill('input[name="password"]', PASSWORD)
    with page.expect_navigation():
        page.click('form[action="/login/"] button[type="submit"]')
    page.goto(f"{server}/sites/capacity/?days=7")
    chart = page.locator("#capacity-chart")
    chart.locator("svg").first.wait_for()
    assert chart.is_visible()
    assert page.locator("#capacity-verdict").get_attribute("data-short-by") == "1"
    assert page.failed_requests == []
    shot(page, "capacity-outlook-zh")
    page.goto(f"{server}/sites/capacity/{capacity_city['a'].pk}/?days=7")
    page.locator("#capacity-chart svg").first.wait_for()
    assert page.failed_requests == []
    shot(page, "capacity-site-zh")
