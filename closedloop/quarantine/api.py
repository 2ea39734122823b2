"""The closed loop's JSON API: ``/api/v1/loop``.

The conventions of the person registry's API (``closedloop.people.api``):
every read goes through the scoped selectors (``episodes_visible``), so an
episode outside the caller's jurisdictions is answered 404 like one that does
not exist; personal data is masked; bad input is 422 with
``{"detail": [{"field", "message"}]}``; a refusal of the role is 403.

Each custody endpoint calls one action of ``closedloop.quarantine.actions``.
A conflict with another desk (the action's compare-and-swap lost, or the
``version`` sent is no longer the episode's) is 409 and changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Status

from closedloop.core.roles import Cap
from closedloop.core.scoping import require, user_jurisdictions
from closedloop.lib.categories import CategoryError, parse_category
from closedloop.people.api import MAX_PAGE_SIZE, NotFound, _whole_number, answers
from closedloop.people.schemas import ErrorOut, FieldErrorsOut, InputError, load, openapi_body
from closedloop.quarantine import worklists
from closedloop.quarantine.actions import (
    CustodyConflict,
    ObservationConflict,
    alert_resolve,
    check_round_record,
    episode_close,
    episode_place,
    episode_release,
    episode_schedule,
    handover_give,
    handover_receive,
    handover_refuse,
    health_check_record,
    result_record,
    specimen_record,
)
from closedloop.quarantine.choices import AlertStatus, Category, CustodianKind, EpisodeState
from closedloop.quarantine.models import Alert, Custodian, Episode, Specimen
from closedloop.quarantine.schemas import (
    AlertOut,
    AlertResolveIn,
    CloseIn,
    CustodiansPage,
    EpisodeDetailOut,
    EpisodesPage,
    GiveIn,
    HealthCheckIn,
    HealthCheckOut,
    LostPage,
    PlaceIn,
    ReceiveIn,
    RefuseIn,
    ReleaseIn,
    ReleaseOut,
    ResultIn,
    RoundIn,
    RoundOut,
    SpecimenIn,
    SpecimenOut,
    WorklistOut,
)
from closedloop.quarantine.selectors import lost_in_transit

# by_alias: the schedule's health checks carry a field named "from".
router = Router(tags=["closed loop"], by_alias=True)

_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: FieldErrorsOut}
_ACTION_ERRORS = {**_ERRORS, 409: ErrorOut}

# What a page of episodes reads in the same query as the episodes.
_EPISODE_RELATED = ("person", "person__town", "person__community", "custodian", "pending_custodian", "protocol")


_answers = answers(not_found=lambda: _("No such episode."), conflicts=(CustodyConflict, ObservationConflict,))


# --- reading ------------------------------------------------------------------------------

def _episodes(user):
    """The episodes the user may see (residents, and whoever their custodians hold or expect)."""
    require(user, Cap.VIEW_PEOPLE)
    return worklists.episodes_reachable(user)


def _custodians(user):
    """Custodians of the cities the user works in (a site, a vehicle, the station, a hospital …)."""
    cities = {j.city_id or j.pk for j in user_jurisdictions(user)}
    return Custodian.objects.filter(city_id__in=cities)


def _custodian(user, field: str, ref: int | str) -> Custodian:
    """An active custodian of the user's cities by id (a number) or code (text), or a 422 on ``field``."""
    rows = _custodians(user).filter(active=True).select_related("jurisdiction")
    found = rows.filter(pk=ref).first() if isinstance(ref, int) else rows.filter(code=ref.strip()).first()
    if found is None:
        raise InputError.one(field, _("No custodian has the id or code %(ref)s.") % {"ref": ref})
    return found


def _page(rows, page: str, page_size: str, errors: list | None = None) -> dict:
    """``{count, page, page_size, items}`` of a queryset, or InputError for a bad page or page size."""
    errors = list(errors or ())
    numbers = {}
    checks = {
        "page": lambda: _whole_number("page", page, 1),
        "page_size": lambda: _whole_number("page_size", page_size, settings.PAGE_SIZE, MAX_PAGE_SIZE),
    }
    for field, check in checks.items():
        try:
            numbers[field] = check()
        except InputError as exc:
            errors += exc.errors
    if errors:
        raise InputError(errors)
    number, size = numbers["page"], numbers["page_size"]
    start = (number - 1) * size
    return {"count": rows.count(), "page": number, "page_size": size, "items": list(rows[start:start + size])}


def _detail(user, pk: int) -> Episode:
    """One episode with its schedule and ledger, or 404."""
    episode = _episodes(user).select_related(*_EPISODE_RELATED).filter(pk=pk).first()
    if episode is None:
        raise NotFound(_("No such episode."))
    schedule = episode_schedule(episode)
    episode.schedule_data = schedule.to_dict() if schedule is not None else None
    episode.ledger_rows = list(episode.ledger.select_related("from_custodian", "to_custodian").order_by("seq"))
    return episode


@router.get(
    "/episodes",
    response={200: EpisodesPage, **_ERRORS},
    summary="List episodes",
    description="Episodes of the people in the caller's jurisdictions, newest first, with masked personal data. "
    f"``category`` one of {', '.join(Category.values)} (a clerk's label works too); ``state`` one of "
    f"{', '.join(EpisodeState.values)}; ``custodian`` the id or code of the custodian holding the person; "
    f"``release_due`` a day (2022-08-13): episodes whose release is due that day. At most {MAX_PAGE_SIZE} a page.",
)
@_answers
def episodes_list(
    request, category: str = "", state: str = "", custodian: str = "", release_due: str = "", page: str = "1",
    page_size: str = "",
):
    rows = _episodes(request.user)
    errors: list[dict] = []
    if category.strip():
        try:
            rows = rows.filter(category=parse_category(category))
        except CategoryError:
            errors.append({"field": "category", "message": _("Unknown category; use one of: %(choices)s.") % {
                "choices": ", ".join(Category.values)}})
    if state.strip():
        if state.strip() not in EpisodeState.values:
            errors.append({"field": "state", "message": _("Use one of: %(choices)s.") % {
                "choices": ", ".join(EpisodeState.values)}})
        rows = rows.filter(state=state.strip())
    if custodian.strip():
        ref = custodian.strip()
        holders = _custodians(request.user)
        found = holders.filter(pk=int(ref)).first() if ref.isdigit() else None
        found = found or holders.filter(code=ref).first()
        if found is None:
            errors.append({"field": "custodian", "message": _("No custodian has the id or code %(ref)s.") % {
                "ref": ref}})
        else:
            rows = rows.filter(custodian=found)
    if release_due.strip():
        try:
            rows = rows.filter(release_on=date.fromisoformat(release_due.strip()))
        except ValueError:
            errors.append({"field": "release_due", "message": _("Write the date like 2022-08-03.")})
    rows = rows.select_related(*_EPISODE_RELATED).defer("protocol__definition").order_by("-opened_at", "-id")
    return _page(rows, page, page_size, errors)


@router.get(
    "/episodes/{int:episode_id}",
    response={200: EpisodeDetailOut, **_ERRORS},
    summary="One episode",
    description="The episode with its schedule (phases, tests, health checks, release day, computed from its "
    "protocol) and its custody ledger, oldest first.",
)
@_answers
def episode_detail(request, episode_id: int):
    return _detail(request.user, episode_id)


# --- custody actions ---------------------------------------------------------------------------

def _act(request, episode_id: int, model, cap: str, act, *, prepare=None):
    """Find the episode (404), check the role (403), read the body (422), then run ``act`` under a lock.

    ``prepare(body)`` turns the body into what the action needs beyond it (a
    custodian, a reason), raising InputError; ``act(episode, body, prepared)``
    calls one action and its result is returned. With ``version`` in the
    body the episode must still be at that version, checked in the same
    transaction as the action (409 otherwise).
    """
    visible = _episodes(request.user)
    if not visible.filter(pk=episode_id).exists():
        raise NotFound(_("No such episode."))
    require(request.user, cap)
    body = load(model, request.body or b"{}")
    prepared = prepare(body) if prepare is not None else None
    with transaction.atomic():
        episode = (
            visible.select_for_update(of=("self",)).select_related("person", "custodian", "pending_custodian")
            .get(pk=episode_id)
        )
        if body.version is not None and body.version != episode.version:
            raise CustodyConflict(
                _("This person's custody changed since you read it (version %(seen)s, now %(now)s); "
                  "read the episode again and check before trying again.")
                % {"seen": body.version, "now": episode.version}
            )
        return act(episode, body, prepared)


def _reason(message: str):
    """A ``prepare`` that requires a written reason (422 on ``reason`` when blank)."""

    def prepare(body) -> str:
        reason = body.reason.strip()
        if not reason:
            raise InputError.one("reason", message)
        return reason

    return prepare


def _local(moment: datetime) -> datetime:
    """A time given without an offset is local time (settings.TIME_ZONE)."""
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


@router.post(
    "/episodes/{int:episode_id}/place",
    response={200: EpisodeDetailOut, **_ACTION_ERRORS},
    summary="Place under control",
    description="The first custodian takes the person; the protocol in force gives the schedule and the release "
    "day. Needs the handover capability and the person or the custodian in the caller's jurisdictions.",
    openapi_extra=openapi_body(PlaceIn),
)
@_answers
def episode_place_api(request, episode_id: int):
    user = request.user
    _act(
        request, episode_id, PlaceIn, Cap.HANDOVER,
        lambda episode, body, custodian: episode_place(
            episode=episode, custodian=custodian, placed_on=body.placed_on, signed_by=body.signed_by.strip(),
            actor=user),
        prepare=lambda body: _custodian(user, "custodian", body.custodian),
    )
    return _detail(user, episode_id)


@router.post(
    "/episodes/{int:episode_id}/give",
    response={200: EpisodeDetailOut, **_ACTION_ERRORS},
    summary="Hand over",
    description="The holding custodian lets go: the person is in transit to the receiver, who must confirm by "
    "``expected_by`` (plus the grace period) or the hand-over shows as lost in transit. The giver answers for the "
    "person until then.",
    openapi_extra=openapi_body(GiveIn),
)
@_answers
def handover_give_api(request, episode_id: int):
    user = request.user
    _act(
        request, episode_id, GiveIn, Cap.HANDOVER,
        lambda episode, body, receiver: handover_give(
            episode=episode, to_custodian=receiver, expected_by=_local(body.expected_by),
            signed_by=body.signed_by.strip(), reason=body.reason.strip(), actor=user),
        prepare=lambda body: _custodian(user, "to_custodian", body.to_custodian),
    )
    return _detail(user, episode_id)


@router.post(
    "/episodes/{int:episode_id}/receive",
    response={200: EpisodeDetailOut, **_ACTION_ERRORS},
    summary="Confirm receipt",
    description="The receiver confirms the person arrived: custody passes to it. The body may be empty.",
    openapi_extra=openapi_body(ReceiveIn),
)
@_answers
def handover_receive_api(request, episode_id: int):
    user = request.user
    _act(
        request, episode_id, ReceiveIn, Cap.HANDOVER,
        lambda episode, body, _none: handover_receive(episode=episode, signed_by=body.signed_by.strip(), actor=user),
    )
    return _detail(user, episode_id)


@router.post(
    "/episodes/{int:episode_id}/refuse",
    response={200: EpisodeDetailOut, **_ACTION_ERRORS},
    summary="Refuse a hand-over",
    description="The receiver refuses the person, with a reason: the giver, who never let go, holds them again.",
    openapi_extra=openapi_body(RefuseIn),
)
@_answers
def handover_refuse_api(request, episode_id: int):
    user = request.user
    _act(
        request, episode_id, RefuseIn, Cap.HANDOVER,
        lambda episode, body, reason: handover_refuse(episode=episode, reason=reason, actor=user),
        prepare=_reason(_("Say why the person is refused.")),
    )
    return _detail(user, episode_id)


@router.post(
    "/episodes/{int:episode_id}/close",
    response={200: EpisodeDetailOut, **_ACTION_ERRORS},
    summary="Close an episode listed in error",
    description="Ends an episode that should not exist (listed in error, a duplicate); never a release. "
    "Headquarters only.",
    openapi_extra=openapi_body(CloseIn),
)
@_answers
def episode_close_api(request, episode_id: int):
    user = request.user
    _act(
        request, episode_id, CloseIn, Cap.CLOSE_EPISODES,
        lambda episode, body, reason: episode_close(episode=episode, reason=reason, actor=user),
        prepare=_reason(_("Say why the episode is closed.")),
    )
    return _detail(user, episode_id)


# --- custodians and lost hand-overs --------------------------------------------------------------

@router.get(
    "/custodians",
    response={200: CustodiansPage, **_ERRORS},
    summary="List custodians",
    description="The parties that can hold a person in the caller's cities, by kind and name. ``kind`` one of "
    f"{', '.join(CustodianKind.values)}. At most {MAX_PAGE_SIZE} a page.",
)
@_answers
def custodians_list(request, kind: str = "", page: str = "1", page_size: str = ""):
    rows = _custodians(request.user).select_related("jurisdiction").order_by("kind", "name", "pk")
    errors: list[dict] = []
    if kind.strip():
        if kind.strip() not in CustodianKind.values:
            errors.append({"field": "kind", "message": _("Use one of: %(choices)s.") % {
                "choices": ", ".join(CustodianKind.values)}})
        rows = rows.filter(kind=kind.strip())
    return _page(rows, page, page_size, errors)


@router.get(
    "/lost-in-transit",
    response={200: LostPage, **_ERRORS},
    summary="Hand-overs lost in transit",
    description="People handed over and not received by their expected arrival plus the grace period "
    f"({settings.TRANSIT_GRACE_MINUTES} minutes), oldest first: ``custodian`` still answers for them, "
    f"``pending_custodian`` should have received them. At most {MAX_PAGE_SIZE} a page.",
)
@_answers
def lost_in_transit_list(request, page: str = "1", page_size: str = ""):
    require(request.user, Cap.VIEW_PEOPLE)
    rows = lost_in_transit(request.user, timezone.now()).select_related("person__town", "person__community",
                                                                       "protocol").defer("protocol__definition")
    return _page(rows, page, page_size)


# --- observations ---------------------------------------------------------------------------------------

def _open_alerts(episode_id: int) -> list[Alert]:
    return list(Alert.objects.filter(episode_id=episode_id, status=AlertStatus.OPEN).order_by("raised_at", "pk"))


def _observe(request, episode_id: int, model, act):
    """Find the episode (404), check the role (403), read the body (422), call ``act(episode, body)``."""
    episode = (
        _episodes(request.user).select_related("person", "protocol", "custodian", "pending_custodian")
        .filter(pk=episode_id).first()
    )
    if episode is None:
        raise NotFound(_("No such episode."))
    require(request.user, Cap.RECORD_OBSERVATIONS)
    return act(episode, load(model, request.body or b"{}"))


@router.post(
    "/episodes/{int:episode_id}/checks",
    response={200: HealthCheckOut, **_ACTION_ERRORS},
    summary="Record a health check",
    description="Temperature and symptoms of one slot (morning, evening …) of a day; recording the same slot "
    "again updates it. A temperature of 37.3 °C or more raises a fever alert, any symptom a symptom alert, "
    "answered by the custodian holding the person.",
    openapi_extra=openapi_body(HealthCheckIn),
)
@_answers
def health_check_api(request, episode_id: int):
    def act(episode, body):
        check = health_check_record(
            episode=episode, day=body.day or timezone.localdate(), slot=body.slot.strip(),
            temperature=body.temperature, symptoms=body.symptoms, note=body.note, actor=request.user,
        )
        check.open_alerts = _open_alerts(episode.pk)
        return check

    return _observe(request, episode_id, HealthCheckIn, act)


@router.post(
    "/episodes/{int:episode_id}/specimens",
    response={201: SpecimenOut, **_ACTION_ERRORS},
    summary="Record a sample",
    description="A sample taken (nucleic-acid or antigen). A nucleic-acid sample taken on one of the schedule's "
    "test days answers that test. The result follows with ``POST /specimens/{id}/result``.",
    openapi_extra=openapi_body(SpecimenIn),
)
@_answers
def specimen_api(request, episode_id: int):
    def act(episode, body):
        specimen = specimen_record(
            episode=episode, kind=body.kind.strip(), sampled_at=_local(body.sampled_at or timezone.now()),
            barcode=body.barcode, scheduled_for=body.scheduled_for, actor=request.user,
        )
        specimen.open_alerts = _open_alerts(episode.pk)
        return Status(201, specimen)

    return _observe(request, episode_id, SpecimenIn, act)


@router.post(
    "/specimens/{int:specimen_id}/result",
    response={200: SpecimenOut, **_ACTION_ERRORS},
    summary="Record a result",
    description="The lab's answer for a sample: a Ct value, read by the protocol's rule, or a result word. A result "
    "that needs a risk assessment raises an alert; a positive result starts the case path (a case episode and a "
    "closed-loop transfer to the designated hospital) and alerts headquarters. The same result again changes "
    "nothing; a different one is refused.",
    openapi_extra=openapi_body(ResultIn),
)
@_answers
def result_api(request, specimen_id: int):
    specimen = Specimen.objects.filter(pk=specimen_id, episode__in=_episodes(request.user)).first()
    if specimen is None:
        raise NotFound(_("No such sample."))
    require(request.user, Cap.RECORD_OBSERVATIONS)
    body = load(ResultIn, request.body or b"{}")
    specimen = result_record(specimen=specimen, result_or_ct=body.result, lab=body.lab, actor=request.user)
    specimen.open_alerts = _open_alerts(specimen.episode_id)
    return specimen


@router.post(
    "/alerts/{int:alert_id}/resolve",
    response={200: AlertOut, **_ACTION_ERRORS},
    summary="Resolve an alert",
    description="Someone answered the alert: say what was done. A positive result is answered by headquarters.",
    openapi_extra=openapi_body(AlertResolveIn),
)
@_answers
def alert_resolve_api(request, alert_id: int):
    alert = Alert.objects.filter(pk=alert_id, episode__in=_episodes(request.user)).first()
    if alert is None:
        raise NotFound(_("No such alert."))
    require(request.user, Cap.RECORD_OBSERVATIONS)
    body = load(AlertResolveIn, request.body or b"{}")
    return alert_resolve(alert=alert, resolution=body.resolution, actor=request.user)


@router.post(
    "/custodians/{int:custodian_id}/round",
    response={200: RoundOut, **_ACTION_ERRORS},
    summary="Record a round of health checks",
    description="A custodian's round (a site's morning checks): every row is checked on its own; the good rows are "
    "written together, the bad ones come back in ``problems`` with their reasons. A row without a temperature or a "
    "symptom is skipped (not checked yet).",
    openapi_extra=openapi_body(RoundIn),
)
@_answers
def check_round_api(request, custodian_id: int):
    try:
        custodian = worklists.custodian_get(request.user, custodian_id)
    except Http404:
        raise NotFound(_("No such custodian.")) from None
    require(request.user, Cap.RECORD_OBSERVATIONS)
    body = load(RoundIn, request.body or b"{}")
    rows = [row.model_dump(exclude_unset=True) for row in body.rows]
    return check_round_record(custodian=custodian, day=body.day or timezone.localdate(), slot=body.slot.strip(),
                              rows=rows, actor=request.user)


# --- release ---------------------------------------------------------------------------------------------

@router.post(
    "/episodes/{int:episode_id}/release",
    response={200: ReleaseOut, **_ACTION_ERRORS},
    summary="Release from control",
    description="Releases a person whose course is complete (every day served, every scheduled test negative, no open "
    "fever or symptom alert) and issues the release certificate. Otherwise 422 lists every reason. "
    "``override_reason`` releases against the rule: headquarters only, audited.",
    openapi_extra=openapi_body(ReleaseIn),
)
@_answers
def episode_release_api(request, episode_id: int):
    user = request.user
    certificate = _act(
        request, episode_id, ReleaseIn, Cap.RELEASE,
        lambda episode, body, _none: episode_release(episode=episode, override_reason=body.override_reason,
                                                     actor=user),
    )
    return {"certificate_code": certificate.code, "issued_at": certificate.issued_at,
            "override_reason": certificate.override_reason, "episode": _detail(user, episode_id)}


# --- work lists ------------------------------------------------------------------------------------------

@router.get(
    "/worklist/custodian/{int:custodian_id}",
    response={200: WorklistOut, **_ERRORS},
    summary="A custodian's work list",
    description="What is due on ``day`` (today when omitted, 2022-08-03) for the people a custodian holds: tests, "
    "health checks per slot (done and missing), releases, arrivals expected, and everything overdue.",
)
@_answers
def custodian_worklist_api(request, custodian_id: int, day: str = ""):
    try:
        custodian = worklists.custodian_get(request.user, custodian_id)
    except Http404:
        raise NotFound(_("No such custodian.")) from None
    on = timezone.localdate()
    if day.strip():
        try:
            on = date.fromisoformat(day.strip())
        except ValueError:
            raise InputError.one("day", _("Write the date like 2022-08-03.")) from None
    return worklists.custodian_worklist(request.user, custodian, on)
