"""Upkeep of import runs, called by the integrity checks (``closedloop check --periodic``)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from closedloop.core.audit import audit_record
from closedloop.people.choices import ImportStatus
from closedloop.people.models import ImportRun


@transaction.atomic
def import_run_mark_interrupted(*, run: ImportRun, actor, reason: str = "") -> ImportRun:
    """Mark a run that stopped making progress as interrupted.

    A compare-and-swap on the status: a run that finished (or was marked) in
    the meantime is returned as it is now, with no audit row.
    """
    now = timezone.now()
    reason = reason or "No progress for over an hour: the process running the import stopped."
    with translation.override(settings.LANGUAGE_CODE):
        error = gettext("The import stopped before it finished. Upload the file again to import the remaining rows.")
    changed = ImportRun.objects.filter(pk=run.pk, status=ImportStatus.RUNNING).update(
        status=ImportStatus.INTERRUPTED, finished_at=now, error=error
    )
    run.refresh_from_db()
    if changed:
        audit_record(
            actor=actor,
            action="import_run.mark_interrupted",
            target=run,
            before={"status": ImportStatus.RUNNING, "rows_done": run.rows_done},
            after={"status": ImportStatus.INTERRUPTED},
            reason=reason,
        )
    return run
