"""URLs of the trip pages (included by transfers.urls at /transfers/trips/)."""

from django.urls import path

from closedloop.transfers import trip_states as ts
from closedloop.transfers import trip_views

urlpatterns = [
    path("", trip_views.trip_list, name="trips"),
    path("<int:pk>/", trip_views.trip_detail, name="trip"),
    path("<int:pk>/dispatch/", trip_views.trip_dispatch_view, name="trip_dispatch"),
    path("<int:pk>/cancel/", trip_views.trip_cancel_view, name="trip_cancel"),
    path("<int:pk>/board/", trip_views.trip_step_view, {"stage": ts.STAGE_BOARDING}, name="trip_board"),
    path("<int:pk>/arrive/", trip_views.trip_step_view, {"stage": ts.STAGE_STATION}, name="trip_arrive"),
    path("<int:pk>/shuttle-board/", trip_views.trip_step_view, {"stage": ts.STAGE_SHUTTLE}, name="trip_shuttle_board"),
    path("<int:pk>/home/", trip_views.trip_step_view, {"stage": ts.STAGE_HOME}, name="trip_home"),
]
