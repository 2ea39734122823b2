"""JSON API of the away part of the transfers app (mounted by transfers.api)."""

from ninja import Router

router = Router()
