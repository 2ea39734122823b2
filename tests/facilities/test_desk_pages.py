"""The check-in desk: scan an ID number or pick from those on their way (a whole vehicle at once), the engine's
suggestions, one POST to check in, room cards; check-out by release or hand-over."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from closedloop.facilities import room_states as rs
from closedloop.facilities.actions import checkin
from closedloop.facilities.models import Room, Stay
from closedloop.quarantine import states
from closedloop.quarantine.actions import custodian_create, episode_place
from closedloop.quarantine.models import Episode, ReleaseCertificate
from tests.facilities.board_helpers import client_for, fresh, on_the_way, open_stay, set_status
from tests.facilities.conftest import room
from tests.facilities.test_checkin_actions import _releasable


@pytest.fixture
def desk(facility_a, bus, open_episode):
    """Three people on the bus to site A (one elderly), one awaiting placement in town A, one the bus holds."""
    riders = [on_the_way(open_episode("乘客甲"), bus, facility_a),
              on_the_way(open_episode("老人乙", flags={"is_elderly": True}), bus, facility_a),
              on_the_way(open_episode("乘客丙"), bus, facility_a)]
    awaiting = open_episode("等待丁")
    kept = episode_place(episode=open_episode("车上戊"), custodian=bus, actor=None)
    return {"site": facility_a, "riders": riders, "awaiting": awaiting, "kept": kept}


def url(site, tail=""):
    return f"/sites/{site.pk}/desk/{tail}"


def selected_rooms(html: str) -> dict[str, str]:
    """episode id → the room token selected in its row."""
    out = {}
    for episode_id, select in re.findall(r'<select name="room_(\d+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', select)
        out[episode_id] = chosen.group(1) if chosen else None
    return out


def token(r: Room) -> str:
    r = fresh(r)
    return f"{r.pk}.{r.version}"


# --- finding people -----------------------------------------------------------------------------------

def test_the_desk_lists_the_vehicle_on_its_way_and_those_awaiting(desk, site_a, bus):
    response = client_for(site_a).get(url(desk["site"]))
    assert response.status_code == 200
    html = response.content.decode()
    group = html[html.index(f'data-giver="{bus.pk}"'):html.index('id="awaiting"')]
    for rider in desk["riders"]:
        assert f'data-episode="{rider.pk}"' in group
    assert "乘客甲" in group and desk["riders"][0].person.doc_number_masked in group
    assert desk["riders"][0].person.doc_number not in html
    assert "等待丁" in html[html.index('id="awaiting"'):]
    assert "车上戊" not in html  # held by the bus, not on its way here
    # The elderly rider is highlighted.
    assert re.search(rf'<tr data-episode="{desk["riders"][1].pk}" class="vulnerable">', html)


def test_scanning_an_id_number_picks_the_person_with_a_suggested_room(desk, site_a):
    rider = desk["riders"][0]
    response = client_for(site_a).get(url(desk["site"]), {"q": rider.person.doc_number})
    # Picked at once; the ID number does not stay in the address.
    assert response.status_code == 302 and response.url == f"{url(desk['site'])}?pick={rider.pk}"
    response = client_for(site_a).get(response.url)
    html = response.content.decode()
    chosen = selected_rooms(html)
    assert list(chosen) == [str(rider.pk)]
    room_id = int(chosen[str(rider.pk)].split(".")[0])
    assert Room.objects.get(pk=room_id).status == rs.AVAILABLE
    assert 'id="confirm-checkin"' in html


def test_scanning_someone_not_coming_here_says_why(desk, site_a, bus):
    kept = desk["kept"]
    html = client_for(site_a).get(url(desk["site"]), {"q": kept.person.doc_number}).content.decode()
    assert "not on the way to this site" in html and bus.name in html
    assert selected_rooms(html) == {}


def test_an_unknown_number_is_not_found(desk, site_a):
    html = client_for(site_a).get(url(desk["site"]), {"q": "11010519491231002X"}).content.decode()
    assert 'id="not-found"' in html


def test_a_whole_vehicle_gets_a_room_each_and_the_elderly_is_flagged(desk, site_a, bus):
    html = client_for(site_a).get(url(desk["site"]), {"group": bus.pk}).content.decode()
    chosen = selected_rooms(html)
    assert set(chosen) == {str(r.pk) for r in desk["riders"]}
    rooms = [v.split(".")[0] for v in chosen.values()]
    assert len(set(rooms)) == 3  # one person per room
    floors = {Room.objects.get(pk=r).floor for r in rooms}
    assert len(floors) == 1  # filling one floor before opening another
    assert "Elderly (65+)" in html


def test_a_person_who_cannot_get_a_room_is_told_why(facility_a, open_episode, site_a):
    for r in Room.objects.filter(facility=facility_a):
        set_status(r, rs.OUT_OF_SERVICE, actor=site_a)
    person = open_episode("无房")
    html = client_for(site_a).get(url(facility_a), {"pick": person.pk}).content.decode()
    assert selected_rooms(html) == {str(person.pk): ""}
    assert "data-reason" in html


# --- checking in ------------------------------------------------------------------------------------------

def test_one_post_checks_in_the_group_and_prints_their_cards(desk, site_a, bus):
    client = client_for(site_a)
    chosen = selected_rooms(client.get(url(desk["site"]), {"group": bus.pk}).content.decode())
    riders = desk["riders"]
    # The clerk moves the elderly rider to the accessible room 401.
    chosen[str(riders[1].pk)] = token(room(desk["site"], "401"))
    data = {"pick": [r.pk for r in riders], "signed_by": "王护士", **{f"room_{k}": v for k, v in chosen.items()}}
    response = client.post(url(desk["site"], "checkin/"), data)
    assert response.status_code == 302 and response.url.startswith(f"/sites/{desk['site'].pk}/cards/?stay=")
    for rider in riders:
        assert fresh(rider).state == states.IN_CUSTODY and fresh(rider).custodian_id == desk["site"].custodian_id
    assert open_stay(riders[1]).room.number == "401"
    cards = client.get(response.url)
    html = cards.content.decode()
    assert cards.status_code == 200 and html.count('class="room-card"') == 3
    assert "老人乙" in html and riders[1].person.doc_number_masked in html and riders[1].person.doc_number not in html
    assert "08:00" in html  # the protocol's health-check times
    assert fresh(riders[1]).release_on.isoformat() in html
    stay = open_stay(riders[0])
    single = client.get(f"/sites/stays/{stay.pk}/card/")
    assert single.status_code == 200 and single.content.decode().count('class="room-card"') == 1


def test_a_room_awaiting_cleaning_is_refused_at_the_desk(desk, site_a):
    person = desk["awaiting"]
    r302 = set_status(room(desk["site"], "302"), rs.AWAITING_CLEANING, actor=site_a)
    response = client_for(site_a).post(url(desk["site"], "checkin/"), {"pick": person.pk,
                                                                       f"room_{person.pk}": token(r302)})
    assert response.status_code == 400
    assert "Room 302 is awaiting cleaning; only an available room can be given." in response.content.decode()
    assert not Stay.objects.exists() and fresh(person).state == states.AWAITING


def test_a_room_taken_by_another_desk_meanwhile_is_a_conflict_and_nothing_is_written(desk, site_a, open_episode):
    person = desk["awaiting"]
    r303 = room(desk["site"], "303")
    shown = token(r303)
    checkin(facility=desk["site"], assignments=[(open_episode("别的台"), r303)], actor=site_a)  # the other desk
    response = client_for(site_a).post(url(desk["site"], "checkin/"), {"pick": person.pk,
                                                                       f"room_{person.pk}": shown})
    assert response.status_code == 409
    html = response.content.decode()
    assert "Room 303 is Occupied now; reload and choose again." in html and "Nothing was saved" in html
    assert fresh(person).state == states.AWAITING and open_stay(person) is None
    fresh_choice = selected_rooms(html)[str(person.pk)]
    assert fresh_choice and not fresh_choice.startswith(f"{r303.pk}.")  # a new suggestion, not the lost room


def test_bad_input_is_refused_next_to_the_person(desk, site_a, facility_b):
    person = desk["awaiting"]
    client = client_for(site_a)
    response = client.post(url(desk["site"], "checkin/"), {"pick": person.pk, f"room_{person.pk}": "301"})
    assert response.status_code == 400 and "Choose a room from the list." in response.content.decode()
    response = client.post(url(desk["site"], "checkin/"), {"pick": person.pk, f"room_{person.pk}": ""})
    assert response.status_code == 400 and "Choose a room for at least one person." in response.content.decode()
    response = client.post(url(desk["site"], "checkin/"), {"pick": "x"})
    assert response.status_code == 400
    elsewhere = room(facility_b, "201")  # a room of another site
    response = client.post(url(desk["site"], "checkin/"), {"pick": person.pk,
                                                           f"room_{person.pk}": f"{elsewhere.pk}.0"})
    assert response.status_code == 400 and fresh(elsewhere).status == rs.AVAILABLE
    assert not Stay.objects.exists()


def test_a_rule_broken_by_hand_is_refused_with_its_reason(desk, site_a):
    a, b = desk["riders"][0], desk["riders"][2]
    r305 = room(desk["site"], "305")  # two beds, but they are strangers
    response = client_for(site_a).post(url(desk["site"], "checkin/"), {
        "pick": [a.pk, b.pk], f"room_{a.pk}": token(r305), f"room_{b.pk}": token(r305)})
    assert response.status_code == 400
    assert "Room 305 can be shared only by one household" in response.content.decode()
    assert not Stay.objects.exists() and fresh(a).state == states.IN_TRANSIT


def test_the_desk_refuses_outsiders_roles_without_check_in_and_other_methods(desk, site_b, analyst, site_a):
    site = desk["site"]
    assert client_for(site_b).get(url(site)).status_code == 404
    assert client_for(site_b).post(url(site, "checkin/"), {"pick": desk["awaiting"].pk}).status_code == 404
    assert client_for(analyst).get(url(site)).status_code == 403
    assert client_for(analyst).post(url(site, "checkin/")).status_code == 403
    assert client_for(site_a).get(url(site, "checkin/")).status_code == 405
    assert not Stay.objects.exists()


def test_an_outsider_cannot_pick_someone_the_desk_may_not_take(facility_a, open_episode, site_a, town_b):
    stranger = open_episode("外镇人", town=town_b)  # lives in town B, awaiting there: not for site A's desk
    html = client_for(site_a).get(url(facility_a), {"pick": stranger.pk}).content.decode()
    assert selected_rooms(html) == {} and "外镇人" not in html


def test_room_cards_are_refused_to_outsiders(desk, site_a, site_b, analyst):
    rider = desk["riders"][0]
    checkin(facility=desk["site"], assignments=[(rider, room(desk["site"], "301"))], actor=site_a)
    stay = open_stay(rider)
    assert client_for(site_b).get(f"/sites/stays/{stay.pk}/card/").status_code == 404
    assert client_for(analyst).get(f"/sites/stays/{stay.pk}/card/").status_code == 403
    assert client_for(site_b).get(f"/sites/{desk['site'].pk}/cards/?stay={stay.pk}").status_code == 404
    assert client_for(site_a).get(f"/sites/{desk['site'].pk}/cards/?stay=999999").status_code == 404


# --- check-out ----------------------------------------------------------------------------------------------

@pytest.fixture
def home_a1(city, community_a1):
    return custodian_create(kind="home_community", name="香溪社区居家监测", code="home-a1", city=city,
                            jurisdiction=community_a1, actor=None)


def checked_in(site, episode, number, actor):
    checkin(facility=site, assignments=[(episode, room(site, number))], actor=actor)
    return open_stay(episode)


def test_the_check_out_page_shows_what_the_release_rule_still_needs(facility_a, open_episode, site_a, home_a1):
    stay = checked_in(facility_a, open_episode(anchor=timezone.localdate()), "301", site_a)
    response = client_for(site_a).get(f"/sites/stays/{stay.pk}/checkout/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="release-preview"' in html and 'id="handover-form"' in html and home_a1.name in html


def test_a_blocked_release_shows_the_blockers_and_keeps_the_room(facility_a, open_episode, site_a):
    stay = checked_in(facility_a, open_episode(anchor=timezone.localdate()), "301", site_a)
    response = client_for(site_a).post(f"/sites/stays/{stay.pk}/checkout/", {"action": "release"})
    assert response.status_code == 400 and 'id="release-blockers"' in response.content.decode()
    assert open_stay(stay.episode) is not None and fresh(room(facility_a, "301")).status == rs.OCCUPIED


def test_a_release_at_check_out_frees_the_room(facility_a, person_factory, site_a):
    episode = _releasable(facility_a, person_factory, site_a)
    stay = open_stay(episode)
    response = client_for(site_a).post(f"/sites/stays/{stay.pk}/checkout/", {"action": "release"})
    certificate = ReleaseCertificate.objects.get(episode=episode)
    assert response.status_code == 302 and response.url == f"/loop/certificates/{certificate.code}/"
    assert fresh(room(facility_a, "301")).status == rs.AWAITING_CLEANING and open_stay(episode) is None


def test_a_hand_over_at_check_out_frees_the_room(facility_a, open_episode, site_a, home_a1):
    stay = checked_in(facility_a, open_episode(), "302", site_a)
    expected = (timezone.localtime() + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M")
    response = client_for(site_a).post(f"/sites/stays/{stay.pk}/checkout/", {
        "action": "handover", "give-version": fresh(stay.episode).version, "give-to_custodian": home_a1.pk,
        "give-expected_by": expected, "give-signed_by": "李医生"})
    assert response.status_code == 302 and response.url == f"/sites/rooms/{stay.room_id}/"
    episode = fresh(stay.episode)
    assert episode.state == states.IN_TRANSIT and episode.pending_custodian == home_a1
    assert fresh(room(facility_a, "302")).status == rs.AWAITING_CLEANING


def test_a_hand_over_with_bad_input_or_a_stale_page_changes_nothing(facility_a, open_episode, site_a, home_a1):
    stay = checked_in(facility_a, open_episode(), "302", site_a)
    client = client_for(site_a)
    version = fresh(stay.episode).version
    response = client.post(f"/sites/stays/{stay.pk}/checkout/", {
        "action": "handover", "give-version": version, "give-expected_by": "tomorrow-ish", "give-signed_by": ""})
    assert response.status_code == 400 and "has-error" in response.content.decode()
    expected = (timezone.localtime() + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M")
    response = client.post(f"/sites/stays/{stay.pk}/checkout/", {
        "action": "handover", "give-version": version - 1, "give-to_custodian": home_a1.pk,
        "give-expected_by": expected, "give-signed_by": "李医生"})
    assert response.status_code == 409
    response = client.post(f"/sites/stays/{stay.pk}/checkout/", {"action": "teleport"})
    assert response.status_code == 400
    assert open_stay(stay.episode) is not None and fresh(stay.episode).state == states.IN_CUSTODY


def test_check_out_is_refused_to_outsiders_and_roles_without_it(facility_a, open_episode, site_a, site_b, analyst):
    stay = checked_in(facility_a, open_episode(), "302", site_a)
    assert client_for(site_b).get(f"/sites/stays/{stay.pk}/checkout/").status_code == 404
    assert client_for(analyst).get(f"/sites/stays/{stay.pk}/checkout/").status_code == 403
    assert client_for(site_a).put(f"/sites/stays/{stay.pk}/checkout/").status_code == 405
    assert client_for(site_b).post(f"/sites/stays/{stay.pk}/checkout/", {"action": "release"}).status_code == 404
    assert open_stay(stay.episode) is not None


def test_a_closed_stay_has_no_check_out(facility_a, open_episode, site_a, bus):
    stay = checked_in(facility_a, open_episode(), "302", site_a)
    from closedloop.facilities.actions import checkout_handover

    checkout_handover(episode=fresh(stay.episode), to_custodian=bus, expected_by=timezone.now() + timedelta(hours=1),
                      actor=site_a)
    assert client_for(site_a).get(f"/sites/stays/{stay.pk}/checkout/").status_code == 404
    assert Episode.objects.get(pk=stay.episode_id).state == states.IN_TRANSIT
    # The card of a closed stay still prints (it says when they left).
    assert client_for(site_a).get(f"/sites/stays/{stay.pk}/card/").status_code == 200
