"""Episode pages: the list, the episode page (schedule, checks, timeline) and the hand-over forms."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from closedloop.quarantine import states
from closedloop.quarantine.actions import (
    CustodyConflict,
    episode_open,
    episode_place,
    handover_give,
    handover_receive,
    handover_refuse,
)
from closedloop.quarantine.actions.observations import health_check_record, specimen_record
from closedloop.quarantine.models import CustodyEvent, Episode

TZ = timezone.get_default_timezone()


@pytest.fixture
def client():
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def html(response) -> str:
    return response.content.decode()


def tbody(response, table_id: str) -> str:
    text = html(response).split(f'id="{table_id}"', 1)[1]
    return text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]


def panel(response, name: str) -> str:
    """The HTML of one action panel ('' when it is not on the page)."""
    match = re.search(rf'<section class="panel action-panel[^"]*" id="action-{name}">(.*?)</section>', html(response), re.S)
    return match.group(1) if match else ""


def version_on_page(response, name: str) -> int:
    return int(re.search(rf'name="{name}-version" value="(\d+)"', html(response)).group(1))


def fresh(episode) -> Episode:
    return Episode.objects.get(pk=episode.pk)


def soon(minutes=30):
    return timezone.now() + timedelta(minutes=minutes)


@pytest.fixture
def placed(episode, site_a_custodian, site_a):
    """张三, close contact last exposed 3 Aug 2022, placed at site A on 6 Aug (day 4: late)."""
    return episode_place(episode=episode, custodian=site_a_custodian, placed_on=date(2022, 8, 6), actor=site_a,
                         signed_by="李护士")


# --- the list ----------------------------------------------------------------------------------

def test_list_shows_episodes_masked_with_custodian_and_release(client, commander, placed, site_a_custodian):
    client.force_login(commander)
    response = client.get(reverse("loop:episodes"))
    assert response.status_code == 200
    rows = tbody(response, "episodes")
    person = placed.person
    assert f'href="{reverse("loop:episode", args=[placed.pk])}"' in rows and "张三" in rows
    assert person.doc_number not in html(response) and person.doc_number_masked in rows
    assert site_a_custodian.name in rows and "2022-08-13" in rows and "cn-9-close-contact v1" in rows
    assert 'data-state="in_custody"' in rows


def test_list_search_and_filters(client, commander, person_factory, site_a_custodian, bus, site_a):
    today = timezone.localdate()
    zhang = episode_open(person=person_factory("张三"), category="close_contact", anchor_date=date(2022, 8, 3),
                         actor=None)
    li = episode_open(person=person_factory("李四"), category="secondary_contact", anchor_date=date(2022, 8, 3),
                      actor=None)
    wang = episode_open(person=person_factory("王五"), category="inbound", anchor_date=today - timedelta(days=9),
                        actor=None)
    episode_place(episode=zhang, custodian=site_a_custodian, placed_on=date(2022, 8, 3), actor=site_a)  # overdue
    episode_place(episode=wang, custodian=bus, placed_on=today, actor=site_a)  # cn-20m-inbound: 8 days, long past
    client.force_login(commander)

    def names(**params):
        rows = tbody(client.get(reverse("loop:episodes"), params), "episodes")
        return {n for n in ("张三", "李四", "王五") if n in rows}

    assert names() == {"张三", "李四", "王五"}
    assert names(q="zhangsan") == {"张三"}
    assert names(q="ls") == {"李四"}
    assert names(q=li.person.phone[-4:]) == {"李四"}
    assert names(category="inbound") == {"王五"}
    assert names(state="awaiting") == {"李四"}
    assert names(custodian=str(site_a_custodian.pk)) == {"张三"}
    assert fresh(wang).release_on == today - timedelta(days=1)  # 5 + 3 days from 9 days ago
    assert names(due="overdue") == {"张三", "王五"}
    assert names(status="closed") == set()
    rows = tbody(client.get(reverse("loop:episodes"), {"sort": "name"}), "episodes")
    assert rows.index("李四") < rows.index("王五") < rows.index("张三")
    rows = tbody(client.get(reverse("loop:episodes"), {"sort": "-name"}), "episodes")
    assert rows.index("张三") < rows.index("王五") < rows.index("李四")
    # Nonsense filters are ignored, not an error; the search box keeps what was typed.
    response = client.get(reverse("loop:episodes"), {"state": "flying", "custodian": "x", "sort": "drop table",
                                                     "q": "赵六"})
    assert response.status_code == 200 and "No episode matches these filters." in html(response)
    assert 'value="赵六"' in html(response)


def test_list_release_due_today(client, commander, person_factory, site_a_custodian, site_a):
    today = timezone.localdate()
    # cn-20m-close-contact: 5 + 3 days; anchored 8 days ago, release is due today.
    due = episode_open(person=person_factory("赵六"), category="close_contact", anchor_date=today - timedelta(days=8),
                       actor=None)
    episode_place(episode=due, custodian=site_a_custodian, placed_on=today - timedelta(days=8), actor=site_a)
    assert fresh(due).release_on == today
    client.force_login(commander)
    rows = tbody(client.get(reverse("loop:episodes"), {"due": "today"}), "episodes")
    assert "赵六" in rows
    assert "赵六" not in tbody(client.get(reverse("loop:episodes"), {"due": "overdue"}), "episodes")


def test_list_is_scoped_and_refused_to_roles_without_people(client, site_b, materials_clerk, placed,
                                                             site_b_custodian, site_a_custodian):
    client.force_login(site_b)
    response = client.get(reverse("loop:episodes"))
    assert response.status_code == 200 and "张三" not in tbody(response, "episodes")
    # The work lists of the user's own custodians are a click away; others' are not offered.
    assert reverse("loop:custodian_worklist", args=[site_b_custodian.pk]) in html(response)
    assert reverse("loop:custodian_worklist", args=[site_a_custodian.pk]) not in html(response)
    client.force_login(materials_clerk)
    assert client.get(reverse("loop:episodes")).status_code == 403


def test_list_needs_login_and_get(client, commander):
    response = client.get(reverse("loop:episodes"))
    assert response.status_code == 302 and "login" in response["Location"]
    client.force_login(commander)
    assert client.post(reverse("loop:episodes")).status_code == 405


@pytest.mark.parametrize("count", [3, 30])
def test_list_query_count_is_pinned(client, commander, person_factory, site_a_custodian, bus, site_a, count,
                                    django_assert_max_num_queries):
    for i in range(count):
        episode = episode_open(person=person_factory(f"人{i}"), category="close_contact",
                               anchor_date=date(2022, 8, 3), actor=None)
        if i % 2:
            episode_place(episode=episode, custodian=site_a_custodian, placed_on=date(2022, 8, 3), actor=site_a)
        if i % 4 == 1:
            handover_give(episode=fresh(episode), to_custodian=bus, expected_by=soon(), actor=site_a)
    client.force_login(commander)
    # session, user, scope, custodians for the filter, count, page rows
    with django_assert_max_num_queries(6):
        response = client.get(reverse("loop:episodes"), {"sort": "release", "q": "ren"})
    assert response.status_code == 200
    assert tbody(response, "episodes").count("<tr data-episode") == count


# --- the episode page --------------------------------------------------------------------------------

def test_episode_page_shows_person_schedule_checks_and_timeline(client, site_a, placed, site_a_custodian):
    specimen_record(episode=placed, kind="pcr", sampled_at=datetime(2022, 8, 7, 9, 0, tzinfo=TZ), barcode="S0807",
                    actor=site_a)
    health_check_record(episode=placed, day=date(2022, 8, 6), slot="morning", temperature="36.6", actor=site_a)
    health_check_record(episode=placed, day=date(2022, 8, 6), slot="evening", temperature="38.1", actor=site_a)
    client.force_login(site_a)
    response = client.get(reverse("loop:episode", args=[placed.pk]))
    assert response.status_code == 200
    page = html(response)
    person = placed.person
    assert f'href="{reverse("people:detail", args=[person.pk])}"' in page
    assert person.doc_number not in page and person.doc_number_masked in page
    assert "cn-9-close-contact v1" in page and "Last exposure: 2022-08-03" in page
    assert "2022-08-06" in page and site_a_custodian.name in page
    # Phases with their dates, then the release day.
    phases = tbody(response, "phases")
    assert re.search(r"Centralized isolation.*?2022-08-03.*?2022-08-09", phases, re.S)
    assert re.search(r"Home health monitoring.*?2022-08-10.*?2022-08-12", phases, re.S)
    assert "2022-08-13" in phases
    # Tests by day: 3-5 Aug missed before control, 7 Aug taken (barcode shown), 9 and 12 Aug after.
    tests = dict(re.findall(r'data-test="([\d-]+)" data-status="(\w+)"', page))
    assert tests == {"2022-08-03": "before_control", "2022-08-04": "before_control",
                     "2022-08-05": "before_control", "2022-08-07": "taken", "2022-08-09": "missed",
                     "2022-08-12": "missed"}  # "today" is long after August 2022
    assert "S0807" in page and "Awaiting result" in page
    assert "36.6 ℃" in page and "2 of 14 recorded so far" in page
    assert re.search(r'<span class="badge red" data-fever>38.1 ℃</span>', page)
    alerts = re.search(r'<section class="panel" id="alerts">(.*?)</section>', page, re.S).group(1)
    assert "Fever" in alerts
    # The timeline is the ledger: the placement, signed by the receiver.
    timeline = tbody(response, "timeline")
    assert 'data-kind="place"' in timeline and "received by: 李护士" in timeline and "site_a" in timeline
    # Actions by state and capability: in custody, site staff may hand over, not close.
    assert panel(response, "give") and not panel(response, "place") and not panel(response, "close")
    assert reverse("loop:health_check", args=[placed.pk]) in page
    assert reverse("loop:specimen", args=[placed.pk]) in page
    assert reverse("loop:release", args=[placed.pk]) in page


def test_episode_page_awaiting_offers_placement_and_headquarters_may_close(client, commander, episode):
    client.force_login(commander)
    response = client.get(reverse("loop:episode", args=[episode.pk]))
    assert response.status_code == 200
    assert panel(response, "place") and panel(response, "close") and not panel(response, "give")
    assert "The schedule is computed when the person is placed under control." in html(response)
    assert reverse("loop:release", args=[episode.pk]) not in html(response)


def test_episode_page_in_transit_shows_receiver_and_late_arrival_in_red(client, site_a, placed, bus):
    expected = soon(20)
    handover_give(episode=fresh(placed), to_custodian=bus, expected_by=expected, actor=site_a, signed_by="李医生")
    client.force_login(site_a)
    response = client.get(reverse("loop:episode", args=[placed.pk]))
    assert bus.name in re.search(r'id="receiver">(.*?)</dd>', html(response), re.S).group(1)
    assert "badge red" not in re.search(r'id="expected-by">(.*?)</dd>', html(response), re.S).group(1)
    assert panel(response, "receive") and panel(response, "refuse") and not panel(response, "give")
    later = timezone.now() + timedelta(hours=2)
    with mock.patch("django.utils.timezone.now", return_value=later):
        response = client.get(reverse("loop:episode", args=[placed.pk]))
    assert "badge red" in re.search(r'id="expected-by">(.*?)</dd>', html(response), re.S).group(1)
    assert "handed over by: 李医生" in tbody(response, "timeline")


def test_episode_page_outsiders(client, site_b, materials_clerk, placed):
    client.force_login(site_b)
    assert client.get(reverse("loop:episode", args=[placed.pk])).status_code == 404
    assert client.get(reverse("loop:episode", args=[999999])).status_code == 404
    client.force_login(materials_clerk)
    assert client.get(reverse("loop:episode", args=[placed.pk])).status_code == 403


def test_a_receiving_site_sees_the_person_it_is_to_receive(client, site_a, site_b, placed, site_b_custodian):
    """Town B's site may open town A's person once the person is on the way to it, and confirm receipt."""
    handover_give(episode=fresh(placed), to_custodian=site_b_custodian, expected_by=soon(), actor=site_a)
    client.force_login(site_b)
    response = client.get(reverse("loop:episode", args=[placed.pk]))
    assert response.status_code == 200 and panel(response, "receive")
    assert f'href="{reverse("people:detail", args=[placed.person.pk])}"' not in html(response)  # not their resident
    response = client.post(reverse("loop:receive", args=[placed.pk]),
                           {"receive-version": version_on_page(response, "receive"), "receive-signed_by": "王医生"})
    assert response.status_code == 302
    assert fresh(placed).custodian_id == site_b_custodian.pk


def test_detail_wrong_method(client, commander, placed):
    client.force_login(commander)
    assert client.post(reverse("loop:episode", args=[placed.pk])).status_code == 405


# --- the forms ------------------------------------------------------------------------------------------

def test_place_happy_path(client, site_a, episode, site_a_custodian):
    client.force_login(site_a)
    page = client.get(reverse("loop:episode", args=[episode.pk]))
    response = client.post(reverse("loop:place", args=[episode.pk]), {
        "place-version": version_on_page(page, "place"), "place-custodian": site_a_custodian.pk,
        "place-placed_on": "2022年8月4日", "place-signed_by": "李护士",
    })
    assert response.status_code == 302 and response["Location"] == reverse("loop:episode", args=[episode.pk])
    episode = fresh(episode)
    assert episode.state == states.IN_CUSTODY and episode.placed_on == date(2022, 8, 4)
    assert CustodyEvent.objects.get(episode=episode).signatures == {"receiver": "李护士"}
    assert "张三 is placed under control." in html(client.get(response["Location"]))


def test_place_bad_input_is_shown_next_to_the_form_and_kept(client, site_a, episode, site_a_custodian):
    client.force_login(site_a)
    response = client.post(reverse("loop:place", args=[episode.pk]), {
        "place-version": "0", "place-custodian": "", "place-placed_on": "32/13/2022", "place-signed_by": "李护士",
    })
    assert response.status_code == 400
    form = panel(response, "place")
    assert 'id="id_place-custodian_errors"' in form and 'id="id_place-placed_on_errors"' in form
    assert 'value="32/13/2022"' in form and 'value="李护士"' in form
    # Before the anchor date: the action refuses, the reason is shown in the form.
    response = client.post(reverse("loop:place", args=[episode.pk]), {
        "place-version": "0", "place-custodian": site_a_custodian.pk, "place-placed_on": "2022-08-01",
    })
    assert response.status_code == 400
    assert "cannot be placed before the date their control counts from" in panel(response, "place")
    assert fresh(episode).state == states.AWAITING and not CustodyEvent.objects.filter(episode=episode).exists()


def test_give_receive_refuse_through_the_pages(client, site_a, placed, bus):
    client.force_login(site_a)
    url = reverse("loop:episode", args=[placed.pk])
    arrival = timezone.localtime(soon(60)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("loop:give", args=[placed.pk]), {
        "give-version": version_on_page(client.get(url), "give"), "give-to_custodian": bus.pk,
        "give-expected_by": arrival, "give-signed_by": "李医生", "give-reason": "转居家",
    })
    assert response.status_code == 302
    episode = fresh(placed)
    assert episode.state == states.IN_TRANSIT and episode.pending_custodian_id == bus.pk
    assert timezone.localtime(episode.expected_by).strftime("%Y-%m-%dT%H:%M") == arrival
    # Refusal needs a reason.
    response = client.post(reverse("loop:refuse", args=[placed.pk]),
                           {"refuse-version": episode.version, "refuse-reason": "  "})
    assert response.status_code == 400 and 'id="id_refuse-reason_errors"' in panel(response, "refuse")
    response = client.post(reverse("loop:refuse", args=[placed.pk]),
                           {"refuse-version": episode.version, "refuse-reason": "体温37.8℃"})
    assert response.status_code == 302
    episode = fresh(placed)
    assert episode.state == states.IN_CUSTODY and episode.custodian_id == placed.custodian_id
    # Hand over again, and the bus confirms.
    handover_give(episode=episode, to_custodian=bus, expected_by=soon(), actor=site_a)
    response = client.post(reverse("loop:receive", args=[placed.pk]),
                           {"receive-version": fresh(placed).version, "receive-signed_by": "王司机"})
    assert response.status_code == 302 and fresh(placed).custodian_id == bus.pk
    kinds = list(CustodyEvent.objects.filter(episode=placed).values_list("kind", flat=True))
    assert kinds == ["place", "give", "refuse", "give", "receive"]


def test_give_refused_by_the_action_keeps_what_was_typed(client, site_a, placed, bus):
    client.force_login(site_a)
    past = timezone.localtime(timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("loop:give", args=[placed.pk]), {
        "give-version": placed.version, "give-to_custodian": bus.pk, "give-expected_by": past,
        "give-signed_by": "李医生", "give-reason": "转运",
    })
    assert response.status_code == 400
    form = panel(response, "give")
    assert "The expected arrival must be later than now." in form
    assert f'value="{past}"' in form and 'value="李医生"' in form
    assert fresh(placed).state == states.IN_CUSTODY
    # No signature, no receiver, no time: each said next to its field.
    response = client.post(reverse("loop:give", args=[placed.pk]), {"give-version": placed.version})
    form = panel(response, "give")
    for name in ("to_custodian", "expected_by", "signed_by"):
        assert f'id="id_give-{name}_errors"' in form


def test_close_needs_headquarters_and_a_reason(client, site_a, commander, placed):
    client.force_login(site_a)
    response = client.post(reverse("loop:close", args=[placed.pk]),
                           {"close-version": placed.version, "close-reason": "重复登记"})
    assert response.status_code == 403 and "Only headquarters may close an episode." in panel(response, "close")
    client.force_login(commander)
    response = client.post(reverse("loop:close", args=[placed.pk]), {"close-version": placed.version})
    assert response.status_code == 400
    response = client.post(reverse("loop:close", args=[placed.pk]),
                           {"close-version": placed.version, "close-reason": "重复登记"})
    assert response.status_code == 302 and fresh(placed).state == states.CLOSED
    # A closed episode offers no action any more.
    response = client.get(reverse("loop:episode", args=[placed.pk]))
    assert "id=\"action-" not in html(response)


def test_a_page_another_desk_changed_gets_a_conflict_with_the_fresh_state(client, site_a, commander, placed, bus):
    client.force_login(site_a)
    page = client.get(reverse("loop:episode", args=[placed.pk]))
    seen = version_on_page(page, "give")
    # Meanwhile another desk hands the person over and takes them back: same state, newer version.
    handover_give(episode=fresh(placed), to_custodian=bus, expected_by=soon(), actor=commander)
    handover_refuse(episode=fresh(placed), actor=commander, reason="车辆故障")
    before = fresh(placed).version
    arrival = timezone.localtime(soon(60)).strftime("%Y-%m-%dT%H:%M")
    data = {"give-version": seen, "give-to_custodian": bus.pk, "give-expected_by": arrival,
            "give-signed_by": "李医生", "give-reason": ""}
    response = client.post(reverse("loop:give", args=[placed.pk]), data)
    assert response.status_code == 409
    assert "Someone else acted on this person first" in html(response)
    assert "Someone else acted on this person first" in panel(response, "give")  # next to the form
    assert 'value="李医生"' in panel(response, "give")  # what was typed is kept
    assert "refuse" in tbody(response, "timeline")  # the fresh state and its ledger
    assert fresh(placed).version == before  # nothing written
    # The form now carries the fresh version: submitting again, deliberately, works.
    assert version_on_page(response, "give") == before
    response = client.post(reverse("loop:give", args=[placed.pk]), {**data, "give-version": before})
    assert response.status_code == 302 and fresh(placed).state == states.IN_TRANSIT


def test_a_state_changed_meanwhile_gets_a_conflict(client, site_a, commander, placed, bus):
    handover_give(episode=fresh(placed), to_custodian=bus, expected_by=soon(), actor=site_a)
    client.force_login(site_a)
    seen = version_on_page(client.get(reverse("loop:episode", args=[placed.pk])), "refuse")
    handover_receive(episode=fresh(placed), actor=commander, signed_by="王司机")
    response = client.post(reverse("loop:refuse", args=[placed.pk]),
                           {"refuse-version": seen, "refuse-reason": "无床位"})
    assert response.status_code == 409
    assert "they are now In custody (custodian: " + bus.name in html(response)
    assert "无床位" in panel(response, "refuse")
    assert fresh(placed).custodian_id == bus.pk


def test_a_race_lost_inside_the_action_is_a_conflict_too(client, site_a, placed, bus):
    client.force_login(site_a)
    arrival = timezone.localtime(soon(60)).strftime("%Y-%m-%dT%H:%M")
    with mock.patch("closedloop.quarantine.actions.handover_give", side_effect=CustodyConflict("raced")):
        response = client.post(reverse("loop:give", args=[placed.pk]), {
            "give-version": placed.version, "give-to_custodian": bus.pk, "give-expected_by": arrival,
            "give-signed_by": "李医生",
        })
    assert response.status_code == 409 and "Someone else acted on this person first" in panel(response, "give")


def test_forms_refuse_get_and_outsiders(client, site_a, site_b, materials_clerk, placed, bus):
    client.force_login(site_a)
    for name in ("place", "give", "receive", "refuse", "close"):
        assert client.get(reverse(f"loop:{name}", args=[placed.pk])).status_code == 405
    client.force_login(site_b)
    arrival = timezone.localtime(soon(60)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("loop:give", args=[placed.pk]), {
        "give-version": placed.version, "give-to_custodian": bus.pk, "give-expected_by": arrival,
        "give-signed_by": "x"})
    assert response.status_code == 404
    client.force_login(materials_clerk)
    assert client.post(reverse("loop:give", args=[placed.pk]), {}).status_code == 403
    assert fresh(placed).state == states.IN_CUSTODY


def test_chinese_page_shows_chinese_dates(placed, site_a):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(site_a)
    response = client.get(reverse("loop:episode", args=[placed.pk]))
    assert response.status_code == 200 and "2022年8月13日" in html(response)
