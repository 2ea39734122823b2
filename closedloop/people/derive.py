"""Fields derived from what a person is registered with: one place for each rule,
used by the form actions and by the bulk import alike."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

from django.conf import settings

from closedloop.lib.identity import id_hash
from closedloop.lib.phones import phone_tail
from closedloop.lib.text import fold_search, name_pinyin
from closedloop.people.choices import CHILD_AGE, ELDERLY_AGE


def document_hash(doc_type: str, number: str) -> str | None:
    if not doc_type or not number:
        return None
    return id_hash(settings.ID_HASH_KEY, doc_type, number)


def no_id_key(name: str, phone: str, birth_date: date | None) -> str:
    """Recognises the same undocumented person in a re-import (never used to merge)."""
    material = f"{fold_search(name)}|{phone}|{birth_date or ''}".encode()
    return hmac.new(settings.ID_HASH_KEY, material, hashlib.sha256).hexdigest()[:32]


def age_on(birth_date: date, today: date) -> int:
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def derive(person, today: date) -> None:
    """Fill the derived fields of a Person instance in place."""
    person.name_pinyin, person.name_initials = name_pinyin(person.name)
    person.id_hash = document_hash(person.doc_type, person.doc_number)
    person.phone_tail = phone_tail(person.phone) if person.phone else ""
    person.no_id_key = "" if person.doc_number else no_id_key(person.name, person.phone, person.birth_date)
    if person.birth_date:
        age = age_on(person.birth_date, today)
        # Age only ever adds the flag: a clerk may have set it for another reason.
        person.is_elderly = person.is_elderly or age >= ELDERLY_AGE
        person.is_child = person.is_child or age < CHILD_AGE
