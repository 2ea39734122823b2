"""JSON API of the out-of-city registry (mounted by transfers.api at ``/api/v1/transfers``).

The conventions of the closed loop's API: reads go through ``away_selectors`` (a record outside the
caller's reach is 404, like one that does not exist); the role is checked next (403); bad input is 422
with ``{"detail": [{"field", "message"}]}``; a move that another desk's hand-over beat is 409.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router

from closedloop.core.roles import Cap
from closedloop.core.scoping import require
from closedloop.facilities.models import Facility
from closedloop.people.api import MAX_PAGE_SIZE, NotFound, _whole_number, answers
from closedloop.people.schemas import ErrorOut, FieldErrorsOut, InputError, load, openapi_body
from closedloop.quarantine.actions import CustodyConflict
from closedloop.transfers import away_selectors as sel
from closedloop.transfers.actions import away_report
from closedloop.transfers.away_schemas import AwayPage, AwayRecordOut, AwayReportIn, HeadlineOut

router = Router(tags=["out of the city"])

_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: FieldErrorsOut}
_ACTION_ERRORS = {**_ERRORS, 409: ErrorOut}

_answers = answers(not_found=lambda: _("No such resident out of the city."), conflicts=(CustodyConflict,))


def _detail(user, pk: int):
    record = sel.away_get(user, pk)
    if record is None:
        raise NotFound(_("No such resident out of the city."))
    return record


@router.get(
    "/headline",
    response={200: HeadlineOut, **_ERRORS},
    summary="How many of ours are still out of the city",
    description="People of the caller's jurisdictions still out of the city (held by a site in another city, or "
    "on the way home and not home yet): in all, by origin city and site, by home town, by readiness (now, "
    "tomorrow, later, unknown, positive, on_the_way as of today), and the adopted return plan's last arrival "
    "with the bound no plan can beat.",
)
@_answers
def headline(request):
    return sel.headline(request.user, timezone.localdate())


@router.get(
    "/away",
    response={200: AwayPage, **_ERRORS},
    summary="List residents out of the city",
    description="Records of the caller's jurisdictions, still out of the city unless ``all`` is 1, personal data "
    "masked. ``q`` a name, its pinyin or initials, or a whole ID number; ``city`` the other city as its sites "
    "name it (杭州市); ``site`` a site's id; ``town`` a home town's id; ``readiness`` one of "
    f"{', '.join(sel.READINESS)}; ``status`` one of isolated, released, positive, moved, home; ``sort`` one of "
    f"{', '.join(sel.SORTS)} (a leading - reverses; release day by default). At most {MAX_PAGE_SIZE} a page.",
)
@_answers
def away_list(request, q: str = "", city: str = "", site: str = "", town: str = "", readiness: str = "",
              status: str = "", all: str = "", sort: str = "", page: str = "1", page_size: str = ""):  # noqa: A002
    require(request.user, Cap.VIEW_PEOPLE)  # the role is checked before the input
    filters, errors = sel.parse_filters({"q": q, "city": city, "site": site, "town": town, "readiness": readiness,
                                         "status": status, "all": all, "sort": sort})
    numbers = {}
    for field, raw, default, maximum in (("page", page, 1, None),
                                         ("page_size", page_size, settings.PAGE_SIZE, MAX_PAGE_SIZE)):
        try:
            numbers[field] = _whole_number(field, raw, default, maximum)
        except InputError as exc:
            errors += exc.errors
    if errors:
        raise InputError(errors)
    rows = sel.away_search(request.user, filters, timezone.localdate())
    number, size = numbers["page"], numbers["page_size"]
    start = (number - 1) * size
    return {"count": rows.count(), "page": number, "page_size": size, "items": list(rows[start:start + size])}


@router.get(
    "/away/{int:record_id}",
    response={200: AwayRecordOut, **_ERRORS},
    summary="One resident out of the city",
)
@_answers
def away_detail(request, record_id: int):
    require(request.user, Cap.VIEW_PEOPLE)
    return _detail(request.user, record_id)


@router.post(
    "/away/{int:record_id}/report",
    response={200: AwayRecordOut, **_ACTION_ERRORS},
    summary="Record what the other city reports",
    description="isolated (with a new release day, perhaps), released, positive, or moved (``origin``: the site "
    "there they were moved to; a hand-over in the custody ledger). Needs the hand-over capability. A person "
    "no longer held by the site there (on the way home, brought home) cannot be reported on: 422.",
    openapi_extra=openapi_body(AwayReportIn),
)
@_answers
def away_report_api(request, record_id: int):
    require(request.user, Cap.VIEW_PEOPLE)
    record = _detail(request.user, record_id)
    if not request.user.can(Cap.HANDOVER):
        raise PermissionDenied(Cap.HANDOVER)
    body = load(AwayReportIn, request.body or b"{}")
    origin = None
    if body.origin is not None:
        origin = Facility.objects.filter(pk=body.origin, city_id__in=sel.user_city_ids(request.user)).first()
        if origin is None:
            raise InputError.one("origin", _("No such site in another city."))
    away_report(record=record, status=body.status, release_on=body.release_on, origin=origin, note=body.note,
                actor=request.user)
    return _detail(request.user, record_id)
