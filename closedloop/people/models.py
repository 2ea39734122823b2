"""The person registry: people, households, contact history, imports."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from closedloop.core.models import Jurisdiction
from closedloop.lib.identity import mask_id
from closedloop.lib.phones import mask_phone
from closedloop.people.choices import DocType, ImportStatus, ReviewKind, ReviewStatus, Sex


class Household(models.Model):
    city = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    town = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    community = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    address = models.CharField(_("address"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")

    def __str__(self) -> str:
        # No address here: this label lands in the audit log and in links.
        return _("Household #%(number)s") % {"number": self.pk}


class Person(models.Model):
    # Where the person lives: the scope key of every read.
    city = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    town = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    community = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    name = models.CharField(_("name"), max_length=60)
    name_pinyin = models.CharField(max_length=120, db_index=True, editable=False)
    name_initials = models.CharField(max_length=30, db_index=True, editable=False)
    doc_type = models.CharField(_("document type"), max_length=20, choices=DocType.choices, blank=True)
    doc_number = models.CharField(_("document number"), max_length=40, blank=True)
    # HMAC of type and number: how a number is found without scanning plaintext.
    # NULL (not "") for "no document", so the unique constraint skips those rows on every database.
    id_hash = models.CharField(max_length=32, null=True, blank=True, editable=False)  # noqa: DJ001
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    phone_tail = models.CharField(max_length=4, blank=True, db_index=True, editable=False)
    phone_other = models.CharField(_("other phone"), max_length=60, blank=True)
    address = models.CharField(_("home address"), max_length=200, blank=True)
    household = models.ForeignKey(
        Household, on_delete=models.SET_NULL, null=True, blank=True, related_name="members", verbose_name=_("household")
    )
    employer = models.CharField(_("employer"), max_length=120, blank=True)
    employer_uscc = models.CharField(_("employer's credit code"), max_length=18, blank=True)

    is_elderly = models.BooleanField(_("elderly"), default=False)
    is_child = models.BooleanField(_("child"), default=False)
    is_pregnant = models.BooleanField(_("pregnant"), default=False)
    has_chronic_illness = models.BooleanField(_("chronic illness"), default=False)
    has_disability = models.BooleanField(_("disability"), default=False)
    needs_medication = models.BooleanField(_("needs regular medication"), default=False)

    notes = models.TextField(_("notes"), blank=True)
    is_synthetic = models.BooleanField(_("synthetic (demo)"), default=False)
    # For people without a document: a hash of name, phone and birth date, so a
    # re-import recognises the same row instead of flagging it again.
    no_id_key = models.CharField(max_length=32, blank=True, db_index=True, editable=False)
    source_import = models.ForeignKey("ImportRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        constraints = [
            models.UniqueConstraint(
                fields=["id_hash"], condition=models.Q(id_hash__isnull=False), name="person_unique_document"
            ),
            models.CheckConstraint(
                condition=models.Q(doc_type="") | ~models.Q(doc_number=""), name="person_doc_type_has_number"
            ),
        ]
        indexes = [
            models.Index(fields=["city", "town", "community"], name="person_scope"),
            models.Index(fields=["name"], name="person_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def doc_number_masked(self) -> str:
        return mask_id(self.doc_number) if self.doc_number else ""

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone) if self.phone else ""


class PersonContactHistory(models.Model):
    """Contact details replaced by a newer source: newer wins, the old is kept."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="contact_history")
    field = models.CharField(max_length=30)
    old_value = models.CharField(max_length=200, blank=True)
    new_value = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=120)
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.field} · {self.changed_at:%Y-%m-%d %H:%M}"


class ImportMapping(models.Model):
    """A saved column mapping for a file layout, reused by name."""

    name = models.CharField(_("name"), max_length=60, unique=True)
    columns = models.JSONField(_("columns"), help_text=_("Header text to field name."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("import mapping")
        verbose_name_plural = _("import mappings")

    def __str__(self) -> str:
        return self.name


class ImportRun(models.Model):
    """One import of one file: who, when, which file, the outcome."""

    city = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(_("file"), max_length=200)
    file_sha256 = models.CharField(_("file hash"), max_length=64, db_index=True)
    stored_path = models.CharField(max_length=300, blank=True)
    sheet = models.CharField(_("sheet"), max_length=100, blank=True)
    category = models.CharField(_("category"), max_length=30, blank=True)
    header_row = models.PositiveIntegerField(_("header row"), null=True, blank=True)
    columns = models.JSONField(_("column mapping"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    problems = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self) -> str:
        return f"{self.file_name} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def rows_per_second(self) -> int:
        from django.utils import timezone

        if not self.started_at or not self.rows_done:
            return 0
        elapsed = ((self.finished_at or timezone.now()) - self.started_at).total_seconds()
        return int(self.rows_done / elapsed) if elapsed > 0 else 0

    @property
    def seconds_left(self) -> int | None:
        rate = self.rows_per_second
        return int((self.rows_total - self.rows_done) / rate) if rate and self.rows_total else None


class MatchReview(models.Model):
    """A row that may be someone already registered: a person decides."""

    kind = models.CharField(_("kind"), max_length=30, choices=ReviewKind.choices)
    status = models.CharField(_("status"), max_length=20, choices=ReviewStatus.choices, default=ReviewStatus.OPEN)
    city = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    town = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    community = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    import_run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, null=True, blank=True, related_name="reviews")
    row_number = models.PositiveIntegerField(null=True, blank=True)
    candidate = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="reviews")
    row_key = models.CharField(max_length=32)
    data = models.JSONField(default=dict)
    reason = models.CharField(_("reason"), max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("possible match")
        verbose_name_plural = _("possible matches")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "row_key", "candidate"],
                condition=models.Q(status="open"),
                name="review_once_while_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.candidate_id}"
