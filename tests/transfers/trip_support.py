"""A tiny way home for the trip tests: three residents held at a site in Hangzhou (a household of two in
community A1 and one person in A2, all coming home to town A), an adopted plan with one coach trip and one
shuttle trip to town A, and the transfer desk's account.

People, episodes and custody are made with actions. The plan, its trips and passengers are rows made here
directly (test setup only): the trip tests are about carrying a trip out, not about planning it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from closedloop.core.actions import user_create
from closedloop.core.roles import Role
from closedloop.people.actions import household_create
from closedloop.quarantine.actions import episode_open, episode_place
from closedloop.quarantine.models import Episode
from closedloop.transfers.choices import PlanStatus
from closedloop.transfers.models import AwayRecord, Passenger, TransferPlan, Trip
from tests.conftest import PASSWORD

PERSON_OK = {"temperature": True, "negative_test_24h": True}
BOARDING_TRIP_OK = {"crew_negative_test_24h": True, "documents": True, "vehicle_disinfected": True}
STATION_TRIP_OK = {"documents": True, "headcount": True}
SHUTTLE_TRIP_OK = {"crew_negative_test_24h": True, "headcount": True, "vehicle_disinfected": True}
HOME_TRIP_OK = {"documents": True, "headcount": True}


@dataclass
class World:
    city: object
    site: object  # the out-of-city site
    station: object
    fleet: object
    plan: TransferPlan
    coach: Trip
    shuttle: Trip
    zhang: Episode  # household g1
    li: Episode  # household g1
    wang: Episode  # alone, g2
    desk: object

    @property
    def episodes(self) -> list[Episode]:
        return [self.zhang, self.li, self.wang]

    def fresh(self, trip: Trip) -> Trip:
        return Trip.objects.select_related("plan", "origin", "town", "custodian").get(pk=trip.pk)

    def episode(self, episode: Episode) -> Episode:
        return Episode.objects.get(pk=episode.pk)


def desk_user(city, username: str = "desk"):
    return user_create(username=username, password=PASSWORD, role=Role.TRANSFER_DESK, full_name="Transfer Desk",
                       jurisdictions=[city], actor=None)


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def held_away(person, site, city, town, *, release_days: int = 0) -> Episode:
    episode = episode_open(person=person, category="out_of_city", anchor_date=timezone.localdate() - timedelta(days=7),
                           actor=None)
    episode = episode_place(episode=episode, custodian=site.custodian, placed_on=timezone.localdate() - timedelta(days=6),
                            actor=None)
    AwayRecord.objects.create(episode=episode, origin=site, home_town=town, status="released",
                              release_on=timezone.localdate() + timedelta(days=release_days),
                              reported_at=timezone.now(), source="test")
    return episode


def build_world(*, city, town_a, community_a1, community_a2, hangzhou_site, station, fleet, person_factory,
                desk=None) -> World:
    zhang_p = person_factory("张伟", community=community_a1)
    li_p = person_factory("李娜", community=community_a1, female=True)
    wang_p = person_factory("王芳", community=community_a2, female=True)
    household_create(members=[zhang_p, li_p], actor=None)
    zhang, li, wang = (held_away(p, hangzhou_site, city, town_a) for p in (zhang_p, li_p, wang_p))
    now = timezone.now()
    plan = TransferPlan.objects.create(city=city, status=PlanStatus.ADOPTED, epoch=now - timedelta(hours=1),
                                       instance={}, plan={}, makespan=300, lower_bound=280, people=3)
    coach = Trip.objects.create(plan=plan, kind="coach", vehicle=0, origin=hangzhou_site,
                                start_at=now - timedelta(minutes=30), depart_at=now + timedelta(hours=1),
                                arrive_at=now + timedelta(hours=3))
    shuttle = Trip.objects.create(plan=plan, kind="shuttle", vehicle=0, town=town_a,
                                  depart_at=now + timedelta(hours=4), arrive_at=now + timedelta(hours=5))
    for lane, (episode, group) in enumerate(((zhang, "g1"), (li, "g1"), (wang, "g2"))):
        Passenger.objects.create(trip=coach, episode=episode, group=group, lane=lane % 2,
                                 screen_from=now + timedelta(hours=3), screen_until=now + timedelta(hours=3, minutes=9))
        Passenger.objects.create(trip=shuttle, episode=episode, group=group)
    return World(city=city, site=hangzhou_site, station=station, fleet=fleet, plan=plan, coach=coach,
                 shuttle=shuttle, zhang=zhang, li=li, wang=wang, desk=desk or desk_user(city))


def everyone_ok(world: World, items: dict | None = None, episodes=None) -> dict[int, dict[str, bool]]:
    return {e.pk: dict(items if items is not None else PERSON_OK) for e in (episodes or world.episodes)}
