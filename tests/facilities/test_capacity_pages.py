"""The capacity outlook pages: the city's for headquarters, the sites' for site staff, one site's; the
workbook; who is refused; the query count pinned."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import translation
from python_calamine import CalamineWorkbook

from closedloop.facilities import capacity as cap
from closedloop.facilities.actions import checkin, facility_create, rooms_bulk_create
from tests.facilities.capacity_support import (
    A_FREE,
    CITY_FREE,
    build_capacity_city,
    client_for,
    plus,
    room,
    send_to,
    set_population,
    today,
)


@pytest.fixture
def capacity_city(city, town_a, facility_a, facility_b, open_episode, bus):
    return build_capacity_city(city, town_a, facility_a, facility_b, open_episode, bus)

URL = "/sites/capacity/"


def html(response) -> str:
    return response.content.decode()


def column(page: str, col: str) -> list[int]:
    table = page.split('id="capacity-table"', 1)[1].split("</table>", 1)[0]
    return [int(v.replace(",", "")) for v in re.findall(rf'data-col="{col}">(-?[\d,]+)<', table)]


def site_row(page: str, pk: int) -> str:
    return page.split(f'<tr data-site="{pk}">', 1)[1].split("</tr>", 1)[0]


def test_urls():
    assert reverse("sites:capacity") == URL
    assert reverse("sites:capacity_site", args=[7]) == "/sites/capacity/7/"


def test_headquarters_sees_the_city_run_short(capacity_city, commander):
    response = client_for(commander).get(URL, {"days": "7"})
    assert response.status_code == 200
    page = html(response)
    assert f"The city runs short on {today().isoformat()} by 1 room." in page
    assert f'data-first-short="{today().isoformat()}"' in page
    assert column(page, "free_after") == CITY_FREE
    assert column(page, "required") == [8] * 7
    assert column(page, "short_by") == [1, 0, 1, 1, 0, 0, 0]
    # The chart reads the same numbers; ECharts is loaded on this page.
    data = json.loads(page.split('id="capacity-chart-data" type="application/json">', 1)[1].split("</script>")[0])
    assert data["free"] == CITY_FREE and data["reserve"] == [8] * 7 and data["first_short"] == today().isoformat()
    assert "vendor/echarts.min.js" in page and "capacity.js" in page
    assert 'id="capacity-chart"' in page and "hidden" in page.split('id="capacity-chart"', 1)[1][:80]
    # Reserve norm explained; people awaiting placement and on the way.
    assert "for 4,000 residents, 8 rooms kept free" in page
    assert 'data-figure="awaiting"><div class="figure">2<' in page
    assert 'data-figure="on_the_way"><div class="figure">1<' in page


def test_every_figure_of_a_site_links_to_the_list_behind_it(capacity_city, commander):
    a, b = capacity_city["a"], capacity_city["b"]
    page = html(client_for(commander).get(URL, {"days": "7"}))
    row = site_row(page, a.pk)
    board = reverse("sites:board", args=[a.pk])
    assert f'href="{reverse("sites:detail", args=[a.pk])}"' in row
    assert f'<a href="{board}?status=available">5</a>' in row
    assert f'<a href="{board}?status=occupied">2</a>' in row
    assert f'<a href="{reverse("sites:turnaround", args=[a.pk])}">1</a>' in row
    assert f'<a href="{board}?status=out_of_service">1</a>' in row
    row_b = site_row(page, b.pk)
    assert f"state=in_transit&amp;custodian={b.custodian_id}" in row_b
    assert "takes no one" in site_row(page, capacity_city["c"].pk)


def test_a_site_short_shows_its_first_short_day(capacity_city, commander, open_episode, bus):
    b = capacity_city["b"]
    for i in range(3):  # three more on their way to B's three rooms: four for three
        send_to(open_episode(f"车上{i}", anchor=today()), bus, b, days=1)
    page = html(client_for(commander).get(URL, {"days": "7"}))
    row = site_row(page, b.pk)
    outlook = reverse("sites:capacity_site", args=[b.pk])
    assert f'<a href="{outlook}">{plus(2).isoformat()}</a>' in row
    assert f'<a href="{outlook}">1</a>' in row


def test_enough_rooms(capacity_city, commander, city):
    set_population(city, 1000)
    page = html(client_for(commander).get(URL))
    assert "Enough rooms for the next 14 days." in page and len(column(page, "free_after")) == 14


def test_unknown_population_is_said(capacity_city, commander, city):
    set_population(city, None)
    page = html(client_for(commander).get(URL))
    assert "resident population is not recorded" in page


def test_site_staff_see_their_sites_only(capacity_city, site_a):
    response = client_for(site_a).get(URL, {"days": "7"})
    assert response.status_code == 200
    page = html(response)
    assert "Your sites" in page and "Enough rooms at your sites for the next 7 days." in page
    assert f'data-site="{capacity_city["a"].pk}"' in page and f'data-site="{capacity_city["b"].pk}"' not in page
    assert column(page, "free_after") == A_FREE
    assert 'data-col="required"' not in page


def test_one_site_page(capacity_city, site_a):
    a = capacity_city["a"]
    response = client_for(site_a).get(reverse("sites:capacity_site", args=[a.pk]), {"days": "7"})
    assert response.status_code == 200
    page = html(response)
    assert "Enough rooms at this site for the next 7 days." in page
    assert column(page, "free_after") == A_FREE
    assert column(page, "releases") == [0, 0, 0, 1, 1, 0, 0]


def test_a_paused_site_page_says_it_takes_no_one(capacity_city, commander):
    page = html(client_for(commander).get(reverse("sites:capacity_site", args=[capacity_city["c"].pk])))
    assert "This site takes no one now (Paused)" in page


def test_outsider_gets_404_for_another_town_site(capacity_city, site_b):
    response = client_for(site_b).get(reverse("sites:capacity_site", args=[capacity_city["a"].pk]))
    assert response.status_code == 404
    assert client_for(site_b).get(reverse("sites:capacity_site", args=[999999])).status_code == 404


def test_who_is_refused(capacity_city, materials_clerk, community_worker):
    assert client_for(materials_clerk).get(URL).status_code == 403
    assert client_for(community_worker).get(URL).status_code == 403
    a = capacity_city["a"]
    assert client_for(materials_clerk).get(reverse("sites:capacity_site", args=[a.pk])).status_code == 403
    anonymous = Client(HTTP_ACCEPT_LANGUAGE="en").get(URL)
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]


@pytest.mark.parametrize("days", ["0", "61", "abc", "-3", "1.5"])
def test_bad_days_are_400(capacity_city, commander, days):
    response = client_for(commander).get(URL, {"days": days})
    assert response.status_code == 400 and "from 1 to 60" in html(response)
    response = client_for(commander).get(reverse("sites:capacity_site", args=[capacity_city["a"].pk]), {"days": days})
    assert response.status_code == 400


def test_wrong_method(capacity_city, commander):
    client = client_for(commander)
    assert client.post(URL).status_code == 405
    assert client.post(reverse("sites:capacity_site", args=[capacity_city["a"].pk])).status_code == 405


def test_the_workbook(capacity_city, commander):
    response = client_for(commander).get(URL, {"days": "7", "format": "xlsx"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert f"capacity-{today():%Y-%m-%d}.xlsx" in response["Content-Disposition"]
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    assert book.sheet_names == ["Day by day", "Sites", "Sites day by day"]
    days = book.get_sheet_by_name("Day by day").to_python()
    assert days[0] == ["Date", "Free at start of day", "Arrivals", "Releases", "Free after arrivals", "Occupied",
                       "Turning around", "Reserve required", "Short by"]
    assert len(days) == 8
    assert [int(r[4]) for r in days[1:]] == CITY_FREE
    assert [int(r[8]) for r in days[1:]] == [1, 0, 1, 1, 0, 0, 0]
    first = days[1][0]
    assert (first.date() if hasattr(first, "date") else first) == today()
    sites = book.get_sheet_by_name("Sites").to_python()
    assert sorted(r[1] for r in sites[1:]) == ["site-a", "site-b", "site-c"]
    a = next(r for r in sites[1:] if r[1] == "site-a")
    assert [int(v) for v in a[3:9]] == [5, 2, 1, 1, 1, 0]
    long = book.get_sheet_by_name("Sites day by day").to_python()
    assert len(long) == 1 + 3 * 7


def test_the_site_workbook(capacity_city, site_a):
    a = capacity_city["a"]
    response = client_for(site_a).get(reverse("sites:capacity_site", args=[a.pk]), {"format": "xlsx", "days": "7"})
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    rows = book.get_sheet_by_name("Day by day").to_python()
    assert [int(r[4]) for r in rows[1:]] == A_FREE


def test_in_chinese_dates_are_written_the_chinese_way(capacity_city, commander):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(commander)
    page = html(client.get(URL, {"days": "7"}))
    day = today()
    assert f"{day.year}年{day.month}月{day.day}日" in page


def test_the_overview_headline_fragment(capacity_city, commander, site_a, city):
    with translation.override("en"):
        text = render_to_string("facilities/capacity_headline.html", {"capacity": cap.capacity_headline(commander)})
        assert f"The city runs short on {today().isoformat()} by 1 room." in text
        assert reverse("sites:capacity") in text
        assert render_to_string("facilities/capacity_headline.html",
                                {"capacity": cap.capacity_headline(site_a)}).strip() == ""
        set_population(city, 1000)
        commander = type(commander).objects.get(pk=commander.pk)  # its jurisdictions are read once per request
        text = render_to_string("facilities/capacity_headline.html", {"capacity": cap.capacity_headline(commander)})
        assert "Enough rooms for the next 14 days." in text


@pytest.mark.parametrize("count", [1, 5])
def test_query_count_is_pinned(city, facility_a, open_episode, commander, count, django_assert_max_num_queries):
    set_population(city, 100_000)
    for i in range(count):
        checkin(facility=facility_a, assignments=[(open_episode(f"人{i}", anchor=plus(-1)), room(facility_a, f"30{i + 1}"))],
                actor=None)
        site = facility_create(kind="isolation_site", name=f"点{i}", code=f"p-{i}", city=city, status="open", actor=None)
        rooms_bulk_create(facility=site, floor_from=1, floor_to=1, room_from=1, room_to=4, actor=None)
    client = client_for(commander)
    # session, user, jurisdictions; the outlook's 7 queries
    with django_assert_max_num_queries(10):
        response = client.get(URL)
    assert response.status_code == 200 and page_sites(response) == count + 1


def test_site_page_query_count_is_pinned(capacity_city, site_a, django_assert_max_num_queries):
    client = client_for(site_a)
    # session, user, jurisdictions; the site; the outlook's 5 queries (no city demand)
    with django_assert_max_num_queries(9):
        response = client.get(reverse("sites:capacity_site", args=[capacity_city["a"].pk]))
    assert response.status_code == 200


def page_sites(response) -> int:
    return html(response).count("<tr data-site=")


def test_the_vendored_echarts_is_the_real_library_and_loads_on_these_pages_only(capacity_city, commander):
    from pathlib import Path

    from django.contrib.staticfiles import finders

    import closedloop

    vendor = Path(closedloop.__file__).parent / "static/closedloop/vendor"
    text = (vendor / "echarts.min.js").read_text(encoding="utf-8")
    assert len(text) > 500_000 and "echarts" in text and "Apache" in text
    assert "Apache License" in (vendor / "echarts.LICENSE").read_text(encoding="utf-8")
    assert finders.find("closedloop/vendor/echarts.min.js") and finders.find("closedloop/capacity.js")
    home = html(client_for(commander).get("/"))
    assert "echarts" not in home


def test_the_overview_tells_headquarters_when_the_city_runs_short(client, commander, site_a, facility_a, city):
    from closedloop.core.models import Jurisdiction

    Jurisdiction.objects.filter(pk=city.pk).update(population=100_000)  # reserve: 200 rooms, the site has 10
    client.force_login(commander)
    page = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert b'id="capacity-headline"' in page.content and b"The city runs short on" in page.content
    client.force_login(site_a)  # site staff see their own sites' outlook, not the city's headline
    assert b'id="capacity-headline"' not in client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content
