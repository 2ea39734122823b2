"""Protocols, custodians, episodes and the custody ledger.

An episode is one person's course under one protocol. Its custody is the fold
of its append-only ledger (``CustodyEvent``); the episode row carries the
projection, written in the same transaction as each ledger row and guarded by
a compare-and-swap on ``version``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from closedloop.core.models import Jurisdiction
from closedloop.quarantine import states
from closedloop.quarantine.choices import (
    AnchorKind,
    Category,
    CustodianKind,
    EpisodeState,
    EpisodeStatus,
    LedgerEvent,
)


class Protocol(models.Model):
    """One version of a quarantine protocol, as validated data (``closedloop.lib.protocols``)."""

    code = models.CharField(_("protocol"), max_length=60)
    version = models.PositiveIntegerField(_("version"))
    category = models.CharField(_("category"), max_length=30, choices=Category.choices)
    anchor = models.CharField(_("anchor"), max_length=20, choices=AnchorKind.choices)
    effective_from = models.DateField(_("effective from"))
    title = models.CharField(_("title"), max_length=200)
    definition = models.JSONField(_("definition"))
    source = models.CharField(_("source"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code", "-version"]
        verbose_name = _("protocol")
        verbose_name_plural = _("protocols")
        constraints = [models.UniqueConstraint(fields=["code", "version"], name="protocol_version_once")]

    def __str__(self) -> str:
        return f"{self.code} v{self.version}"

    def spec(self):
        from closedloop.lib.protocols import load_protocol

        return load_protocol(self.definition)


class Custodian(models.Model):
    """A party that can hold a person: a site, a vehicle trip, the station, a community, a hospital."""

    kind = models.CharField(_("kind"), max_length=30, choices=CustodianKind.choices)
    name = models.CharField(_("name"), max_length=120)
    city = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    # The community for home custody; the site's town otherwise (scoping of work lists).
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    code = models.CharField(_("code"), max_length=60, unique=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("custodian")
        verbose_name_plural = _("custodians")

    def __str__(self) -> str:
        return self.name


class Episode(models.Model):
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="episodes")
    city = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    category = models.CharField(_("category"), max_length=30, choices=Category.choices)
    anchor_kind = models.CharField(_("anchor"), max_length=20, choices=AnchorKind.choices)
    anchor_date = models.DateField(_("anchor date"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=EpisodeStatus.choices, default=EpisodeStatus.OPEN)
    # The projection of the custody ledger (see states.fold); written only by quarantine.actions.
    state = models.CharField(_("state"), max_length=20, choices=EpisodeState.choices, default=states.AWAITING)
    custodian = models.ForeignKey(Custodian, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                  verbose_name=_("custodian"))
    pending_custodian = models.ForeignKey(Custodian, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                          verbose_name=_("receiving custodian"))
    expected_by = models.DateTimeField(_("expected arrival"), null=True, blank=True)
    version = models.PositiveIntegerField(default=0, editable=False)
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, null=True, blank=True, related_name="episodes",
                                 verbose_name=_("protocol"))
    placed_on = models.DateField(_("placed under control"), null=True, blank=True)
    release_on = models.DateField(_("release due"), null=True, blank=True, db_index=True)
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
            ),
            # The coarse status and the custody state never disagree.
            models.CheckConstraint(
                condition=models.Q(status="open", state__in=sorted(states.OPEN_STATES))
                | models.Q(status="closed", state__in=sorted(states.FINAL_STATES)),
                name="episode_status_matches_state",
            ),
            # In custody means someone holds the person; a final state means no one does.
            models.CheckConstraint(
                condition=~models.Q(state__in=[states.IN_CUSTODY, states.IN_TRANSIT]) | models.Q(custodian__isnull=False),
                name="episode_held_has_custodian",
            ),
            models.CheckConstraint(
                condition=models.Q(state=states.IN_TRANSIT) | models.Q(pending_custodian__isnull=True),
                name="episode_pending_only_in_transit",
            ),
        ]
        indexes = [models.Index(fields=["state", "expected_by"], name="episode_transit")]

    def __str__(self) -> str:
        return f"{self.person} · {self.get_category_display()}"


class CustodyEvent(models.Model):
    """One row of an episode's custody ledger. Append-only: never updated, never deleted."""

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="ledger")
    seq = models.PositiveIntegerField()
    kind = models.CharField(_("event"), max_length=20, choices=LedgerEvent.choices)
    from_custodian = models.ForeignKey(Custodian, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    to_custodian = models.ForeignKey(Custodian, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField(_("time"))
    expected_by = models.DateTimeField(_("expected arrival"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    # Names of the people who signed for each side of a hand-over.
    signatures = models.JSONField(_("signatures"), default=dict, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    actor_label = models.CharField(_("by"), max_length=150)

    class Meta:
        ordering = ["episode", "seq"]
        verbose_name = _("custody event")
        verbose_name_plural = _("custody ledger")
        constraints = [models.UniqueConstraint(fields=["episode", "seq"], name="ledger_seq_once")]

    def __str__(self) -> str:
        return f"{self.episode_id}#{self.seq} {self.kind}"
