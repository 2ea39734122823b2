from django.urls import include, path

from closedloop.transfers import away_urls, plan_urls, trip_urls

app_name = "transfers"
urlpatterns = [
    path("", include(away_urls)),
    path("plans/", include(plan_urls)),
    path("trips/", include(trip_urls)),
]
