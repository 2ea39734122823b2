"""One household walks the way home in real Chromium: from the site in Hangzhou onto the coach, to the transfer
station, onto the district shuttle, and into their community's custody — every hand-over ticked on its
checklist and signed by both sides — while the headline "still out of the city" follows them.

The world is built with actions: the roster from Hangzhou's headquarters is imported (the household's
AwayRecords and episodes, held by the site), the household is registered, headquarters makes and adopts a
plan from the live data (one coach trip, one shuttle trip). Screenshot: test-artifacts/way-home.png (the
shuttle's page once they are home) and way-home-boarding.png (the boarding checklist, filled in).
"""

from __future__ import annotations

from django.utils import timezone

from closedloop.core.actions import user_create
from closedloop.core.roles import Role
from closedloop.facilities.actions import facility_create
from closedloop.people.actions import household_create
from closedloop.people.models import Person
from closedloop.transfers.actions import plan_adopt, plan_make
from closedloop.transfers.models import AwayRecord, District, Fleet, Route, Trip
from tests.conftest import PASSWORD
from tests.transfers.away_support import import_rows, row


def the_way(city, town_a) -> None:
    """A site in Hangzhou two hours from the transfer station, the station, the fleet and town A's shuttles
    (the fleet and the routes are settings: rows, as the admin keeps them)."""
    site = facility_create(kind="out_of_city_site", name="杭州市萧山区集中隔离点", code="away-hz", city=city,
                           other_city="杭州市", status="open", actor=None)
    Route.objects.create(origin=site, travel_minutes=120)
    station = facility_create(kind="transfer_station", name="义乌市客运中心中转站", code="station", city=city,
                              status="open", actor=None)
    Fleet.objects.create(city=city, station=station, lanes=2, coaches=3)
    District.objects.create(town=town_a, travel_minutes=20, shuttles=2)


def log_in(page, server, user) -> None:
    page.goto(f"{server}/login/")
    page.fill('input[name="username"]', user.username)
    page.fill('input[name="password"]', PASSWORD)
    with page.expect_navigation():
        page.click('form[action="/login/"] button[type="submit"]')


def headline(page, server) -> dict[str, int]:
    """The registry's figures on /transfers/: still out of the city, and who of them is ready now or on the way."""
    page.goto(f"{server}/transfers/")
    figures = {"still_out": int(page.locator("#still-out").get_attribute("data-count"))}
    for key in ("now", "on_the_way"):
        figures[key] = int(page.locator(f'#readiness [data-readiness="{key}"]').get_attribute("data-count"))
    return figures


def tick_everything(page) -> None:
    for box in page.locator('#step-form input[type="checkbox"]').all():
        box.check()


def sign_and_submit(page, giver: str, receiver: str) -> None:
    page.fill('#step-form input[name="giver"]', giver)
    page.fill('#step-form input[name="receiver"]', receiver)
    with page.expect_navigation():
        page.click('#step-form button[type="submit"]')
    assert not page.locator(".alert.error").count(), page.locator(".alert.error").inner_text()


def dispatch(page, plate: str, driver: str, escorts: str) -> None:
    page.fill('#dispatch-form input[name="plate"]', plate)
    page.fill('#dispatch-form input[name="driver"]', driver)
    page.fill('#dispatch-form input[name="escorts"]', escorts)
    with page.expect_navigation():
        page.click('#dispatch-form button[type="submit"]')


def state_of(page) -> str:
    return page.locator("h1 [data-state]").get_attribute("data-state")


def test_a_household_walks_the_way_home_through_every_hand_over(page, server, city, town_a, community_a1, commander,
                                                                  tmp_path, shot):
    the_way(city, town_a)
    today = timezone.localdate().isoformat()
    import_rows(tmp_path, [row(1, "赵建国", release=today, community="香溪社区", status="已解除"),
                           row(2, "钱秀英", release=today, community="香溪社区", status="已解除")], actor=commander)
    household_create(members=list(Person.objects.filter(name__in=["赵建国", "钱秀英"])), actor=commander)
    plan = plan_adopt(plan=plan_make(city=city, actor=commander, time_limit=2), actor=commander)
    coach = Trip.objects.get(plan=plan, kind="coach")
    shuttle = Trip.objects.get(plan=plan, kind="shuttle")
    assert coach.passengers.count() == shuttle.passengers.count() == 2
    desk = user_create(username="desk", password=PASSWORD, role=Role.TRANSFER_DESK, full_name="转运专班",
                       jurisdictions=[city], actor=None)
    log_in(page, server, desk)
    assert headline(page, server) == {"still_out": 2, "now": 2, "on_the_way": 0}

    # The coach: dispatched from the trip list, then boarded at the site in Hangzhou.
    page.goto(f"{server}/transfers/trips/")
    with page.expect_navigation():
        page.click(f'#trips tr[data-trip="{coach.pk}"] a')
    dispatch(page, "浙G·D1234", "刘建华", "陈医生 周护士")
    assert state_of(page) == "boarding"
    assert headline(page, server)["still_out"] == 2  # a coach on its way to them changes nothing yet

    page.goto(f"{server}/transfers/trips/{coach.pk}/")
    assert page.locator('#step-form[data-stage="boarding"] #person-items tbody tr').count() == 2
    assert page.locator('#trip-items [data-item="half_seats"]').count() == 1  # counted, with no box to tick
    tick_everything(page)
    page.fill('#step-form input[name="giver"]', "萧山隔离点 吴医生")
    page.fill('#step-form input[name="receiver"]', "陈医生")
    shot(page, "way-home-boarding")
    with page.expect_navigation():
        page.click('#step-form button[type="submit"]')
    assert state_of(page) == "under_way"
    assert page.locator('#counts [data-count="boarded"]').inner_text() == "2"
    assert headline(page, server) == {"still_out": 2, "now": 0, "on_the_way": 2}  # on the coach: on the way

    # The transfer station receives them at screening: the coach's trip is over.
    page.goto(f"{server}/transfers/trips/{coach.pk}/")
    assert page.locator('#step-form[data-stage="station"]').count() == 1
    tick_everything(page)
    sign_and_submit(page, "陈医生", "中转站 郑护士")
    assert state_of(page) == "done"
    assert page.locator('#counts [data-count="delivered"]').inner_text() == "2"
    assert page.locator('#checks tbody tr[data-stage="station"]').count() == 3  # two people and the trip
    assert headline(page, server) == {"still_out": 2, "now": 0, "on_the_way": 2}

    # The district shuttle: dispatched, boarded at the station, and home to 香溪社区.
    page.goto(f"{server}/transfers/trips/?kind=shuttle")
    with page.expect_navigation():
        page.click(f'#trips tr[data-trip="{shuttle.pk}"] a')
    dispatch(page, "浙G·S5678", "孙师傅", "何护士")
    tick_everything(page)
    sign_and_submit(page, "中转站 郑护士", "何护士")
    assert state_of(page) == "under_way"
    assert headline(page, server)["still_out"] == 2

    page.goto(f"{server}/transfers/trips/{shuttle.pk}/")
    assert page.locator('#step-form[data-stage="home"]').count() == 1
    tick_everything(page)  # both handed over here, the notice signed, documents and head count confirmed
    sign_and_submit(page, "何护士", "香溪社区 王书记")
    assert state_of(page) == "done"
    assert headline(page, server) == {"still_out": 0, "now": 0, "on_the_way": 0}

    for record in AwayRecord.objects.select_related("episode__custodian"):
        custodian = record.episode.custodian
        assert record.status == "home" and record.episode.status == "open"
        assert (custodian.kind, custodian.jurisdiction_id) == ("home_community", community_a1.pk)
    page.goto(f"{server}/transfers/trips/{shuttle.pk}/")
    assert page.locator('#passengers tr[data-status="delivered"]').count() == 2
    assert page.locator("#passengers td.custody").first.inner_text().startswith("香溪社区")
    assert not page.failed_requests, page.failed_requests
    shot(page, "way-home")
