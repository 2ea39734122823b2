"""Re-planning a returns plan under way: what has started stays, the rest moves.

``replan(instance, plan, now=…, changes=…)`` returns the changed instance and a new plan for it in
which every coach trip with ``start <= now``, every station block with ``start <= now`` and every
shuttle trip with ``depart <= now`` is kept exactly as it was (frozen), and everything else is planned
afresh, starting after ``now``. Frozen parts hold their coach, lane or shuttle until they are done.

The facts that change (``Changes``):

- ``ready``: a group's new release minute (typically later: a positive test, a failed temperature
  check at boarding). If the group is on a frozen coach trip that has not yet left the origin
  (``depart_origin > now``) and the new release is after that departure, the coach leaves without
  it: the trip keeps its times and loses the group, which is planned again. If that trip has already
  left, the change contradicts what happened and is refused.
- ``coach_out``: a coach out of service from a minute on. Frozen trips are kept (the people on
  board are in that trip's custody); new trips go to that coach only if they arrive at the station by
  that minute.
- ``new_groups``: groups added at existing origins (a late roster).

The plan's ``lower_bound`` is the changed instance's bound: a bound on every plan of it, frozen or not.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from closedloop.lib.text import gettext_noop
from closedloop.planning.returns import instance as inst
from closedloop.planning.returns.instance import Instance, InstanceError
from closedloop.planning.returns.plan import CoachTrip, Plan
from closedloop.planning.returns.planner import Frozen, plan
from closedloop.planning.returns.validate import check


class ReplanError(InstanceError):
    """Changes that contradict the plan under way (or the plan is not one for the instance)."""


@dataclass
class Changes:
    ready: dict[str, int] = field(default_factory=dict)  # group id -> new release minute
    coach_out: dict[int, int] = field(default_factory=dict)  # coach -> out of service from this minute
    new_groups: list[tuple[str, dict]] = field(default_factory=list)  # (origin id, group as in the JSON)


def replan(instance: Instance, current: Plan, *, now: int, changes: Changes,
           time_limit: float | None = None, seed: int = 0) -> tuple[Instance, Plan]:
    problems = check(inst.to_dict(instance), current.to_dict())
    if problems:
        raise ReplanError(gettext_noop("The plan under way breaks the rules (%(first)s); re-plan from scratch."),
                          first=str(problems[0]))
    changed = _changed_instance(instance, changes)

    trips = [t for t in current.coach_trips if t.start <= now]
    blocks = [b for b in current.station if b.start <= now]
    shuttles = [t for t in current.shuttle_trips if t.depart <= now]
    # A group whose release moved past its frozen coach's departure stays behind, if it still can.
    kept: list[CoachTrip] = []
    for t in trips:
        late = [g for g in t.groups if changed.group_by_id[g].ready_minute > t.depart_origin]
        if late and t.depart_origin <= now:
            raise ReplanError(gettext_noop("Group %(group)s left its origin at minute %(depart)s; it cannot be "
                                           "released later than that."),
                              group=late[0], depart=t.depart_origin)
        kept.append(replace(t, groups=tuple(g for g in t.groups if g not in late)) if late else t)
    for coach in changes.coach_out:
        if not 0 <= coach < changed.coaches.count:
            raise ReplanError(gettext_noop("There is no coach %(coach)s."), coach=coach)
    frozen = Frozen(earliest=now + 1, coach_trips=kept, station=blocks, shuttle_trips=shuttles,
                    coach_until=dict(changes.coach_out))
    made = plan(changed, time_limit=time_limit, seed=seed, frozen=frozen)
    made.stats["replanned_at"] = now
    return changed, made


def _changed_instance(instance: Instance, changes: Changes) -> Instance:
    data = inst.to_dict(instance)
    groups = {g["id"]: g for o in data["origins"] for g in o["groups"]}
    for group_id, ready in changes.ready.items():
        if group_id not in groups:
            raise ReplanError(gettext_noop("There is no group %(group)s."), group=group_id)
        groups[group_id]["ready_minute"] = ready
    origins = {o["id"]: o for o in data["origins"]}
    for origin_id, group in changes.new_groups:
        if origin_id not in origins:
            raise ReplanError(gettext_noop("There is no origin %(origin)s."), origin=origin_id)
        origins[origin_id]["groups"].append(dict(group))
    return inst.parse(data)  # every rule of an instance holds for the changed one too
