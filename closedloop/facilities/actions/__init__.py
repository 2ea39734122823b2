"""Every write of the facilities app, one module per concern; import from here.

facilities: the registry (facilities, their status and settings, staff accounts)
rooms: rooms in bulk or from a spreadsheet, and their status (cleaning, out of service)
stays: check-in (custody and rooms) and check-out
"""

from closedloop.facilities.actions.facilities import (  # noqa: F401
    facility_create,
    facility_member_add,
    facility_set_status,
    facility_update,
)
from closedloop.facilities.actions.rooms import (  # noqa: F401
    RoomConflict,
    room_create,
    room_transition,
    rooms_bulk_create,
)
from closedloop.facilities.actions.stays import (  # noqa: F401
    CheckIn,
    checkin,
    checkout_handover,
    checkout_release,
)
