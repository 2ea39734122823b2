"""The headline numbers: still out of the city, by origin city and site, by home town, by readiness on a fixed
day; the adopted plan's last arrival; a fixed number of queries; each user sees their own jurisdiction."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from closedloop.core.models import User
from closedloop.quarantine.actions import custodian_create, handover_give, handover_receive
from closedloop.transfers.away_selectors import headline, readiness_of
from closedloop.transfers.models import TransferPlan
from tests.transfers import away_support as sup
from tests.transfers.away_support import NB_SITE, import_rows, record_of, row

transfer_desk = sup.transfer_desk  # a shared fixture
TODAY = date(2026, 12, 1)


def _hand(record, custodian, actor, receive=True):
    episode = handover_give(episode=record.episode, to_custodian=custodian, actor=actor,
                            expected_by=timezone.now() + timedelta(hours=1))
    if receive:
        handover_receive(episode=episode, actor=actor)


@pytest.fixture
def scene(tmp_path, city, town_a, town_b, community_a1, hangzhou_site, ningbo_site, transfer_desk):
    nb = {"site": NB_SITE, "city": "宁波市"}
    import_rows(tmp_path, [
        row(1, "甲", status="已解除", release="2026-11-30"),
        row(2, "乙", release="2026-12-01"),
        row(3, "丙", release="2026-12-02", town="北苑街道", **nb),
        row(4, "丁", release="2026-12-09", **nb),
        row(5, "戊", release="", town="北苑街道"),
        row(6, "己", status="阳性", town="北苑街道", **nb),
        row(7, "庚", release="2026-11-30"),
        row(8, "辛", release="2026-11-30", community="香溪社区"),
        row(9, "壬", status="已解除", release="2026-11-30"),
    ], actor=transfer_desk)
    coach = custodian_create(kind="vehicle_trip", name="大巴第1趟", code="coach-1", city=city, actor=None)
    home = custodian_create(kind="home_community", name="香溪社区（居家）", code="home-xiangxi", city=city,
                            jurisdiction=community_a1, actor=None)
    _hand(record_of("庚"), coach, transfer_desk)  # on the coach
    _hand(record_of("辛"), coach, transfer_desk)
    _hand(record_of("辛"), home, transfer_desk)  # home: no longer out
    _hand(record_of("壬"), coach, transfer_desk, receive=False)  # boarding: the site answers until the coach signs
    return {"coach": coach}


def tally(t) -> dict:
    return {k: getattr(t, k) for k in ("total", "now", "tomorrow", "later", "unknown", "positive", "on_the_way")}


def test_still_out_by_readiness_site_city_and_town(scene, commander, hangzhou_site, ningbo_site, town_a, town_b):
    h = headline(commander, TODAY)
    assert tally(h.all) == {"total": 8, "now": 3, "tomorrow": 1, "later": 1, "unknown": 1, "positive": 1,
                            "on_the_way": 1}
    assert [(s.name, s.city, s.travel_minutes) for s in h.sites] == [
        ("宁波市鄞州区集中隔离点", "宁波市", 180), ("杭州市萧山区集中隔离点", "杭州市", 120)]
    ningbo, hangzhou = h.sites
    assert tally(hangzhou) == {"total": 5, "now": 3, "tomorrow": 0, "later": 0, "unknown": 1, "positive": 0,
                               "on_the_way": 1}
    assert tally(ningbo) == {"total": 3, "now": 0, "tomorrow": 1, "later": 1, "unknown": 0, "positive": 1,
                             "on_the_way": 0}
    assert [(c.city, c.total, [s.site_id for s in c.sites]) for c in h.cities] == [
        ("宁波市", 3, [ningbo_site.pk]), ("杭州市", 5, [hangzhou_site.pk])]
    assert [(t.town_id, t.name, t.total, t.now) for t in h.towns] == [(town_a.pk, "Choucheng", 5, 3),
                                                                       (town_b.pk, "Beiyuan", 3, 0)]
    assert h.plan is None and h.sites_without_route == []
    assert [key for key, _label, _n in h.buckets] == ["now", "tomorrow", "later", "unknown", "positive", "on_the_way"]


def test_readiness_moves_with_the_day(scene, commander):
    assert tally(headline(commander, TODAY + timedelta(days=1)).all)["now"] == 4  # 丙's day has come
    early = tally(headline(commander, date(2026, 11, 20)).all)
    assert (early["now"], early["later"]) == (2, 3)  # only those released there are ready
    assert readiness_of(record_of("丙"), TODAY) == "tomorrow"
    assert readiness_of(record_of("辛"), TODAY) is None and readiness_of(record_of("庚"), TODAY) == "on_the_way"


def test_each_user_sees_their_own_jurisdiction(scene, site_b, community_worker):
    assert tally(headline(site_b, TODAY).all)["total"] == 3
    assert [t.name for t in headline(site_b, TODAY).towns] == ["Beiyuan"]
    # Xiangxi's worker: 辛 lives there but is home; nobody else of theirs is out.
    assert headline(community_worker, TODAY).all.total == 0


def test_the_adopted_plan_answers_when_the_last_one_is_home(scene, city, commander):
    epoch = datetime(2026, 12, 1, 6, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    # A plan row as the plan desk's adoption stores it (the planner's output is not under test here).
    TransferPlan.objects.create(city=city, status="draft", epoch=epoch, instance={}, plan={}, makespan=999,
                                lower_bound=900, people=8)
    assert headline(commander, TODAY).plan is None
    adopted = TransferPlan.objects.create(city=city, status="adopted", epoch=epoch, instance={}, plan={},
                                          makespan=610, lower_bound=585, people=7)
    plan = headline(commander, TODAY).plan
    assert plan.plan_id == adopted.pk and plan.people == 7
    assert plan.last_home_at == epoch + timedelta(minutes=610) and plan.bound_at == epoch + timedelta(minutes=585)


def test_the_headline_takes_a_fixed_number_of_queries(scene, tmp_path, commander, transfer_desk,
                                                      django_assert_num_queries):
    user = User.objects.get(pk=commander.pk)
    with django_assert_num_queries(4):  # the user's jurisdictions, by site, by town, the plan
        headline(user, TODAY)
    import_rows(tmp_path, [row(20 + i, f"新{i}", release="2026-12-03", site=f"温州{i}号隔离点", city="温州市")
                           for i in range(6)], actor=transfer_desk, name="more.csv")
    user = User.objects.get(pk=commander.pk)
    with django_assert_num_queries(4):
        h = headline(user, TODAY)
    assert h.all.total == 14 and len(h.sites_without_route) == 6
