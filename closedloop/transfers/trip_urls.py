"""URLs of the trip pages (included by transfers.urls)."""

urlpatterns: list = []
