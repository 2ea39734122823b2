from django.contrib import admin
from django.urls import include, path

from closedloop.api import api

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("people/", include("closedloop.people.urls")),
    path("loop/", include("closedloop.quarantine.urls")),
    path("sites/", include("closedloop.facilities.urls")),
    path("transfers/", include("closedloop.transfers.urls")),
    path("", include("closedloop.core.urls")),
]
