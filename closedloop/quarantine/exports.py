"""The export of the closed loop's episodes: ``closedloop export episodes -o FILE.csv|.xlsx``.

``export_episodes`` is built like the registry's ``export_rows``
(``closedloop.people.exports``) and feeds the same writers (``write_csv``,
``write_xlsx``): it reads through ``episodes_visible`` (the account's scope),
masks ID numbers unless ``unmask=True`` (which needs the unmask capability),
and writes exactly one audit row before the first row is produced —
``episode.export`` or ``episode.export_unmasked``, with the filters and the
row count.

One row an episode: the person, the category, the protocol and its version,
the anchor date, the day of placement, each phase's kind and dates (from the
schedule), who holds the person (and who is to receive them while in transit),
the state and the day the release is due.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from closedloop.core.audit import audit_record
from closedloop.core.roles import Cap
from closedloop.core.scoping import require
from closedloop.people.choices import DocType
from closedloop.people.exports import CHUNK_SIZE, Column
from closedloop.quarantine.choices import Category, EpisodeState
from closedloop.quarantine.models import Protocol
from closedloop.quarantine.selectors import episodes_visible
from closedloop.quarantine.worklists import PHASE_LABELS, Schedules

COLUMNS_BEFORE_PHASES = (
    Column("episode", _("Episode"), 9, int),
    Column("name", _("Name"), 12),
    Column("doc_type", _("Document type"), 14),
    Column("doc_number", _("Document number"), 22),
    Column("category", _("Category"), 16),
    Column("protocol", _("Protocol"), 26),
    Column("anchor_date", _("Anchor date"), 14, date),
    Column("placed_on", _("Placed under control"), 14, date),
)
COLUMNS_AFTER_PHASES = (
    Column("custodian", _("Custodian"), 24),
    Column("pending_custodian", _("Receiving custodian"), 24),
    Column("expected_by", _("Expected arrival"), 18, datetime),
    Column("state", _("State"), 12),
    Column("release_on", _("Release due"), 14, date),
)


def phase_columns(count: int) -> tuple[Column, ...]:
    """Kind, first and last day of phases 1 … ``count``."""
    columns: list[Column] = []
    for n in range(1, count + 1):
        columns += [
            Column(f"phase{n}", _Numbered(_("Phase %(n)s"), n), 18),
            Column(f"phase{n}_start", _Numbered(_("Phase %(n)s from"), n), 14, date),
            Column(f"phase{n}_end", _Numbered(_("Phase %(n)s until"), n), 14, date),
        ]
    return tuple(columns)


class _Numbered:
    """``label % {"n": n}``, translated when turned into text (like a lazy string)."""

    def __init__(self, label, n: int) -> None:
        self.label, self.n = label, n

    def __str__(self) -> str:
        return str(self.label) % {"n": self.n}


def most_phases() -> int:
    """The most phases any stored protocol has: the export's phase columns (the same for every filter)."""
    return max((len(p.spec().phases) for p in Protocol.objects.all()), default=0)


@transaction.atomic
def episodes_export_record(*, actor, filters: dict, count: int, unmasked: bool, fmt: str = "") -> None:
    """The audit row of one export (``episode.export`` or ``episode.export_unmasked``)."""
    audit_record(
        actor=actor,
        action="episode.export_unmasked" if unmasked else "episode.export",
        target_type="episode",
        target_label=f"{count} episodes",
        after={"filters": filters, "count": count, "format": fmt},
    )


class EpisodeExportRows:
    """The rows of one export, as dicts keyed by ``Column.key``; ``count`` is known up front.

    Shaped like ``people.exports.ExportRows``, so the same writers take it.
    """

    def __init__(self, queryset: QuerySet, *, count: int, unmask: bool, language: str, phases: int) -> None:
        self.count = count
        self.unmask = unmask
        self.language = language
        columns = COLUMNS_BEFORE_PHASES + phase_columns(phases) + COLUMNS_AFTER_PHASES
        self.phases = phases
        with translation.override(language):
            self.columns = [(c.key, str(c.label), c.width, c.kind) for c in columns]
            self._doc_type = {k: str(v) for k, v in DocType.choices}
            self._category = {k: str(v) for k, v in Category.choices}
            self._state = {k: str(v) for k, v in EpisodeState.choices}
            self._phase = {k: str(v) for k, v in PHASE_LABELS.items()}
        # One schedule per kind of course (protocol, anchor, placement); a re-plan changes which
        # tests were due, not the phases' dates, so it costs no query here.
        self._schedules = Schedules()
        self._rows = self._generate(queryset)

    def __iter__(self) -> EpisodeExportRows:
        return self

    def __next__(self) -> dict:
        return next(self._rows)

    def _generate(self, queryset: QuerySet) -> Iterator[dict]:
        for e in queryset.iterator(chunk_size=CHUNK_SIZE):
            person = e.person
            row = {
                "episode": e.pk,
                "name": person.name,
                "doc_type": self._doc_type.get(person.doc_type, ""),
                "doc_number": person.doc_number if self.unmask else person.doc_number_masked,
                "category": self._category.get(e.category, e.category),
                "protocol": f"{e.protocol.code} v{e.protocol.version}" if e.protocol_id else "",
                "anchor_date": e.anchor_date,
                "placed_on": e.placed_on,
                "custodian": e.custodian.name if e.custodian_id else "",
                "pending_custodian": e.pending_custodian.name if e.pending_custodian_id else "",
                "expected_by": timezone.localtime(e.expected_by) if e.expected_by else None,
                "state": self._state.get(e.state, e.state),
                "release_on": e.release_on,
            }
            schedule = self._schedules.of(e)
            phases = schedule.phases if schedule is not None else ()
            for n in range(1, self.phases + 1):
                phase = phases[n - 1] if n <= len(phases) else None
                row[f"phase{n}"] = self._phase.get(phase.kind, phase.kind) if phase else ""
                row[f"phase{n}_start"] = phase.start if phase else None
                row[f"phase{n}_end"] = phase.end if phase else None
            yield row


def export_episodes(user, *, category: str = "", state: str = "", unmask: bool = False,
                    fmt: str = "") -> EpisodeExportRows:
    """The episodes ``user`` may see, of ``category`` and in ``state`` when given.

    Refused (PermissionDenied) without the export capability, and with
    ``unmask=True`` without the unmask capability. Writes the export's one
    audit row before returning.
    """
    require(user, Cap.EXPORT_PEOPLE)
    if unmask:
        require(user, Cap.UNMASK)
    rows = episodes_visible(user).select_related("person", "custodian", "pending_custodian", "protocol")
    filters = {"category": category, "state": state}
    if category:
        rows = rows.filter(category=category)
    if state:
        rows = rows.filter(state=state)
    rows = rows.order_by("pk")
    count = rows.count()
    episodes_export_record(actor=user, filters={k: v for k, v in filters.items() if v}, count=count,
                           unmasked=unmask, fmt=fmt)
    return EpisodeExportRows(rows, count=count, unmask=unmask, language=translation.get_language() or "zh-hans",
                             phases=most_phases())
