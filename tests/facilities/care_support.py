"""The people of the care-request tests, built with actions; used by tests/facilities/test_care_*.py.

- 张三 (community A1, elderly and on medication) held at site A, in room 301;
- 李四 (community A1, a child) in home custody of community A1;
- 王五 (lives in community B1) held at site A — site A answers for him, town B reaches him as a resident;
- 赵六 (lives in community B1) held at site B — the outsider's person;
- 孙七 (community A1) awaiting placement: nobody answers for him yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.test import Client

from closedloop.core.actions import user_create
from closedloop.core.roles import Role
from closedloop.facilities.actions import checkin
from closedloop.quarantine.actions import custodian_create, episode_place
from closedloop.quarantine.models import Custodian, Episode

PASSWORD = "Correct-Horse-42"


@dataclass
class World:
    zhang: Episode
    li: Episode
    wang: Episode
    zhao: Episode
    sun: Episode
    home_a1: Custodian


def fresh(episode: Episode) -> Episode:
    return Episode.objects.select_related("person", "custodian").get(pk=episode.pk)


def build_world(open_episode, facility_a, facility_b, community_a1, community_b1, city) -> World:
    from tests.facilities.conftest import room

    home = custodian_create(kind="home_community", name="香溪社区居家", code="home-a1", city=city,
                            jurisdiction=community_a1, actor=None)
    zhang = open_episode("张三", flags={"is_elderly": True, "needs_medication": True})
    li = open_episode("李四", flags={"is_child": True})
    wang = open_episode("王五", community=community_b1)
    zhao = open_episode("赵六", community=community_b1)
    sun = open_episode("孙七")
    checkin(facility=facility_a, assignments=[(zhang, room(facility_a, "301"))], actor=None)
    episode_place(episode=li, custodian=home, actor=None)
    episode_place(episode=wang, custodian=facility_a.custodian, actor=None)
    episode_place(episode=zhao, custodian=facility_b.custodian, actor=None)
    return World(zhang=fresh(zhang), li=fresh(li), wang=fresh(wang), zhao=fresh(zhao), sun=fresh(sun), home_a1=home)


def task_group_member(name: str, jurisdiction):
    """A member of the care task group, scoped to a jurisdiction."""
    return user_create(username=name, password=PASSWORD, role=Role.TASK_GROUP, full_name=name.title(),
                       jurisdictions=[jurisdiction], actor=None)


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client
