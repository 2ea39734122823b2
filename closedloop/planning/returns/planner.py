"""The returns planner: bring everyone home as early as the fleet, the station and the shuttles allow.

The problem is a three-stage flow shop with batching (docs/returns-planner.md): household groups
ride coach trips (one origin per trip, at most Q people, groups never split), are screened one by
one on the station's parallel lanes, and ride their district's shuttles home. The plan is built
stage by stage, each stage by a rule that is right for that stage's structure, and the few choices
that trade one stage against another are searched:

1. **Packing trips** (per origin). Groups sorted by release, latest first, fill trips first-fit: a
   trip takes its latest-released group and then any earlier one that fits, released at most W
   minutes before. Packing from the back makes every trip but an origin's earliest full, so for
   every time R the number of trips that must leave after R is as small as it can be (the fleet
   bound counts exactly those); W limits how long an early household waits for a late one.
2. **Coaches**: list scheduling. Whenever a coach is free it takes, among the trips it can make
   without waiting at the origin, the one with the longest tail: ``a * travel`` plus, over the
   districts on board, the longest "leg + the shuttle rounds the district still needs"
   (``c_d * (ceil(R_d / (q_d K_d)) - 1)``, R_d its people not yet on a coach; Schrage's rule).
   Long trips first (``a > 0``) evens out the coaches' last trips like LPT; districts with much
   shuttle work left get their people early. If none is ready it takes the one it can leave with
   soonest. Before ``ect_until`` it takes instead the trip that reaches the station soonest, which
   feeds the station from the start when the lanes bind. Then ``balance`` evens out the coaches'
   ends: the coach finishing last hands a trip to another, or swaps one for a shorter one, aiming
   at half the gap between them.
3. **Station**: whenever a lane is free it screens, among the groups waiting, one of the district
   with the longest remaining tail: ``leg_d + c_d * (ceil(R_d / (q_d K_d)) - 1)`` with ``R_d`` the
   district's people not yet screened (Schrage's rule with tails; a district whose shuttles have much
   left to carry goes first, so they can start early and never starve at the end).
4. **Shuttles** (per district): batches are formed from the last screened backwards (first-fit, so
   all but the earliest are full: fewest departures after any time), then leave in order, each as
   soon as it is complete and a shuttle is back.

The search runs a portfolio of settings (W, the coaches' rule and weights, balancing, the weights
of the station's priority), then perturbs the best, until the lower bound, a run of ``STALL``
non-improving tries, or the time limit. A coach schedule that cannot beat the best plan so far
whatever the station and shuttles do (``_after_arrival_bound``) is not taken further. The simple
greedy plan is made too and returned if it were better, so the plan is never worse than it.

``plan(instance)`` plans from scratch. Re-planning (``replan.py``) passes a ``Frozen`` state: what
has started stays, the coaches, lanes and shuttles are busy until they are free of it, and nothing
new starts before ``earliest``.
"""

from __future__ import annotations

import bisect
import heapq
import random
import time
from collections import deque
from dataclasses import dataclass, field, replace

from closedloop.lib.text import gettext_noop
from closedloop.planning.returns.bound import lower_bound
from closedloop.planning.returns.greedy import greedy
from closedloop.planning.returns.instance import Instance, InstanceError
from closedloop.planning.returns.plan import CoachTrip, Plan, ShuttleTrip, StationBlock, sorted_plan

INF = float("inf")
DEFAULT_TIME_LIMIT = 4.0  # seconds
STALL = 30  # stop after this many tries in a row without improvement
WINDOWS = (0, 180, 720, 1440, 10**9)  # packing windows tried, minutes


class PlanningError(InstanceError):
    """The instance (with what is frozen) cannot be planned at all, e.g. every coach is out of service."""


@dataclass
class Frozen:
    """What a plan under way fixes (see ``replan.py``); empty for a plan from scratch."""

    earliest: int = 0  # nothing new starts or leaves before this minute
    coach_trips: list[CoachTrip] = field(default_factory=list)
    station: list[StationBlock] = field(default_factory=list)
    shuttle_trips: list[ShuttleTrip] = field(default_factory=list)
    coach_until: dict[int, int] = field(default_factory=dict)  # coach -> minute it goes out of service


@dataclass(frozen=True)
class Settings:
    window: int = 10**9
    travel_weight: float = 1.0  # coach priority: travel_weight * travel + tail
    ect_until: float = 0  # before this minute a free coach takes the trip that reaches the station soonest
    coach_pressure: float = 1.0  # weight of the districts' shuttle backlog in the coaches' priority
    balance: bool = True  # even out the coaches' last trips afterwards
    leg_weight: float = 1.0  # station priority: leg_weight * leg + pressure_weight * shuttle backlog
    pressure_weight: float = 1.0
    noise: float = 0.0
    seed: int = 0


class _Problem:
    """The instance as flat lists (group i, origin o, district d), and the frozen state."""

    def __init__(self, instance: Instance, frozen: Frozen):
        self.instance, self.frozen = instance, frozen
        self.gid, self.size, self.ready, self.origin, self.district = [], [], [], [], []
        d_index = {d.id: k for k, d in enumerate(instance.districts)}
        for k, o in enumerate(instance.origins):
            for g in o.groups:
                self.gid.append(g.id)
                self.size.append(g.size)
                self.ready.append(g.ready_minute)
                self.origin.append(k)
                self.district.append(d_index[g.district])
        self.index = {g: i for i, g in enumerate(self.gid)}
        self.travel = [o.travel_minutes for o in instance.origins]
        ds = instance.districts
        self.leg = [d.leg for d in ds]
        self.cycle = [d.cycle for d in ds]
        self.cap = [d.capacity for d in ds]
        self.shuttles = [d.shuttles for d in ds]
        c = instance.coaches
        self.Q, self.board, self.turn, self.C = c.capacity, c.board_minutes, c.turnaround_minutes, c.count
        self.L, self.m = instance.station.lanes, instance.station.minutes_per_person
        e = frozen.earliest

        # What is fixed: arrivals of groups on started coach trips, ends of started blocks,
        # groups already on a shuttle; when each vehicle and lane is next free.
        self.coach_free = [e] * self.C
        self.fixed_arrive: dict[int, int] = {}
        for t in frozen.coach_trips:
            self.coach_free[t.coach] = max(self.coach_free[t.coach], t.arrive_station + self.turn)
            for g in t.groups:
                self.fixed_arrive[self.index[g]] = t.arrive_station
        self.coach_until = [frozen.coach_until.get(c, INF) for c in range(self.C)]
        self.lane_free = [e] * self.L
        self.fixed_end: dict[int, int] = {}
        for b in frozen.station:
            self.lane_free[b.lane] = max(self.lane_free[b.lane], b.end)
            self.fixed_end[self.index[b.group]] = b.end
        self.shuttle_free = [[e] * k for k in self.shuttles]
        self.done: set[int] = set()
        for t in frozen.shuttle_trips:
            d = d_index[t.district]
            self.shuttle_free[d][t.shuttle] = max(self.shuttle_free[d][t.shuttle], t.depart + self.cycle[d])
            self.done.update(self.index[g] for g in t.groups)
        # Groups still to carry, per origin, latest release first (largest first among equals).
        self.to_carry: list[list[int]] = [[] for _ in instance.origins]
        for i in range(len(self.gid)):
            if i not in self.fixed_arrive:
                self.to_carry[self.origin[i]].append(i)
        for lst in self.to_carry:
            lst.sort(key=lambda i: (-self.ready[i], -self.size[i]))
        if any(self.to_carry) and all(u <= self.coach_free[c] for c, u in enumerate(self.coach_until)):
            raise PlanningError(gettext_noop("Every coach is out of service and groups are still out of the city."))
        # The least time from reaching the station to home, per group.
        self.tail = [self.size[i] * self.m + self.leg[self.district[i]] for i in range(len(self.gid))]


# --- stage 1: trips ---------------------------------------------------------------------------


def pack(p: _Problem, window: int) -> list[tuple[int, int, list[int]]]:
    """Trips as (release, origin, groups), packed from the back of each origin's releases."""
    trips = []
    for o, order in enumerate(p.to_carry):
        for trip in first_fit(order, p.size, p.ready, p.Q, window):
            trips.append((p.ready[trip[0]], o, trip))
    return trips


def first_fit(order: list[int], size: list[int], key, capacity: int, window: float) -> list[list[int]]:
    """Batches of ``order`` (``key`` not increasing along it), first-fit: each batch starts with the
    first group left and takes, in order, every later one that still fits and whose key is at least
    the first one's less ``window``.

    The groups waiting are kept in one queue per size, so the next group that fits is the earliest
    of the queue heads small enough: O(sizes) a pick, however many groups do not fit.
    """
    queues: dict[int, deque] = {}
    for position, i in enumerate(order):
        queues.setdefault(size[i], deque()).append(position)
    sizes = sorted(queues)
    used = [False] * len(order)
    batches, head = [], 0
    while True:
        while head < len(order) and used[head]:
            head += 1
        if head == len(order):
            return batches
        first = order[head]
        queues[size[first]].popleft()  # the earliest left is the head of its size's queue
        used[head] = True
        batch, load, least = [first], size[first], key[first] - window
        while load < capacity:
            pick = None
            for s in sizes:
                if s > capacity - load:
                    break
                q = queues[s]
                if q and (pick is None or q[0] < pick):
                    pick = q[0]
            if pick is None or key[order[pick]] < least:
                break  # nothing fits, or what fits first is out of the window, and all after it too
            i = order[pick]
            queues[size[i]].popleft()
            used[pick] = True
            batch.append(i)
            load += size[i]
        batches.append(batch)


# --- stage 2: coaches -------------------------------------------------------------------------


def schedule_coaches(p: _Problem, trips, s: Settings, rng: random.Random):
    """Each trip's (coach, start, depart, arrive) by list scheduling; None if a trip finds no coach.

    A coach free at minute f takes, before ``s.ect_until``, the trip that reaches the station
    soonest (feeding the station early), and afterwards the trip of highest priority among those it
    can serve without waiting at the origin (the one it can leave with soonest if there is none).
    """
    b, travel, n_trips = p.board, p.travel, len(trips)
    nd = len(p.leg)
    key = [0] * n_trips  # from this minute on the trip can start without waiting at the origin
    base = [0.0] * n_trips
    on_board: list[list[tuple[int, int]]] = []  # per trip: (district, the most time after arrival)
    remaining = [0] * nd  # people of each district not yet on a coach
    for n, (release, o, groups) in enumerate(trips):
        t = travel[o]
        key[n] = max(release - t - b, 0)
        base[n] = s.travel_weight * t + (rng.uniform(0, s.noise) * t if s.noise else 0)
        most: dict[int, int] = {}
        for i in groups:
            d = p.district[i]
            most[d] = max(most.get(d, 0), p.tail[i])
            remaining[d] += p.size[i]
        on_board.append(list(most.items()))
    per_round = [p.cap[d] * p.shuttles[d] for d in range(nd)]
    press = [s.coach_pressure * p.cycle[d] for d in range(nd)]

    def backlog() -> list[float]:
        # Schrage's tail of a district: the time its shuttles still need after this delivery.
        return [press[d] * max(0, -(-remaining[d] // per_round[d]) - 1) for d in range(nd)]

    tails = backlog()

    def priority(n: int) -> float:
        return base[n] + max(z + tails[d] for d, z in on_board[n])

    by_key = sorted(range(n_trips), key=lambda n: (key[n], n))
    by_arrival = sorted(range(n_trips), key=lambda n: (key[n] + 2 * travel[trips[n][1]] + b, n))
    taken = [False] * n_trips
    coaches = [(p.coach_free[c], c) for c in range(p.C) if p.coach_free[c] < p.coach_until[c]]
    heapq.heapify(coaches)
    result = [None] * n_trips
    by_prio: list[tuple[float, int]] = []  # trips that can start now, best first
    by_travel: list[tuple[int, int]] = []  # the same, nearest first
    k = a = 0
    left = n_trips
    refresh = p.C  # decisions between two updates of the districts' tails
    while left:
        if not coaches:
            return None
        f, c = heapq.heappop(coaches)
        if (n_trips - left) % refresh == 0 and s.coach_pressure:
            tails = backlog()
            by_prio = [(-priority(n), n) for _x, n in by_prio if not taken[n]]
            heapq.heapify(by_prio)
        # A trip taken early (as the one reaching the station soonest) is never queued again.
        while k < n_trips and key[by_key[k]] <= f:
            n = by_key[k]
            if not taken[n]:
                heapq.heappush(by_prio, (-priority(n), n))
                heapq.heappush(by_travel, (travel[trips[n][1]], n))
            k += 1
        while by_prio and taken[by_prio[0][1]]:
            heapq.heappop(by_prio)
        while by_travel and taken[by_travel[0][1]]:
            heapq.heappop(by_travel)
        while not by_prio:  # nothing can start now: take what can leave soonest
            first = key[by_key[k]]
            while k < n_trips and key[by_key[k]] == first:
                n = by_key[k]
                if not taken[n]:
                    heapq.heappush(by_prio, (-priority(n), n))
                    heapq.heappush(by_travel, (travel[trips[n][1]], n))
                k += 1
        until = p.coach_until[c]
        if until < INF:
            chosen = _fitting(p, trips, key, by_prio, taken, f, until)
        elif f < s.ect_until:
            while a < n_trips and (taken[by_arrival[a]] or key[by_arrival[a]] <= f):
                a += 1  # the ones that can start now are in by_travel
            chosen = by_travel[0][1]
            if a < n_trips:
                later = by_arrival[a]
                if key[later] + 2 * travel[trips[later][1]] < max(f, key[chosen]) + 2 * travel[trips[chosen][1]]:
                    chosen = later
        else:
            chosen = by_prio[0][1]
        if chosen is None:
            continue  # this coach goes out of service before it could make any waiting trip
        taken[chosen] = True
        for i in trips[chosen][2]:
            remaining[p.district[i]] -= p.size[i]
        t = travel[trips[chosen][1]]
        start = max(f, key[chosen])
        depart = max(start + t + b, trips[chosen][0])
        result[chosen] = (c, start, depart, depart + t)
        left -= 1
        heapq.heappush(coaches, (depart + t + p.turn, c))
    return result


def balance(p: _Problem, trips, result, *, rounds: int = 300, tries: int = 6):
    """Even out the coaches' ends (a list schedule's end is uneven by up to a trip's length).

    Each coach "finishes" when its last trip's people can be home at the earliest (arrival + the
    trip's least tail). The coach finishing last gives one of its trips to another coach (appended)
    or swaps one for a shorter trip of another: a trip of d minutes less moves the one's finish d
    earlier and the other's d later, so the swap aimed at is the one whose d is closest to half the
    gap between them. Candidates are ranked by that estimate and checked by recomputing both coaches'
    times exactly (waiting for releases included), so the result keeps every rule.
    """
    C, b, u, travel = p.C, p.board, p.turn, p.travel
    seqs: list[list[int]] = [[] for _ in range(C)]
    for n, (c, _start, _d, _a) in enumerate(result):
        seqs[c].append(n)
    for seq in seqs:
        seq.sort(key=lambda n: result[n][1])
    tail = [max(p.tail[i] for i in groups) for _r, _o, groups in trips]
    key = [max(release - travel[o] - b, 0) for release, o, _g in trips]
    length = [2 * travel[o] + b + u for _r, o, _g in trips]

    def run(c: int, seq: list[int]):
        """(finish, times) of coach c making seq."""
        f, times, last = p.coach_free[c], [], 0
        for n in seq:
            release, o, _g = trips[n]
            t = travel[o]
            start = max(f, key[n])
            depart = max(start + t + b, release)
            if depart + t > p.coach_until[c]:
                return INF, times
            times.append((c, start, depart, depart + t))
            f, last = depart + t + u, depart + t + tail[n]
        return last, times

    finish = [run(c, seqs[c])[0] if seqs[c] else 0 for c in range(C)]
    for _ in range(rounds):
        a = max(range(C), key=finish.__getitem__)
        target = finish[a]
        candidates = []  # (estimated later finish of the two, coach, position in a, position in c or None)
        seq_a = seqs[a]
        for c in range(C):
            gap = target - finish[c]
            if c == a or gap <= 0:
                continue
            if seq_a:
                x = seq_a[-1]
                candidates.append((finish[c] + length[x], c, len(seq_a) - 1, None))
            by_length = sorted((length[y], q) for q, y in enumerate(seqs[c]))
            lengths = [v for v, _q in by_length]
            for pos, x in enumerate(seq_a):
                want = length[x] - gap / 2  # the swap that leaves both finishing together
                k = bisect.bisect_left(lengths, want)
                for kk in (k - 1, k):
                    if 0 <= kk < len(lengths) and lengths[kk] < length[x]:
                        d = length[x] - lengths[kk]
                        candidates.append((max(target - d, finish[c] + d), c, pos, by_length[kk][1]))
        candidates.sort(key=lambda cand: cand[0])
        moved = False
        for estimate, c, pos, qos in candidates[:tries]:
            if estimate >= target:
                break
            if qos is None:
                new_a, new_c = seq_a[:pos] + seq_a[pos + 1:], seqs[c] + [seq_a[pos]]
            else:
                x, y = seq_a[pos], seqs[c][qos]
                new_a = seq_a[:pos] + [y] + seq_a[pos + 1:]
                new_c = seqs[c][:qos] + [x] + seqs[c][qos + 1:]
            fa, times_a = run(a, new_a) if new_a else (0, [])
            fc, times_c = run(c, new_c)
            if max(fa, fc) < target:
                seqs[a], seqs[c], finish[a], finish[c] = new_a, new_c, fa, fc
                for seq, times in ((new_a, times_a), (new_c, times_c)):
                    for n, when in zip(seq, times, strict=True):
                        result[n] = when
                moved = True
                break
        if not moved:
            break
    return result


def _fitting(p: _Problem, trips, key, by_prio, taken, f: int, until: float) -> int | None:
    """The best trip waiting that a coach going out of service at ``until`` can still finish."""
    for _negprio, n in sorted(by_prio):
        if taken[n]:
            continue
        t = p.travel[trips[n][1]]
        if max(max(f, key[n]) + t + p.board, trips[n][0]) + t <= until:
            return n
    return None


# --- stage 3: station -------------------------------------------------------------------------


def schedule_station(p: _Problem, arrive: dict[int, int], s: Settings, rng: random.Random):
    """Each group's (lane, start, end): Schrage's rule with the districts' shuttle backlog as tail."""
    size, district, m = p.size, p.district, p.m
    order = sorted(arrive, key=lambda i: (arrive[i], i))
    nd = len(p.leg)
    remaining = [0] * nd
    for i in order:
        remaining[district[i]] += size[i]
    per_round = [p.cap[d] * p.shuttles[d] for d in range(nd)]
    leg = [s.leg_weight * p.leg[d] + (rng.uniform(0, s.noise) * p.leg[d] if s.noise else 0) for d in range(nd)]
    press = [s.pressure_weight * p.cycle[d] for d in range(nd)]

    def value(d: int) -> float:
        return leg[d] + press[d] * (-(-remaining[d] // per_round[d]) - 1)

    queues = [deque() for _ in range(nd)]
    # Districts with someone waiting, highest tail first. A district's tail changes only when one
    # of its groups is screened, so each entry stays right until its district is served.
    waiting: list[tuple[float, int]] = []
    lanes = [(p.lane_free[lane], lane) for lane in range(p.L)]
    heapq.heapify(lanes)
    out = {}
    k, n, f = 0, len(order), -INF
    for _ in range(n):
        free, lane = heapq.heappop(lanes)
        f = max(f, free)  # lanes come free in time order, so the clock never goes back
        if not waiting and arrive[order[k]] > f:
            f = arrive[order[k]]
        while k < n and arrive[order[k]] <= f:
            i = order[k]
            d = district[i]
            if not queues[d]:
                heapq.heappush(waiting, (-value(d), d))
            queues[d].append(i)
            k += 1
        _v, d = heapq.heappop(waiting)
        i = queues[d].popleft()
        remaining[d] -= size[i]
        if queues[d]:
            heapq.heappush(waiting, (-value(d), d))
        end = f + size[i] * m
        out[i] = (lane, f, end)
        heapq.heappush(lanes, (end, lane))
    return out


# --- stage 4: shuttles ------------------------------------------------------------------------


def schedule_shuttles(p: _Problem, ends: dict[int, int]):
    """Per district, batches formed from the back, sent in order; (trips, last arrival).

    Trips are (district, shuttle, depart, arrive, groups). (Leaving whenever a shuttle is free, the
    greedy rule, never did better on the benchmark's instances, so it is not tried.)
    """
    by_d: list[list[int]] = [[] for _ in p.leg]
    for i in ends:
        by_d[p.district[i]].append(i)
    trips, last = [], 0
    for d, members in enumerate(by_d):
        if not members:
            continue
        members.sort(key=lambda i: (ends[i], i))
        made = _from_the_back(p, d, members, ends)
        trips.extend(made)
        last = max(last, max(t[3] for t in made))
    return trips, last


def _from_the_back(p: _Problem, d: int, members: list[int], ends: dict[int, int]):
    batches = first_fit(members[::-1], p.size, ends, p.cap[d], INF)
    return _dispatch(p, d, [(ends[batch[0]], batch) for batch in reversed(batches)])


def _dispatch(p: _Problem, d: int, batches):
    shuttles = [(max(f, p.frozen.earliest), k) for k, f in enumerate(p.shuttle_free[d])]
    heapq.heapify(shuttles)
    out = []
    for ready, batch in batches:
        f, k = heapq.heappop(shuttles)
        depart = max(f, ready)
        out.append((d, k, depart, depart + p.leg[d], batch))
        heapq.heappush(shuttles, (depart + p.cycle[d], k))
    return out


# --- the search -------------------------------------------------------------------------------


@dataclass
class _Result:
    makespan: int
    settings: Settings
    trips: list
    coach_times: list
    station: dict
    shuttles: list


class _Search:
    def __init__(self, p: _Problem):
        self.p = p
        self.packs: dict[int, list] = {}
        self.coach_cache: dict[tuple, tuple] = {}

    def run(self, s: Settings, cutoff: float = INF) -> _Result | None:
        """The plan these settings make, or None if no better than ``cutoff`` (or infeasible)."""
        p = self.p
        rng = random.Random(s.seed)
        if s.window not in self.packs:
            self.packs[s.window] = pack(p, s.window)
        trips = self.packs[s.window]
        key = (s.window, s.travel_weight, s.ect_until, s.coach_pressure, s.balance, s.noise, s.seed)
        if key not in self.coach_cache:
            times = schedule_coaches(p, trips, s, rng)
            if times is not None and s.balance:
                times = balance(p, trips, times)
            arrive = dict(p.fixed_arrive)
            if times is not None:
                for (_r, _o, groups), (_c, _s, _d, a) in zip(trips, times, strict=True):
                    for i in groups:
                        arrive[i] = a
            if len(self.coach_cache) > 64:
                self.coach_cache.clear()
            self.coach_cache[key] = (times, arrive, _after_arrival_bound(p, arrive))
        times, arrive, at_least = self.coach_cache[key]
        if times is None or at_least >= cutoff:
            return None  # these coach trips cannot lead to a better plan: skip the station
        to_screen = {i: a for i, a in arrive.items() if i not in p.fixed_end}
        station = schedule_station(p, to_screen, s, rng)
        ends = dict(p.fixed_end)
        ends.update({i: e for i, (_l, _s, e) in station.items()})
        for i in p.done:
            ends.pop(i, None)
        shuttles, last = schedule_shuttles(p, ends)
        frozen_last = max((t.arrive for t in p.frozen.shuttle_trips), default=0)
        return _Result(max(last, frozen_last), s, trips, times, station, shuttles)


def _after_arrival_bound(p: _Problem, arrive: dict[int, int]) -> int:
    """The best makespan any station and shuttle schedule can reach after these coach arrivals.

    The path and lanes bounds of ``bound.py`` with the arrivals as heads (frozen station blocks are
    left out: this only prunes, it need not be exact).
    """
    best, L, m = 0, p.L, p.m
    items = []
    for i, a in arrive.items():
        if i in p.fixed_end:
            continue
        best = max(best, a + p.tail[i])
        items.append((a, p.size[i] * m))
    if not items:
        return best
    items.sort(reverse=True)
    least_leg = min(p.leg)
    work = 0
    for k, (a, w) in enumerate(items):
        work += w
        if k + 1 == len(items) or items[k + 1][0] != a:
            best = max(best, a + -(-work // L) + least_leg)
    return best


def _portfolio() -> list[Settings]:
    """Settings tried first: the packing window, the coaches' rule, the station's weights."""
    big = 10**9
    return [
        Settings(), Settings(ect_until=INF), Settings(travel_weight=0.0), Settings(window=0, ect_until=INF),
        Settings(coach_pressure=0.0), Settings(travel_weight=0.0, coach_pressure=0.0), Settings(ect_until=720),
        Settings(travel_weight=3.0), Settings(travel_weight=3.0, coach_pressure=0.0),
        Settings(window=1440), Settings(window=1440, travel_weight=0.0, coach_pressure=0.0),
        Settings(window=1440, ect_until=INF), Settings(window=0),
        Settings(window=big, pressure_weight=0.0), Settings(window=big, pressure_weight=0.5),
        Settings(window=big, pressure_weight=2.0), Settings(window=big, leg_weight=0.0),
        Settings(balance=False), Settings(coach_pressure=0.0, balance=False), Settings(ect_until=INF, balance=False),
    ]


def _perturb(s: Settings, rng: random.Random) -> Settings:
    seed = rng.randrange(1 << 30)
    change = rng.randrange(6)
    if change == 5:
        return replace(s, balance=not s.balance, seed=seed)
    if change == 0:
        return replace(s, window=rng.choice(WINDOWS), seed=seed)
    if change == 1:
        return replace(s, travel_weight=s.travel_weight + rng.gauss(0, 0.7), seed=seed)
    if change == 2:
        return replace(s, ect_until=rng.choice((0, 240, 720, 1440, 2880, INF)), seed=seed)
    if change == 3 and rng.random() < 0.5:
        return replace(s, coach_pressure=max(0.0, s.coach_pressure + rng.gauss(0, 0.4)), seed=seed)
    if change == 3:
        return replace(s, leg_weight=max(0.0, s.leg_weight + rng.gauss(0, 0.4)),
                       pressure_weight=max(0.0, s.pressure_weight + rng.gauss(0, 0.4)), seed=seed)
    return replace(s, noise=rng.choice((0.05, 0.2, 0.5)), seed=seed)


def plan(instance: Instance, *, time_limit: float | None = None, seed: int = 0,
         frozen: Frozen | None = None) -> Plan:
    """A feasible plan for ``instance`` (continuing ``frozen``, if given), with its lower bound.

    The search stops at the bound, after ``STALL`` tries in a row without improvement, or when the
    next try would pass ``time_limit`` seconds (default ``DEFAULT_TIME_LIMIT``), whichever comes
    first; under the time limit a slower machine may stop earlier, with a plan no better.
    """
    started = time.perf_counter()
    limit = DEFAULT_TIME_LIMIT if time_limit is None else time_limit
    frozen = frozen or Frozen()
    p = _Problem(instance, frozen)
    parts = lower_bound(instance)
    bound = parts.value
    search = _Search(p)
    rng = random.Random(seed)
    best: _Result | None = None
    tries = stall = 0
    queue = _portfolio()
    while True:
        s = queue.pop(0) if queue else _perturb(best.settings if best else Settings(), rng)
        result = search.run(s, best.makespan if best else INF)
        tries += 1
        if result is not None and (best is None or result.makespan < best.makespan):
            best, stall = result, 0
        else:
            stall += 1
        if best is not None and best.makespan <= bound:
            break
        elapsed = time.perf_counter() - started
        if best is not None and (stall >= STALL or elapsed + elapsed / tries > limit):
            break  # (elapsed / tries: what the next try may take; the first tries include the bound)
    if best is None:
        raise PlanningError(gettext_noop("No coach can make the trips still to be made before it goes out of "
                                         "service."))
    made = _to_plan(p, best, bound, tries=tries)
    made.stats["bound_parts"] = parts.as_dict()
    if not frozen.coach_trips and not frozen.station and not frozen.shuttle_trips and not frozen.coach_until:
        floor = greedy(instance, bound=bound)
        made.stats["greedy_makespan"] = floor.makespan
        if floor.makespan < made.makespan:
            return sorted_plan(floor.coach_trips, floor.station, floor.shuttle_trips, lower_bound=bound,
                               stats={**made.stats, "method": "greedy"})
    return made


def _to_plan(p: _Problem, r: _Result, bound: int, *, tries: int) -> Plan:
    f = p.frozen
    gid = p.gid
    coach_trips = list(f.coach_trips)
    for (_release, o, groups), (c, start, depart, arrive) in zip(r.trips, r.coach_times, strict=True):
        coach_trips.append(CoachTrip(c, p.instance.origins[o].id, start, depart, arrive,
                                     tuple(gid[i] for i in groups)))
    blocks = list(f.station)
    blocks += [StationBlock(gid[i], lane, start, end) for i, (lane, start, end) in r.station.items()]
    ds = p.instance.districts
    shuttle_trips = list(f.shuttle_trips)
    shuttle_trips += [ShuttleTrip(ds[d].id, k, depart, arrive, tuple(gid[i] for i in batch))
                      for d, k, depart, arrive, batch in r.shuttles]
    s = r.settings
    stats = {"method": "planner", "tries": tries,
             "settings": {"window": s.window, "travel_weight": round(s.travel_weight, 3),
                          "ect_until": s.ect_until if s.ect_until < INF else None,
                          "coach_pressure": round(s.coach_pressure, 3),
                          "leg_weight": round(s.leg_weight, 3), "pressure_weight": round(s.pressure_weight, 3),
                          "balance": s.balance, "noise": s.noise}}
    return sorted_plan(coach_trips, blocks, shuttle_trips, lower_bound=bound, stats=stats)
