from django.urls import include, path

from closedloop.facilities import board_urls, capacity_urls, care_urls, registry_urls, staff_urls

app_name = "sites"
urlpatterns = [
    path("", include(registry_urls)),
    path("", include(board_urls)),
    path("capacity/", include(capacity_urls)),
    path("staff/", include(staff_urls)),
    path("care/", include(care_urls)),
]
