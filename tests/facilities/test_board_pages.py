"""The site board, the room page (occupants, unmask, status actions, history) and the turnaround list."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from closedloop.core.models import AuditEvent
from closedloop.facilities import room_states as rs
from closedloop.facilities.actions import checkin, facility_update, rooms_bulk_create
from closedloop.facilities.board_selectors import turnaround
from closedloop.facilities.models import RoomEvent
from tests.facilities.board_helpers import client_for, fresh, set_status
from tests.facilities.conftest import room


@pytest.fixture
def site(facility_a, open_episode, site_a):
    """Site A: 301 occupied by a close contact, 302 awaiting cleaning, 303 cleaning, 304 out of service,
    401 (accessible) occupied by an inbound traveller; the rest available."""
    guest = open_episode("张三")
    checkin(facility=facility_a, assignments=[(guest, room(facility_a, "301"))], actor=site_a)
    traveller = open_episode("入境客", category="inbound")
    checkin(facility=facility_a, assignments=[(traveller, room(facility_a, "401"))], actor=site_a)
    set_status(room(facility_a, "302"), rs.AWAITING_CLEANING, actor=site_a)
    set_status(room(facility_a, "303"), rs.CLEANING, actor=site_a)
    set_status(room(facility_a, "304"), rs.OUT_OF_SERVICE, actor=site_a)
    facility_a.guest, facility_a.traveller = guest, traveller
    return facility_a


def cells(html: str) -> dict[str, str]:
    """room id → status, from the board's cells."""
    return dict(re.findall(r'class="sb-room[^"]*" href="/sites/rooms/\d+/" data-room="(\d+)" data-status="(\w+)"',
                           html))


def legend(html: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-count="(\w+)">(\d+)<', html)}


# --- the board --------------------------------------------------------------------------------------

def test_the_board_shows_every_room_by_status_with_the_legend_counted(site, site_a):
    response = client_for(site_a).get(f"/sites/{site.pk}/board/")
    assert response.status_code == 200
    html = response.content.decode()
    found = cells(html)
    assert len(found) == 10
    assert found[str(room(site, "301").pk)] == rs.OCCUPIED
    assert found[str(room(site, "302").pk)] == rs.AWAITING_CLEANING
    assert found[str(room(site, "303").pk)] == rs.CLEANING
    assert found[str(room(site, "304").pk)] == rs.OUT_OF_SERVICE
    assert legend(html) == {"all": 10, "available": 5, "occupied": 2, "awaiting_cleaning": 1, "cleaning": 1,
                            "out_of_service": 1}
    # Each floor names the category it holds (one per floor); no name of anyone on the board.
    floor3 = html[html.index('data-floor="3"'):]
    assert "Close contact" in floor3[:floor3.index("sb-cells")]
    floor4 = html[html.index('data-floor="4"'):]
    assert "Inbound traveller" in floor4[:floor4.index("sb-cells")]
    assert "张三" not in html and "入境客" not in html
    assert f'href="/sites/rooms/{room(site, "301").pk}/"' in html


def test_the_board_filters_by_status_and_building(site, site_a, duty_officer):
    rooms_bulk_create(facility=site, building="B", floor_from=1, floor_to=1, room_from=1, room_to=3,
                      actor=duty_officer)
    client = client_for(site_a)
    html = client.get(f"/sites/{site.pk}/board/?status=occupied").content.decode()
    assert set(cells(html).values()) == {rs.OCCUPIED} and len(cells(html)) == 2
    html = client.get(f"/sites/{site.pk}/board/?building=B").content.decode()
    assert len(cells(html)) == 3 and legend(html)["all"] == 3
    # An unknown status or building shows everything rather than failing.
    html = client.get(f"/sites/{site.pk}/board/?status=flooded&building=Z").content.decode()
    assert len(cells(html)) == 13


def test_the_board_reads_a_site_in_a_fixed_number_of_queries(site, site_a, duty_officer, open_episode):
    client = client_for(site_a)
    client.get(f"/sites/{site.pk}/board/")  # sessions and caches warm

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/sites/{site.pk}/board/").status_code == 200
        return len(ctx.captured_queries)

    small = count()
    rooms_bulk_create(facility=site, building="B", floor_from=1, floor_to=10, room_from=1, room_to=30,
                      actor=duty_officer)
    for number in ("101", "102", "103", "201"):
        checkin(facility=site, assignments=[(open_episode(f"客{number}"), room(site, number))], actor=site_a)
    assert count() == small <= 8  # session, user, scope, facility, rooms, stays


def test_the_board_refuses_outsiders_roles_without_people_and_other_methods(site, site_b, materials_clerk,
                                                                             site_a, client):
    assert client_for(site_b).get(f"/sites/{site.pk}/board/").status_code == 404
    assert client_for(materials_clerk).get(f"/sites/{site.pk}/board/").status_code == 403
    assert client_for(site_a).post(f"/sites/{site.pk}/board/").status_code == 405
    assert client_for(site_a).get("/sites/999999/board/").status_code == 404
    assert client.get(f"/sites/{site.pk}/board/").status_code == 302  # to the login page


# --- a room -------------------------------------------------------------------------------------------

def test_the_room_page_shows_who_stays_masked_with_the_actions_and_history(site, site_a):
    r301 = room(site, "301")
    response = client_for(site_a).get(f"/sites/rooms/{r301.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    person = site.guest.person
    assert person.name in html and person.doc_number_masked in html and person.doc_number not in html
    assert "Close contact" in html
    episode = fresh(site.guest)
    assert episode.release_on.isoformat() in html
    assert f"/sites/stays/{episode.stays.get().pk}/checkout/" in html
    assert "Assigned" in html  # the history
    # Occupied: no cleaning to record, but it may not be taken out either (someone is in it).
    assert 'id="room-actions"' not in html


def test_the_room_actions_follow_the_status(site, site_a, analyst):
    r302 = room(site, "302")
    html = client_for(site_a).get(f"/sites/rooms/{r302.pk}/").content.decode()
    assert 'id="action-clean_start"' in html and 'id="action-clean_done"' in html
    assert 'id="action-take_out"' in html and 'id="action-bring_back"' not in html
    html = client_for(analyst).get(f"/sites/rooms/{r302.pk}/").content.decode()
    assert 'id="room-actions"' not in html


def test_unmasking_an_occupant_is_audited(site, site_a, analyst):
    r301 = room(site, "301")
    stay = site.guest.stays.get()
    url = f"/sites/rooms/{r301.pk}/unmask/{stay.pk}/"
    response = client_for(site_a).post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and site.guest.person.doc_number in response.content.decode()
    audit = AuditEvent.objects.get(action="person.unmask")
    assert audit.actor == site_a and audit.after == {"field": "doc_number"}
    # Without htmx, the room page with the value shown.
    html = client_for(site_a).post(url).content.decode()
    assert site.guest.person.doc_number in html and "Staying here" in html
    assert client_for(analyst).post(url).status_code == 403
    assert client_for(site_a).get(url).status_code == 405
    assert client_for(site_a).post(f"/sites/rooms/{room(site, '305').pk}/unmask/{stay.pk}/").status_code == 404
    assert AuditEvent.objects.filter(action="person.unmask").count() == 2


def test_the_room_page_refuses_outsiders(site, site_b, materials_clerk):
    r301 = room(site, "301")
    assert client_for(site_b).get(f"/sites/rooms/{r301.pk}/").status_code == 404
    assert client_for(materials_clerk).get(f"/sites/rooms/{r301.pk}/").status_code == 403
    assert client_for(site_b).post(f"/sites/rooms/{r301.pk}/unmask/1/").status_code == 404


# --- room status ----------------------------------------------------------------------------------------

def post_event(client, r, event, version=None, **extra):
    data = {"event": event, "version": r.version if version is None else version, **extra}
    return client.post(f"/sites/rooms/{r.pk}/transition/", data)


def test_cleaning_started_and_done_from_the_room_page(site, site_a):
    client = client_for(site_a)
    r302 = room(site, "302")
    response = post_event(client, r302, rs.CLEAN_START)
    assert response.status_code == 302 and response.url == f"/sites/rooms/{r302.pk}/"
    assert fresh(r302).status == rs.CLEANING
    response = post_event(client, fresh(r302), rs.CLEAN_DONE)
    assert fresh(r302).status == rs.AVAILABLE
    assert list(RoomEvent.objects.filter(room=r302).values_list("actor", flat=True))[-2:] == [site_a.pk, site_a.pk]
    assert AuditEvent.objects.filter(action="room.clean_done", actor=site_a).count() == 1


def test_out_of_service_needs_a_reason_and_comes_back_awaiting_cleaning(site, site_a):
    client = client_for(site_a)
    r305 = room(site, "305")
    response = post_event(client, r305, rs.TAKE_OUT, note="  ")
    assert response.status_code == 400 and "Say why the room is taken out of service." in response.content.decode()
    assert fresh(r305).status == rs.AVAILABLE
    assert post_event(client, r305, rs.TAKE_OUT, note="空调损坏").status_code == 302
    assert fresh(r305).status == rs.OUT_OF_SERVICE
    assert RoomEvent.objects.filter(room=r305).last().note == "空调损坏"
    assert post_event(client, fresh(r305), rs.BRING_BACK).status_code == 302
    assert fresh(r305).status == rs.AWAITING_CLEANING


def test_a_stale_page_or_a_refused_event_changes_nothing(site, site_a):
    client = client_for(site_a)
    r302 = room(site, "302")
    response = post_event(client, r302, rs.CLEAN_START, version=r302.version - 1)
    assert response.status_code == 409 and "reload and choose again" in response.content.decode()
    response = post_event(client, room(site, "301"), rs.CLEAN_START)  # occupied: nothing to clean
    assert response.status_code == 409 and fresh(room(site, "301")).status == rs.OCCUPIED
    response = post_event(client, r302, "assign")  # check-in's business
    assert response.status_code == 400 and fresh(r302).status == rs.AWAITING_CLEANING
    response = client.post(f"/sites/rooms/{r302.pk}/transition/", {"event": rs.CLEAN_START})  # no version
    assert response.status_code == 400
    assert client.get(f"/sites/rooms/{r302.pk}/transition/").status_code == 405


def test_room_status_is_refused_to_outsiders_and_roles_without_it(site, site_b, analyst):
    r302 = room(site, "302")
    assert post_event(client_for(site_b), r302, rs.CLEAN_START).status_code == 404
    assert post_event(client_for(analyst), r302, rs.CLEAN_START).status_code == 403
    assert fresh(r302).status == rs.AWAITING_CLEANING


# --- the turnaround list -------------------------------------------------------------------------------------

def test_the_turnaround_list_oldest_first_with_one_click_buttons(site, site_a):
    r305 = set_status(room(site, "305"), rs.AWAITING_CLEANING, actor=site_a)  # after 302 and 303
    client = client_for(site_a)
    response = client.get(f"/sites/{site.pk}/turnaround/")
    assert response.status_code == 200
    html = response.content.decode()
    order = re.findall(r'<tr data-room="(\d+)" data-status="(\w+)"', html)
    assert order == [(str(room(site, "302").pk), rs.AWAITING_CLEANING), (str(room(site, "303").pk), rs.CLEANING),
                     (str(r305.pk), rs.AWAITING_CLEANING)]
    assert 'id="count-awaiting">2<' in html and 'id="count-cleaning">1<' in html and 'id="count-overdue">0<' in html
    assert 'class="overdue"' not in html
    # "Start" from the list comes back to the list.
    response = client.post(f"/sites/rooms/{r305.pk}/transition/",
                           {"event": rs.CLEAN_START, "version": r305.version,
                            "next": f"/sites/{site.pk}/turnaround/"})
    assert response.status_code == 302 and response.url == f"/sites/{site.pk}/turnaround/"
    assert fresh(r305).status == rs.CLEANING
    # A next page elsewhere is not followed.
    response = client.post(f"/sites/rooms/{r305.pk}/transition/",
                           {"event": rs.CLEAN_DONE, "version": fresh(r305).version, "next": "https://evil.example/"})
    assert response.url == f"/sites/rooms/{r305.pk}/"


def test_rooms_waiting_longer_than_the_turnaround_time_are_overdue(site, site_a, duty_officer, monkeypatch):
    facility_update(facility=site, turnaround_hours=2, actor=duty_officer)
    later = timezone.now() + timedelta(hours=3)
    rows = turnaround(fresh(site), later)
    assert [r.overdue for r in rows] == [True, True] and rows[0].hours == pytest.approx(3, abs=0.1)
    assert [r.overdue for r in turnaround(fresh(site), timezone.now() + timedelta(hours=1))] == [False, False]
    # The cleaning's clock started when the room began to wait, not when the cleaning started.
    cleaning = next(r for r in rows if r.room.status == rs.CLEANING)
    assert cleaning.since < cleaning.room.status_since
    client = client_for(site_a)
    monkeypatch.setattr(timezone, "now", lambda: later)
    html = client.get(f"/sites/{site.pk}/turnaround/").content.decode()
    assert html.count('class="overdue"') == 2 and 'id="count-overdue">2<' in html


def test_the_turnaround_list_is_for_cleaners_of_the_site(site, site_b, analyst, site_a):
    assert client_for(site_b).get(f"/sites/{site.pk}/turnaround/").status_code == 404
    assert client_for(analyst).get(f"/sites/{site.pk}/turnaround/").status_code == 403
    assert client_for(site_a).post(f"/sites/{site.pk}/turnaround/").status_code == 405
