"""The demo city's showcase site (360 rooms) on the site board, as its own staff see it after
`closedloop demo`: every room drawn, the legend's counts those of the database, a room page one click away.
Screenshot: test-artifacts/demo-site-board.png."""

from __future__ import annotations

import pytest

from closedloop.core.demo import DEMO_PASSWORD, demo_load
from closedloop.facilities.models import Facility

pytestmark = pytest.mark.browser


def test_the_demo_site_of_360_rooms_renders_whole(page, server, shot):
    demo_load(persons=60, seed=7)
    site = Facility.objects.get(code="site-01")
    rooms = list(site.rooms.values_list("status", flat=True))
    assert len(rooms) >= 300

    page.goto(f"{server}/login/")
    page.fill('input[name="username"]', "demo-site-choucheng")
    page.fill('input[name="password"]', DEMO_PASSWORD)
    with page.expect_navigation():
        page.click('form[action="/login/"] button[type="submit"]')
    page.goto(f"{server}/sites/{site.pk}/board/")

    cells = page.locator(".sb-room")
    assert cells.count() == len(rooms)
    for status in set(rooms):
        assert page.locator(f'.sb-room[data-status="{status}"]').count() == rooms.count(status), status
        assert page.locator(f'#legend [data-count="{status}"]').inner_text() == str(rooms.count(status))
    shot(page, "demo-site-board")
    with page.expect_navigation():
        cells.first.click()
    assert page.locator("h1").first.inner_text().strip()
    assert not page.failed_requests
