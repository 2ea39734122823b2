"""URLs of the away pages (included by transfers.urls)."""

urlpatterns: list = []
