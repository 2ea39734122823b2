"""URLs of the care pages (included by facilities.urls at /sites/care/)."""

from django.urls import path

from closedloop.facilities import care_views

urlpatterns = [
    path("", care_views.care_list, name="care"),
    path("new/<int:episode_pk>/", care_views.care_new, name="care_new"),
    path("<int:pk>/", care_views.care_detail, name="care_detail"),
]
