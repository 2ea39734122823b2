"""The life of a trip of the way home, as data. Pure, no Django import.

A coach is dispatched (it gets its plate, driver, escorts and its own custodian), boards at the origin
site (the site hands its people to the trip), arrives at the transfer station (the trip hands them to the
station; each is received at screening) and is done once everyone on board is received. A shuttle is
dispatched, boards at the station, arrives in its home district and is done once its community (or
communities) received everyone. A trip that has not left may be cancelled.

``STAGE_AT`` says which hand-over (a stage of the checklist, ``checklists/handover.json``) a trip of a
kind runs in a state; ``STAYS_BEHIND`` says at which stages a person failing a blocking item of their
own stays where they are for good (a new trip must fetch them), while at the other stages they simply
wait, still in the giver's custody, until the item passes.
"""

from __future__ import annotations

# Kinds
COACH = "coach"  # origin site -> transfer station
SHUTTLE = "shuttle"  # transfer station -> home district
KINDS = (COACH, SHUTTLE)

# States
PLANNED = "planned"
BOARDING = "boarding"  # dispatched: the vehicle is assigned and answers as a custodian
UNDER_WAY = "under_way"
ARRIVED = "arrived"  # at least the first hand-over at the destination happened
DONE = "done"  # everyone on board was handed over
CANCELLED = "cancelled"
STATES = (PLANNED, BOARDING, UNDER_WAY, ARRIVED, DONE, CANCELLED)
OPEN_STATES = frozenset({PLANNED, BOARDING, UNDER_WAY, ARRIVED})
# Started (dispatched: the vehicle is on its way): a re-plan freezes these trips.
STARTED_STATES = frozenset({BOARDING, UNDER_WAY, ARRIVED, DONE})

# Events
DISPATCH = "dispatch"
BOARD = "board"
ARRIVE = "arrive"
FINISH = "finish"
CANCEL = "cancel"

# event -> (states it may follow, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    DISPATCH: (frozenset({PLANNED}), BOARDING),
    BOARD: (frozenset({BOARDING}), UNDER_WAY),
    ARRIVE: (frozenset({UNDER_WAY}), ARRIVED),
    FINISH: (frozenset({ARRIVED}), DONE),
    CANCEL: (frozenset({PLANNED, BOARDING}), CANCELLED),
}
EVENTS = tuple(TRANSITIONS)

# Stages of the checklist (transfers.choices.Stage has the same values)
STAGE_BOARDING = "boarding"  # coach, at the origin site: the site hands over to the trip
STAGE_STATION = "station"  # coach, at the transfer station: the trip hands over to the station
STAGE_SHUTTLE = "shuttle"  # shuttle, at the station: the station hands over to the trip
STAGE_HOME = "home"  # shuttle, at home: the trip hands over to the community
STAGES = (STAGE_BOARDING, STAGE_STATION, STAGE_SHUTTLE, STAGE_HOME)

# (kind, state) -> the hand-over a trip runs next
STAGE_AT: dict[tuple[str, str], str] = {
    (COACH, BOARDING): STAGE_BOARDING,
    (COACH, UNDER_WAY): STAGE_STATION,
    (COACH, ARRIVED): STAGE_STATION,
    (SHUTTLE, BOARDING): STAGE_SHUTTLE,
    (SHUTTLE, UNDER_WAY): STAGE_HOME,
    (SHUTTLE, ARRIVED): STAGE_HOME,
}
STAGE_KIND = {STAGE_BOARDING: COACH, STAGE_STATION: COACH, STAGE_SHUTTLE: SHUTTLE, STAGE_HOME: SHUTTLE}
# Where people board: a person failing an item of their own stays where they are (their household with
# them) and the vehicle leaves without them. At the other stages (arrivals) they wait in the giver's custody.
STAYS_BEHIND = frozenset({STAGE_BOARDING, STAGE_SHUTTLE})


def can_transition(state: str, event: str) -> bool:
    allowed = TRANSITIONS.get(event)
    return allowed is not None and state in allowed[0]


def next_state(state: str, event: str) -> str:
    if not can_transition(state, event):
        raise ValueError(f"{event} cannot follow {state}")
    return TRANSITIONS[event][1]


def stage_for(kind: str, state: str) -> str | None:
    """The hand-over a trip of this kind runs in this state; None when there is none (planned, over)."""
    return STAGE_AT.get((kind, state))


def next_step(kind: str, state: str) -> str | None:
    """What a desk does next with the trip: ``dispatch``, a stage, or None (done or cancelled)."""
    if state == PLANNED:
        return DISPATCH
    return stage_for(kind, state)
