"""The facility registry: a facility and the custodian it answers as, its status, settings and staff accounts."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from closedloop.core.audit import audit_record, diff
from closedloop.core.models import Jurisdiction
from closedloop.core.roles import Cap
from closedloop.facilities.choices import FacilityKind, FacilityStatus
from closedloop.facilities.models import Facility
from closedloop.lib.phones import PhoneError, parse_phone
from closedloop.quarantine.models import Custodian

# The fields a registry form may change; the kind, code and custodian never change.
EDITABLE = ("name", "jurisdiction", "other_city", "address", "contact_name", "contact_phone", "turnaround_hours",
            "allow_companions", "staff_test_every_days", "latitude", "longitude")


def _may_manage(actor) -> None:
    if actor is not None and not actor.can(Cap.MANAGE_FACILITIES):
        raise PermissionDenied(_("Only headquarters may register facilities and change their settings."))


# A pause or a close says why (it stops check-ins; headquarters reads the reason in the audit log).
REASON_NEEDED = frozenset({FacilityStatus.PAUSED, FacilityStatus.CLOSED})


def facility_check(facility: Facility) -> None:
    """The registry's rules on an unsaved facility; ValidationError by field."""
    if facility.contact_phone.strip():
        try:
            facility.contact_phone = parse_phone(facility.contact_phone)
        except PhoneError as exc:
            raise ValidationError({"contact_phone": exc.translated(gettext)}) from None
    if facility.kind == FacilityKind.OUT_OF_CITY_SITE and not facility.other_city.strip():
        raise ValidationError({"other_city": _("Say which city the site is in.")})
    if facility.jurisdiction is not None and facility.jurisdiction.city_id not in (facility.city_id, None) \
            and facility.jurisdiction_id != facility.city_id:
        raise ValidationError({"jurisdiction": _("The town or street must belong to the facility's city.")})
    try:
        facility.full_clean(exclude=["custodian", "members", "city"])
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from None


def _custodian_for(facility: Facility) -> Custodian:
    return Custodian.objects.create(kind=facility.kind, name=facility.name, code=f"facility-{facility.code}",
                                    city=facility.city, jurisdiction=facility.jurisdiction)


@transaction.atomic
def facility_create(*, kind: str, name: str, code: str, city: Jurisdiction, actor, jurisdiction=None,
                    status: str = FacilityStatus.PREPARING, **settings_) -> Facility:
    """Register a facility; it answers in the custody ledger through a custodian made with it."""
    _may_manage(actor)
    unknown = set(settings_) - set(EDITABLE)
    if unknown:
        raise TypeError(f"unknown facility fields: {sorted(unknown)}")
    if Facility.objects.filter(code=code).exists():
        raise ValidationError({"code": _("A facility with this code already exists.")})
    facility = Facility(kind=kind, name=name.strip(), code=code.strip(), city=city, jurisdiction=jurisdiction,
                        status=status, **settings_)
    facility_check(facility)
    facility.custodian = _custodian_for(facility)
    facility.custodian.active = status != FacilityStatus.CLOSED
    facility.custodian.save(update_fields=["active"])
    facility.save()
    audit_record(actor=actor, action="facility.create", target=facility,
                 after={"kind": kind, "code": code, "status": status})
    return facility


@transaction.atomic
def facility_update(*, facility: Facility, actor, **changes) -> Facility:
    _may_manage(actor)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise TypeError(f"facility fields that cannot change: {sorted(unknown)}")
    facility = Facility.objects.select_for_update().get(pk=facility.pk)
    before = {k: str(getattr(facility, k)) for k in changes}
    for k, v in changes.items():
        setattr(facility, k, v)
    facility_check(facility)
    facility.save(update_fields=list(changes))
    Custodian.objects.filter(pk=facility.custodian_id).update(name=facility.name, jurisdiction=facility.jurisdiction)
    old, new = diff(before, {k: str(getattr(facility, k)) for k in changes})
    if new:
        audit_record(actor=actor, action="facility.update", target=facility, before=old, after=new)
    return facility


@transaction.atomic
def facility_set_status(*, facility: Facility, status: str, actor, reason: str = "") -> Facility:
    """Open, pause or close a facility. A closed one holds nobody and takes nobody."""
    _may_manage(actor)
    if status not in FacilityStatus.values:
        raise ValidationError(_("Unknown status."))
    if status in REASON_NEEDED and not reason.strip():
        raise ValidationError({"reason": _("Say why the site is paused or closed.")})
    facility = Facility.objects.select_for_update().get(pk=facility.pk)
    if status == FacilityStatus.CLOSED and facility.stays.filter(checked_out_at__isnull=True).exists():
        raise ValidationError(_("People still stay here; check them out before closing the facility."))
    before = facility.status
    facility.status = status
    facility.save(update_fields=["status"])
    Custodian.objects.filter(pk=facility.custodian_id).update(active=status != FacilityStatus.CLOSED)
    audit_record(actor=actor, action="facility.status", target=facility, before={"status": before},
                 after={"status": status}, reason=reason)
    return facility


@transaction.atomic
def facility_member_add(*, facility: Facility, user, actor) -> Facility:
    """Give a staff account the facility (it then sees the facility whatever its jurisdictions)."""
    _may_manage(actor)
    facility.members.add(user)
    audit_record(actor=actor, action="facility.member_add", target=facility, after={"user": user.username})
    return facility
