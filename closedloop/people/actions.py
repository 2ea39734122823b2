"""Every write to the person registry (the import writes through ``importing.commit``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from closedloop.core.audit import audit_record, diff
from closedloop.core.models import Jurisdiction
from closedloop.core.roles import Cap
from closedloop.core.scoping import in_scope, require
from closedloop.people.choices import FLAGS, ReviewStatus
from closedloop.people.derive import derive
from closedloop.people.models import Household, MatchReview, Person, PersonContactHistory

# Fields whose old value is kept when a newer source replaces it.
CONTACT_FIELDS = ("phone", "phone_other", "address", "employer", "employer_uscc", "town_id", "community_id")
PII_FIELDS = {"doc_number", "phone", "phone_other", "address"}


@dataclass
class PersonData:
    """A person's registrable fields, already validated (see ``validation``)."""

    name: str
    city: Jurisdiction
    town: Jurisdiction | None = None
    community: Jurisdiction | None = None
    doc_type: str = ""
    doc_number: str = ""
    sex: str = ""
    birth_date: date | None = None
    phone: str = ""
    phone_other: str = ""
    address: str = ""
    employer: str = ""
    employer_uscc: str = ""
    notes: str = ""
    flags: dict[str, bool] = field(default_factory=dict)
    is_synthetic: bool = False


def audit_view(person: Person) -> dict:
    """A person as the audit log keeps it: personal data masked."""
    return {
        "name": person.name,
        "doc_type": person.doc_type,
        "doc_number": person.doc_number_masked,
        "sex": person.sex,
        "birth_date": person.birth_date.isoformat() if person.birth_date else None,
        "phone": person.phone_masked,
        "address": "***" if person.address else "",
        "town_id": person.town_id,
        "community_id": person.community_id,
        "household_id": person.household_id,
        "employer": person.employer,
        **{f: getattr(person, f) for f, _label in FLAGS},
    }


def _check_place(actor, town, community) -> None:
    if community is not None and town is not None and community.parent_id != town.pk:
        raise ValidationError({"community": _("This community is not in the chosen town or street.")})
    if actor is not None and not in_scope(
        actor,
        city_id=(town.city_id if town else None),
        town_id=town.pk if town else None,
        community_id=community.pk if community else None,
    ):
        raise PermissionDenied(_("You may only register people of your own jurisdiction."))


def _apply(person: Person, data: PersonData) -> None:
    for name in ("name", "city", "town", "community", "doc_type", "doc_number", "sex", "birth_date", "phone",
                 "phone_other", "address", "employer", "employer_uscc", "notes", "is_synthetic"):
        setattr(person, name, getattr(data, name))
    for flag, _label in FLAGS:
        setattr(person, flag, bool(data.flags.get(flag, False)))


@transaction.atomic
def person_register(*, data: PersonData, household: Household | None = None, actor, reason: str = "") -> Person:
    if actor is not None:
        require(actor, Cap.EDIT_PEOPLE)
    if data.town is None and data.community is not None:
        data.town = data.community.parent
    _check_place(actor, data.town, data.community)
    person = Person(household=household)
    _apply(person, data)
    derive(person, timezone.localdate())
    if person.id_hash and Person.objects.filter(id_hash=person.id_hash).exists():
        raise ValidationError({"doc_number": _("A person with this document number is already registered.")})
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError:
        raise ValidationError({"doc_number": _("A person with this document number is already registered.")}) from None
    audit_record(actor=actor, action="person.register", target=person, after=audit_view(person), reason=reason)
    return person


@transaction.atomic
def person_update(*, person: Person, data: PersonData, actor, reason: str = "", source: str = "") -> Person:
    if actor is not None:
        require(actor, Cap.EDIT_PEOPLE)
    if data.town is None and data.community is not None:
        data.town = data.community.parent
    _check_place(actor, data.town, data.community)
    person = Person.objects.select_for_update().get(pk=person.pk)
    before = audit_view(person)
    old = {f: getattr(person, f) for f in CONTACT_FIELDS}
    _apply(person, data)
    derive(person, timezone.localdate())
    if person.id_hash and Person.objects.filter(id_hash=person.id_hash).exclude(pk=person.pk).exists():
        raise ValidationError({"doc_number": _("A person with this document number is already registered.")})
    person.save()
    history_record(person, old, source or f"user:{getattr(actor, 'username', 'system')}")
    b, a = diff(before, audit_view(person))
    audit_record(actor=actor, action="person.update", target=person, before=b, after=a, reason=reason)
    return person


def history_record(person: Person, old: dict, source: str, *, save: bool = True) -> list[PersonContactHistory]:
    rows = [
        PersonContactHistory(
            person=person, field=f.removesuffix("_id"), old_value=str(old[f] or ""),
            new_value=str(getattr(person, f) or ""), source=source[:120],
        )
        for f in CONTACT_FIELDS
        if old[f] and old[f] != getattr(person, f)
    ]
    if save and rows:
        PersonContactHistory.objects.bulk_create(rows)
    return rows


@transaction.atomic
def household_create(*, members: list[Person], address: str = "", actor) -> Household:
    if actor is not None:
        require(actor, Cap.EDIT_PEOPLE)
    if not members:
        raise ValidationError(_("A household needs at least one member."))
    head = members[0]
    household = Household.objects.create(
        city=head.city, town=head.town, community=head.community, address=address or head.address
    )
    Person.objects.filter(pk__in=[m.pk for m in members]).update(household=household)
    audit_record(actor=actor, action="household.create", target=household, after={"members": [m.pk for m in members]})
    return household


@transaction.atomic
def household_set_members(*, household: Household, members: list[Person], actor, reason: str = "") -> Household:
    require(actor, Cap.EDIT_PEOPLE)
    before = sorted(household.members.values_list("pk", flat=True))
    Person.objects.filter(household=household).exclude(pk__in=[m.pk for m in members]).update(household=None)
    Person.objects.filter(pk__in=[m.pk for m in members]).update(household=household)
    audit_record(
        actor=actor, action="household.set_members", target=household,
        before={"members": before}, after={"members": sorted(m.pk for m in members)}, reason=reason,
    )
    return household


def person_unmask(*, person: Person, field: str, actor, reason: str = "") -> str:
    """The full value of a masked field. The viewing itself is audited."""
    require(actor, Cap.UNMASK)
    if field not in PII_FIELDS:
        raise ValueError(field)
    with transaction.atomic():
        audit_record(actor=actor, action="person.unmask", target=person, after={"field": field}, reason=reason)
    return getattr(person, field)


@transaction.atomic
def review_decide(*, review: MatchReview, decision: str, actor, reason: str = "") -> MatchReview:
    """Settle a possible match: the same person (update them), a different one (register), or dismiss."""
    from closedloop.people.importing.commit import apply_review_decision

    require(actor, Cap.DECIDE_MATCHES)
    updated = MatchReview.objects.filter(pk=review.pk, status=ReviewStatus.OPEN).update(
        status=decision, decided_by=actor, decided_at=timezone.now()
    )
    if not updated:
        raise ValidationError(_("This match has already been decided by someone else."))
    review.refresh_from_db()
    apply_review_decision(review, actor=actor)
    audit_record(actor=actor, action="review.decide", target_type="matchreview", target_id=str(review.pk),
                 target_label=review.candidate.name, after={"decision": decision}, reason=reason)
    return review
