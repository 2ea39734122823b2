"""Writes of the closed loop: protocols, custodians, episodes and their custody ledger.

Every custody change appends one ledger row and moves the episode's projection
in the same transaction, with a compare-and-swap on ``version``: of two desks
acting on one episode at once, exactly one wins and the other gets a
``CustodyConflict`` that says so.
"""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from closedloop.core.audit import actor_label, audit_record
from closedloop.core.models import Jurisdiction
from closedloop.core.roles import Cap
from closedloop.core.scoping import in_scope
from closedloop.lib.categories import ANCHOR_FOR
from closedloop.lib.protocols import load_protocol, shipped
from closedloop.lib.schedule import compute
from closedloop.quarantine import states
from closedloop.quarantine.hooks import custody_changed
from closedloop.quarantine.models import Custodian, CustodyEvent, Episode, Protocol


class CustodyConflict(ValidationError):
    """Another desk changed the episode first; nothing was written."""


@transaction.atomic
def episode_open(
    *, person, category: str, anchor_date: date | None, actor, details: dict | None = None, source_import=None,
    reason: str = "",
) -> Episode:
    if Episode.objects.filter(person=person, status="open").exists():
        raise ValidationError(_("This person already has an open episode."))
    try:
        with transaction.atomic():
            episode = Episode.objects.create(
                person=person, city_id=person.city_id, category=category, anchor_kind=ANCHOR_FOR[category],
                anchor_date=anchor_date, opened_by=actor if getattr(actor, "pk", None) else None,
                source_import=source_import, details=details or {},
            )
    except IntegrityError:
        raise ValidationError(_("This person already has an open episode.")) from None
    audit_record(
        actor=actor, action="episode.open", target=episode,
        after={"person": person.pk, "category": category, "anchor_date": str(anchor_date or "")}, reason=reason,
    )
    return episode


# --- protocols ---------------------------------------------------------------------

@transaction.atomic
def protocol_add(*, definition: dict, source: str, actor) -> Protocol:
    """A new protocol version from validated data (a file, the admin). Versions are never edited."""
    spec = load_protocol(definition)
    if Protocol.objects.filter(code=spec.id, version=spec.version).exists():
        raise ValidationError(_("Protocol %(code)s version %(version)s already exists; add a new version instead.")
                              % {"code": spec.id, "version": spec.version})
    protocol = Protocol.objects.create(
        code=spec.id, version=spec.version, category=spec.category, anchor=spec.anchor,
        effective_from=spec.effective_from, title=spec.title.zh[:200], definition=spec.to_dict(), source=source[:200],
    )
    audit_record(actor=actor, action="protocol.add", target=protocol, after={"code": spec.id, "version": spec.version})
    return protocol


def protocols_sync_shipped(*, actor=None) -> int:
    """Load the protocol files shipped with closedloop that the database does not have yet."""
    have = set(Protocol.objects.values_list("code", "version"))
    added = 0
    for key, spec in sorted(shipped().items()):
        if key not in have:
            protocol_add(definition=spec.to_dict(), source="shipped", actor=actor)
            added += 1
    return added


def protocol_for(category: str, on: date) -> Protocol | None:
    """The protocol in force for a category on a day: the latest effective one, at its highest version."""
    return (
        Protocol.objects.filter(category=category, effective_from__lte=on)
        .order_by("-effective_from", "-version")
        .first()
    )


# --- custodians ----------------------------------------------------------------------

@transaction.atomic
def custodian_create(*, kind: str, name: str, code: str, city: Jurisdiction, jurisdiction: Jurisdiction | None = None,
                     actor) -> Custodian:
    custodian = Custodian.objects.create(kind=kind, name=name, code=code, city=city, jurisdiction=jurisdiction)
    audit_record(actor=actor, action="custodian.create", target=custodian, after={"kind": kind, "code": code})
    return custodian


# --- custody -------------------------------------------------------------------------

def custodian_in_scope(user, custodian: Custodian | None) -> bool:
    """The custodian's place (its community or town; its city when it has none) is in the user's scope."""
    if custodian is None:
        return False
    j = custodian.jurisdiction
    if j is None:
        return in_scope(user, city_id=custodian.city_id, town_id=None, community_id=None)
    if j.level == "community":
        return in_scope(user, city_id=j.city_id, town_id=j.parent_id, community_id=j.pk)
    if j.level == "town":
        return in_scope(user, city_id=j.city_id, town_id=j.pk, community_id=None)
    return in_scope(user, city_id=j.pk, town_id=None, community_id=None)


def in_reach(user, episode: Episode, custodian: Custodian | None = None) -> bool:
    """The one scope rule of the closed loop: the person lives in the user's jurisdiction, or the
    custodian answering for them (by default the one holding them) lies in it."""
    person = episode.person
    if in_scope(user, city_id=person.city_id, town_id=person.town_id, community_id=person.community_id):
        return True
    return custodian_in_scope(user, custodian if custodian is not None else episode.custodian)


def may_act(actor, episode: Episode, custodian: Custodian | None) -> None:
    """The actor holds the capability and the person or the custodian lies in their jurisdiction."""
    if actor is None:
        return  # the system itself (imports, periodic checks, the demo)
    if not actor.can(Cap.HANDOVER):
        raise PermissionDenied(_("Your role may not place people under control or hand them over."))
    if not in_reach(actor, episode, custodian):
        raise PermissionDenied(_("This person and this custodian are outside your jurisdiction."))


def advance(
    episode: Episode, kind: str, *, actor, to_custodian: Custodian | None = None, expected_by: datetime | None = None,
    reason: str = "", signatures: dict | None = None, extra: dict | None = None,
) -> Episode:
    """Append one ledger row and move the projection with it, or change nothing.

    The one writer of an episode's state: the sibling action modules (release,
    the case path) call it too. Call it inside a transaction.
    """
    current = Episode.objects.select_related("person").get(pk=episode.pk)
    if not states.can_transition(current.state, kind):
        raise ValidationError(
            _("This cannot be done now: the episode is %(state)s.") % {"state": current.get_state_display()}
        )
    before = states.Projection(current.state, current.custodian_id, current.pending_custodian_id)
    after = states.apply(before, states.Event(kind, current.custodian_id, to_custodian.pk if to_custodian else None))
    fields = {
        "state": after.state, "custodian_id": after.custodian, "pending_custodian_id": after.pending,
        "expected_by": expected_by if after.state == states.IN_TRANSIT else None,
        "status": "closed" if after.state in states.FINAL_STATES else "open",
        "version": current.version + 1, **(extra or {}),
    }
    won = Episode.objects.filter(pk=current.pk, version=current.version, state=current.state).update(**fields)
    if not won:
        raise CustodyConflict(_("Someone else changed this person's custody at the same moment; "
                                "reload the page and check before trying again."))
    CustodyEvent.objects.create(
        episode=current, seq=current.version + 1, kind=kind, from_custodian_id=before.custodian,
        to_custodian=to_custodian, at=timezone.now(), expected_by=expected_by, reason=reason,
        signatures=signatures or {}, actor=actor if getattr(actor, "pk", None) else None,
        actor_label=actor_label(actor),
    )
    for name, value in fields.items():
        setattr(current, name, value)
    custody_changed(current, kind, before, actor)
    audit_record(
        actor=actor, action=f"episode.{kind}", target=current, reason=reason,
        before={"state": before.state, "custodian": before.custodian, "pending": before.pending},
        after={"state": after.state, "custodian": after.custodian, "pending": after.pending},
    )
    return current


@transaction.atomic
def episode_place(
    *, episode: Episode, custodian: Custodian, actor, placed_on: date | None = None, protocol: Protocol | None = None,
    signed_by: str = "",
) -> Episode:
    """The first custodian takes the person; the protocol in force gives the schedule and the release day."""
    may_act(actor, episode, custodian)
    placed_on = placed_on or timezone.localdate()
    if episode.anchor_date and placed_on < episode.anchor_date:
        raise ValidationError(_("The person cannot be placed before the date their control counts from."))
    protocol = protocol or protocol_for(episode.category, placed_on)
    extra = {"placed_on": placed_on, "protocol_id": protocol.pk if protocol else None, "release_on": None}
    if protocol is not None:
        schedule = compute(protocol.spec(), anchor=episode.anchor_date or placed_on, placed_on=placed_on)
        extra["release_on"] = schedule.release_on
        if episode.anchor_date is None:
            extra["anchor_date"] = placed_on
    return advance(episode, states.PLACE, actor=actor, to_custodian=custodian, extra=extra,
                    signatures={"receiver": signed_by} if signed_by else None)


@transaction.atomic
def handover_give(
    *, episode: Episode, to_custodian: Custodian, expected_by: datetime, actor, signed_by: str = "", reason: str = "",
) -> Episode:
    """The holding side lets go: the person is in transit until the receiver confirms."""
    may_act(actor, episode, episode.custodian)
    if to_custodian.pk == episode.custodian_id:
        raise ValidationError(_("The receiver is the custodian who already holds the person."))
    if expected_by <= timezone.now():
        raise ValidationError(_("The expected arrival must be later than now."))
    return advance(episode, states.GIVE, actor=actor, to_custodian=to_custodian, expected_by=expected_by,
                    reason=reason, signatures={"giver": signed_by} if signed_by else None)


@transaction.atomic
def handover_receive(*, episode: Episode, actor, signed_by: str = "") -> Episode:
    """The receiver confirms: custody passes."""
    may_act(actor, episode, episode.pending_custodian)
    return advance(episode, states.RECEIVE, actor=actor, to_custodian=episode.pending_custodian,
                    signatures={"receiver": signed_by} if signed_by else None)


@transaction.atomic
def handover_refuse(*, episode: Episode, actor, reason: str) -> Episode:
    """The receiver refuses, with a reason: the giver, who never let go, holds the person again."""
    if not reason.strip():
        raise ValidationError(_("Say why the person is refused."))
    may_act(actor, episode, episode.pending_custodian)
    return advance(episode, states.REFUSE, actor=actor, to_custodian=episode.custodian, reason=reason)


@transaction.atomic
def episode_close(*, episode: Episode, actor, reason: str) -> Episode:
    """End an episode that should not exist (listed in error, a duplicate); never a release."""
    if actor is not None and not actor.can(Cap.CLOSE_EPISODES):
        raise PermissionDenied(_("Only headquarters may close an episode."))
    if not reason.strip():
        raise ValidationError(_("Say why the episode is closed."))
    return advance(episode, states.CLOSE, actor=actor, reason=reason)
