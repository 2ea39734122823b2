"""The person registry's JSON API: ``/api/v1/people``.

Every read goes through the scoped selectors, so a person outside the caller's
jurisdictions is answered 404, exactly like one that does not exist. Personal
data is masked; ``/unmask`` returns one full value and audits it.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Router, Status

from closedloop.core.models import Jurisdiction
from closedloop.core.roles import Cap
from closedloop.core.scoping import require
from closedloop.lib import identity
from closedloop.lib.categories import CategoryError, parse_category
from closedloop.people.actions import person_register, person_unmask, person_update
from closedloop.people.derive import document_hash
from closedloop.people.exports import with_open_episode
from closedloop.people.schemas import (
    FLAG_NAMES,
    ErrorOut,
    FieldErrorsOut,
    InputError,
    PeoplePage,
    PersonDetailOut,
    PersonIn,
    PersonPatch,
    UnmaskIn,
    UnmaskOut,
    data_of,
    load,
    openapi_body,
    person_data,
)
from closedloop.people.selectors import people_search, people_visible, person_get
from closedloop.quarantine.choices import Category

router = Router(tags=["people"])

MAX_PAGE_SIZE = 200
_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: FieldErrorsOut}


def _refusal(exc: PermissionDenied) -> str:
    text = str(exc)
    if text in Cap.values:
        return _("Your role does not allow this: %(what)s.") % {"what": Cap(text).label}
    return text or _("You may not do this.")


def _answers(func):
    """Turn the refusals of selectors and actions into the API's error bodies."""

    @wraps(func)
    def wrapper(request, *args, **kwargs):
        try:
            return func(request, *args, **kwargs)
        except InputError as exc:
            return Status(422, {"detail": exc.errors})
        except DjangoValidationError as exc:
            return Status(422, {"detail": InputError.from_django(exc).errors})
        except PermissionDenied as exc:
            return Status(403, {"detail": _refusal(exc)})
        except Http404:
            return Status(404, {"detail": _("No such person.")})

    return wrapper


class NotFound(Http404):
    """A 404 whose message is the sentence to answer."""


def answers(*, not_found, conflicts: tuple[type[Exception], ...] = ()):
    """``_answers`` for another domain's router: its 404 sentence (``not_found()``, unless a ``NotFound``
    says more) and 409 for its conflicts with another desk (``exc.messages``)."""

    def decorate(func):
        @wraps(func)
        def wrapper(request, *args, **kwargs):
            try:
                return func(request, *args, **kwargs)
            except conflicts as exc:
                return Status(409, {"detail": " ".join(exc.messages)})
            except Http404 as exc:
                message = str(exc) if isinstance(exc, NotFound) and str(exc) else not_found()
                return Status(404, {"detail": message})

        return _answers(wrapper)

    return decorate


def _whole_number(field: str, raw: str, default: int, maximum: int | None = None) -> int:
    raw = (raw or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1 or (maximum is not None and int(raw) > maximum):
        if maximum is None:
            raise InputError.one(field, _("Write a whole number of 1 or more."))
        raise InputError.one(field, _("Write a whole number from 1 to %(max)s.") % {"max": maximum})
    return int(raw)


def _code_to_id(field: str, code: str, level: str) -> str:
    code = code.strip()
    if not code:
        return ""
    pk = Jurisdiction.objects.filter(code=code, level=level).values_list("pk", flat=True).first()
    if pk is None:
        if level == Jurisdiction.Level.TOWN:
            message = _("No town or street has the code %(code)s.")
        else:
            message = _("No village or community has the code %(code)s.")
        raise InputError.one(field, message % {"code": code})
    return str(pk)


def _detail(user, pk: int):
    """One person with the open episode's category and anchor date, or 404."""
    person = person_get(user, pk)
    episode = person.episodes.filter(status="open").values_list("category", "anchor_date").first()
    person.open_category, person.open_anchor_date = episode or (None, None)
    return person


@router.get(
    "",
    response={200: PeoplePage, **_ERRORS},
    summary="Search people",
    description="People of the caller's jurisdictions, newest first, with masked ID numbers and phones. "
    "``q`` matches a name, its pinyin or initials, the last 4 digits of a phone, a whole phone "
    "or a whole document number. ``town`` and ``community`` are codes; ``category`` is that of the "
    f"open episode; ``flag`` one of {', '.join(FLAG_NAMES)}. At most {MAX_PAGE_SIZE} a page.",
)
@_answers
def people_list(
    request, q: str = "", town: str = "", community: str = "", category: str = "", flag: str = "",
    sort: str = "", page: str = "1", page_size: str = "",
):
    errors = []
    params = {"q": q, "sort": sort}
    checks = {
        "page": lambda: _whole_number("page", page, 1),
        "page_size": lambda: _whole_number("page_size", page_size, settings.PAGE_SIZE, MAX_PAGE_SIZE),
        "town": lambda: _code_to_id("town", town, Jurisdiction.Level.TOWN),
        "community": lambda: _code_to_id("community", community, Jurisdiction.Level.COMMUNITY),
    }
    for field, check in checks.items():
        try:
            params[field] = check()
        except InputError as exc:
            errors += exc.errors
    if category.strip():
        try:
            params["category"] = parse_category(category)
        except CategoryError:
            errors.append({"field": "category", "message": _("Unknown category; use one of: %(choices)s.") % {
                "choices": ", ".join(Category.values)}})
    if flag.strip():
        if flag.strip() not in FLAG_NAMES:
            errors.append({"field": "flag", "message": _("Use one of: %(choices)s.") % {
                "choices": ", ".join(FLAG_NAMES)}})
        params["flag"] = flag.strip()
    if errors:
        raise InputError(errors)
    rows, _filters = people_search(request.user, params)
    rows = with_open_episode(rows)
    number, size = params["page"], params["page_size"]
    start = (number - 1) * size
    return {"count": rows.count(), "page": number, "page_size": size, "items": list(rows[start:start + size])}


@router.post(
    "",
    response={201: PersonDetailOut, **_ERRORS},
    summary="Register a person",
    description="Town and community by code. Sex and birth date are taken from a resident ID number "
    "and must agree with it when given. Needs the edit_people capability and a place in the caller's scope.",
    openapi_extra=openapi_body(PersonIn),
)
@_answers
def people_register(request):
    require(request.user, Cap.EDIT_PEOPLE)
    body = load(PersonIn, request.body).model_dump(exclude_unset=True)
    reason = body.pop("reason", "")
    person = person_register(data=person_data(body), actor=request.user, reason=reason)
    return Status(201, _detail(request.user, person.pk))


@router.get(
    "/by-document",
    response={200: PersonDetailOut, **_ERRORS},
    summary="Find a person by document number",
    description="Found by the keyed hash of the number, never by scanning plaintext; 404 when no one "
    "in the caller's scope holds it.",
)
@_answers
def person_by_document(request, number: str, doc_type: str = identity.RESIDENT_ID):
    try:
        kind = identity.parse_doc_type(doc_type) or identity.RESIDENT_ID
    except identity.IdError:
        raise InputError.one("doc_type", _("Unknown document type; use one of: %(choices)s.") % {
            "choices": ", ".join(identity.DOC_TYPES)}) from None
    try:
        normalised = identity.parse_other_document(kind, number)
    except identity.IdError as exc:
        raise InputError.one("number", exc.translated(_)) from None
    pk = people_visible(request.user).filter(id_hash=document_hash(kind, normalised)).values_list(
        "pk", flat=True).first()
    if pk is None:
        raise Http404
    return _detail(request.user, pk)


@router.get("/{int:person_id}", response={200: PersonDetailOut, **_ERRORS}, summary="One person")
@_answers
def person_detail(request, person_id: int):
    return _detail(request.user, person_id)


@router.patch(
    "/{int:person_id}",
    response={200: PersonDetailOut, **_ERRORS},
    summary="Change a person",
    description="Only the fields given change; null clears one. A new resident ID number brings its "
    "sex and birth date unless those are given too.",
    openapi_extra=openapi_body(PersonPatch),
)
@_answers
def person_change(request, person_id: int):
    person = person_get(request.user, person_id)
    require(request.user, Cap.EDIT_PEOPLE)
    body = load(PersonPatch, request.body).model_dump(exclude_unset=True)
    reason = body.pop("reason", None) or ""
    data = person_data(body, base=data_of(person))
    person_update(person=person, data=data, actor=request.user, reason=reason)
    return _detail(request.user, person_id)


@router.post(
    "/{int:person_id}/unmask",
    response={200: UnmaskOut, **_ERRORS},
    summary="See one full value",
    description="Returns the full ID number, phone or address. Needs the unmask capability; every call "
    "is written to the audit log with its reason.",
    openapi_extra=openapi_body(UnmaskIn),
)
@_answers
def person_unmask_field(request, person_id: int):
    person = person_get(request.user, person_id)
    require(request.user, Cap.UNMASK)
    body = load(UnmaskIn, request.body)
    reason = body.reason.strip()
    if not reason:
        raise InputError.one("reason", _("Say why you need the full value."))
    value = person_unmask(person=person, field=body.field, actor=request.user, reason=reason)
    return {"field": body.field, "value": value}
