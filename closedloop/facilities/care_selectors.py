"""Reads of care requests: who may see which, the list with its filters, a site's open and overdue
requests, the headquarters figures. Fixed query counts whatever the number of rows.

Scope (``care_in_reach`` and its queryset twin ``care_requests_visible``): a request is in a user's reach
when its episode is (``worklists.episodes_reachable``: the person lives in the user's jurisdiction, or the
custodian holding them — or, in transit, expecting them — lies in it), or when the custodian the request
was recorded for lies in it: that custodian answers for the request until it is closed, even after the
person has moved on.

A custodian's work list shows the open requests recorded for it and those of the people it holds now,
wherever they were recorded, so a hand-over never hides a need from the side that has the person.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from closedloop.core.roles import Cap
from closedloop.core.scoping import require
from closedloop.facilities.choices import CareKind, CareStatus
from closedloop.facilities.models import CareRequest, Facility
from closedloop.facilities.selectors import facilities_visible
from closedloop.people.models import Person
from closedloop.people.selectors import search_q
from closedloop.quarantine import states
from closedloop.quarantine.actions.custody import custodian_in_scope, in_reach
from closedloop.quarantine.choices import CustodianKind
from closedloop.quarantine.models import Custodian, Episode
from closedloop.quarantine.worklists import custodians_visible, episodes_reachable

# In custody, or in transit (the giver answers for the person until the receiver confirms).
HELD_STATES = (states.IN_CUSTODY, states.IN_TRANSIT)
# What a row of any care list reads in the same query.
ROW_RELATED = ("episode__person", "episode__custodian", "facility", "custodian", "created_by", "closed_by")
HOME = "home"  # the "where" filter for requests recorded under home custody
STATUS_ALL = "all"
SORTS = {"due": ("due_at", "pk"), "-due": ("-due_at", "-pk"), "created": ("created_at", "pk"),
         "-created": ("-created_at", "-pk")}
HQ_OVERDUE_SHOWN = 20


# --- scope ----------------------------------------------------------------------------------------

def care_in_reach(user, episode: Episode, recorded_for: Custodian | None = None) -> bool:
    """The Python twin of ``care_requests_visible`` for one episode (and the custodian a request names)."""
    if in_reach(user, episode):
        return True
    if episode.state == states.IN_TRANSIT and custodian_in_scope(user, episode.pending_custodian):
        return True
    return recorded_for is not None and custodian_in_scope(user, recorded_for)


def care_requests_visible(user) -> QuerySet[CareRequest]:
    require(user, Cap.CARE)
    return CareRequest.objects.filter(
        Q(episode__in=episodes_reachable(user).values("pk")) | Q(custodian__in=custodians_visible(user).values("pk"))
    )


def care_get(user, pk) -> CareRequest:
    """One request in the user's reach, or 404 (also when it does not exist)."""
    care = (
        care_requests_visible(user)
        .select_related(*ROW_RELATED, "episode__person__town", "episode__person__community",
                        "episode__custodian__jurisdiction", "episode__pending_custodian", "custodian__jurisdiction")
        .filter(pk=pk).first()
    )
    if care is None:
        raise Http404
    return care


def episode_for_care(user, pk) -> Episode:
    """An episode the user may record a request for (in their reach), or 404."""
    require(user, Cap.CARE)
    episode = (
        episodes_reachable(user)
        .select_related("person__town", "person__community", "custodian__jurisdiction",
                        "pending_custodian__jurisdiction")
        .filter(pk=pk).first()
    )
    if episode is None:
        raise Http404
    return episode


# --- the list ------------------------------------------------------------------------------------

@dataclass
class CareFilters:
    q: str = ""
    status: str = CareStatus.OPEN  # open, closed or all
    kind: str = ""
    overdue: bool = False
    urgent: bool = False
    where: str = ""  # a facility's id, "home", or empty for anywhere
    sort: str = "due"

    @property
    def narrowed(self) -> bool:
        """Anything but the default view (all open requests, soonest due first)."""
        return bool(self.q or self.kind or self.overdue or self.urgent or self.where
                    or self.status != CareStatus.OPEN)


def parse_filters(params) -> tuple[CareFilters, list[dict]]:
    """The list's filters from a query (a QueryDict or a dict), and ``{"field", "message"}`` for bad values.

    A bad value is left out of the filters: the page shows the list without it, the API refuses it.
    """
    def get(name: str) -> str:
        return (params.get(name) or "").strip()

    f, errors = CareFilters(), []
    f.q = get("q")[:60]
    status = get("status")
    if status in (CareStatus.OPEN, CareStatus.CLOSED, STATUS_ALL):
        f.status = status
    elif status:
        errors.append({"field": "status", "message": _("Use one of: %(choices)s.") % {
            "choices": ", ".join([CareStatus.OPEN, CareStatus.CLOSED, STATUS_ALL])}})
    kind = get("kind")
    if kind in CareKind.values:
        f.kind = kind
    elif kind:
        errors.append({"field": "kind", "message": _("Use one of: %(choices)s.") % {
            "choices": ", ".join(CareKind.values)}})
    for name in ("overdue", "urgent"):
        value = get(name).lower()
        if value in ("1", "true", "yes"):
            setattr(f, name, True)
        elif value not in ("", "0", "false", "no"):
            errors.append({"field": name, "message": _("Use true or false.")})
    where = get("where")
    if where == HOME or where.isdigit():
        f.where = where
    elif where:
        errors.append({"field": "where", "message": _('Give a facility\'s id, or "home".')})
    sort = get("sort")
    if sort in SORTS:
        f.sort = sort
    elif sort:
        errors.append({"field": "sort", "message": _("Use one of: %(choices)s.") % {"choices": ", ".join(SORTS)}})
    return f, errors


def overdue_q(now: dt.datetime) -> Q:
    return Q(status=CareStatus.OPEN, due_at__lt=now)


def care_search(user, f: CareFilters, now: dt.datetime) -> QuerySet[CareRequest]:
    """The requests in the user's reach that match the filters, in the order asked for."""
    rows = care_requests_visible(user)
    if f.q:
        rows = rows.filter(episode__person__in=Person.objects.filter(search_q(f.q)).values("pk"))
    if f.status != STATUS_ALL:
        rows = rows.filter(status=f.status)
    if f.kind:
        rows = rows.filter(kind=f.kind)
    if f.overdue:
        rows = rows.filter(overdue_q(now))
    if f.urgent:
        rows = rows.filter(urgent=True)
    if f.where == HOME:
        rows = rows.filter(custodian__kind=CustodianKind.HOME_COMMUNITY)
    elif f.where:
        rows = rows.filter(facility_id=int(f.where))
    return rows.select_related(*ROW_RELATED).order_by(*SORTS[f.sort])


def mark_late(rows, now: dt.datetime) -> list[CareRequest]:
    """Each row's ``late`` (how long past its deadline while open; None otherwise)."""
    rows = list(rows)
    for row in rows:
        row.late = now - row.due_at if row.status == CareStatus.OPEN and row.due_at < now else None
    return rows


def places_for_filter(user) -> list[Facility]:
    """The facilities the list's "where" filter offers: those the user sees."""
    return list(facilities_visible(user).order_by("name", "pk"))


# --- a custodian's work list ---------------------------------------------------------------------

@dataclass
class CareWork:
    """The open requests a custodian (or a community's home custody) must see: overdue first."""

    now: dt.datetime
    custodian_ids: list[int]
    overdue: list[CareRequest] = field(default_factory=list)
    due: list[CareRequest] = field(default_factory=list)  # open, deadline not passed yet

    @property
    def count(self) -> int:
        return len(self.overdue) + len(self.due)


def open_for_custodians(custodian_ids: list[int], now: dt.datetime) -> CareWork:
    """One query. Each row says where the person is now: ``moved_on`` (recorded here, the person held by
    another custodian now) or ``recorded_elsewhere`` (a person held here, the request recorded by another)."""
    ids = list(custodian_ids)
    work = CareWork(now=now, custodian_ids=ids)
    if not ids:
        return work
    rows = (
        CareRequest.objects.filter(status=CareStatus.OPEN)
        .filter(Q(custodian_id__in=ids) | Q(episode__custodian_id__in=ids, episode__state__in=HELD_STATES))
        .select_related(*ROW_RELATED)
        .order_by("due_at", "pk")
    )
    for row in mark_late(rows, now):
        held = row.episode.state in HELD_STATES
        row.moved_on = held and row.episode.custodian_id not in ids
        row.recorded_elsewhere = row.custodian_id not in ids
        (work.overdue if row.late is not None else work.due).append(row)
    return work


def open_for_custodian(custodian: Custodian, now: dt.datetime) -> CareWork:
    return open_for_custodians([custodian.pk], now)


# --- headquarters ------------------------------------------------------------------------------

@dataclass
class KindFigures:
    kind: str
    label: str
    open: int = 0
    overdue: int = 0
    urgent: int = 0


@dataclass
class HqCare:
    now: dt.datetime
    kinds: list[KindFigures]
    overdue: list[CareRequest]  # the longest overdue first, at most HQ_OVERDUE_SHOWN

    @property
    def open_count(self) -> int:
        return sum(k.open for k in self.kinds)

    @property
    def overdue_count(self) -> int:
        return sum(k.overdue for k in self.kinds)

    @property
    def urgent_count(self) -> int:
        return sum(k.urgent for k in self.kinds)

    @property
    def more_overdue(self) -> int:
        return self.overdue_count - len(self.overdue)


def headquarters_open(user, now: dt.datetime, shown: int = HQ_OVERDUE_SHOWN) -> HqCare:
    """Open requests in the user's reach by need (open, overdue, urgent) and the longest overdue: two queries."""
    open_rows = care_requests_visible(user).filter(status=CareStatus.OPEN)
    counted = {
        row["kind"]: row
        for row in open_rows.values("kind").annotate(
            n=Count("id"), late=Count("id", filter=Q(due_at__lt=now)), urgent_n=Count("id", filter=Q(urgent=True)))
    }
    kinds = [
        KindFigures(kind=value, label=str(label), open=counted.get(value, {}).get("n", 0),
                    overdue=counted.get(value, {}).get("late", 0), urgent=counted.get(value, {}).get("urgent_n", 0))
        for value, label in CareKind.choices
    ]
    overdue = mark_late(
        open_rows.filter(due_at__lt=now).select_related(*ROW_RELATED).order_by("due_at", "pk")[:shown], now
    )
    return HqCare(now=now, kinds=kinds, overdue=overdue)
