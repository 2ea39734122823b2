"""The simple greedy returns plan: the floor the planner is measured against.

As the benchmark spec words it: trips packed per origin in release order, earliest free coach,
FIFO station and shuttles. Precisely:

- Coaches: at each origin, groups in order of release (then as listed) fill a trip until the next one
  does not fit, which opens the next trip. Trips, in order of their release (the latest of their
  groups), then of origin, each go to the coach free earliest (lowest number on a tie); it starts as
  soon as it is free and no earlier than it needs to, to be at the origin when the last group is
  released.
- Station: groups in order of arrival (then trip, then place on board), each on the lane free
  earliest.
- Shuttles: per district, in order of screening end; whenever a shuttle is free it takes the groups
  waiting, first come first served, until the next one does not fit (waiting for the first if none
  is), and leaves at once.
"""

from __future__ import annotations

import heapq

from closedloop.planning.returns.bound import lower_bound
from closedloop.planning.returns.instance import Instance
from closedloop.planning.returns.plan import CoachTrip, Plan, ShuttleTrip, StationBlock, sorted_plan


def greedy(instance: Instance, *, bound: int | None = None) -> Plan:
    coaches, Q = instance.coaches, instance.coaches.capacity
    trips = []  # (ready, origin index, origin, groups)
    for i, origin in enumerate(instance.origins):
        current, load = [], 0
        for g in sorted(origin.groups, key=lambda g: g.ready_minute):  # stable: ties keep the listed order
            if load + g.size > Q:
                trips.append((max(x.ready_minute for x in current), i, origin, current))
                current, load = [], 0
            current.append(g)
            load += g.size
        if current:
            trips.append((max(x.ready_minute for x in current), i, origin, current))
    trips.sort(key=lambda t: (t[0], t[1]))

    free = [(0, c) for c in range(coaches.count)]
    coach_trips, arrivals = [], []
    for n, (ready, _i, origin, groups) in enumerate(trips):
        at, c = heapq.heappop(free)
        t = origin.travel_minutes
        start = max(at, ready - t - coaches.board_minutes)
        depart = max(start + t + coaches.board_minutes, ready)
        arrive = depart + t
        heapq.heappush(free, (arrive + coaches.turnaround_minutes, c))
        coach_trips.append(CoachTrip(c, origin.id, start, depart, arrive, tuple(g.id for g in groups)))
        arrivals.extend((arrive, n, k, g) for k, g in enumerate(groups))
    arrivals.sort(key=lambda a: a[:3])

    m = instance.station.minutes_per_person
    lanes = [(0, lane) for lane in range(instance.station.lanes)]
    blocks, screened = [], {}
    for arrive, _n, _k, g in arrivals:
        at, lane = heapq.heappop(lanes)
        start = max(at, arrive)
        blocks.append(StationBlock(g.id, lane, start, start + g.size * m))
        heapq.heappush(lanes, (start + g.size * m, lane))
        screened.setdefault(g.district, []).append((start + g.size * m, g))

    shuttle_trips = []
    for district in instance.districts:
        queue = sorted(screened.get(district.id, ()), key=lambda e: e[0])
        shuttles = [(0, k) for k in range(district.shuttles)]
        p = 0
        while p < len(queue):
            at, k = heapq.heappop(shuttles)
            depart = max(at, queue[p][0])
            on_board, load = [], 0
            while p < len(queue) and queue[p][0] <= depart and load + queue[p][1].size <= district.capacity:
                on_board.append(queue[p][1].id)
                load += queue[p][1].size
                p += 1
            shuttle_trips.append(ShuttleTrip(district.id, k, depart, depart + district.leg, tuple(on_board)))
            heapq.heappush(shuttles, (depart + district.cycle, k))
    if bound is None:
        bound = lower_bound(instance).value
    return sorted_plan(coach_trips, blocks, shuttle_trips, lower_bound=bound, stats={"method": "greedy"})
