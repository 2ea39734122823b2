"""The closed loop's integrity: every ledger refolds to its episode's projection."""

from __future__ import annotations

from itertools import groupby

from closedloop.core.integrity import CheckContext, Violation, integrity_check
from closedloop.quarantine import states
from closedloop.quarantine.models import CustodyEvent, Episode

CHUNK = 5000


@integrity_check("ledger_refold")
def ledger_refold(ctx: CheckContext) -> list[Violation]:
    """Replay each ledger and compare with the episode row (state, custodian, receiver, version)."""
    violations: list[Violation] = []
    last = 0
    while True:
        episodes = list(
            Episode.objects.filter(pk__gt=last).order_by("pk")
            .values_list("pk", "state", "custodian_id", "pending_custodian_id", "version")[:CHUNK]
        )
        if not episodes:
            return violations
        last = episodes[-1][0]
        events = (
            CustodyEvent.objects.filter(episode_id__gte=episodes[0][0], episode_id__lte=last)
            .order_by("episode_id", "seq").values_list("episode_id", "seq", "kind", "from_custodian_id", "to_custodian_id")
        )
        ledgers = {pk: list(rows) for pk, rows in groupby(events, key=lambda r: r[0])}
        for pk, state, custodian, pending, version in episodes:
            rows = ledgers.get(pk, [])
            label = f"episode #{pk}"
            if [r[1] for r in rows] != list(range(1, len(rows) + 1)) or len(rows) != version:
                violations.append(Violation("ledger_refold", label, f"ledger has {len(rows)} rows, version is {version}"))
                continue
            try:
                folded = states.fold(states.Event(kind, frm, to) for _pk, _seq, kind, frm, to in rows)
            except ValueError as exc:
                violations.append(Violation("ledger_refold", label, f"the ledger breaks the state machine: {exc}"))
                continue
            if folded.as_tuple() != (state, custodian, pending):
                violations.append(Violation(
                    "ledger_refold", label,
                    f"projection {(state, custodian, pending)} differs from the ledger's {folded.as_tuple()}",
                ))
