"""The facilities API: one router per part, mounted under /api/v1/sites."""

from ninja import Router

from closedloop.facilities import board_api, capacity_api, care_api, registry_api, staff_api

router = Router(tags=["sites"])
router.add_router("", registry_api.router)
router.add_router("", board_api.router)
router.add_router("/capacity", capacity_api.router)
router.add_router("/staff", staff_api.router)
router.add_router("/care", care_api.router)
