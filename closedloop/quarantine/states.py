"""The custody state machine of an episode, as data, and the fold of its ledger.

Pure: no Django import. ``can_transition`` says which ledger event may follow
which state; ``fold`` replays a ledger into the projection that the episode
row must equal (``closedloop check`` compares the two).
"""

from __future__ import annotations

from dataclasses import dataclass

# States
AWAITING = "awaiting"  # listed (e.g. by an import), not yet in anyone's custody
IN_CUSTODY = "in_custody"  # exactly one custodian holds the person
IN_TRANSIT = "in_transit"  # the giver released, the receiver has not confirmed yet
RELEASED = "released"  # left control through the release rule (or an override)
BECAME_CASE = "became_case"  # the course ended with a positive result; a case episode follows
CLOSED = "closed"  # ended otherwise (listed in error, died, left the city's responsibility)

STATES = (AWAITING, IN_CUSTODY, IN_TRANSIT, RELEASED, BECAME_CASE, CLOSED)
OPEN_STATES = frozenset({AWAITING, IN_CUSTODY, IN_TRANSIT})
FINAL_STATES = frozenset({RELEASED, BECAME_CASE, CLOSED})

# Ledger events
PLACE = "place"  # first custodian takes the person
GIVE = "give"  # the holding side hands over: the person is in transit to a named receiver
RECEIVE = "receive"  # the receiver confirms: custody passes
REFUSE = "refuse"  # the receiver refuses: custody returns to the giver
RELEASE = "release"
BECOME_CASE = "become_case"
CLOSE = "close"

# event -> (states it may follow, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    PLACE: (frozenset({AWAITING}), IN_CUSTODY),
    GIVE: (frozenset({IN_CUSTODY}), IN_TRANSIT),
    RECEIVE: (frozenset({IN_TRANSIT}), IN_CUSTODY),
    REFUSE: (frozenset({IN_TRANSIT}), IN_CUSTODY),
    RELEASE: (frozenset({IN_CUSTODY}), RELEASED),
    BECOME_CASE: (frozenset({IN_CUSTODY, IN_TRANSIT}), BECAME_CASE),
    CLOSE: (frozenset({AWAITING, IN_CUSTODY, IN_TRANSIT}), CLOSED),
}
EVENTS = tuple(TRANSITIONS)


def can_transition(state: str, event: str) -> bool:
    allowed = TRANSITIONS.get(event)
    return allowed is not None and state in allowed[0]


def next_state(state: str, event: str) -> str:
    if not can_transition(state, event):
        raise ValueError(f"{event} cannot follow {state}")
    return TRANSITIONS[event][1]


@dataclass(frozen=True)
class Projection:
    state: str = AWAITING
    custodian: int | None = None
    pending: int | None = None  # the receiver while in transit

    def as_tuple(self) -> tuple:
        return (self.state, self.custodian, self.pending)


@dataclass(frozen=True)
class Event:
    kind: str
    from_custodian: int | None
    to_custodian: int | None


def apply(p: Projection, e: Event) -> Projection:
    state = next_state(p.state, e.kind)
    if e.kind == PLACE:
        return Projection(state, e.to_custodian)
    if e.kind == GIVE:
        # The giver stays accountable until the receiver confirms: at every moment one party answers.
        return Projection(state, p.custodian, e.to_custodian)
    if e.kind == RECEIVE:
        return Projection(state, p.pending)
    if e.kind == REFUSE:
        return Projection(state, p.custodian)  # back to the giver, who never let go
    return Projection(state, None)  # every final state ends custody


def fold(events) -> Projection:
    p = Projection()
    for e in events:
        p = apply(p, e)
    return p
