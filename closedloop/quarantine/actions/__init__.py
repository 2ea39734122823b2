"""Every write of the closed loop, one module per concern; import from here.

custody: protocols, custodians, opening episodes, placement and hand-overs (the ledger)
observations: health checks, specimens and results, alerts, the case path
release: the release rule, overrides, certificates
replan: adopting a new protocol version for open episodes
"""

from closedloop.quarantine.actions.custody import (  # noqa: F401
    CustodyConflict,
    custodian_create,
    episode_close,
    episode_open,
    episode_place,
    handover_give,
    handover_receive,
    handover_refuse,
    protocol_add,
    protocol_for,
    protocols_sync_shipped,
)
from closedloop.quarantine.actions.observations import (  # noqa: F401
    SYMPTOMS,
    ObservationConflict,
    RoundResult,
    alert_resolve,
    check_round_record,
    health_check_record,
    result_record,
    results_import,
    specimen_record,
)
from closedloop.quarantine.actions.release import (  # noqa: F401
    NextCustody,
    ReleaseBlocked,
    ReleaseCheck,
    certificate_lookup,
    episode_release,
    episode_schedule,
    next_custody,
    release_check,
)
from closedloop.quarantine.actions.replan import ReplanPreview, replan_apply, replan_preview  # noqa: F401
