from django.db import models
from django.utils.translation import gettext_lazy as _

from closedloop.lib import identity


class DocType(models.TextChoices):
    RESIDENT_ID = identity.RESIDENT_ID, _("Resident ID card")
    PASSPORT = identity.PASSPORT, _("Passport")
    HK_MACAO_PERMIT = identity.HK_MACAO_PERMIT, _("Hong Kong/Macao permit")
    TAIWAN_PERMIT = identity.TAIWAN_PERMIT, _("Taiwan permit")
    OTHER = identity.OTHER, _("Other document")


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


# The vulnerability flags of the registry, in the order pages show them.
FLAGS = [
    ("is_elderly", _("Elderly (65+)")),
    ("is_child", _("Child (under 14)")),
    ("is_pregnant", _("Pregnant")),
    ("has_chronic_illness", _("Chronic illness")),
    ("has_disability", _("Disability")),
    ("needs_medication", _("Needs regular medication")),
]
ELDERLY_AGE = 65
CHILD_AGE = 14


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    INTERRUPTED = "interrupted", _("Interrupted")


class ReviewKind(models.TextChoices):
    POSSIBLE_DUPLICATE = "possible_duplicate", _("Possible duplicate")
    CATEGORY_CONFLICT = "category_conflict", _("Already under control in another category")


class ReviewStatus(models.TextChoices):
    OPEN = "open", _("To decide")
    SAME = "same", _("Same person")
    DIFFERENT = "different", _("Different person")
    DISMISSED = "dismissed", _("Dismissed")
