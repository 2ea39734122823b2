from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _


def _sqlite_real_parameter_limit(sender, connection, **kwargs):
    """Django 5.2 assumes SQLite's old limit of 999 parameters, which cuts a bulk insert of
    people into 30-row statements; modern SQLite allows 32,766, so ask the library."""
    if connection.vendor != "sqlite":
        return
    import sqlite3

    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    connection.features.max_query_params = min(limit, 32766)


class CoreConfig(AppConfig):
    name = "closedloop.core"
    label = "core"
    verbose_name = _("Platform")

    def ready(self):
        connection_created.connect(_sqlite_real_parameter_limit, dispatch_uid="closedloop.sqlite_limit")
