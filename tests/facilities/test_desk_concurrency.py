"""Desks racing for rooms, in real threads on SQLite and PostgreSQL: the last free room goes to exactly
one person, and two desks filling one empty floor at once never mix categories on it."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import translation

from closedloop.facilities import room_states as rs
from closedloop.facilities.actions import checkin
from closedloop.facilities.models import Room, RoomEvent, Stay
from closedloop.quarantine import states
from closedloop.quarantine.models import Episode
from tests.facilities.board_helpers import fresh, set_status
from tests.facilities.conftest import room

RACERS = 4


def race(jobs) -> list:
    """Run each job in its own thread, all released at once; "won" or the ValidationError each got."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list = [None] * len(jobs)

    def desk(i):
        try:
            translation.activate("en")  # a thread starts with no language of its own
            barrier.wait(timeout=10)
            jobs[i]()
            outcomes[i] = "won"
        except ValidationError as exc:  # RoomConflict, or the rules seen after the winner
            outcomes[i] = exc
        except Exception as exc:  # noqa: BLE001 - reported by the assertion, not lost in the thread
            outcomes[i] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=desk, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_desks_giving_away_the_last_free_room_at_once_cannot_both_win(facility_a, open_episode, site_a):
    rooms = list(Room.objects.filter(facility=facility_a).order_by("floor", "number"))
    last = rooms[0]
    for r in rooms[1:]:
        set_status(r, rs.OUT_OF_SERVICE, actor=site_a)
    people = [open_episode(f"旅客{i}") for i in range(RACERS)]
    pages = [fresh(last) for _e in people]  # every desk showed the room free, at this version
    version = pages[0].version

    outcomes = race([lambda e=e, seen=seen: checkin(facility=facility_a, assignments=[(e, seen)], actor=site_a)
                     for e, seen in zip(people, pages, strict=True)])

    assert outcomes.count("won") == 1, outcomes
    assert all(isinstance(o, ValidationError) for o in outcomes if o != "won"), outcomes
    winner = people[outcomes.index("won")]
    assert list(Stay.objects.filter(room=last, checked_out_at__isnull=True).values_list("episode_id", flat=True)) \
        == [winner.pk]
    assert fresh(last).status == rs.OCCUPIED and fresh(last).version == version + 1
    assert RoomEvent.objects.filter(room=last, kind=rs.ASSIGN).count() == 1
    losers = [e for e, o in zip(people, outcomes, strict=True) if o != "won"]
    assert all(Episode.objects.get(pk=e.pk).state == states.AWAITING for e in losers)


@pytest.mark.django_db(transaction=True)
def test_desks_filling_one_empty_floor_at_once_never_mix_categories(facility_a, open_episode, site_a):
    """Different rooms, so no room's compare-and-swap stops the second desk: the rules must be judged
    after the first desk's check-in, not beside it."""
    categories = ["close_contact", "inbound", "secondary_contact", "high_risk_area"]
    people = [open_episode(f"旅客{i}", category=c) for i, c in enumerate(categories)]
    seen = [room(facility_a, n) for n in ("302", "303", "304", "305")]

    outcomes = race([lambda e=e, r=r: checkin(facility=facility_a, assignments=[(e, r)], actor=site_a)
                     for e, r in zip(people, seen, strict=True)])

    assert outcomes.count("won") == 1, outcomes
    assert all(isinstance(o, ValidationError) and "a floor holds one category only" in o.messages[0]
               for o in outcomes if o != "won"), outcomes
    on_floor = set(Stay.objects.filter(room__facility=facility_a, room__floor=3, checked_out_at__isnull=True)
                   .values_list("episode__category", flat=True))
    assert on_floor == {categories[outcomes.index("won")]}
