from django.urls import path

from closedloop.people import exports, import_views, views

app_name = "people"
urlpatterns = [
    # registry (views.py)
    path("", views.person_list, name="list"),
    path("new/", views.person_create, name="create"),
    path("<int:pk>/", views.person_detail, name="detail"),
    path("<int:pk>/edit/", views.person_edit, name="edit"),
    path("<int:pk>/unmask/<str:field>/", views.person_unmask, name="unmask"),
    path("households/", views.household_list, name="households"),
    path("households/<int:pk>/", views.household_detail, name="household"),
    path("reviews/", views.review_list, name="reviews"),
    path("reviews/<int:pk>/", views.review_detail, name="review"),
    # exports (exports.py)
    path("export.<str:fmt>", exports.export_people, name="export"),
    # roster import (import_views.py)
    path("imports/", import_views.import_list, name="imports"),
    path("imports/new/", import_views.import_upload, name="import_upload"),
    path("imports/<int:pk>/", import_views.import_detail, name="import_detail"),
    path("imports/<int:pk>/mapping/", import_views.import_mapping, name="import_mapping"),
    path("imports/<int:pk>/start/", import_views.import_start, name="import_start"),
    path("imports/<int:pk>/progress/", import_views.import_progress, name="import_progress"),
    path("imports/<int:pk>/rejected.xlsx", import_views.import_rejected, name="import_rejected"),
    path("imports/<int:pk>/report.json", import_views.import_report, name="import_report"),
]
