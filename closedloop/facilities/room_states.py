"""The life of a room, as data: who may follow whom. Pure, no Django import.

A room is assigned only when available; the last occupant leaving makes it
await terminal disinfection; only a finished cleaning makes it available
again. A room brought back into service is cleaned first.
"""

from __future__ import annotations

AVAILABLE = "available"
OCCUPIED = "occupied"
AWAITING_CLEANING = "awaiting_cleaning"
CLEANING = "cleaning"
OUT_OF_SERVICE = "out_of_service"
STATES = (AVAILABLE, OCCUPIED, AWAITING_CLEANING, CLEANING, OUT_OF_SERVICE)

ASSIGN = "assign"
VACATE = "vacate"
CLEAN_START = "clean_start"
CLEAN_DONE = "clean_done"
TAKE_OUT = "take_out"
BRING_BACK = "bring_back"

TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    ASSIGN: (frozenset({AVAILABLE}), OCCUPIED),
    VACATE: (frozenset({OCCUPIED}), AWAITING_CLEANING),
    CLEAN_START: (frozenset({AWAITING_CLEANING}), CLEANING),
    # Cleaners may record a finished cleaning in one step.
    CLEAN_DONE: (frozenset({AWAITING_CLEANING, CLEANING}), AVAILABLE),
    TAKE_OUT: (frozenset({AVAILABLE, AWAITING_CLEANING, CLEANING}), OUT_OF_SERVICE),
    BRING_BACK: (frozenset({OUT_OF_SERVICE}), AWAITING_CLEANING),
}


def can_transition(state: str, event: str) -> bool:
    allowed = TRANSITIONS.get(event)
    return allowed is not None and state in allowed[0]


def next_state(state: str, event: str) -> str:
    if not can_transition(state, event):
        raise ValueError(f"{event} cannot follow {state}")
    return TRANSITIONS[event][1]
