"""The demo city's facilities: isolation sites with rooms (one of 360 rooms), a health station, the
transfer station, two hospitals, and isolation sites in ten other cities; then rooms for the people the
closed loop placed at a site, and rooms in every status.

Called by ``closedloop.core.demo`` inside its one transaction. Every write is an action; deterministic
for a seed.
"""

from __future__ import annotations

import random
from collections import defaultdict

from django.utils import timezone

from closedloop.core.actions import jurisdiction_set_population
from closedloop.core.models import Jurisdiction, User
from closedloop.facilities import room_states as rs
from closedloop.facilities.actions import (
    checkin,
    facility_create,
    facility_member_add,
    room_transition,
    rooms_bulk_create,
)
from closedloop.facilities.models import Facility, Room
from closedloop.quarantine import states
from closedloop.quarantine.models import Episode

# Yiwu's resident population (2020 census): the base of the room reserve norm.
POPULATION = 1_859_390

# (town code, name, kind, [(building, floors from, to, rooms per floor, two-bed rooms per floor)])
SITES = [
    ("330782001", "稠城街道集中隔离点（锦都酒店）", "isolation_site",
     [("A", 3, 14, 15, 4), ("B", 3, 14, 15, 4)]),  # 360 rooms: the board's showcase
    ("330782002", "北苑街道集中隔离点（国贸大厦）", "isolation_site", [("", 2, 11, 24, 6)]),
    ("330782003", "江东街道集中隔离点（江东宾馆）", "isolation_site", [("1", 2, 9, 20, 5), ("2", 2, 9, 20, 5)]),
    ("330782005", "福田街道集中隔离点（福田商务酒店）", "isolation_site", [("", 2, 16, 30, 8)]),
    ("330782009", "义亭镇健康驿站", "health_station", [("", 1, 6, 20, 5)]),
    ("330782011", "佛堂镇集中隔离点（佛堂古镇酒店）", "isolation_site", [("东楼", 2, 8, 18, 4), ("西楼", 2, 8, 18, 4)]),
]
# The demo's site staff logins work at these sites.
MEMBERS = [("demo-site-choucheng", "site-01"), ("demo-site-beiyuan", "site-02")]
# Residents of the city isolated elsewhere, by city (the returns of issue #5 bring them home).
AWAY = [
    ("杭州市", "杭州市萧山区集中隔离点"), ("宁波市", "宁波市鄞州区集中隔离点"), ("温州市", "温州市鹿城区集中隔离点"),
    ("金华市", "金华市婺城区集中隔离点"), ("绍兴市", "绍兴市柯桥区集中隔离点"), ("台州市", "台州市椒江区集中隔离点"),
    ("丽水市", "丽水市莲都区集中隔离点"), ("衢州市", "衢州市柯城区集中隔离点"), ("湖州市", "湖州市吴兴区集中隔离点"),
    ("上海市", "上海市嘉定区集中隔离点"),
]


def build(*, city: Jurisdiction, admin, seed: int) -> dict[str, list]:
    """Register the facilities and their rooms; returns their custodians by role for the closed loop's demo."""
    rng = random.Random(seed * 31 + 11)
    jurisdiction_set_population(jurisdiction=city, population=POPULATION, actor=admin)
    towns = {j.code: j for j in Jurisdiction.objects.filter(level="town", city=city)}
    made: dict[str, list] = {"site": [], "hospital": [], "station": [], "away": []}
    for i, (code, name, kind, blocks) in enumerate(SITES, start=1):
        site = facility_create(
            kind=kind, name=name, code=f"site-{i:02d}", city=city, jurisdiction=towns.get(code), status="open",
            actor=admin, address=f"{towns[code].name if code in towns else ''}{rng.randint(1, 300)}号",
            contact_name=rng.choice(["王", "李", "陈", "吴", "楼"]) + rng.choice(["主任", "站长", "组长"]),
            contact_phone=f"0579-85{rng.randint(100000, 999999)}", turnaround_hours=rng.choice([4, 6, 12, 24]),
        )
        for building, floor_from, floor_to, per_floor, doubles in blocks:
            rooms_bulk_create(facility=site, building=building, floor_from=floor_from, floor_to=floor_to,
                              room_from=1, room_to=per_floor - doubles, accessible_rooms=frozenset({1}),
                              actor=admin)
            rooms_bulk_create(facility=site, building=building, floor_from=floor_from, floor_to=floor_to,
                              room_from=per_floor - doubles + 1, room_to=per_floor, beds=2, actor=admin)
        made["site"].append(site.custodian)
    for username, code in MEMBERS:
        user = User.objects.filter(username=username).first()
        if user is not None:
            facility_member_add(facility=Facility.objects.get(code=code), user=user, actor=admin)
    station = facility_create(kind="transfer_station", name="义乌市客运中心中转站", code="station-01", city=city,
                              status="open", address="义乌市诚信大道客运中心", actor=admin)
    made["station"].append(station.custodian)
    for i, name in enumerate(["义乌市中心医院（定点医院）", "义乌市方舱医院"], start=1):
        made["hospital"].append(facility_create(kind="hospital", name=name, code=f"hospital-{i:02d}", city=city,
                                                status="open", actor=admin).custodian)
    for i, (other_city, name) in enumerate(AWAY, start=1):
        made["away"].append(facility_create(kind="out_of_city_site", name=name, code=f"away-{i:02d}", city=city,
                                            other_city=other_city, status="open", actor=admin).custodian)
    return made


def settle(*, city: Jurisdiction, admin, seed: int) -> None:
    """Rooms for everyone the closed loop placed at a site (by the allocation engine), then rooms in
    every status: call after the placements and before the courses complete, so releases free rooms."""
    from closedloop.facilities.allocation import suggest

    rng = random.Random(seed * 37 + 5)
    sites = {f.custodian_id: f for f in Facility.objects.filter(city=city, kind__in=["isolation_site",
                                                                                   "health_station"])}
    held: dict[int, list[Episode]] = defaultdict(list)
    for episode in (Episode.objects.filter(city=city, state=states.IN_CUSTODY, custodian_id__in=list(sites))
                    .select_related("person").order_by("pk")):
        held[episode.custodian_id].append(episode)
    for custodian_id, episodes in held.items():
        site = sites[custodian_id]
        by_room: dict[int, list] = defaultdict(list)
        for suggestion in suggest(episodes, [site]):
            if suggestion.room is not None:  # the rest wait at the site for a room (the desk shows why)
                by_room[suggestion.room.pk].append((suggestion.episode, suggestion.room))
        for assignments in by_room.values():  # a household sharing a room checks in together
            checkin(facility=site, assignments=assignments, actor=admin)
    for site in sites.values():
        free = list(Room.objects.filter(facility=site, status=rs.AVAILABLE).order_by("pk"))
        for room in rng.sample(free, min(3, len(free))):
            room_transition(room=room, event=rs.TAKE_OUT, actor=admin, note="空调故障，待维修")


def turn_around(*, city: Jurisdiction, admin, seed: int) -> None:
    """Cleaners at work on the rooms released people left: some started, some done, the rest waiting."""
    rng = random.Random(seed * 41 + 7)
    for room in Room.objects.filter(facility__city=city, status=rs.AWAITING_CLEANING).order_by("pk"):
        roll = rng.random()
        if roll < 0.3:
            room_transition(room=room, event=rs.CLEAN_START, actor=admin, note="终末消毒")
        elif roll < 0.5:
            room_transition(room=room, event=rs.CLEAN_DONE, actor=admin, note="终末消毒完成")


CARE_NEEDS = [
    ("medicine", "高血压药（氨氯地平）剩余两天，需家属送药或社区代购。"),
    ("special_food", "糖尿病，需要低糖餐。"),
    ("counselling", "入住后情绪低落、失眠，希望有心理疏导。"),
    ("dependent", "家中有80岁老人独居，无人照料。"),
    ("medical_care", "孕28周，需要按期产检。"),
]


def staff_and_care(*, city: Jurisdiction, admin, seed: int) -> None:
    """Staff on duty at the first sites, with today's registrations (a few missing) and tests; one
    leaving duty into the rotation; and care requests of people held at sites and at home."""
    from datetime import timedelta

    from closedloop.facilities.actions import (
        care_request_create,
        roster_fill,
        staff_add,
        staff_health_record,
        staff_leave_duty,
        staff_test_record,
    )
    from closedloop.facilities.choices import CareKind, Shift, TaskGroup
    from closedloop.people.models import Person

    rng = random.Random(seed * 43 + 1)
    today = timezone.localdate()
    groups = list(TaskGroup.values)
    for site in Facility.objects.filter(city=city, code__in=["site-01", "site-02"]).order_by("code"):
        free = list(Person.objects.filter(city=city, town_id=site.jurisdiction_id, episodes__isnull=True,
                                          birth_date__lt=today - timedelta(days=22 * 365))
                    .order_by("pk")[:8])
        staff = [staff_add(facility=site, person=p, task_group=groups[i % len(groups)], actor=admin,
                           on_duty_from=today - timedelta(days=rng.randint(3, 13)), post=f"{3 + i % 4}楼",
                           ppe_level="3" if groups[i % len(groups)] == TaskGroup.HEALTH_OBSERVATION else "2")
                 for i, p in enumerate(free)]
        if not staff:
            continue
        days = [today + timedelta(days=d) for d in range(-2, 5)]
        roster_fill(facility=site, staff=staff[::2], days=days, shift=Shift.DAY, actor=admin)
        roster_fill(facility=site, staff=staff[1::2], days=days, shift=Shift.NIGHT, actor=admin)
        for member in staff[:-2]:  # the last two have not registered today: the work list shows them
            staff_health_record(staff=member, day=today, temperature=f"36.{rng.randint(2, 8)}", actor=admin)
        for member in staff[::3]:
            staff_test_record(staff=member, sampled_on=today - timedelta(days=1), result="negative", actor=admin)
        staff_leave_duty(staff=staff[-1], off_duty_on=today, actor=admin, reason="闭环作业满14天")
    held = list(Episode.objects.filter(city=city, state=states.IN_CUSTODY).order_by("pk")[:len(CARE_NEEDS) * 2])
    for i, episode in enumerate(held[::2]):
        kind, detail = CARE_NEEDS[i % len(CARE_NEEDS)]
        care_request_create(episode=episode, kind=CareKind(kind), detail=detail, urgent=kind == "medicine",
                            actor=admin)
