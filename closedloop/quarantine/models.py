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
    AlertKind,
    AlertStatus,
    AnchorKind,
    Category,
    CheckSlot,
    CustodianKind,
    EpisodeState,
    EpisodeStatus,
    LedgerEvent,
    TestKind,
    TestResult,
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


class HealthCheck(models.Model):
    """Temperature and symptoms, morning and evening: by staff on site, self-reported at home."""

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="health_checks")
    day = models.DateField(_("day"))
    slot = models.CharField(_("slot"), max_length=10, choices=CheckSlot.choices)
    temperature = models.DecimalField(_("temperature (°C)"), max_digits=3, decimal_places=1, null=True, blank=True)
    symptoms = models.JSONField(_("symptoms"), default=list, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        ordering = ["episode", "day", "slot"]
        verbose_name = _("health check")
        verbose_name_plural = _("health checks")
        constraints = [
            models.UniqueConstraint(fields=["episode", "day", "slot"], name="health_check_once_per_slot"),
            models.CheckConstraint(
                condition=models.Q(temperature__isnull=True) | models.Q(temperature__gte=30, temperature__lte=45),
                name="health_check_plausible_temperature",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.episode_id} {self.day} {self.slot}"


class Specimen(models.Model):
    """A sample taken for a test, and its result when the lab reports it."""

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="specimens")
    kind = models.CharField(_("test"), max_length=10, choices=TestKind.choices, default=TestKind.PCR)
    barcode = models.CharField(_("barcode"), max_length=40, blank=True)
    # The schedule's day this sample answers (None for an extra test).
    scheduled_for = models.DateField(_("scheduled day"), null=True, blank=True)
    sampled_at = models.DateTimeField(_("sampled"))
    result = models.CharField(_("result"), max_length=10, choices=TestResult.choices, default=TestResult.PENDING)
    ct = models.DecimalField(_("Ct value"), max_digits=4, decimal_places=1, null=True, blank=True)
    lab = models.CharField(_("laboratory"), max_length=120, blank=True)
    reported_at = models.DateTimeField(_("reported"), null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        ordering = ["episode", "sampled_at"]
        verbose_name = _("specimen")
        verbose_name_plural = _("specimens")
        constraints = [
            models.UniqueConstraint(fields=["barcode"], condition=~models.Q(barcode=""), name="specimen_barcode_once"),
        ]
        indexes = [models.Index(fields=["result", "sampled_at"], name="specimen_result")]

    def __str__(self) -> str:
        return self.barcode or f"specimen {self.pk}"


class Alert(models.Model):
    """Something a person must answer: a fever, a positive result, a lost hand-over, an overdue release."""

    kind = models.CharField(_("alert"), max_length=20, choices=AlertKind.choices)
    status = models.CharField(_("status"), max_length=10, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="alerts")
    # Who must answer: the custodian holding the person when the alert was raised.
    custodian = models.ForeignKey(Custodian, on_delete=models.PROTECT, null=True, blank=True, related_name="alerts")
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    raised_at = models.DateTimeField(_("raised"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    resolution = models.TextField(_("resolution"), blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        constraints = [
            # One open alert of a kind per episode: periodic checks can run again and again.
            models.UniqueConstraint(fields=["episode", "kind"], condition=models.Q(status="open"),
                                    name="alert_once_while_open"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.episode_id}"


class ReleaseCertificate(models.Model):
    """解除医学观察意见书: issued once at release, verifiable by its code."""

    episode = models.OneToOneField(Episode, on_delete=models.PROTECT, related_name="certificate")
    code = models.CharField(_("verification code"), max_length=16, unique=True)
    issued_at = models.DateTimeField(_("issued"), auto_now_add=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    override_reason = models.TextField(_("override reason"), blank=True)

    class Meta:
        verbose_name = _("release certificate")
        verbose_name_plural = _("release certificates")

    def __str__(self) -> str:
        return self.code


class Replan(models.Model):
    """One adoption of a protocol version for the open episodes of a category: one audited operation."""

    category = models.CharField(_("category"), max_length=30, choices=Category.choices)
    to_protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="+", verbose_name=_("new protocol"))
    at = models.DateTimeField(_("time"), auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    reason = models.TextField(_("reason"))
    episodes = models.PositiveIntegerField(_("episodes moved"), default=0)
    # New release day -> number of people, as previewed and applied.
    release_days = models.JSONField(_("release days"), default=dict)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("re-plan")
        verbose_name_plural = _("re-plans")

    def __str__(self) -> str:
        return f"{self.get_category_display()} → {self.to_protocol}"


class EpisodeReplan(models.Model):
    """What a re-plan changed for one episode: the protocol and release day it had before."""

    replan = models.ForeignKey(Replan, on_delete=models.PROTECT, related_name="changes")
    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="replans")
    old_protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="+")
    old_release_on = models.DateField(null=True)

    class Meta:
        verbose_name = _("episode re-plan")
        verbose_name_plural = _("episode re-plans")
        constraints = [models.UniqueConstraint(fields=["replan", "episode"], name="episode_replan_once")]

    def __str__(self) -> str:
        return f"{self.replan_id}:{self.episode_id}"
