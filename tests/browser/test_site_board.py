"""The site board of a 360-room site in real Chromium, a room page, and a check-in at the desk.

Built through the actions: 2 buildings × 12 floors × 15 rooms, people checked in (close contacts,
inbound travellers, a household sharing a room), rooms awaiting cleaning after check-outs, being cleaned
and out of service. Screenshots: test-artifacts/site-board.png (Chinese, as the site's staff see it),
site-board-en.png, site-room.png, site-desk.png, site-room-card.png, site-turnaround.png,
site-checkout.png.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from closedloop.facilities import room_states as rs
from closedloop.facilities.actions import (
    checkin,
    checkout_handover,
    facility_create,
    room_transition,
    rooms_bulk_create,
)
from closedloop.facilities.models import Room, Stay
from closedloop.people.actions import household_create
from closedloop.quarantine.actions import custodian_create, episode_open
from tests.conftest import PASSWORD

BUILDINGS, FLOORS, PER_FLOOR = ("A", "B"), 12, 15


def switch_language(page, code: str) -> None:
    with page.expect_navigation():
        page.locator(f'form[action="/i18n/setlang/"] button[name="language"][value="{code}"]').first.click()


def log_in(page, server, user) -> None:
    page.goto(f"{server}/login/")
    page.fill('input[name="username"]', user.username)
    page.fill('input[name="password"]', PASSWORD)
    with page.expect_navigation():
        page.click('form[action="/login/"] button[type="submit"]')


@pytest.fixture
def big_site(city, town_a, person_factory):
    site = facility_create(kind="isolation_site", name="稠城国际酒店隔离点", code="site-hotel", city=city,
                           jurisdiction=town_a, status="open", contact_name="陈主任", contact_phone="0579-85550123",
                           actor=None)
    for building in BUILDINGS:  # room 01 of each floor accessible, the last one with two beds
        rooms_bulk_create(facility=site, building=building, floor_from=1, floor_to=FLOORS, room_from=1,
                          room_to=PER_FLOOR - 1, accessible_rooms=frozenset({1}), actor=None)
        rooms_bulk_create(facility=site, building=building, floor_from=1, floor_to=FLOORS, room_from=PER_FLOOR,
                          room_to=PER_FLOOR, beds=2, actor=None)
    rooms = {(r.building, r.number): r for r in Room.objects.filter(facility=site)}

    def person(name, category="close_contact", **extra):
        return episode_open(person=person_factory(name, **extra), category=category,
                            anchor_date=timezone.localdate() - timedelta(days=2), actor=None)

    # Close contacts on A 2F–3F, inbound travellers on A 5F, secondary contacts on B 4F.
    guests = []
    plan = [("A", 2, "close_contact", 12), ("A", 3, "close_contact", 8), ("A", 5, "inbound", 10),
            ("B", 4, "secondary_contact", 9)]
    for building, floor, category, count in plan:
        for i in range(count):
            number = f"{floor}{i + 2:02d}"
            episode = person(f"住客{building}{number}", category)
            checkin(facility=site, assignments=[(episode, rooms[(building, number)])], actor=None)
            guests.append(episode)
    # A mother and her child share a room (the companion rule): B 4F 15.
    mother, child = person("母亲", "secondary_contact", female=True), person("孩子", "secondary_contact",
                                                                             birth=date(2017, 6, 1))
    household_create(members=[mother.person, child.person], actor=None)
    checkin(facility=site, assignments=[(mother, rooms[("B", "415")]), (child, rooms[("B", "415")])], actor=None)
    # Some left on a bus: their rooms await cleaning.
    bus = custodian_create(kind="vehicle_trip", name="转运车 浙G-88888", code="trip-88", city=city, actor=None)
    for episode in guests[:6]:
        checkout_handover(episode=episode, to_custodian=bus, expected_by=timezone.now() + timedelta(hours=2),
                          actor=None)
    # Cleaners at work on B 7F; out of service on B 12F.
    for n in range(1, 6):
        room_transition(room=rooms[("B", f"7{n:02d}")], event=rs.TAKE_OUT, note="更换床垫", actor=None)
        room_transition(room=Room.objects.get(pk=rooms[("B", f"7{n:02d}")].pk), event=rs.BRING_BACK, actor=None)
        room_transition(room=Room.objects.get(pk=rooms[("B", f"7{n:02d}")].pk), event=rs.CLEAN_START, actor=None)
    for n in range(1, 5):
        room_transition(room=rooms[("B", f"12{n:02d}")], event=rs.TAKE_OUT, note="空调维修", actor=None)
    return site


def test_the_board_of_a_360_room_site_and_a_check_in_at_the_desk(page, server, big_site, site_a, person_factory,
                                                                   shot):
    site = big_site
    total = len(BUILDINGS) * FLOORS * PER_FLOOR
    counts = {s: Room.objects.filter(facility=site, status=s).count() for s in rs.STATES}
    assert all(counts.values()), counts  # every status is on the board
    log_in(page, server, site_a)

    # --- the board, in Chinese (the site's staff's language) ---
    page.goto(f"{server}/sites/{site.pk}/board/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.locator(".sb-room").count() == total
    for status, n in counts.items():
        assert page.locator(f'.sb-room[data-status="{status}"]').count() == n
        assert page.locator(f'#legend [data-count="{status}"]').inner_text() == str(n)
    assert page.locator('#legend [data-count="all"]').inner_text() == str(total)
    assert page.locator(".sb-floor").count() == len(BUILDINGS) * FLOORS
    assert page.locator(".sb-floor.mixed").count() == 0
    # Colour-coded: an occupied cell is blue, an available one green.
    occupied_bg = page.locator('.sb-room[data-status="occupied"]').first.evaluate(
        "el => getComputedStyle(el).backgroundColor")
    available_bg = page.locator('.sb-room[data-status="available"]').first.evaluate(
        "el => getComputedStyle(el).backgroundColor")
    assert occupied_bg == "rgb(37, 99, 184)" and available_bg == "rgb(227, 244, 232)"
    shot(page, "site-board")

    switch_language(page, "en")
    assert page.locator("h1").inner_text().startswith("Site board")
    assert page.locator(".sb-room").count() == total
    shot(page, "site-board-en")

    # --- filter, then a room ---
    page.select_option('select[name="status"]', "occupied")
    page.wait_for_url("**status=occupied**")
    assert page.locator(".sb-room").count() == counts[rs.OCCUPIED]
    shared = Room.objects.get(facility=site, building="B", number="415")
    with page.expect_navigation():
        page.locator(f'.sb-room[data-room="{shared.pk}"]').click()
    assert page.url.endswith(f"/sites/rooms/{shared.pk}/")
    assert page.locator("#occupants tbody tr").count() == 2
    assert "母亲" in page.locator("#occupants").inner_text() and "孩子" in page.locator("#occupants").inner_text()
    shot(page, "site-room")

    # --- a check-in at the desk: scan the ID number, take the suggestion, print the card ---
    arrival = episode_open(person=person_factory("新到客", flags={"is_elderly": True}), category="close_contact",
                           anchor_date=timezone.localdate(), actor=None)
    page.goto(f"{server}/sites/{site.pk}/desk/")
    page.fill("#desk-q", arrival.person.doc_number)
    with page.expect_navigation():
        page.press("#desk-q", "Enter")
    row = page.locator(f'#suggestions tr[data-episode="{arrival.pk}"]')
    assert row.count() == 1 and "vulnerable" in (row.get_attribute("class") or "")
    suggested = row.locator("select").input_value()
    assert suggested  # a room was suggested
    suggested_room = Room.objects.get(pk=int(suggested.split(".")[0]))
    # On a floor that already holds close contacts (fill floors before opening new ones).
    assert suggested_room.status == rs.AVAILABLE
    assert (suggested_room.building, suggested_room.floor) in {("A", 2), ("A", 3)}
    shot(page, "site-desk")
    with page.expect_navigation():
        page.click("#confirm-checkin")
    assert "/cards/" in page.url
    card = page.locator(".room-card")
    assert card.count() == 1 and "新到客" in card.inner_text() and suggested_room.label in card.inner_text()
    assert "0579-85550123" in card.inner_text()
    shot(page, "site-room-card")
    # --- the cleaners' list: one click finishes a room ---
    page.goto(f"{server}/sites/{site.pk}/turnaround/")
    waiting = counts[rs.AWAITING_CLEANING] + counts[rs.CLEANING]
    assert page.locator("#turnaround tbody tr").count() == waiting
    first = page.locator("#turnaround tbody tr").first
    first_room = int(first.get_attribute("data-room"))
    shot(page, "site-turnaround")
    with page.expect_navigation():
        first.locator('button[value="clean_done"]').click()
    assert page.url.endswith(f"/sites/{site.pk}/turnaround/")
    assert page.locator("#turnaround tbody tr").count() == waiting - 1
    assert Room.objects.get(pk=first_room).status == rs.AVAILABLE
    stay = Stay.objects.get(episode=arrival, checked_out_at__isnull=True)
    assert stay.room_id == suggested_room.pk
    assert Room.objects.get(pk=suggested_room.pk).status == rs.OCCUPIED

    # --- check-out from the room page: the release rule says what is still missing ---
    page.goto(f"{server}/sites/rooms/{suggested_room.pk}/")
    with page.expect_navigation():
        page.click(f"#checkout-{stay.pk}")
    assert page.locator("#release-preview").is_visible() and page.locator("#handover-form").is_visible()
    shot(page, "site-checkout")
    assert page.failed_requests == []
