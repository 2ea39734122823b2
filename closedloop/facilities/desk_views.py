"""Pages of the check-in desk: find people (scan an ID number, the list of those on their way, a whole
vehicle), see the engine's room suggestions, change them, confirm with one ``checkin``; print room
cards; check out (release or hand-over).

Thin: parse, check permission, call one action, render. The suggestions are ``allocation.suggest``;
the rules are checked again, on the floors as they stand, by ``checkin`` itself.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from closedloop.core.roles import Cap
from closedloop.core.scoping import require
from closedloop.facilities import board_selectors as sel
from closedloop.facilities.actions import RoomConflict, checkin, checkout_handover, checkout_release
from closedloop.facilities.actions.stays import custody_problem
from closedloop.facilities.allocation import suggest
from closedloop.facilities.desk_forms import CheckinForm, options_html, room_choices, room_token, select_html
from closedloop.facilities.models import Room, Stay
from closedloop.facilities.selectors import facilities_visible, floor_categories
from closedloop.quarantine.actions import CustodyConflict, ReleaseBlocked
from closedloop.quarantine.actions.release import blocker_text, next_custody, release_check
from closedloop.quarantine.choices import CustodianKind
from closedloop.quarantine.episode_forms import GiveForm
from closedloop.quarantine.models import Custodian

# At most this many people in one check-in (a full coach is about 50).
MAX_PICKS = 80


def _ids(values) -> list[int]:
    return [int(v) for v in values if str(v).isdigit()][:MAX_PICKS]


def _floors(facility) -> dict[tuple[str, int], str]:
    return {(b, f): c for (_fid, b, f), c in floor_categories([facility.pk]).items()}


# --- the desk ---------------------------------------------------------------------------------------

def _desk(request, facility, picks: list, *, form: CheckinForm | None = None, found=None, query: str = "",
          errors: list[str] | None = None, status: int = 200):
    """The desk page: the search, the people picked with their suggested rooms, who is on the way."""
    stays = sel.open_stays_of([e.pk for e in picks])
    ready = [e for e in picks if e.pk not in stays and not custody_problem(e, facility)]
    suggestions = {s.episode.pk: s for s in suggest(ready, [facility])} if ready else {}
    rooms = sel.available_rooms(facility)
    choices = room_choices(rooms, _floors(facility))
    if form is None:
        form = CheckinForm(episodes=ready, choices=choices,
                           initial_rooms={pk: room_token(s.room) for pk, s in suggestions.items()})
    options = options_html(choices)
    # Picked but not to be checked in here now: the reason, next to the name.
    blocked = []
    for e in picks:
        if e.pk in stays:
            blocked.append((e, _("Already checked in, in room %(room)s.") % {"room": stays[e.pk].room.label}))
        elif problem := custody_problem(e, facility):
            blocked.append((e, problem))
    awaiting, awaiting_count = sel.awaiting_placement(request.user)
    picked = {e.pk for e in picks}
    return render(request, "facilities/desk_page.html", {
        "facility": facility,
        "picks": picks,
        "pick_ids": [e.pk for e in picks],
        "form": form,
        "rows": [(e, field, suggestions.get(e.pk), select_html(options, field.value() or ""))
                 for e, field in form.bound_rows()],
        "blocked": blocked,
        "found": found,
        "query": query,
        "errors": errors or [],
        "incoming": sel.incoming(facility),
        "held": [e for e in sel.held_without_room(facility) if e.pk not in picked],
        "awaiting": [e for e in awaiting if e.pk not in picked],
        "awaiting_count": awaiting_count,
        "free_rooms": len(rooms),
        "picked": picked,
    }, status=status)


@require_GET
@login_required
def desk_view(request, pk: int):
    """``?q=`` an ID number (scanned or typed), a name or a phone tail; ``?pick=`` people already picked;
    ``?group=`` a giving custodian: everyone it is bringing here."""
    facility = sel.facility_get(request.user, pk, Cap.CHECK_IN)
    wanted = _ids(request.GET.getlist("pick"))
    query = (request.GET.get("q") or "").strip()[:60]
    found = None
    if query:
        found = sel.desk_search(request.user, facility, query)
        stays = sel.open_stays_of([e.pk for e in found])
        found = [(e, custody_problem(e, facility) or (
            _("Already checked in, in room %(room)s.") % {"room": stays[e.pk].room.label} if e.pk in stays else ""))
            for e in found]
        takeable = [e for e, problem in found if not problem]
        if len(takeable) == 1 and len(found) == 1 and takeable[0].pk not in wanted:
            # A scanned ID number: picked at once, and the number leaves the address bar.
            messages.info(request, _("%(name)s is picked.") % {"name": takeable[0].person.name})
            return redirect(reverse("sites:desk", args=[facility.pk]) + "?" + urlencode(
                [("pick", pk) for pk in [*wanted, takeable[0].pk]]))
    group = request.GET.get("group") or ""
    if group.isdigit():
        for incoming in sel.incoming(facility):
            if incoming.giver and incoming.giver.pk == int(group):
                wanted += [e.pk for e in incoming.episodes]
    picks = sel.episodes_for_desk(request.user, facility, wanted[:MAX_PICKS])
    return _desk(request, facility, picks, found=found, query=query)


def _assignments(facility, chosen) -> tuple[list, list[str]]:
    """(episode, room as the desk saw it) for each choice; a room not of this facility is an error."""
    rooms = Room.objects.filter(facility=facility).in_bulk([room_id for _e, room_id, _v in chosen])
    pairs, errors = [], []
    for episode, room_id, version in chosen:
        room = rooms.get(room_id)
        if room is None:
            errors.append(_("Choose a room from the list."))
            continue
        room.version = version  # as the desk saw it: a room changed since is refused by checkin
        pairs.append((episode, room))
    return pairs, errors


@require_POST
@login_required
def checkin_view(request, pk: int):
    """One POST checks in everyone given a room: all or nothing."""
    facility = sel.facility_get(request.user, pk, Cap.CHECK_IN)
    picks = sel.episodes_for_desk(request.user, facility, _ids(request.POST.getlist("pick")))
    if not picks:
        return _desk(request, facility, [], errors=[_("Choose at least one person and a room.")], status=400)
    stays = sel.open_stays_of([e.pk for e in picks])
    ready = [e for e in picks if e.pk not in stays and not custody_problem(e, facility)]
    form = CheckinForm(request.POST, episodes=ready,
                       choices=room_choices(sel.available_rooms(facility), _floors(facility)))
    if not form.is_valid():
        return _desk(request, facility, picks, form=form, status=400)
    pairs, errors = _assignments(facility, form.cleaned_data["chosen"])
    if errors:
        return _desk(request, facility, picks, form=form, errors=errors, status=400)
    try:
        done = checkin(facility=facility, assignments=pairs, actor=request.user,
                       signed_by=form.cleaned_data["signed_by"].strip())
    except (RoomConflict, CustodyConflict) as exc:
        # Another desk (or a cleaner) changed a room: fresh suggestions, nothing was written.
        return _desk(request, facility, picks, status=409, errors=[
            *exc.messages, _("Nothing was saved. The suggestions below are new; check them and confirm again.")])
    except ValidationError as exc:
        return _desk(request, facility, picks, form=form, errors=exc.messages, status=400)
    except PermissionDenied as exc:
        return _desk(request, facility, picks, form=form, errors=[str(exc) or _("You may not do this.")],
                     status=403)
    names = ", ".join(f"{s.episode.person.name} → {s.room.label}" for s in done.stays)
    messages.success(request, _("Checked in: %(names)s.") % {"names": names})
    return redirect(reverse("sites:cards", args=[facility.pk]) + "?" + urlencode(
        [("stay", s.pk) for s in done.stays]))


# --- room cards -----------------------------------------------------------------------------------------

def _stays_visible(user):
    require(user, Cap.CHECK_IN)
    return Stay.objects.filter(facility__in=facilities_visible(user)).select_related(
        "episode__person", "episode__protocol", "room", "facility")


def _card(stay: Stay) -> dict:
    protocol = stay.episode.protocol
    times = list(protocol.spec().health_checks.times) if protocol is not None else []
    return {"stay": stay, "times": times}


@require_GET
@login_required
def card_view(request, pk: int):
    stay = _stays_visible(request.user).filter(pk=pk).first()
    if stay is None:
        raise Http404
    return render(request, "facilities/desk_cards.html", {
        "facility": stay.facility, "cards": [_card(stay)], "single": True})


@require_GET
@login_required
def cards_view(request, pk: int):
    """The room cards of one check-in (``?stay=``), one to a printed page."""
    facility = sel.facility_get(request.user, pk, Cap.CHECK_IN)
    ids = _ids(request.GET.getlist("stay"))
    stays = list(_stays_visible(request.user).filter(facility=facility, pk__in=ids).order_by("room__building",
                                                                                            "room__floor",
                                                                                            "room__number"))
    if not stays:
        raise Http404
    return render(request, "facilities/desk_cards.html", {
        "facility": facility, "cards": [_card(s) for s in stays], "single": False})


# --- check-out ------------------------------------------------------------------------------------------

HANDOVER_KINDS = (CustodianKind.VEHICLE_TRIP, CustodianKind.HOSPITAL, CustodianKind.ISOLATION_SITE,
                  CustodianKind.HEALTH_STATION, CustodianKind.HOME_COMMUNITY, CustodianKind.TRANSFER_STATION,
                  CustodianKind.OUT_OF_CITY_SITE)


def _receivers(stay: Stay) -> list[Custodian]:
    """Whom the site may hand the person to: the city's active custodians but itself."""
    return list(Custodian.objects.filter(city_id=stay.facility.city_id, active=True, kind__in=HANDOVER_KINDS)
                .exclude(pk=stay.facility.custodian_id).order_by("kind", "name", "pk"))


def _checkout_page(request, stay: Stay, *, form: GiveForm | None = None, blockers: list[str] | None = None,
                   errors: list[str] | None = None, status: int = 200):
    episode = stay.episode
    receivers = _receivers(stay)
    home = next_custody(episode)
    if form is None:
        initial = {"version": episode.version}
        if home is not None and home.custodian is not None:
            initial["to_custodian"] = home.custodian.pk
        form = GiveForm(initial=initial, custodians=receivers)
    check = release_check(episode)
    return render(request, "facilities/desk_checkout.html", {
        "facility": stay.facility,
        "stay": stay,
        "episode": episode,
        "person": episode.person,
        "form": form,
        "home": home,
        "rule_blockers": [blocker_text(b) for b in check.blockers] if check is not None else None,
        "blockers": blockers or [],
        "errors": errors or [],
        "may_release": request.user.can(Cap.RELEASE),
        "may_override": request.user.can(Cap.OVERRIDE_RELEASE),
    }, status=status)


def _open_stay(user, pk: int) -> Stay:
    stay = (_stays_visible(user).select_related("episode__custodian", "facility__custodian")
            .filter(pk=pk, checked_out_at__isnull=True).first())
    if stay is None:
        raise Http404
    return stay


@require_http_methods(["GET", "POST"])
@login_required
def checkout_view(request, pk: int):
    """Release through the rule, or hand over (a trip, a hospital, another site, the home community)."""
    stay = _open_stay(request.user, pk)
    if request.method == "GET":
        return _checkout_page(request, stay)
    episode = stay.episode
    action = request.POST.get("action")
    if action == "release":
        try:
            certificate = checkout_release(episode=episode, actor=request.user)
        except ReleaseBlocked as exc:
            return _checkout_page(request, stay, blockers=[blocker_text(b) for b in exc.blockers], status=400)
        except ValidationError as exc:
            return _checkout_page(request, stay, errors=exc.messages, status=400)
        except PermissionDenied as exc:
            return _checkout_page(request, stay, errors=[str(exc) or _("You may not do this.")], status=403)
        messages.success(request, _("%(name)s has been released from control; the release certificate is issued.")
                         % {"name": episode.person.name})
        return redirect("loop:certificate", code=certificate.code)
    if action != "handover":
        return _checkout_page(request, stay, errors=[_("Choose a release or a hand-over.")], status=400)
    form = GiveForm(request.POST, custodians=_receivers(stay))
    if not form.is_valid():
        return _checkout_page(request, stay, form=form, status=400)
    if form.cleaned_data["version"] != episode.version:
        return _checkout_page(request, stay, form=form, status=409, errors=[
            _("Someone else acted on this person first. Nothing was saved. Check the page, then submit again if "
              "it still applies.")])
    data = form.cleaned_data
    try:
        checkout_handover(episode=episode, to_custodian=data["to_custodian"], expected_by=data["expected_by"],
                          signed_by=data["signed_by"].strip(), reason=data["reason"].strip(), actor=request.user)
    except CustodyConflict as exc:
        return _checkout_page(request, stay, form=form, errors=exc.messages, status=409)
    except ValidationError as exc:
        return _checkout_page(request, stay, form=form, errors=exc.messages, status=400)
    except PermissionDenied as exc:
        return _checkout_page(request, stay, form=form, errors=[str(exc) or _("You may not do this.")], status=403)
    messages.success(request, _("%(name)s is handed over to %(receiver)s and checked out of room %(room)s.")
                     % {"name": episode.person.name, "receiver": data["to_custodian"].name,
                        "room": stay.room.label})
    return redirect("sites:room", pk=stay.room_id)

