"""A lower bound on the makespan of every feasible returns plan.

``lower_bound(instance)`` is the largest of four bounds, each valid on its own, so their maximum is
too. Notation: group g of s_g people at origin o (travel t_o), ready at r_g, going home to district d;
a coach carries Q people, boards for b minutes and turns around in u; C coaches; L lanes of m minutes
per person; a shuttle of district d carries q_d people, takes leg_d = board + travel from departure to
home, and c_d = board + 2 travel + turnaround between two departures; K_d shuttles. All times are
whole minutes, so a bound may be rounded up.

**Path.** A group's coach starts at minute 0 or later, so it leaves the origin at
``e_g = max(r_g, t_o + b)`` at the earliest and reaches the station at ``a_g = e_g + t_o`` at the
earliest (rules 2, 3, 5); screening takes ``s_g m`` (rules 6, 7); the shuttle leaves no earlier and
arrives ``leg_d`` later (rules 9, 10). So ``M >= a_g + s_g m + leg_d`` for every g.

**Fleet.** Pick a release threshold R and a tail threshold T and let S be the groups with
``r_g >= R`` whose tail ``z_g = s_g m + leg_d`` (the least time from reaching the station to home) is
at least T. The S-groups of origin o need at least ``n_o = ceil(P_o / Q)`` trips (P_o their people;
a trip serves one origin, rule 1); call them S-trips, N in all. Each leaves the origin at R or later
and carries a group whose tail is ``>= T``, so it arrives by ``M - T``. Take one coach and its
S-trips in order. The second starts after the first arrives, so after R; so does every later one,
and each holds the coach for its whole length ``2 t_o + b`` or more (rules 2, 3), then ``u`` before
the next (rule 5). Only the first may start before R. It leaves the origin at ``r_o`` or later, ``r_o``
the earliest release among its origin's S-groups, so of its time after R it still holds
``arrive - R >= r_o + t_o - R`` and, as ``start >= 0``, ``>= 2 t_o + b - R``: its length less at most
``l_o = max(0, min(R, t_o + b - (r_o - R)))``. So for a coach with k S-trips,
``M - T - R >= sum of their lengths + (k - 1) u - l_o of its first``. Summing over the (at most
``min(C, N)``) coaches that have any, with W the sum over S-trips of ``2 t_o + b + u`` and D the
largest total that ``min(C, N)`` first trips can lose (the largest ``l_o``, each at most ``n_o``
times): ``M >= R + T - u + (W - D) / min(C, N)``. While S stays the same the bound does not fall
as R grows, so R need only be tried at each release time.

**Lanes.** With A and T thresholds, let S be the groups with ``a_g >= A`` and ``leg_d >= T``. None of
their blocks starts before A, together they need ``m * sum s_g`` lane-minutes on L lanes (rules 6,
7), so the last of them ends at ``A + ceil(m sum s_g / L)`` or later, and its group needs leg_d >= T
more to get home: ``M >= A + ceil(m sum_S s_g / L) + T``.

**Shuttles.** For district d and a threshold A, let S be d's groups with ``a_g + s_g m >= A`` (the
earliest their screening can end). They need ``n >= ceil(P / q_d)`` shuttle trips (rule 8), each
leaving at A or later (rule 9); one of the K_d shuttles makes at least ``ceil(n / K_d)`` of them,
its departures ``c_d`` apart (rule 11), so its last leaves at ``A + (ceil(n / K_d) - 1) c_d`` or later
and arrives ``leg_d`` after: ``M >= A + (ceil(n / K_d) - 1) c_d + leg_d``.

Every threshold choice gives a valid bound, so the code tries the ones that can matter (each
distinct release or arrival time; a few tail values) and keeps the best.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from closedloop.planning.returns.instance import Instance

TAIL_THRESHOLDS = 12  # tail values tried by the fleet bound (any subset keeps the bound valid)


@dataclass(frozen=True)
class Bound:
    value: int
    path: int
    fleet: int
    lanes: int
    shuttles: int

    def as_dict(self) -> dict:
        return {"path": self.path, "fleet": self.fleet, "lanes": self.lanes, "shuttles": self.shuttles}


def lower_bound(instance: Instance) -> Bound:
    if instance.group_count == 0:
        return Bound(0, 0, 0, 0, 0)
    path, fleet, lanes, shuttles = (_path(instance), _fleet(instance), _lanes(instance), _shuttles(instance))
    return Bound(max(path, fleet, lanes, shuttles), path, fleet, lanes, shuttles)


def earliest_arrival(instance: Instance, origin, group) -> int:
    """The earliest a group can reach the station (the path bound's ``a_g``)."""
    t = origin.travel_minutes
    return max(group.ready_minute, t + instance.coaches.board_minutes) + t


def _path(instance: Instance) -> int:
    m, districts = instance.station.minutes_per_person, instance.district_by_id
    return max(earliest_arrival(instance, o, g) + g.size * m + districts[g.district].leg for o, g in instance.groups())


def _fleet(instance: Instance) -> int:
    coaches, m, districts = instance.coaches, instance.station.minutes_per_person, instance.district_by_id
    Q, b, u, C = coaches.capacity, coaches.board_minutes, coaches.turnaround_minutes, coaches.count
    travel = [o.travel_minutes for o in instance.origins]
    # (ready, origin index, size, tail) of every group, latest release first.
    groups = sorted(((g.ready_minute, i, g.size, g.size * m + districts[g.district].leg)
                     for i, o in enumerate(instance.origins) for g in o.groups), reverse=True)
    tails = sorted({z for *_x, z in groups})
    if len(tails) > TAIL_THRESHOLDS:
        step = (len(tails) - 1) / (TAIL_THRESHOLDS - 1)
        tails = sorted({tails[round(k * step)] for k in range(TAIL_THRESHOLDS)})
    best = 0
    for T in tails:
        people = [0] * len(travel)
        trips = [0] * len(travel)
        earliest = [0] * len(travel)  # the earliest release among the origin's S-groups
        n_trips = 0
        work = 0  # sum over S-trips of their whole length 2 t_o + b + u
        k = 0
        while k < len(groups):
            R = groups[k][0]
            while k < len(groups) and groups[k][0] == R:  # S: the groups released at R or later
                _r, o, size, z = groups[k]
                k += 1
                if z < T:
                    continue
                people[o] += size
                earliest[o] = R
                n = -(-people[o] // Q)
                if n != trips[o]:
                    n_trips += n - trips[o]
                    work += (n - trips[o]) * (2 * travel[o] + b + u)
                    trips[o] = n
            if not n_trips:
                continue
            # Only a coach's first S-trip can start before R (the next starts after the first arrives,
            # after R): at most min(C, N) trips lose time, each the most its origin allows.
            users = min(C, n_trips)
            losses = sorted(((max(0, min(R, travel[o] + b + R - earliest[o])), o) for o in range(len(travel))
                             if trips[o]), reverse=True)
            lost, left = 0, users
            for loss, o in losses:
                take = min(left, trips[o])
                lost += take * loss
                left -= take
                if not left:
                    break
            best = max(best, R + T - u + -(-(work - lost) // users))
    return best


def _lanes(instance: Instance) -> int:
    m, L, districts = instance.station.minutes_per_person, instance.station.lanes, instance.district_by_id
    groups = sorted(((earliest_arrival(instance, o, g), g.size * m, districts[g.district].leg)
                     for o, g in instance.groups()), reverse=True)
    best = 0
    for T in sorted({leg for *_x, leg in groups}):
        work, k = 0, 0
        while k < len(groups):
            A = groups[k][0]
            while k < len(groups) and groups[k][0] == A:
                if groups[k][2] >= T:
                    work += groups[k][1]
                k += 1
            if work:
                best = max(best, A + -(-work // L) + T)
    return best


def _shuttles(instance: Instance) -> int:
    m = instance.station.minutes_per_person
    ends: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for o, g in instance.groups():
        ends[g.district].append((earliest_arrival(instance, o, g) + g.size * m, g.size))
    best = 0
    for district_id, items in ends.items():
        d = instance.district_by_id[district_id]
        items.sort(reverse=True)
        people = 0
        for k, (A, size) in enumerate(items):
            people += size
            if k + 1 < len(items) and items[k + 1][0] == A:
                continue  # take every group that can be ready at A
            rounds = math.ceil(math.ceil(people / d.capacity) / d.shuttles)
            best = max(best, A + (rounds - 1) * d.cycle + d.leg)
    return best
