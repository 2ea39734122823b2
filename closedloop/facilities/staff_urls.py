"""URLs of the staff pages (included by facilities.urls at /sites/staff/)."""

from django.urls import path

from closedloop.facilities import staff_views as v

urlpatterns = [
    path("<int:facility_pk>/", v.staff_list, name="staff_list"),
    path("<int:facility_pk>/add/", v.staff_add_view, name="staff_add"),
    path("<int:facility_pk>/roster/", v.staff_roster, name="staff_roster"),
    path("<int:facility_pk>/checks/", v.staff_checks, name="staff_checks"),
    path("<int:facility_pk>/tests/", v.staff_tests, name="staff_tests"),
    path("member/<int:pk>/", v.staff_detail, name="staff_detail"),
    path("member/<int:pk>/leave/", v.staff_leave, name="staff_leave"),
]
