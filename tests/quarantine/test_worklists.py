"""Work lists: a site's and a community's day, the headquarters alerts page, their exports."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from python_calamine import CalamineWorkbook

from closedloop.quarantine.actions import (
    custodian_create,
    episode_open,
    episode_place,
    handover_give,
    handover_receive,
)
from closedloop.quarantine.actions.observations import health_check_record, specimen_record
from closedloop.quarantine.models import Episode

TZ = timezone.get_default_timezone()
DAY = date(2022, 8, 7)  # the frozen "today" of the site's work list


@pytest.fixture
def client():
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def html(response) -> str:
    return response.content.decode()


def section(response, section_id: str) -> str:
    match = re.search(rf'<section class="panel wl-section" id="{section_id}">(.*?)</section>', html(response), re.S)
    assert match, section_id
    return match.group(1)


def names_in(fragment: str, people: dict) -> set[str]:
    return {name for name, episode in people.items() if f'data-episode="{episode.pk}"' in fragment}


def figure(response, name: str) -> int:
    return int(re.search(rf'data-figure="{name}"[^>]*><div class="figure">(\d+)</div>', html(response)).group(1))


def fresh(episode) -> Episode:
    return Episode.objects.get(pk=episode.pk)


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=TZ)


def sample_all(episode, actor, until: date) -> None:
    """A nucleic-acid sample for every test day of the episode's schedule before ``until``."""
    from closedloop.quarantine.actions import episode_schedule

    for test in episode_schedule(fresh(episode)).tests:
        if test.due and test.date < until:
            specimen_record(episode=episode, kind="pcr", sampled_at=at(test.date), actor=actor)


@pytest.fixture
def site_day(person_factory, site_a_custodian, bus, site_a):
    """Site A on 7 Aug 2022, under cn-9-close-contact (tests on centralized days 1, 2, 3, 5, 7, home day 3).

    - 张一: exposed 3 Aug, placed 3 Aug; sampled 3 and 4 Aug, not 5 Aug (overdue); test due today (day 5);
      morning check recorded at 37.8 °C (a fever alert).
    - 李二: exposed 3 Aug, placed 6 Aug (late: 3-5 Aug missed before control, not overdue); test due today.
    - 王三: exposed 28 Jul; every test taken; the course ended 6 Aug: release due today, no check due.
    - 赵四: exposed 25 Jul; every test taken; release was due 4 Aug: kept 3 days too long.
    - 孙五: held by the bus, handed over to site A: an arrival expected.
    """
    def held(name, anchor, placed_on, custodian=site_a_custodian):
        episode = episode_open(person=person_factory(name), category="close_contact", anchor_date=anchor, actor=None)
        return episode_place(episode=episode, custodian=custodian, placed_on=placed_on, actor=site_a)

    people = {
        "张一": held("张一", date(2022, 8, 3), date(2022, 8, 3)),
        "李二": held("李二", date(2022, 8, 3), date(2022, 8, 6)),
        "王三": held("王三", date(2022, 7, 28), date(2022, 7, 28)),
        "赵四": held("赵四", date(2022, 7, 25), date(2022, 7, 25)),
        "孙五": held("孙五", date(2022, 8, 5), date(2022, 8, 5), custodian=bus),
    }
    for day in (date(2022, 8, 3), date(2022, 8, 4)):
        specimen_record(episode=people["张一"], kind="pcr", sampled_at=at(day), actor=site_a)
    sample_all(people["王三"], site_a, DAY)
    sample_all(people["赵四"], site_a, DAY)
    health_check_record(episode=people["张一"], day=DAY, slot="morning", temperature="37.8", actor=site_a)
    handover_give(episode=fresh(people["孙五"]), to_custodian=site_a_custodian,
                  expected_by=timezone.now() + timedelta(minutes=40), actor=site_a)
    return people


# --- a site's day ------------------------------------------------------------------------------------

def test_site_work_list_of_a_day_is_exact(client, site_a, site_a_custodian, site_day):
    people = site_day
    client.force_login(site_a)
    response = client.get(reverse("loop:custodian_worklist", args=[site_a_custodian.pk]), {"day": "2022-08-07"})
    assert response.status_code == 200
    assert names_in(section(response, "tests"), people) == {"张一", "李二"}
    assert figure(response, "tests") == 2
    # Checks of the day per slot: 张一 and 李二 are due twice; only 张一's morning check is recorded.
    checks = section(response, "checks")
    missing = dict(re.findall(r'<span class="missing" data-slot="(\w+)">(.*?)</span></p>', checks, re.S))
    assert names_in(missing["morning"], people) == {"李二"}
    assert names_in(missing["evening"], people) == {"张一", "李二"}
    assert "1 of 2 recorded" in checks and "0 of 2 recorded" in checks
    assert figure(response, "checks") == 3
    assert names_in(section(response, "releases"), people) == {"王三"}
    assert names_in(section(response, "arrivals"), people) == {"孙五"}
    overdue = section(response, "overdue")
    assert re.findall(r'data-episode="(\d+)" data-test="([\d-]+)"', overdue) == [
        (str(people["张一"].pk), "2022-08-05")]  # 李二's 3-5 Aug were before control, not overdue
    releases_overdue = overdue.split('id="overdue-releases"', 1)[1].split('id="open-alerts"', 1)[0]
    assert names_in(releases_overdue, people) == {"赵四"} and '<td class="num">3</td>' in releases_overdue
    alerts = overdue.split('id="open-alerts"', 1)[1]
    assert names_in(alerts, people) == {"张一"} and "Fever" in alerts
    assert figure(response, "overdue") == 3
    assert names_in(section(response, "held"), people) == {"张一", "李二", "王三", "赵四"}
    # Personal data masked; the print style is there.
    person = people["张一"].person
    assert person.doc_number not in html(response) and person.doc_number_masked in html(response)
    assert person.phone not in html(response) and '<style media="print">' in html(response)


def test_the_next_day_moves_the_lists(client, site_a, site_a_custodian, site_day):
    people = site_day
    client.force_login(site_a)
    response = client.get(reverse("loop:custodian_worklist", args=[site_a_custodian.pk]), {"day": "2022-08-08"})
    assert names_in(section(response, "tests"), people) == set()  # centralized day 6: no test
    overdue = section(response, "overdue")
    tests = re.findall(r'data-episode="(\d+)" data-test="([\d-]+)"', overdue)
    assert sorted(tests) == sorted([(str(people["张一"].pk), "2022-08-05"), (str(people["张一"].pk), "2022-08-07"),
                                    (str(people["李二"].pk), "2022-08-07")])
    releases_overdue = overdue.split('id="overdue-releases"', 1)[1].split('id="open-alerts"', 1)[0]
    assert names_in(releases_overdue, people) == {"王三", "赵四"}


def test_work_list_day_must_be_a_day(client, site_a, site_a_custodian):
    client.force_login(site_a)
    response = client.get(reverse("loop:custodian_worklist", args=[site_a_custodian.pk]), {"day": "8月7日"})
    assert response.status_code == 400 and "is not a day" in html(response)
    response = client.get(reverse("loop:custodian_worklist", args=[site_a_custodian.pk]))
    assert response.status_code == 200 and "(today)" in html(response)


def test_work_list_outsiders_and_method(client, site_b, materials_clerk, site_a, site_a_custodian, bus):
    client.force_login(site_b)
    assert client.get(reverse("loop:custodian_worklist", args=[site_a_custodian.pk])).status_code == 404
    assert client.get(reverse("loop:custodian_worklist", args=[bus.pk])).status_code == 404  # city-wide: HQ only
    client.force_login(materials_clerk)
    assert client.get(reverse("loop:custodian_worklist", args=[site_a_custodian.pk])).status_code == 403
    client.force_login(site_a)
    assert client.post(reverse("loop:custodian_worklist", args=[site_a_custodian.pk])).status_code == 405


def test_work_list_export_is_masked(client, site_a, site_a_custodian, site_day):
    client.force_login(site_a)
    response = client.get(reverse("loop:custodian_worklist", args=[site_a_custodian.pk]),
                          {"day": "2022-08-07", "format": "xlsx"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "worklist-site-a-2022-08-07.xlsx" in response["Content-Disposition"]
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    assert book.sheet_names[:5] == ["Tests due", "Health checks missing", "Releases due", "Arrivals expected",
                                    "Overdue tests"]
    tests = book.get_sheet_by_name("Tests due").to_python()
    assert tests[0][:4] == ["Name", "ID number", "Phone", "Category"]
    assert sorted(row[0] for row in tests[1:]) == ["张一", "李二"]
    person = site_day["张一"].person
    cells = {str(c) for name in book.sheet_names for row in book.get_sheet_by_name(name).to_python() for c in row}
    assert person.doc_number not in cells and person.doc_number_masked in cells and person.phone not in cells
    missing = book.get_sheet_by_name("Health checks missing").to_python()
    assert sorted((row[0], row[4]) for row in missing[1:]) == [("张一", "Evening"), ("李二", "Evening"),
                                                               ("李二", "Morning")]


@pytest.mark.parametrize("count", [2, 12])
def test_work_list_query_count_is_pinned(client, site_a, person_factory, site_a_custodian, bus, count,
                                         django_assert_max_num_queries):
    for i in range(count):
        episode = episode_open(person=person_factory(f"人{i}"), category="close_contact",
                               anchor_date=date(2022, 8, 1 + i % 5), actor=None)
        episode_place(episode=episode, custodian=site_a_custodian, placed_on=date(2022, 8, 5), actor=site_a)
        specimen_record(episode=episode, kind="pcr", sampled_at=at(date(2022, 8, 5)), actor=site_a)
        health_check_record(episode=episode, day=DAY, slot="morning", temperature="36.5", actor=site_a)
    client.force_login(site_a)
    # session, user, scope, custodian, held, re-plans, specimens, checks, arrivals, alerts;
    # the facilities app's sections: care requests, the facility behind the custodian (none here)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("loop:custodian_worklist", args=[site_a_custodian.pk]), {"day": "2022-08-07"})
    assert response.status_code == 200 and figure(response, "held") == count


# --- a community's day ---------------------------------------------------------------------------------

@pytest.fixture
def home_a1(city, community_a1):
    return custodian_create(kind="home_community", name="香溪社区居家", code="home-a1", city=city,
                            jurisdiction=community_a1, actor=None)


def test_community_work_list(client, community_worker, site_a, person_factory, home_a1, site_a_custodian,
                             community_a1, community_a2):
    home = episode_open(person=person_factory("居家甲"), category="close_contact", anchor_date=date(2022, 7, 31),
                        actor=None)
    episode_place(episode=home, custodian=site_a_custodian, placed_on=date(2022, 7, 31), actor=site_a)
    handover_give(episode=fresh(home), to_custodian=home_a1, expected_by=timezone.now() + timedelta(hours=1),
                  actor=site_a)
    handover_receive(episode=fresh(home), actor=community_worker, signed_by="社区王")
    coming = episode_open(person=person_factory("返家乙"), category="close_contact", anchor_date=date(2022, 8, 1),
                          actor=None)
    episode_place(episode=coming, custodian=site_a_custodian, placed_on=date(2022, 8, 1), actor=site_a)
    handover_give(episode=fresh(coming), to_custodian=home_a1, expected_by=timezone.now() + timedelta(hours=1),
                  actor=site_a)
    away = episode_open(person=person_factory("在点丙"), category="close_contact", anchor_date=date(2022, 8, 3),
                        actor=None)
    episode_place(episode=away, custodian=site_a_custodian, placed_on=date(2022, 8, 3), actor=site_a)
    other = episode_open(person=person_factory("别村丁", community=community_a2), category="close_contact",
                         anchor_date=date(2022, 8, 3), actor=None)
    episode_place(episode=other, custodian=site_a_custodian, placed_on=date(2022, 8, 3), actor=site_a)
    people = {"居家甲": home, "返家乙": coming, "在点丙": away, "别村丁": other}

    client.force_login(community_worker)
    response = client.get(reverse("loop:community_worklist", args=[community_a1.pk]), {"day": "2022-08-09"})
    assert response.status_code == 200
    # 居家甲: home health monitoring 7-9 Aug, test on home day 3 = 9 Aug.
    assert names_in(section(response, "tests"), people) == {"居家甲"}
    assert names_in(section(response, "checks"), people) == {"居家甲"}
    assert names_in(section(response, "arrivals"), people) == {"返家乙"}
    assert names_in(section(response, "elsewhere"), people) == {"返家乙", "在点丙"}
    assert names_in(section(response, "held"), people) == {"居家甲"}
    assert reverse("loop:custodian_worklist", args=[home_a1.pk]) in html(response)
    response = client.get(reverse("loop:custodian_worklist", args=[home_a1.pk]), {"day": "2022-08-09"})
    assert reverse("loop:community_worklist", args=[community_a1.pk]) in html(response)
    # Export too.
    response = client.get(reverse("loop:community_worklist", args=[community_a1.pk]),
                          {"day": "2022-08-09", "format": "xlsx"})
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    assert "Residents held elsewhere" in book.sheet_names


def test_community_work_list_outsiders(client, community_worker, site_b, town_a, community_a1, community_a2,
                                       materials_clerk):
    client.force_login(community_worker)
    assert client.get(reverse("loop:community_worklist", args=[community_a2.pk])).status_code == 404
    client.force_login(site_b)
    assert client.get(reverse("loop:community_worklist", args=[community_a1.pk])).status_code == 404
    client.force_login(materials_clerk)
    assert client.get(reverse("loop:community_worklist", args=[community_a1.pk])).status_code == 403


def test_community_work_list_needs_a_community(client, commander, town_a):
    client.force_login(commander)
    assert client.get(reverse("loop:community_worklist", args=[town_a.pk])).status_code == 404


# --- headquarters -------------------------------------------------------------------------------------------

def test_headquarters_alerts_lost_in_transit_with_the_responsible_custodian(client, commander, episode,
                                                                           site_a_custodian, bus, site_a):
    episode_place(episode=episode, custodian=site_a_custodian, placed_on=date(2022, 8, 3), actor=site_a)
    expected = timezone.now() + timedelta(minutes=10)
    handover_give(episode=fresh(episode), to_custodian=bus, expected_by=expected, actor=site_a, signed_by="李医生")
    client.force_login(commander)
    response = client.get(reverse("loop:alerts"), {"list": "lost"})
    assert response.status_code == 200 and figure(response, "lost") == 0
    later = expected + timedelta(minutes=30 + 45)  # past the expected arrival and the grace period
    with mock.patch("django.utils.timezone.now", return_value=later):
        response = client.get(reverse("loop:alerts"))
    assert figure(response, "lost") == 1
    assert 'data-list="lost"' in html(response)  # the first non-empty list is shown
    row = re.search(rf'<tr data-episode="{episode.pk}">(.*?)</tr>', html(response), re.S).group(1)
    responsible = re.search(r'<td class="responsible">(.*?)</td>', row, re.S).group(1)
    assert site_a_custodian.name in responsible and "Choucheng" in responsible
    assert bus.name in row and "1 h 15 min" in row  # overdue since the expected arrival
    assert 'href="?list=lost"' in html(response)  # the figure links to its list


def test_headquarters_alerts_overdue_missed_and_unanswered(client, commander, site_day, site_a_custodian, bus):
    people = site_day
    client.force_login(commander)
    url = reverse("loop:alerts")
    response = client.get(url, {"day": "2022-08-07", "list": "overdue"})
    assert figure(response, "overdue") == 1
    assert names_in(html(response).split('id="alerts-list"', 1)[1], people) == {"赵四"}
    assert "3 days" in html(response)
    # Missed tests before 7 Aug: 张一's of 5 Aug (李二's 3-5 Aug were before control), and 孙五's of 5 and 6 Aug
    # (held by the bus, on the way to site A: the bus answers).
    response = client.get(url, {"day": "2022-08-07", "list": "missed"})
    assert figure(response, "missed") == 2
    table = html(response).split('id="alerts-list"', 1)[1]
    assert names_in(table, people) == {"张一", "孙五"}
    row = re.search(rf'<tr data-episode="{people["张一"].pk}">(.*?)</tr>', table, re.S).group(1)
    assert "2022-08-05" in row and "2 days" in row and site_a_custodian.name in row
    row = re.search(rf'<tr data-episode="{people["孙五"].pk}">(.*?)</tr>', table, re.S).group(1)
    assert "2022-08-05" in row and "2022-08-06" in row and bus.name in row
    # The next day 7 Aug's tests are missed too (张一, 李二); 王三 and 赵四 took all theirs.
    response = client.get(url, {"day": "2022-08-08", "list": "missed"})
    assert figure(response, "missed") == 3
    assert names_in(html(response).split('id="alerts-list"', 1)[1], people) == {"张一", "李二", "孙五"}
    # The fever alert is unanswered only after an hour.
    response = client.get(url, {"list": "alerts"})
    assert figure(response, "alerts") == 0
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() + timedelta(hours=2)):
        response = client.get(url, {"list": "alerts"})
    assert figure(response, "alerts") == 1
    table = html(response).split('id="alerts-list"', 1)[1]
    assert names_in(table, people) == {"张一"} and site_a_custodian.name in table and "Fever" in table


def test_headquarters_export(client, commander, site_day):
    client.force_login(commander)
    response = client.get(reverse("loop:alerts"), {"day": "2022-08-08", "format": "xlsx"})
    assert response.status_code == 200
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    assert book.sheet_names == ["Lost in transit", "Kept beyond the release day", "Missed tests", "Unanswered alerts"]
    missed = book.get_sheet_by_name("Missed tests").to_python()
    assert sorted((row[0], row[4]) for row in missed[1:]) == [
        ("孙五", "2022-08-05, 2022-08-06, 2022-08-07"), ("张一", "2022-08-05, 2022-08-07"), ("李二", "2022-08-07")]
    overdue = book.get_sheet_by_name("Kept beyond the release day").to_python()
    assert sorted(row[0] for row in overdue[1:]) == ["王三", "赵四"]
    person = site_day["张一"].person
    cells = {str(c) for name in book.sheet_names for row in book.get_sheet_by_name(name).to_python() for c in row}
    assert person.doc_number not in cells and person.phone not in cells


def test_headquarters_alerts_are_scoped(client, site_b, materials_clerk, site_day):
    client.force_login(site_b)
    response = client.get(reverse("loop:alerts"), {"day": "2022-08-08", "list": "missed"})
    assert response.status_code == 200
    assert all(figure(response, name) == 0 for name in ("lost", "overdue", "missed", "alerts"))
    client.force_login(materials_clerk)
    assert client.get(reverse("loop:alerts")).status_code == 403


def test_headquarters_alerts_bad_input_and_method(client, commander):
    client.force_login(commander)
    assert client.get(reverse("loop:alerts"), {"day": "yesterday"}).status_code == 400
    assert client.get(reverse("loop:alerts"), {"list": "nonsense"}).status_code == 200
    assert client.post(reverse("loop:alerts")).status_code == 405


@pytest.mark.parametrize("count", [2, 12])
def test_headquarters_alerts_query_count_is_pinned(client, commander, person_factory, site_a_custodian, site_a,
                                                   count, django_assert_max_num_queries):
    for i in range(count):
        episode = episode_open(person=person_factory(f"人{i}"), category="close_contact",
                               anchor_date=date(2022, 8, 1 + i % 5), actor=None)
        episode_place(episode=episode, custodian=site_a_custodian, placed_on=date(2022, 8, 1 + i % 5), actor=site_a)
    client.force_login(commander)
    # session, user, scope; 4 counts (+ the missed tests' pairs and protocols); the page; its re-plans, specimens;
    # the facilities app's care requests (by need, the longest overdue)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("loop:alerts"), {"day": "2022-08-10", "list": "missed"})
    assert response.status_code == 200 and figure(response, "missed") == count
    assert html(response).split('id="alerts-list"', 1)[1].count("<tr data-episode") == count


def test_work_lists_in_chinese(site_a, commander, site_a_custodian, site_day):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(site_a)
    response = client.get(reverse("loop:custodian_worklist", args=[site_a_custodian.pk]), {"day": "2022-08-07"})
    assert response.status_code == 200 and "2022年8月7日" in html(response)
    client.force_login(commander)
    response = client.get(reverse("loop:alerts"), {"day": "2022-08-08", "list": "missed"})
    assert response.status_code == 200 and "2022年8月5日" in html(response)
    response = client.get(reverse("loop:alerts"), {"day": "2022-08-08", "format": "xlsx"})
    assert response.status_code == 200
