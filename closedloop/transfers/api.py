"""The transfers API: one router per part, mounted under /api/v1/transfers."""

from ninja import Router

from closedloop.transfers import away_api, plan_api, trip_api

router = Router(tags=["transfers"])
router.add_router("", away_api.router)
router.add_router("/plans", plan_api.router)
router.add_router("/trips", trip_api.router)
