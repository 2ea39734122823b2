"""URLs of the plan pages (included by transfers.urls)."""

urlpatterns: list = []
