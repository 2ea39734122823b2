"""URLs of the away pages (included by transfers.urls, namespace ``transfers``)."""

from django.urls import path

from closedloop.transfers import away_views as views

urlpatterns = [
    path("", views.away_overview, name="away"),
    path("away/list/", views.away_list, name="away_list"),
    path("away/import/", views.away_import_view, name="away_import"),
    path("away/<int:pk>/", views.away_detail, name="away_detail"),
    path("away/<int:pk>/report/", views.away_report_view, name="away_report"),
]
