"""Reads of the registry, always through the user's scope."""

from __future__ import annotations

import re

from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import Http404

from closedloop.core.roles import Cap
from closedloop.core.scoping import jurisdiction_q, require
from closedloop.lib.identity import IdError, parse_resident_id
from closedloop.lib.text import clean_cell, fold_search
from closedloop.people.derive import document_hash
from closedloop.people.models import Household, MatchReview, Person

SORTS = {
    "name": "name_pinyin", "-name": "-name_pinyin", "birth": "birth_date", "-birth": "-birth_date",
    "created": "created_at", "-created": "-created_at", "town": "town__code", "-town": "-town__code",
}


def people_visible(user) -> QuerySet[Person]:
    require(user, Cap.VIEW_PEOPLE)
    return Person.objects.filter(jurisdiction_q(user))


def person_get(user, pk) -> Person:
    """One person, or 404 when it does not exist *or* is outside the user's scope."""
    person = people_visible(user).select_related("town", "community", "household").filter(pk=pk).first()
    if person is None:
        raise Http404
    return person


def search_q(text: str) -> Q:
    """Name, pinyin or initials, phone tail, or a whole document number (by its hash)."""
    text = clean_cell(text)
    if not text:
        return Q()
    compact = text.replace(" ", "")
    if re.fullmatch(r"\d{4}", compact):
        return Q(phone_tail=compact)
    if re.fullmatch(r"\d{17}[\dXx]", compact):
        try:
            number = parse_resident_id(compact).number
        except IdError:
            return Q(pk__in=[])
        return Q(id_hash=document_hash("resident_id", number))
    if re.fullmatch(r"1\d{10}", compact):
        return Q(phone=compact)
    if re.fullmatch(r"[A-Za-z0-9]{5,20}", compact) and any(ch.isdigit() for ch in compact):
        hashes = [document_hash(t, compact.upper()) for t in ("passport", "hk_macao_permit", "taiwan_permit", "other")]
        return Q(id_hash__in=hashes)
    folded = fold_search(compact)
    if folded.isascii():
        return Q(name_pinyin__startswith=folded) | Q(name_initials__startswith=folded)
    return Q(name__contains=compact)


def people_search(user, params) -> tuple[QuerySet[Person], dict]:
    rows = people_visible(user).select_related("town", "community")
    f = {k: (params.get(k) or "").strip() for k in ("q", "town", "community", "category", "flag", "sort")}
    if f["q"]:
        rows = rows.filter(search_q(f["q"]))
    if f["town"].isdigit():
        rows = rows.filter(town_id=int(f["town"]))
    if f["community"].isdigit():
        rows = rows.filter(community_id=int(f["community"]))
    if f["category"]:
        rows = rows.filter(episodes__status="open", episodes__category=f["category"])
    if f["flag"] in {"is_elderly", "is_child", "is_pregnant", "has_chronic_illness", "has_disability", "needs_medication"}:
        rows = rows.filter(**{f["flag"]: True})
    rows = rows.order_by(SORTS.get(f["sort"], "-created_at"), "-id")
    return rows, f


def households_visible(user) -> QuerySet[Household]:
    require(user, Cap.VIEW_PEOPLE)
    return Household.objects.filter(jurisdiction_q(user))


def reviews_visible(user) -> QuerySet[MatchReview]:
    require(user, Cap.VIEW_PEOPLE)
    return MatchReview.objects.filter(jurisdiction_q(user)).select_related("candidate", "import_run")


def page_size() -> int:
    return settings.PAGE_SIZE
