"""Episodes: one person's course under control.

Issue #2 opens episode stubs from imports (category and anchor date); the
protocols, custody ledger and schedules build on this model.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from closedloop.core.models import Jurisdiction
from closedloop.quarantine.choices import AnchorKind, Category, EpisodeStatus


class Episode(models.Model):
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="episodes")
    city = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    category = models.CharField(_("category"), max_length=30, choices=Category.choices)
    anchor_kind = models.CharField(_("anchor"), max_length=20, choices=AnchorKind.choices)
    anchor_date = models.DateField(_("anchor date"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=EpisodeStatus.choices, default=EpisodeStatus.OPEN)
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    # What the roster said beyond the anchor (isolation site, start, linked case)
    # until the custody ledger of the closed loop takes these over.
    details = models.JSONField(_("details"), default=dict, blank=True)
    source_import = models.ForeignKey(
        "people.ImportRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="episodes"
    )

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("episode")
        verbose_name_plural = _("episodes")
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=models.Q(status="open"), name="episode_one_open_per_person"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.get_category_display()}"
