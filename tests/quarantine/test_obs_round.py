"""A custodian's health-check round: every row on its own, good rows written in bulk, constant queries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from closedloop.core.models import AuditEvent
from closedloop.quarantine.actions import check_round_record
from closedloop.quarantine.models import Alert, HealthCheck
from tests.quarantine import test_obs_support as support
from tests.quarantine.test_obs_support import held_episode, insert_statements, today

held = support.held  # a shared fixture


@pytest.fixture
def client():
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def capture():
    """CaptureQueriesContext on an emptied query log: Django keeps only the last 9000 queries, and building
    300 people fills it, after which the context counts nothing. Read a capture's count before the next one:
    it slices the log when asked."""
    connection.queries_log.clear()
    return CaptureQueriesContext(connection)


def make_held(person_factory, custodian, n, prefix="人"):
    return [held_episode(person_factory(f"{prefix}{i:03d}"), custodian) for i in range(n)]


def rows_for(episodes, temperature="36.5"):
    return [{"episode": e.pk, "temperature": temperature, "symptoms": []} for e in episodes]


def test_a_round_of_300_with_3_bad_rows_writes_297_in_constant_queries(person_factory, site_a_custodian, site_a):
    episodes = make_held(person_factory, site_a_custodian, 300)
    rows = rows_for(episodes)
    rows[10]["temperature"] = "50"
    rows[20]["temperature"] = "三十六"
    rows[30]["symptoms"] = ["headache"]
    with capture() as big:
        result = check_round_record(custodian=site_a_custodian, day=today(), slot="morning", rows=rows, actor=site_a)
    big_count, big_sql = len(big), [q["sql"][:60] for q in big.captured_queries]  # before the log is cleared
    assert (result.created, result.updated, result.rejected) == (297, 0, 3)
    assert HealthCheck.objects.filter(day=today(), slot="morning").count() == 297
    assert {(p.episode_id, p.field) for p in result.problems} == {
        (episodes[10].pk, "temperature"), (episodes[20].pk, "temperature"), (episodes[30].pk, "symptoms")}
    assert not HealthCheck.objects.filter(episode__in=[episodes[10], episodes[20], episodes[30]]).exists()
    assert AuditEvent.objects.filter(action="health_check.record").count() == 297
    summary = AuditEvent.objects.get(action="health_check.round")
    assert summary.after["created"] == 297 and summary.after["rejected"] == 3
    # The same round for three people takes as many queries: nothing per row.
    fresh = type(site_a).objects.get(pk=site_a.pk)  # reads its jurisdictions once, like site_a did above
    with capture() as small:
        check_round_record(custodian=site_a_custodian, day=today(), slot="evening", rows=rows_for(episodes[:3]),
                           actor=fresh)
    batches = (insert_statements(HealthCheck, 297) - insert_statements(HealthCheck, 3)
               + insert_statements(AuditEvent, 297 + 1) - insert_statements(AuditEvent, 3 + 1))
    # Pinned: the user's jurisdictions, the episodes, the slot's checks, the inserts of checks and of audit
    # rows, and two savepoints (the action's and the insert's) of two statements each.
    assert big_count - batches == len(small) == 9, big_sql


def test_a_round_again_updates_changed_rows_and_leaves_the_rest(person_factory, site_a_custodian, site_a):
    episodes = make_held(person_factory, site_a_custodian, 4)
    check_round_record(custodian=site_a_custodian, day=today(), slot="morning", rows=rows_for(episodes), actor=site_a)
    rows = rows_for(episodes)
    rows[0]["temperature"] = "36.8"
    rows[3] = {"episode": episodes[3].pk, "temperature": "", "symptoms": []}  # left empty: skipped
    result = check_round_record(custodian=site_a_custodian, day=today(), slot="morning", rows=rows, actor=site_a)
    assert (result.created, result.updated, result.unchanged, result.skipped) == (0, 1, 2, 1)
    assert str(HealthCheck.objects.get(episode=episodes[0]).temperature) == "36.8"
    update = AuditEvent.objects.filter(action="health_check.record", target_id=str(episodes[0].pk)).order_by("-id")[0]
    assert update.before["temperature"] == "36.5" and update.after["temperature"] == "36.8"


def test_fever_and_symptom_rows_raise_one_alert_each(person_factory, site_a_custodian, site_a):
    episodes = make_held(person_factory, site_a_custodian, 3)
    rows = rows_for(episodes)
    rows[0]["temperature"] = "37.9"
    rows[1]["symptoms"] = ["cough"]
    result = check_round_record(custodian=site_a_custodian, day=today(), slot="morning", rows=rows, actor=site_a)
    assert result.alerts == 2
    rows[0]["temperature"] = "38.5"
    check_round_record(custodian=site_a_custodian, day=today(), slot="evening", rows=rows, actor=site_a)
    kinds = sorted(Alert.objects.values_list("episode_id", "kind"))
    assert kinds == sorted([(episodes[0].pk, "fever"), (episodes[1].pk, "symptom")])
    assert set(Alert.objects.values_list("custodian_id", flat=True)) == {site_a_custodian.pk}
    assert AuditEvent.objects.filter(action="alert.raise").count() == 2


def test_rows_of_people_held_elsewhere_are_refused_and_the_day_and_slot_are_checked(
    person_factory, site_a_custodian, site_b_custodian, site_a, site_b, held
):
    elsewhere = held_episode(person_factory("钱七"), site_b_custodian)
    result = check_round_record(custodian=site_a_custodian, day=today(), slot="morning",
                                rows=rows_for([held, elsewhere]), actor=site_a)
    assert result.created == 1 and [(p.episode_id, p.field) for p in result.problems] == [(elsewhere.pk, "episode")]
    with pytest.raises(ValidationError):
        check_round_record(custodian=site_a_custodian, day=today() + timedelta(days=1), slot="morning",
                           rows=rows_for([held]), actor=site_a)
    with pytest.raises(ValidationError):
        check_round_record(custodian=site_a_custodian, day=today(), slot="midnight", rows=rows_for([held]),
                           actor=site_a)
    with pytest.raises(PermissionDenied):
        check_round_record(custodian=site_a_custodian, day=today(), slot="morning", rows=rows_for([held]),
                           actor=site_b)
    result = check_round_record(custodian=site_a_custodian, day=today() - timedelta(days=3), slot="morning",
                                rows=rows_for([held]), actor=site_a)
    assert [p.field for p in result.problems] == ["day"]  # before the placement
    assert HealthCheck.objects.count() == 1


# --- the page ---------------------------------------------------------------------------------------

def post_data(page_html: str, changes: dict) -> dict:
    """What the browser would send: every temperature input as shown, plus the changes."""
    data = {"day": today().isoformat(), "slot": "morning"}
    for name, value in re.findall(r'name="(t-\d+)" id="t-\d+" value="([^"]*)"', page_html):
        data[name] = value
    data.update(changes)
    return data


def test_the_round_page_lists_300_people_and_writes_the_round_in_constant_queries(
    client, person_factory, site_a_custodian, site_b_custodian, commander
):
    episodes = make_held(person_factory, site_a_custodian, 300)
    few = make_held(person_factory, site_b_custodian, 3, prefix="乙")
    client.force_login(commander)
    url = reverse("loop:check_round", args=[site_a_custodian.pk])
    with capture() as big_get:
        response = client.get(url, {"day": today().isoformat(), "slot": "morning"})
    big_get_count = len(big_get)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="obs-temp"') == 300
    with capture() as small_get:
        client.get(reverse("loop:check_round", args=[site_b_custodian.pk]), {"day": today().isoformat(),
                                                                              "slot": "morning"})
    assert big_get_count == len(small_get)

    changes = {f"t-{e.pk}": "36.6" for e in episodes}
    changes.update({f"t-{episodes[5].pk}": "99", f"t-{episodes[6].pk}": "x", f"t-{episodes[7].pk}": "",
                    f"s-{episodes[7].pk}": "cough", f"s-{episodes[8].pk}": ["cough", "fatigue"]})
    with capture() as big_post:
        response = client.post(url, post_data(html, changes))
    big_post_count, big_post_sql = len(big_post), [q["sql"][:60] for q in big_post.captured_queries]
    assert response.status_code == 200
    html = response.content.decode()
    assert HealthCheck.objects.filter(episode__custodian=site_a_custodian).count() == 297
    assert "297 checks recorded" in html and "3 rows were refused" in html
    for e, typed in ((episodes[5], "99"), (episodes[6], "x"), (episodes[7], "")):
        row = html.split(f'id="row-{e.pk}"', 1)[1].split("</tr>", 1)[0]
        assert 'class="row-rejected"' in html.split(f'id="row-{e.pk}"', 1)[0][-40:] + row[:30]
        assert f'value="{typed}"' in row
        assert 'class="reason"' in row
    row7 = html.split(f'id="row-{episodes[7].pk}"', 1)[1].split("</tr>", 1)[0]
    assert 'value="cough" checked' in row7 and "Enter the temperature" in row7

    small_page = client.get(reverse("loop:check_round", args=[site_b_custodian.pk]),
                            {"day": today().isoformat(), "slot": "morning"}).content.decode()
    small_changes = {f"t-{e.pk}": "36.6" for e in few}
    small_changes.update({f"t-{few[0].pk}": "99", f"s-{few[1].pk}": "cough"})
    with capture() as small_post:
        response = client.post(reverse("loop:check_round", args=[site_b_custodian.pk]),
                               post_data(small_page, small_changes))
    assert "1 rows were refused" in response.content.decode()
    # Rows written: 297 checks and 297 + 1 alert + 1 round audit rows against 2 checks and 2 + 1 + 1.
    batches = (insert_statements(HealthCheck, 297) - insert_statements(HealthCheck, 2)
               + insert_statements(AuditEvent, 299) - insert_statements(AuditEvent, 4))
    assert big_post_count - batches == len(small_post), big_post_sql


def test_a_clean_round_redirects_and_shows_what_was_recorded(client, person_factory, site_a_custodian, site_a):
    episodes = make_held(person_factory, site_a_custodian, 2)
    client.force_login(site_a)
    url = reverse("loop:check_round", args=[site_a_custodian.pk])
    page = client.get(url, {"day": today().isoformat(), "slot": "morning"}).content.decode()
    response = client.post(url, post_data(page, {f"t-{episodes[0].pk}": "36.4", f"t-{episodes[1].pk}": "37.5"}))
    assert response.status_code == 302 and f"day={today().isoformat()}" in response["Location"]
    html = client.get(response["Location"]).content.decode()
    assert "2 checks recorded" in html and "1 alerts raised" in html
    assert 'value="37.5"' in html and html.count("badge green small") == 2


def test_the_round_page_refuses_outsiders_bad_input_and_other_methods(client, site_a_custodian, site_b, analyst,
                                                                      site_a, held):
    url = reverse("loop:check_round", args=[site_a_custodian.pk])
    client.force_login(site_b)
    assert client.get(url).status_code == 404
    assert client.post(url, {"day": today().isoformat(), "slot": "morning", f"t-{held.pk}": "36.5"}).status_code == 404
    client.force_login(analyst)
    assert client.get(url).status_code == 403
    client.force_login(site_a)
    assert client.put(url).status_code == 405
    response = client.post(url, {"day": "not a day", "slot": "morning", f"t-{held.pk}": "36.5"})
    assert response.status_code == 400 and not HealthCheck.objects.exists()
    response = client.post(url, {"day": (today() + timedelta(days=1)).isoformat(), "slot": "morning",
                                 f"t-{held.pk}": "36.5"})
    assert response.status_code == 400 and "in the future" in response.content.decode()
    assert not HealthCheck.objects.exists()
    assert client.get(reverse("loop:check_round", args=[999999])).status_code == 404
