"""Helpers of the board, desk and check-in tests: people on their way, rooms put in a status through the
actions, a logged-in client that reads English."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from closedloop.facilities import room_states as rs
from closedloop.facilities.actions import room_transition
from closedloop.facilities.models import Room, Stay
from closedloop.people.actions import household_create
from closedloop.quarantine.actions import episode_place, handover_give
from closedloop.quarantine.models import Episode

# The manual events that bring an available room to each status (occupied comes from a check-in).
PATHS = {
    rs.AWAITING_CLEANING: [(rs.TAKE_OUT, "水管漏水"), (rs.BRING_BACK, "")],
    rs.CLEANING: [(rs.TAKE_OUT, "水管漏水"), (rs.BRING_BACK, ""), (rs.CLEAN_START, "")],
    rs.OUT_OF_SERVICE: [(rs.TAKE_OUT, "窗户损坏")],
}


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def set_status(room: Room, status: str, actor=None) -> Room:
    """Drive an available room to ``status`` through ``room_transition`` (never by assignment)."""
    for event, note in PATHS[status]:
        room = room_transition(room=fresh(room), event=event, actor=actor, note=note)
    return fresh(room)


def on_the_way(episode: Episode, giver, facility) -> Episode:
    """Placed with ``giver`` (a vehicle trip) and handed over to the facility: in transit to it."""
    episode = episode_place(episode=episode, custodian=giver, actor=None)
    return handover_give(episode=fresh(episode), to_custodian=facility.custodian,
                         expected_by=timezone.now() + timedelta(hours=1), actor=None, signed_by="司机")


def household(*episodes) -> None:
    household_create(members=[e.person for e in episodes], actor=None)


def open_stay(episode) -> Stay | None:
    return Stay.objects.filter(episode_id=episode.pk, checked_out_at__isnull=True).select_related("room").first()


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client
