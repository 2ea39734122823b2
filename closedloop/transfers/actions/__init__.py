"""Every write of the transfers app, one module per part; import from here.

away: rosters of residents isolated in other cities, and what those cities report after
plans: transfer plans made from live data, adopted into trips, re-planned while under way
trips: carrying a trip out: dispatch and the checklisted hand-overs of the way home
"""

from closedloop.transfers.actions.away import (  # noqa: F401
    AwayImport,
    AwayRow,
    away_export_record,
    away_import,
    away_report,
)
from closedloop.transfers.actions.plans import (  # noqa: F401
    NothingToPlan,
    PlanConflict,
    plan_adopt,
    plan_make,
    plan_replan,
)
from closedloop.transfers.actions.trips import (  # noqa: F401
    HandoverResult,
    TripConflict,
    left_behind_groups,
    shuttle_arrive_home,
    shuttle_board,
    trip_arrive_station,
    trip_board,
    trip_cancel,
    trip_dispatch,
)
