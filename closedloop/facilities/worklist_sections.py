"""What the facilities app adds to the work lists and the headquarters alerts page
(registered in ``FacilitiesConfig.ready`` through ``quarantine.worklist_extras``)."""

from __future__ import annotations

from closedloop.core.roles import Cap
from closedloop.facilities import care_selectors
from closedloop.facilities.models import Facility
from closedloop.facilities.staff_worklist import staff_worklist
from closedloop.quarantine import worklist_extras as extras


def _care_site(user, custodian, wl, now):
    if not user.can(Cap.CARE):
        return None
    return {"care_work": care_selectors.open_for_custodian(custodian, now)}


def _care_community(user, community, wl, now):
    if not user.can(Cap.CARE):
        return None
    return {"care_work": care_selectors.open_for_custodians([c.pk for c in wl.custodians], now)}


def _care_headquarters(user, _subject, _wl, now):
    if not user.can(Cap.CARE):
        return None
    return {"care_hq": care_selectors.headquarters_open(user, now)}


def _staff_site(user, custodian, wl, now):
    facility = Facility.objects.filter(custodian=custodian).first()
    if facility is None:
        return None
    return {"staff_wl": staff_worklist(facility, wl.day)}


def register() -> None:
    extras.add_section(extras.SITE, "facilities/staff_worklist_section.html", _staff_site)
    extras.add_section(extras.SITE, "facilities/care_worklist_section.html", _care_site)
    extras.add_section(extras.COMMUNITY, "facilities/care_worklist_section.html", _care_community)
    extras.add_section(extras.HEADQUARTERS, "facilities/care_hq_section.html", _care_headquarters)
