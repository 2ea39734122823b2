"""Listeners told of every custody change, inside its transaction.

Other apps react to custody without the closed loop knowing them: the
facilities app frees a room when its occupant leaves by any path (hand-over,
release, the case path, a close). A listener that raises undoes the change.
"""

from __future__ import annotations

from collections.abc import Callable

_listeners: list[Callable] = []


def on_custody_change(listener: Callable) -> None:
    """``listener(episode, kind, before, actor)``: ``before`` is the projection before the event."""
    if listener not in _listeners:
        _listeners.append(listener)


def custody_changed(episode, kind: str, before, actor) -> None:
    for listener in _listeners:
        listener(episode, kind, before, actor)
