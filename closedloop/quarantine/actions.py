"""Writes of the closed loop. Issue #2 only opens episode stubs."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from closedloop.core.audit import audit_record
from closedloop.lib.categories import ANCHOR_FOR
from closedloop.quarantine.models import Episode


@transaction.atomic
def episode_open(
    *, person, category: str, anchor_date: date | None, actor, details: dict | None = None, source_import=None, reason: str = ""
) -> Episode:
    if Episode.objects.filter(person=person, status="open").exists():
        raise ValidationError(_("This person already has an open episode."))
    try:
        with transaction.atomic():
            episode = Episode.objects.create(
                person=person, city_id=person.city_id, category=category, anchor_kind=ANCHOR_FOR[category],
                anchor_date=anchor_date, opened_by=actor if getattr(actor, "pk", None) else None,
                source_import=source_import, details=details or {},
            )
    except IntegrityError:
        raise ValidationError(_("This person already has an open episode.")) from None
    audit_record(
        actor=actor, action="episode.open", target=episode,
        after={"person": person.pk, "category": category, "anchor_date": str(anchor_date or "")}, reason=reason,
    )
    return episode
