"""JSON API of the plan part of the transfers app (mounted by transfers.api)."""

from ninja import Router

router = Router()
