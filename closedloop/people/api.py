from ninja import Router

router = Router(tags=["people"])  # PLACEHOLDER until the API engineer replaces this file
