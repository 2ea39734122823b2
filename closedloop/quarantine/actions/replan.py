"""Adopting a new protocol version for the open episodes of a category (a policy change).

A preview says how many people move and to which release day; the
confirmation applies it in one transaction and one audit row, keeping what
each episode had before (``EpisodeReplan``). The new release day depends only
on the anchor date, so the work is one schedule per distinct anchor date and
one UPDATE per group, whatever the number of people.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from closedloop.core.audit import audit_record
from closedloop.core.roles import Cap
from closedloop.lib.schedule import compute
from closedloop.quarantine.models import Episode, EpisodeReplan, Protocol, Replan
from closedloop.quarantine.selectors import episodes_visible


@dataclass
class ReplanPreview:
    category: str
    protocol: Protocol
    today: date
    people: int = 0
    # (old release day, new release day) -> people
    moves: dict[tuple[date | None, date], int] = field(default_factory=dict)
    # new release day -> people; days up to today are "due now"
    by_new_day: dict[date, int] = field(default_factory=dict)

    @property
    def due_now(self) -> int:
        return sum(n for d, n in self.by_new_day.items() if d <= self.today)

    def due_on(self, day: date) -> int:
        return self.by_new_day.get(day, 0)

    def release_days_json(self) -> dict[str, int]:
        return {d.isoformat(): n for d, n in sorted(self.by_new_day.items())}


def _require(actor) -> None:
    if actor is not None and not actor.can(Cap.REPLAN):
        raise PermissionDenied(_("Only headquarters may adopt a protocol version for open episodes."))


def _affected(actor, category: str, protocol: Protocol):
    episodes = episodes_visible(actor) if actor is not None else Episode.objects.all()
    return episodes.filter(
        category=category, status="open", protocol__isnull=False, anchor_date__isnull=False
    ).exclude(protocol=protocol)


def replan_preview(*, category: str, protocol: Protocol, today: date, actor) -> ReplanPreview:
    _require(actor)
    if protocol.category != category:
        raise ValidationError(_("Protocol %(protocol)s is for another category.") % {"protocol": protocol})
    spec = protocol.spec()
    preview = ReplanPreview(category=category, protocol=protocol, today=today)
    groups = (
        _affected(actor, category, protocol).values("anchor_date", "release_on").annotate(n=Count("id"))
        .order_by("anchor_date", "release_on")
    )
    new_day: dict[date, date] = {}
    by_new: Counter = Counter()
    for g in groups:
        anchor = g["anchor_date"]
        if anchor not in new_day:
            new_day[anchor] = compute(spec, anchor=anchor).release_on
        preview.moves[(g["release_on"], new_day[anchor])] = g["n"]
        by_new[new_day[anchor]] += g["n"]
        preview.people += g["n"]
    preview.by_new_day = dict(sorted(by_new.items()))
    return preview


@transaction.atomic
def replan_apply(*, category: str, protocol: Protocol, today: date, actor, reason: str,
                 expected_people: int | None = None) -> Replan:
    """Move every affected episode to ``protocol``; refuse if the numbers changed since the preview."""
    _require(actor)
    if not reason.strip():
        raise ValidationError(_("Say why the protocol changes (the notice or decision it follows)."))
    preview = replan_preview(category=category, protocol=protocol, today=today, actor=actor)
    if expected_people is not None and expected_people != preview.people:
        raise ValidationError(_("The numbers changed since the preview (%(then)s people then, %(now)s now); "
                                "look at the preview again.") % {"then": expected_people, "now": preview.people})
    replan = Replan.objects.create(
        category=category, to_protocol=protocol, actor=actor if getattr(actor, "pk", None) else None,
        reason=reason, episodes=preview.people, release_days=preview.release_days_json(),
    )
    affected = _affected(actor, category, protocol)
    # What each episode had before, in one INSERT … SELECT (portable SQL, no rows through Python).
    ids_sql, params = affected.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {EpisodeReplan._meta.db_table} (replan_id, episode_id, old_protocol_id, old_release_on) "
            f"SELECT %s, e.id, e.protocol_id, e.release_on FROM {Episode._meta.db_table} e WHERE e.id IN ({ids_sql})",
            [replan.pk, *params],
        )
    spec = protocol.spec()
    anchors = list(affected.values_list("anchor_date", flat=True).distinct().order_by("anchor_date"))
    for anchor in anchors:
        day = compute(spec, anchor=anchor).release_on
        affected.filter(anchor_date=anchor).update(protocol=protocol, release_on=day)
    audit_record(
        actor=actor, action="episode.replan", target=replan, reason=reason,
        after={"category": category, "protocol": str(protocol), "episodes": preview.people,
               "release_days": preview.release_days_json()},
    )
    return replan

