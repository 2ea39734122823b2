"""Every write of the facilities app, one module per concern; import from here.

facilities: the registry (facilities, their status and settings, staff accounts)
rooms: rooms one by one or in bulk, and their status (cleaning, out of service)
room_import: rooms from a spreadsheet (every row checked, the good ones kept)
stays: check-in (custody and rooms) and check-out
care: care requests of the people held (recorded, answered by a deadline, closed with what was done)
staff: staff on duty, the roster, their daily health registration and tests, leaving duty into the rotation
"""

from closedloop.facilities.actions.care import (  # noqa: F401
    CareConflict,
    care_request_close,
    care_request_create,
)
from closedloop.facilities.actions.facilities import (  # noqa: F401
    facility_create,
    facility_member_add,
    facility_set_status,
    facility_update,
)
from closedloop.facilities.actions.room_import import RoomImport, rooms_import  # noqa: F401
from closedloop.facilities.actions.rooms import (  # noqa: F401
    RoomConflict,
    room_create,
    room_transition,
    rooms_bulk_create,
)
from closedloop.facilities.actions.staff import (  # noqa: F401
    RosterChange,
    StaffConflict,
    StaffRound,
    roster_fill,
    roster_update,
    shift_assign,
    shift_remove,
    staff_add,
    staff_checks_record,
    staff_health_record,
    staff_leave_duty,
    staff_test_record,
    staff_tests_record,
    staff_update_post,
)
from closedloop.facilities.actions.stays import (  # noqa: F401
    CheckIn,
    checkin,
    checkout_handover,
    checkout_release,
)
