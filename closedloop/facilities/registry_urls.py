"""URLs of the registry pages (included by facilities.urls, namespace ``sites``)."""

from django.urls import path

from closedloop.facilities import registry_views as views

urlpatterns = [
    path("", views.facility_list, name="list"),
    path("new/", views.facility_create, name="create"),
    path("<int:pk>/", views.facility_detail, name="detail"),
    path("<int:pk>/edit/", views.facility_edit, name="edit"),
    path("<int:pk>/status/", views.facility_status, name="status"),
    path("<int:pk>/members/", views.facility_member_add, name="member_add"),
    path("<int:pk>/rooms/bulk/", views.rooms_bulk, name="rooms_bulk"),
    path("<int:pk>/rooms/import/", views.rooms_import, name="rooms_import"),
]
