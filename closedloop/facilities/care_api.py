"""JSON API of care requests (mounted by facilities.api at ``/api/v1/sites/care``).

The conventions of the closed loop's API: reads go through ``care_selectors`` (a request or an episode
outside the caller's reach is 404, like one that does not exist); the role is checked next (403 without
the care capability); bad input is 422 with ``{"detail": [{"field", "message"}]}``; closing a request
that is closed already — by another desk, perhaps at the same moment — is 409 and changes nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Status

from closedloop.facilities import care_selectors as cs
from closedloop.facilities.actions.care import CareConflict, care_request_close, care_request_create
from closedloop.facilities.care_schemas import CareCloseIn, CareCreateIn, CareRequestOut, CareRequestsPage
from closedloop.facilities.choices import CareKind
from closedloop.people.api import MAX_PAGE_SIZE, NotFound, _whole_number, answers
from closedloop.people.schemas import ErrorOut, FieldErrorsOut, InputError, load, openapi_body

router = Router(tags=["care requests"])

_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: FieldErrorsOut}
_ACTION_ERRORS = {**_ERRORS, 409: ErrorOut}


_answers = answers(not_found=lambda: _("No such care request."), conflicts=(CareConflict,))


def _detail(user, pk: int):
    try:
        return cs.care_get(user, pk)
    except Http404:
        raise NotFound(_("No such care request.")) from None


@router.get(
    "",
    response={200: CareRequestsPage, **_ERRORS},
    summary="List care requests",
    description="Care requests in the caller's reach (the person, the custodian holding them, or the custodian "
    "the request was recorded for lies in the caller's jurisdictions). ``q`` a name, its pinyin or initials; "
    "``status`` open (the default), closed or all; ``kind`` one of "
    f"{', '.join(CareKind.values)}; ``overdue`` and ``urgent`` true or false; ``where`` a facility's id, or "
    "home (recorded under home custody); ``sort`` due (the default), -due, created or -created. "
    f"At most {MAX_PAGE_SIZE} a page.",
)
@_answers
def care_list(request, q: str = "", status: str = "", kind: str = "", overdue: str = "", urgent: str = "",
              where: str = "", sort: str = "", page: str = "1", page_size: str = ""):
    now = timezone.now()
    filters, errors = cs.parse_filters({"q": q, "status": status, "kind": kind, "overdue": overdue,
                                        "urgent": urgent, "where": where, "sort": sort})
    rows = cs.care_search(request.user, filters, now)  # the role is checked before the input
    numbers = {}
    for field, raw, default, maximum in (("page", page, 1, None),
                                         ("page_size", page_size, settings.PAGE_SIZE, MAX_PAGE_SIZE)):
        try:
            numbers[field] = _whole_number(field, raw, default, maximum)
        except InputError as exc:
            errors += exc.errors
    if errors:
        raise InputError(errors)
    number, size = numbers["page"], numbers["page_size"]
    start = (number - 1) * size
    return {"count": rows.count(), "page": number, "page_size": size, "items": list(rows[start:start + size])}


@router.post(
    "",
    response={201: CareRequestOut, **_ERRORS},
    summary="Record a care request",
    description="For a person under control (in custody, or in transit: the giver answers until the receiver "
    "confirms). The deadline is CARE_URGENT_HOURS (urgent) or CARE_ANSWER_HOURS from now. Needs the care "
    "capability and the person or their custodian in the caller's jurisdictions.",
    openapi_extra=openapi_body(CareCreateIn),
)
@_answers
def care_create(request):
    body = load(CareCreateIn, request.body or b"{}")
    try:
        episode = cs.episode_for_care(request.user, body.episode)
    except Http404:
        raise NotFound(_("No such episode.")) from None
    care = care_request_create(episode=episode, kind=body.kind, detail=body.detail, urgent=body.urgent,
                               actor=request.user)
    return Status(201, _detail(request.user, care.pk))


@router.get(
    "/{int:care_id}",
    response={200: CareRequestOut, **_ERRORS},
    summary="One care request",
)
@_answers
def care_detail(request, care_id: int):
    return _detail(request.user, care_id)


@router.post(
    "/{int:care_id}/close",
    response={200: CareRequestOut, **_ACTION_ERRORS},
    summary="Close a care request",
    description="With what was done. A request closed already is 409.",
    openapi_extra=openapi_body(CareCloseIn),
)
@_answers
def care_close(request, care_id: int):
    care = _detail(request.user, care_id)
    body = load(CareCloseIn, request.body or b"{}")
    care_request_close(request=care, outcome=body.outcome, actor=request.user)
    return _detail(request.user, care_id)
