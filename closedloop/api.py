"""The JSON API under /api/v1/, one router per domain app."""

from ninja import NinjaAPI

from closedloop.core.api import auth_any
from closedloop.core.api import router as core_router
from closedloop.facilities.api import router as sites_router
from closedloop.people.api import router as people_router
from closedloop.quarantine.api import router as loop_router
from closedloop.transfers.api import router as transfers_router

api = NinjaAPI(
    title="closedloop API",
    version="1",
    description="Closed-loop management of people under control. Personal data is masked unless the role grants it.",
    auth=auth_any,
    urls_namespace="api",
)
api.add_router("/", core_router)
api.add_router("/people", people_router)
api.add_router("/loop", loop_router)
api.add_router("/sites", sites_router)
api.add_router("/transfers", transfers_router)
