"""The closed loop of the demo city: episodes in every state, held by the facilities' custodians
(``closedloop.facilities.demo``), vehicle trips and home communities.

Called by ``closedloop.core.demo`` inside its one transaction, after the people
and their episode stubs exist. Deterministic for a seed; every write is an action.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

from django.utils import timezone

from closedloop.core.models import Jurisdiction
from closedloop.quarantine import states
from closedloop.quarantine.actions import (
    custodian_create,
    episode_close,
    episode_place,
    handover_give,
    handover_receive,
)
from closedloop.quarantine.actions.custody import advance
from closedloop.quarantine.models import Custodian, Episode

# (town code, site name): one centralized isolation site in six towns and streets.
SITES = [
    ("330782001", "稠城街道集中隔离点（锦都酒店）"),
    ("330782002", "北苑街道集中隔离点（国贸大厦）"),
    ("330782003", "江东街道集中隔离点（江东宾馆）"),
    ("330782005", "福田街道集中隔离点（福田商务酒店）"),
    ("330782009", "义亭镇集中隔离点（义亭健康驿站）"),
    ("330782011", "佛堂镇集中隔离点（佛堂古镇酒店）"),
]
CENTRALIZED = {"close_contact", "inbound", "high_risk_area"}
LOST = 3  # hand-overs never confirmed, so the alerts page is never empty in a demo
HOME = {"secondary_contact", "medium_risk_area"}


def _trips(city: Jurisdiction, admin) -> list[Custodian]:
    return [custodian_create(kind="vehicle_trip", name=f"转运车 {plate} 第{i}趟", code=f"trip-{i:02d}", city=city,
                             actor=admin)
            for i, plate in enumerate(["浙G·D1234", "浙G·D5678", "浙G·D9012"], start=1)]


def _home(community: Jurisdiction | None, city: Jurisdiction, admin, cache: dict) -> Custodian | None:
    if community is None:
        return None
    if community.pk not in cache:
        cache[community.pk] = custodian_create(
            kind="home_community", name=f"{community.name}（居家）", code=f"home-{community.code}", city=city,
            jurisdiction=community, actor=admin,
        )
    return cache[community.pk]


def place(*, city: Jurisdiction, admin, seed: int, custodians: dict[str, list[Custodian]]) -> None:
    """Place the demo's open episodes with the facilities' custodians (``site``, ``hospital``, ``station``,
    ``away``) and move some along."""
    rng = random.Random(seed * 7919 + 3)
    today = timezone.localdate()
    now = timezone.now()
    made = {**custodians, "trip": _trips(city, admin)}
    homes: dict[int, Custodian] = {}
    site_of_town = {c.jurisdiction_id: c for c in made["site"]}
    episodes = list(Episode.objects.filter(city=city, state=states.AWAITING).select_related(
        "person", "person__community", "person__town").order_by("pk"))
    lost = 0
    for episode in episodes:
        roll = rng.random()
        if roll < 0.06:
            continue  # listed today, not yet placed: the awaiting list is never empty
        placed_on = min(today, (episode.anchor_date or today) + timedelta(days=rng.choice([0, 0, 1, 2])))
        if episode.category in CENTRALIZED:
            custodian = site_of_town.get(episode.person.town_id) or rng.choice(made["site"])
        elif episode.category in HOME:
            custodian = _home(episode.person.community, city, admin, homes) or rng.choice(made["site"])
        elif episode.category == "case":
            custodian = made["hospital"][0]
        else:  # out of city: held by another city's site until brought home
            custodian = rng.choice(made["away"])
        episode = episode_place(episode=episode, custodian=custodian, placed_on=placed_on, actor=admin)
        roll = rng.random()
        if episode.category in CENTRALIZED and lost < LOST:
            # Handed to a vehicle this morning and never confirmed: the lost-in-transit alert.
            advance(episode, states.GIVE, actor=admin, to_custodian=rng.choice(made["trip"]),
                    expected_by=now - timedelta(hours=rng.randint(2, 6)), reason="demo: hand-over this morning")
            lost += 1
        elif episode.category in CENTRALIZED and roll < 0.04:
            # On the road to the site right now.
            handover_give(episode=episode, to_custodian=rng.choice(made["trip"]), actor=admin,
                          expected_by=now + timedelta(minutes=rng.randint(20, 90)), signed_by="值班医生")
        elif episode.category in CENTRALIZED and roll < 0.08:
            # Moved between sites and received.
            other = rng.choice([s for s in made["site"] if s.pk != custodian.pk])
            episode = handover_give(episode=episode, to_custodian=other, actor=admin,
                                    expected_by=now + timedelta(hours=1), signed_by="李医生")
            handover_receive(episode=episode, actor=admin, signed_by="王护士")
        elif roll > 0.99:
            episode_close(episode=episode, actor=admin, reason="demo: 流调核实为误报")


def complete_courses(*, city: Jurisdiction, admin, seed: int) -> Counter:
    """Tests of the past days have their results (a few are missed), courses that are over are mostly
    released through the rule, one test comes back positive (the case path), and the rest stay overdue so
    the alerts page shows people kept too long."""
    from datetime import datetime, time

    from closedloop.quarantine.actions import (
        episode_release,
        episode_schedule,
        result_record,
        specimen_record,
    )

    rng = random.Random(seed * 7919 + 5)
    tz = timezone.get_current_timezone()
    today = timezone.localdate()
    held = list(Episode.objects.filter(city=city, state=states.IN_CUSTODY, protocol__isnull=False)
                .select_related("protocol").order_by("pk"))
    positive_done = False
    for episode in held:
        schedule = episode_schedule(episode)
        if schedule is None:
            continue
        over = episode.release_on is not None and episode.release_on <= today
        missed_one = False
        for test in [t for t in schedule.tests if t.due and t.date < today]:
            if not over and rng.random() < 0.03:
                missed_one = True  # a sample not taken: shows as a missed test
                continue
            specimen = specimen_record(episode=episode, kind="pcr", scheduled_for=test.date, actor=admin,
                                       sampled_at=datetime.combine(test.date, time(9, 0), tzinfo=tz))
            result = "22.5" if not positive_done and not over and rng.random() < 0.01 else "negative"
            result_record(specimen=specimen, result_or_ct=result, lab="义乌市疾控中心实验室", actor=admin)
            if result != "negative":
                positive_done = True
                break
        episode.refresh_from_db()
        if over and not missed_one and episode.state == states.IN_CUSTODY and rng.random() < 0.7:
            if not any(t.missed_before_control for t in schedule.tests):
                episode_release(episode=episode, actor=admin)
    return Counter(Episode.objects.filter(city=city).values_list("state", flat=True))
