"""Helpers of the plan tests: residents isolated elsewhere, a fixed clock, a logged-in client.

An ``out_of_city`` episode is opened and placed with the origin site's custodian through the actions; the
``AwayRecord`` beside it is created directly (the registry's own actions are tested in their own files).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.test import Client

from closedloop.people.actions import household_create
from closedloop.quarantine.actions import episode_open, episode_place
from closedloop.transfers.models import AwayRecord

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 10, 9, 3, tzinfo=SHANGHAI)  # minute 0 of a plan made now: 09:10


def away(person_factory, site, name: str, *, home=None, release_on: date | None = date(2026, 3, 9),
         status: str = "isolated", **person) -> AwayRecord:
    """A resident held by ``site`` in another city, going home to ``home`` (community A1's town by default)."""
    p = person_factory(name, **({"community": home} if home is not None and home.level == "community" else
                                {"town": home} if home is not None else {}), **person)
    episode = episode_open(person=p, category="out_of_city", anchor_date=date(2026, 3, 1), actor=None)
    episode = episode_place(episode=episode, custodian=site.custodian, placed_on=date(2026, 3, 1), actor=None)
    town = p.town
    return AwayRecord.objects.create(episode=episode, origin=site, home_town=town, release_on=release_on,
                                     status=status, reported_at=NOW - timedelta(hours=2), source="test")


def household(*records: AwayRecord) -> None:
    household_create(members=[r.episode.person for r in records], actor=None)


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def world(person_factory, hangzhou_site, ningbo_site, community_b1) -> dict[str, AwayRecord]:
    """Nine people out of the city: at Hangzhou a household of three and three people alone (one going home
    to town B, one released only tomorrow), at Ningbo two alone and one going home to town B."""
    people = {
        "zhang": away(person_factory, hangzhou_site, "张伟", status="released"),
        "zhang_wife": away(person_factory, hangzhou_site, "李娜", status="released"),
        "zhang_son": away(person_factory, hangzhou_site, "张小伟", status="released"),
        "wang": away(person_factory, hangzhou_site, "王芳", status="released"),
        "zhao": away(person_factory, hangzhou_site, "赵六", home=community_b1),
        "qian": away(person_factory, hangzhou_site, "钱七", release_on=date(2026, 3, 11)),
        "sun": away(person_factory, ningbo_site, "孙八"),
        "zhou": away(person_factory, ningbo_site, "周九"),
        "wu": away(person_factory, ningbo_site, "吴十", home=community_b1),
    }
    household(people["zhang"], people["zhang_wife"], people["zhang_son"])
    return people



def dispatch(trip, actor):
    """The trip desk names the vehicle: the trip is boarding (``trip_dispatch``)."""
    from closedloop.transfers.actions import trip_dispatch
    from closedloop.transfers.models import Trip

    return trip_dispatch(trip=Trip.objects.get(pk=trip.pk), plate="浙G12345", driver="王师傅", escorts="李医生",
                         actor=actor)


def board(trip, actor, *, failing=()):
    """Dispatch and board a coach (``trip_board``): everyone passes but the episodes in ``failing``, whose
    households stay behind. The coach is under way."""
    from closedloop.transfers.actions import trip_board
    from closedloop.transfers.models import Trip

    trip = Trip.objects.get(pk=trip.pk)
    if trip.state == "planned":
        dispatch(trip, actor)
    answers = {p.episode_id: {"temperature": p.episode_id not in set(failing), "negative_test_24h": True}
               for p in trip.passengers.filter(status="planned")}
    return trip_board(trip=Trip.objects.get(pk=trip.pk), answers=answers,
                      trip_answers={"crew_negative_test_24h": True, "documents": True, "vehicle_disinfected": True},
                      giver="隔离点值班员", receiver="李医生", actor=actor)
