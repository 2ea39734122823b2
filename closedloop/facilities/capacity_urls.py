"""URLs of the capacity pages (included by facilities.urls at capacity/)."""

from django.urls import path

from closedloop.facilities import capacity_views

urlpatterns = [
    path("", capacity_views.capacity_overview, name="capacity"),
    path("<int:pk>/", capacity_views.capacity_site, name="capacity_site"),
]
