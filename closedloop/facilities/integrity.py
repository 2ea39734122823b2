"""The rooms' integrity: status follows the room's own log, and occupancy matches the stays and custody."""

from __future__ import annotations

from django.db.models import F

from closedloop.core.integrity import CheckContext, Violation, integrity_check
from closedloop.facilities import room_states as rs
from closedloop.facilities.models import Room, RoomEvent, Stay
from closedloop.quarantine import states


@integrity_check("rooms_refold")
def rooms_refold(ctx: CheckContext) -> list[Violation]:
    """Replay each room's event log from "available" and compare with its status; occupied ⇔ someone stays."""
    violations: list[Violation] = []
    log: dict[int, list[tuple[str, str, str]]] = {}
    for room_id, kind, frm, to in RoomEvent.objects.order_by("room_id", "at", "id").values_list(
            "room_id", "kind", "from_status", "to_status"):
        log.setdefault(room_id, []).append((kind, frm, to))
    occupied = set(Stay.objects.filter(checked_out_at__isnull=True).values_list("room_id", flat=True))
    for pk, status, version in Room.objects.values_list("pk", "status", "version").iterator(chunk_size=5000):
        label = f"room #{pk}"
        state = rs.AVAILABLE
        for kind, frm, to in log.get(pk, []):
            if frm != state or not rs.can_transition(state, kind) or rs.next_state(state, kind) != to:
                violations.append(Violation("rooms_refold", label, f"{kind} cannot follow {state} in its log"))
                break
            state = to
        else:
            if state != status or len(log.get(pk, [])) != version:
                violations.append(Violation("rooms_refold", label,
                                            f"status {status} (version {version}) differs from its log's {state}"))
        if (status == rs.OCCUPIED) != (pk in occupied):
            violations.append(Violation("rooms_refold", label,
                                        f"status {status} but {'someone' if pk in occupied else 'nobody'} stays"))
    return violations


@integrity_check("stays_in_custody")
def stays_in_custody(ctx: CheckContext) -> list[Violation]:
    """Everyone staying in a room is in the custody of the room's facility."""
    rows = (Stay.objects.filter(checked_out_at__isnull=True)
            .exclude(episode__state=states.IN_CUSTODY, episode__custodian_id=F("facility__custodian_id"))
            .values_list("pk", "episode_id", "episode__state"))
    return [Violation("stays_in_custody", f"stay #{pk}",
                      f"episode #{episode} is {state}, not in the custody of the room's facility")
            for pk, episode, state in rows]


