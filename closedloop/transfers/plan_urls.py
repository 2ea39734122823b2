"""URLs of the plan pages (included by transfers.urls at /transfers/plans/)."""

from django.urls import path

from closedloop.transfers import plan_views

urlpatterns = [
    path("", plan_views.board, name="board"),
    path("make/", plan_views.make, name="make"),
    path("all/", plan_views.plan_list, name="plans"),
    path("<int:pk>/", plan_views.plan_detail, name="plan"),
    path("<int:pk>/adopt/", plan_views.adopt, name="adopt"),
    path("<int:pk>/replan/", plan_views.replan, name="replan"),
    path("<int:pk>/<str:part>.json", plan_views.plan_file, name="plan_file"),
    path("trips/<int:pk>/manifest/", plan_views.manifest, name="manifest"),
]
