"""Who sees which care request; a custodian's open and overdue requests; the headquarters figures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from closedloop.facilities import care_selectors as cs
from closedloop.facilities.actions import care_request_close, care_request_create
from closedloop.facilities.models import CareRequest
from closedloop.quarantine.actions import handover_give, handover_receive
from closedloop.quarantine.worklists import community_custodians
from tests.facilities.care_support import build_world, fresh


@pytest.fixture
def world(open_episode, facility_a, facility_b, community_a1, community_b1, city):
    return build_world(open_episode, facility_a, facility_b, community_a1, community_b1, city)


@pytest.fixture
def requests(world):
    """One request per held person (recorded by the system), named by person."""
    def make(episode, kind="medicine", urgent=False):
        return care_request_create(episode=episode, kind=kind, detail="需要", urgent=urgent, actor=None)

    return {"zhang": make(world.zhang), "li": make(world.li, "dependent"), "wang": make(world.wang, "counselling"),
            "zhao": make(world.zhao, "special_food", urgent=True)}


def names(rows) -> set[str]:
    return {r.episode.person.name for r in rows}


def visible(user) -> set[str]:
    return names(cs.care_requests_visible(user).select_related("episode__person"))


def test_scope_is_the_person_or_the_custodian(requests, site_a, site_b, community_worker, commander):
    assert visible(site_a) == {"张三", "李四", "王五"}  # town A's residents, and everyone site A holds
    assert visible(site_b) == {"王五", "赵六"}  # a town-B resident held at site A, and site B's people
    assert visible(community_worker) == {"张三", "李四"}  # the community's residents, wherever held
    assert visible(commander) == {"张三", "李四", "王五", "赵六"}


def test_a_role_without_care_sees_nothing(requests, analyst):
    with pytest.raises(PermissionDenied):
        cs.care_requests_visible(analyst)


def test_the_python_rule_and_the_query_agree(requests, site_a, site_b, community_worker, commander, town_a, city):
    from tests.facilities.care_support import task_group_member

    users = [site_a, site_b, community_worker, commander, task_group_member("care_a", town_a)]
    rows = list(CareRequest.objects.select_related(
        "episode__person", "episode__custodian__jurisdiction", "episode__pending_custodian__jurisdiction",
        "custodian__jurisdiction"))
    for user in users:
        ids = set(cs.care_requests_visible(user).values_list("pk", flat=True))
        for row in rows:
            assert cs.care_in_reach(user, row.episode, row.custodian) == (row.pk in ids), (user, row.pk)


def test_the_recording_custodian_keeps_the_request_after_the_person_moved(world, requests, site_a, facility_a,
                                                                        facility_b):
    # 王五 (a town-B resident) moves from site A to site B with his counselling request open.
    handover_give(episode=world.wang, to_custodian=facility_b.custodian,
                  expected_by=timezone.now() + timedelta(hours=1), actor=None)
    # On the way: site A still holds him (the giver answers); site B expects him and already sees it.
    now = timezone.now()
    assert names(cs.open_for_custodian(facility_a.custodian, now).due) == {"张三", "王五"}
    handover_receive(episode=fresh(world.wang), actor=None)
    now = timezone.now()
    at_a = cs.open_for_custodian(facility_a.custodian, now)
    at_b = cs.open_for_custodian(facility_b.custodian, now)
    wang_at_a = next(r for r in at_a.due if r.episode.person.name == "王五")
    wang_at_b = next(r for r in at_b.due if r.episode.person.name == "王五")
    assert wang_at_a.moved_on and not wang_at_a.recorded_elsewhere
    assert wang_at_b.recorded_elsewhere and not wang_at_b.moved_on
    assert names(at_b.due) == {"王五", "赵六"}
    assert visible(site_a) == {"张三", "李四", "王五"}


def test_open_and_overdue_for_a_site(requests, facility_a, site_a):
    care_request_create(episode=requests["zhang"].episode, kind="medical_care", detail="胸闷", urgent=True,
                        actor=site_a)
    care_request_close(request=requests["wang"], outcome="已安排心理咨询", actor=site_a)
    now = timezone.now()
    work = cs.open_for_custodian(facility_a.custodian, now)
    assert work.overdue == [] and [r.kind for r in work.due] == ["medical_care", "medicine"]  # soonest due first
    # Three hours later the urgent one is overdue, by three hours less two.
    later = now + timedelta(hours=3)
    work = cs.open_for_custodian(facility_a.custodian, later)
    assert [r.kind for r in work.overdue] == ["medical_care"] and [r.kind for r in work.due] == ["medicine"]
    assert timedelta(minutes=59) < work.overdue[0].late <= timedelta(hours=1, seconds=5)
    assert work.count == 2
    # A day later both are.
    work = cs.open_for_custodian(facility_a.custodian, now + timedelta(hours=25))
    assert len(work.overdue) == 2 and work.due == []


def test_a_communitys_home_custody(requests, community_a1, world):
    ids = [c.pk for c in community_custodians(community_a1)]
    work = cs.open_for_custodians(ids, timezone.now())
    assert names(work.due) == {"李四"} and work.due[0].kind == "dependent"
    assert cs.open_for_custodians([], timezone.now()).count == 0


def test_headquarters_counts_by_need_and_lists_the_longest_overdue(requests, commander, site_b, site_a):
    care_request_close(request=requests["li"], outcome="社区已安排", actor=site_a)
    now = timezone.now() + timedelta(hours=3)  # the urgent one (赵六) is overdue
    hq = cs.headquarters_open(commander, now)
    by_kind = {k.kind: (k.open, k.overdue, k.urgent) for k in hq.kinds}
    assert by_kind["medicine"] == (1, 0, 0) and by_kind["counselling"] == (1, 0, 0)
    assert by_kind["special_food"] == (1, 1, 1) and by_kind["dependent"] == (0, 0, 0)
    assert [k.kind for k in hq.kinds][:2] == ["medicine", "special_food"]  # every need, in the choices' order
    assert (hq.open_count, hq.overdue_count, hq.urgent_count) == (3, 1, 1)
    assert names(hq.overdue) == {"赵六"} and hq.more_overdue == 0

    later = cs.headquarters_open(commander, timezone.now() + timedelta(days=2), shown=2)
    assert later.overdue_count == 3 and len(later.overdue) == 2 and later.more_overdue == 1
    assert later.overdue[0].due_at <= later.overdue[1].due_at  # the longest overdue first
    # Scoped: town B's staff count their own.
    assert cs.headquarters_open(site_b, now).open_count == 2


def test_query_counts_do_not_grow_with_the_rows(world, commander, facility_a, site_a):
    def measure():
        with CaptureQueriesContext(connection) as ctx:
            work = cs.open_for_custodian(facility_a.custodian, timezone.now())
            for r in work.due + work.overdue:
                str(r.episode.person.name), str(r.facility), str(r.custodian), r.episode.custodian_id
        site_queries = len(ctx)
        commander._scope_cache = None
        with CaptureQueriesContext(connection) as ctx:
            hq = cs.headquarters_open(commander, timezone.now() + timedelta(days=2))
            for r in hq.overdue:
                str(r.episode.person.name), str(r.facility), str(r.custodian)
        return site_queries, len(ctx)

    care_request_create(episode=world.zhang, kind="medicine", detail="x", urgent=False, actor=site_a)
    few = measure()
    for i in range(8):
        care_request_create(episode=world.wang if i % 2 else world.zhang, kind="other", detail=str(i),
                            urgent=bool(i % 3), actor=site_a)
    assert measure() == few
    assert few == (1, 3)  # one list; the user's jurisdictions, the figures, the overdue rows


def test_filters(requests, site_a, facility_a, world):
    care_request_close(request=requests["li"], outcome="ok", actor=site_a)
    now = timezone.now()

    def found(**params):
        filters, errors = cs.parse_filters(params)
        assert errors == []
        return names(cs.care_search(site_a, filters, now))

    assert found() == {"张三", "王五"}  # open by default
    assert found(status="closed") == {"李四"}
    assert found(status="all") == {"张三", "李四", "王五"}
    assert found(q="张") == {"张三"} and found(q="zhangsan") == {"张三"} and found(q="ww") == {"王五"}
    assert found(kind="counselling") == {"王五"}
    assert found(where=str(facility_a.pk)) == {"张三", "王五"}
    assert found(where="home", status="all") == {"李四"}
    assert found(urgent="1") == set()
    assert found(overdue="true") == set()
    CareRequest.objects.filter(pk=requests["wang"].pk).update(due_at=now - timedelta(minutes=1))
    assert found(overdue="1") == {"王五"}
    order = [r.episode.person.name for r in cs.care_search(site_a, cs.parse_filters({"sort": "due"})[0], now)]
    assert order == ["王五", "张三"]


def test_bad_filters_are_reported_and_left_out():
    filters, errors = cs.parse_filters({"status": "pending", "kind": "massage", "overdue": "maybe",
                                        "where": "hotel", "sort": "name"})
    assert {e["field"] for e in errors} == {"status", "kind", "overdue", "where", "sort"}
    assert (filters.status, filters.kind, filters.overdue, filters.where, filters.sort) == ("open", "", False, "", "due")
    assert not filters.narrowed
