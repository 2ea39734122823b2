from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _load_shipped_protocols(sender, using="default", **kwargs):
    """The shipped protocol files are in the database after every migrate (and every test flush)."""
    from closedloop.quarantine.actions import protocols_sync_shipped

    protocols_sync_shipped(actor=None)


class QuarantineConfig(AppConfig):
    name = "closedloop.quarantine"
    label = "quarantine"
    verbose_name = _("Closed loop")

    def ready(self):
        post_migrate.connect(_load_shipped_protocols, sender=self, dispatch_uid="closedloop.quarantine.protocols")
