"""Writes of the out-of-city registry: rosters from other cities' headquarters, and what they report after.

A resident isolated in another city is an ``out_of_city`` episode held by that city's site (a
``Facility(kind="out_of_city_site")`` and its custodian), plus the ``AwayRecord`` that keeps what the
other city said: the site, the release day, the home town, the status, when and from which source.

- ``away_import`` reads a roster (``awayfile``), finds or registers each person (by the keyed hash of
  their ID number: never a second person), registers a site the first time a roster names it, opens
  and places the episode with the site's custodian, and keeps the record. One transaction; each row
  in its own savepoint, so a rejected row writes nothing and the good rows stay. The same file
  imported again changes nothing, even after status reports: a file already imported is older than
  anything reported since. A later file wins over what was recorded before it.
- ``away_report`` records one status change as the other city reports it. A move to another site
  there is a hand-over in the custody ledger (give and receive, by the actor). A positive person
  stays with the site that holds them (the other city treats them); the record says positive, the
  headline counts them apart and return planning leaves them out until a later report says otherwise.
  Brought home (``home``) is never reported: the hand-over to the home community records it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from closedloop.core.audit import audit_record, diff
from closedloop.core.models import AuditEvent, Jurisdiction
from closedloop.core.roles import Cap
from closedloop.core.scoping import in_scope
from closedloop.facilities.actions import facility_create
from closedloop.facilities.choices import FacilityKind, FacilityStatus
from closedloop.facilities.models import Facility
from closedloop.lib import identity
from closedloop.lib.categories import OUT_OF_CITY
from closedloop.lib.phones import PhoneError, parse_phone
from closedloop.lib.text import CellError, clean_cell, fold_search
from closedloop.people.actions import PersonData, person_register
from closedloop.people.derive import document_hash
from closedloop.people.models import Person
from closedloop.quarantine import states
from closedloop.quarantine.actions import episode_open, episode_place, handover_give, handover_receive
from closedloop.quarantine.choices import Category, CustodianKind
from closedloop.quarantine.models import Episode
from closedloop.transfers.awayfile import AwayLine, read_away_file
from closedloop.transfers.choices import AwayStatus
from closedloop.transfers.models import AwayRecord

# A move between two sites of another city is given and received at once; the ledger still wants the
# expected arrival of the leg, which never matters since the receiver confirms in the same transaction.
MOVE_EXPECTED_WITHIN = timedelta(hours=2)
REPORTABLE = (AwayStatus.ISOLATED, AwayStatus.RELEASED, AwayStatus.POSITIVE, AwayStatus.MOVED)
NOTE_MAX = 200
OUTCOMES = ("created", "updated", "unchanged", "rejected")


# --- who may ------------------------------------------------------------------------------------------

def record_in_scope(user, record: AwayRecord) -> bool:
    """The person lives in the user's jurisdiction, or comes home to a town in it."""
    person = record.episode.person
    return (in_scope(user, city_id=person.city_id, town_id=person.town_id, community_id=person.community_id)
            or in_scope(user, city_id=person.city_id, town_id=record.home_town_id, community_id=None))


def _may_import(actor) -> None:
    if actor is None:
        return  # the system itself (the demo)
    if not (actor.can(Cap.IMPORT_PEOPLE) and actor.can(Cap.HANDOVER)):
        raise PermissionDenied(_("Your role may not import rosters of people isolated in other cities."))


def _may_report(actor, record: AwayRecord) -> None:
    if actor is None:
        return
    if not actor.can(Cap.HANDOVER):
        raise PermissionDenied(_("Your role may not record what other cities report of our residents."))
    if not record_in_scope(actor, record):
        raise PermissionDenied(_("This person is outside your jurisdiction."))


def refusal(exc: PermissionDenied) -> str:
    """A refusal in words: ``require`` raises with the capability's code."""
    text = str(exc)
    if text in Cap.values:
        return _("Your role does not allow this: %(what)s.") % {"what": Cap(text).label}
    return text or _("You may not do this.")


def city_of(actor) -> Jurisdiction | None:
    from closedloop.facilities.registry_forms import user_city

    return user_city(actor) if actor is not None else None


# --- one record ---------------------------------------------------------------------------------------

def record_view(record: AwayRecord) -> dict:
    """A record as the audit log keeps it (sites and towns by their codes: readable in the history)."""
    return {"origin": record.origin.code, "home_town": record.home_town.code,
            "release_on": record.release_on.isoformat() if record.release_on else None, "status": record.status}


def at_origin(record: AwayRecord) -> bool:
    """The site the record names holds the person (not yet handed to a coach, not in transit)."""
    episode = record.episode
    return (episode.status == "open" and episode.state == states.IN_CUSTODY
            and episode.custodian_id == record.origin.custodian_id)


def move(episode: Episode, to_site: Facility, *, actor, reason: str) -> Episode:
    """Hand the person from the site holding them to another site: give and receive, by the actor."""
    episode = handover_give(episode=episode, to_custodian=to_site.custodian, actor=actor, reason=reason,
                            expected_by=timezone.now() + MOVE_EXPECTED_WITHIN)
    return handover_receive(episode=episode, actor=actor)


def _check_origin(origin: Facility, city_id: int) -> None:
    if origin.kind != FacilityKind.OUT_OF_CITY_SITE or origin.city_id != city_id:
        raise ValidationError({"origin": _("Choose an isolation site in another city registered by this city.")})
    if origin.status == FacilityStatus.CLOSED:
        raise ValidationError({"origin": _("This site is closed; it takes nobody.")})


@transaction.atomic
def away_report(*, record: AwayRecord, status: str, actor, release_on: date | None = None,
                origin: Facility | None = None, note: str = "") -> AwayRecord:
    """What the other city reports of one resident: isolated (perhaps with a new release day), released,
    positive, or moved to another site there (``origin``: a hand-over in the custody ledger)."""
    record = (AwayRecord.objects.select_for_update(of=("self",))
              .select_related("episode__person", "origin", "home_town").get(pk=record.pk))
    _may_report(actor, record)
    note = clean_cell(note)
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": _("At most %(max)s characters.") % {"max": NOTE_MAX}})
    if status == AwayStatus.HOME:
        raise ValidationError({"status": _("Brought home is recorded by the hand-over to the home community, "
                                           "not reported.")})
    if status not in REPORTABLE:
        raise ValidationError({"status": _("Choose isolated, released, positive or moved.")})
    if record.status == AwayStatus.HOME:
        raise ValidationError(_("%(name)s has been brought home already.") % {"name": record.episode.person.name})
    if not at_origin(record):
        raise ValidationError(_("%(name)s is no longer held by the site in the other city (on the way home "
                                "already, or the episode has ended); nothing can be reported now.")
                              % {"name": record.episode.person.name})
    today = timezone.localdate()
    before = record_view(record)
    if status == AwayStatus.MOVED:
        if origin is None:
            raise ValidationError({"origin": _("Say which site the person was moved to.")})
        _check_origin(origin, record.episode.city_id)
        if origin.pk == record.origin_id:
            raise ValidationError({"origin": _("The person is at this site already.")})
        move(record.episode, origin, actor=actor, reason=note or _("Moved to %(site)s, as %(city)s reports.")
             % {"site": origin.name, "city": origin.other_city})
        record.origin = origin
    elif origin is not None and origin.pk != record.origin_id:
        raise ValidationError({"origin": _("Only a move changes the site; choose moved as the status.")})
    if status == AwayStatus.RELEASED:
        if release_on is not None and release_on > today:
            raise ValidationError({"release_on": _("A release that has happened cannot be in the future.")})
        if release_on is None and (record.release_on is None or record.release_on > today):
            release_on = today
    if release_on is not None:
        record.release_on = release_on
    record.status = status
    record.reported_at = timezone.now()
    record.source = (_("reported by %(user)s") % {"user": getattr(actor, "username", "system")})[:200]
    record.save(update_fields=["origin", "status", "release_on", "reported_at", "source"])
    b, a = diff(before, record_view(record))
    audit_record(actor=actor, action="away.report", target=record, before=b, after=a, reason=note)
    return record


@transaction.atomic
def away_export_record(*, actor, filters: dict, count: int) -> None:
    """The audit row of one export of the registry's list (personal data masked in it)."""
    audit_record(actor=actor, action="away.export", target_type="awayrecord", target_label=f"{count} records",
                 after={"filters": filters, "count": count})


# --- a roster from another city -----------------------------------------------------------------------

@dataclass
class AwayRow:
    row: int
    outcome: str = "rejected"
    name: str = ""
    doc_number_masked: str = ""
    site: str = ""
    city: str = ""
    town: str = ""
    release_on: date | None = None
    status: str = ""
    record_id: int | None = None
    changed: list[str] = field(default_factory=list)  # record fields a later file changed
    note: str = ""  # kept the row, without something (a phone, a community)
    reason: str = ""  # why the row was rejected
    column: str = ""
    value: str = ""


@dataclass
class AwayImport:
    file_name: str
    sha256: str
    header_row: int
    seen_before: bool = False  # the same file was imported before: existing records are left as they are
    rows: list[AwayRow] = field(default_factory=list)
    sites_created: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.rows if r.outcome == outcome)

    @property
    def read(self) -> int:
        return len(self.rows)

    @property
    def created(self) -> int:
        return self.count("created")

    @property
    def updated(self) -> int:
        return self.count("updated")

    @property
    def unchanged(self) -> int:
        return self.count("unchanged")

    @property
    def rejected(self) -> int:
        return self.count("rejected")

    @property
    def problems(self) -> list[AwayRow]:
        return [r for r in self.rows if r.outcome == "rejected"]

    def as_dict(self) -> dict:
        return {
            "file": self.file_name, "sha256": self.sha256, "header_row": self.header_row,
            "seen_before": self.seen_before, "read": self.read, "created": self.created, "updated": self.updated,
            "unchanged": self.unchanged, "rejected": self.rejected, "sites_created": list(self.sites_created),
            "rows": [{**r.__dict__, "release_on": r.release_on.isoformat() if r.release_on else None}
                     for r in self.rows],
        }


class _Reject(Exception):
    def __init__(self, reason: str, column: str = "", value: str = "") -> None:
        super().__init__(reason)
        self.reason, self.column, self.value = reason, column, value


def city_key(text: str) -> str:
    """杭州市, 杭州 and " 杭州市 " are one city."""
    return fold_search(text).removesuffix("市")


def site_code(city_text: str, site_name: str) -> str:
    digest = hashlib.sha1(f"{city_key(city_text)}|{fold_search(site_name)}".encode()).hexdigest()
    return f"away-{digest[:10]}"


def _place_keys(j: Jurisdiction) -> set[str]:
    keys = {j.code, fold_search(j.name), fold_search(j.name_en)}
    short = j.name.removesuffix("街道").removesuffix("镇").removesuffix("乡").removesuffix("社区").removesuffix("村")
    if len(short) >= 2:
        keys.add(fold_search(short))
    keys.discard("")
    return keys


class _Importer:
    """The lookups of one import, read once: the city's towns and communities, its out-of-city sites."""

    def __init__(self, *, city: Jurisdiction, actor, file_name: str, sha256: str, labels: dict[str, str],
                 origin_city_hint: str, seen_before: bool, report: AwayImport) -> None:
        self.city, self.actor, self.labels, self.report = city, actor, labels, report
        self.hint, self.seen_before = clean_cell(origin_city_hint), seen_before
        self.source = f"{file_name} · {sha256[:12]}"[:200]
        self.today = timezone.localdate()
        self.towns: dict[str, Jurisdiction] = {}
        self.communities: dict[tuple[int, str], Jurisdiction] = {}
        for j in Jurisdiction.objects.filter(city_id=city.pk, level__in=["town", "community"]):
            for key in _place_keys(j):
                if j.level == "town":
                    self.towns[key] = j
                else:
                    self.communities[(j.parent_id, key)] = j
        self.sites: dict[tuple[str, str], Facility] = {
            (city_key(f.other_city), fold_search(f.name)): f
            for f in Facility.objects.filter(city=city, kind=FacilityKind.OUT_OF_CITY_SITE).select_related("custodian")
        }
        self.first_row: dict[str, int] = {}  # id hash -> the row that had it first
        self.new_sites: list[tuple[str, str]] = []  # sites registered by the row being imported

    # --- cells ---

    def document(self, line: AwayLine) -> tuple[str, str, identity.ResidentId | None]:
        try:
            doc_type = identity.parse_doc_type(line.doc_type_raw) or identity.RESIDENT_ID
            if doc_type == identity.RESIDENT_ID:
                rid = identity.parse_resident_id(line.doc_raw, today=self.today)
                return doc_type, rid.number, rid
            return doc_type, identity.parse_other_document(doc_type, line.doc_raw), None
        except CellError as exc:
            raise _Reject(exc.translated(gettext), self.labels["doc_number"], line.doc_number_masked) from None

    def town(self, line: AwayLine) -> Jurisdiction:
        town = self.towns.get(fold_search(line.town))
        if town is None:
            raise _Reject(_("No town or street of %(city)s is called “%(value)s”.")
                          % {"city": self.city.name, "value": line.town}, self.labels["town"], line.town)
        return town

    def community(self, line: AwayLine, town: Jurisdiction, out: AwayRow) -> Jurisdiction | None:
        if not line.community:
            return None
        community = self.communities.get((town.pk, fold_search(line.community)))
        if community is None:
            out.note = _("The community “%(value)s” is not in %(town)s; the row is kept without it.") % {
                "value": line.community, "town": town.name}
        return community

    def site(self, line: AwayLine) -> Facility:
        city_text = line.city or self.hint
        if not city_text:
            raise _Reject(_("Say which city the site is in: the file has no city column (所在城市) and no city was "
                            "given with the import."), self.labels["city"])
        key = (city_key(city_text), fold_search(line.site))
        site = self.sites.get(key)
        if site is None:
            # Registered on the importer's behalf: the import's audit row names who and lists the new sites.
            site = facility_create(kind=FacilityKind.OUT_OF_CITY_SITE, name=line.site[:120],
                                   code=site_code(city_text, line.site), city=self.city, other_city=city_text[:60],
                                   status=FacilityStatus.OPEN, actor=None)
            self.sites[key] = site
            self.new_sites.append(key)
        return site

    def phone(self, line: AwayLine, out: AwayRow) -> str:
        if not clean_cell(line.phone_raw):
            return ""
        try:
            return parse_phone(line.phone_raw)
        except PhoneError as exc:
            out.note = _("The phone was not kept: %(reason)s") % {"reason": exc.translated(gettext)}
            return ""

    # --- the row ---

    def person(self, line: AwayLine, out: AwayRow, town: Jurisdiction, community) -> Person:
        doc_type, number, rid = self.document(line)
        out.doc_number_masked = identity.mask_id(number)
        id_hash = document_hash(doc_type, number)
        if id_hash in self.first_row:
            raise _Reject(_("This ID number is on row %(row)s already; only the first row counts.")
                          % {"row": self.first_row[id_hash]}, self.labels["doc_number"], out.doc_number_masked)
        self.first_row[id_hash] = line.row
        person = Person.objects.filter(id_hash=id_hash).first()
        if person is not None:
            if fold_search(person.name) != fold_search(line.name):
                raise _Reject(_("This ID number is registered to %(registered)s, not %(name)s; check the row.")
                              % {"registered": person.name, "name": line.name}, self.labels["name"], line.name)
            if person.city_id != self.city.pk:
                raise _Reject(_("This person is registered as a resident of another city."),
                              self.labels["doc_number"], out.doc_number_masked)
            if self.actor is not None and not in_scope(self.actor, city_id=person.city_id, town_id=person.town_id,
                                                       community_id=person.community_id):
                raise _Reject(_("This person lives outside your jurisdiction."), self.labels["town"], line.town)
            return person
        data = PersonData(
            name=line.name[:60], city=self.city, town=town, community=community, doc_type=doc_type, doc_number=number,
            sex=rid.sex if rid else "", birth_date=rid.birth_date if rid else None, phone=self.phone(line, out),
            is_synthetic=doc_type == identity.RESIDENT_ID and identity.is_synthetic_resident_id(number),
        )
        return person_register(data=data, actor=self.actor, reason=_("Roster of people isolated in another city"))

    def new_record(self, line: AwayLine, person: Person, site: Facility, town: Jurisdiction) -> AwayRecord:
        episode = Episode.objects.select_related("custodian").filter(person=person, status="open").first()
        reason = _("Isolated in %(city)s (%(source)s)") % {"city": site.other_city, "source": self.source}
        if episode is None:
            episode = episode_open(person=person, category=OUT_OF_CITY, anchor_date=None, actor=self.actor,
                                   reason=reason)
        elif episode.category != OUT_OF_CITY:
            raise _Reject(_("%(name)s is under control here already (%(category)s); a person has one open episode "
                            "at a time: settle that one first.")
                          % {"name": person.name, "category": Category(episode.category).label})
        if episode.state == states.AWAITING:
            episode = episode_place(episode=episode, custodian=site.custodian, actor=self.actor)
        elif episode.state == states.IN_CUSTODY and episode.custodian.kind == CustodianKind.OUT_OF_CITY_SITE:
            if episode.custodian_id != site.custodian_id:
                episode = move(episode, site, actor=self.actor, reason=reason)
        else:
            raise _Reject(_("%(name)s is held by %(custodian)s, not by a site in another city.")
                          % {"name": person.name, "custodian": episode.custodian or "—"})
        record = AwayRecord.objects.create(
            episode=episode, origin=site, home_town=town, release_on=line.release_on,
            status=line.status or AwayStatus.ISOLATED, reported_at=timezone.now(), source=self.source)
        audit_record(actor=self.actor, action="away.register", target=record, after=record_view(record),
                     reason=self.source)
        return record

    def update_record(self, record: AwayRecord, line: AwayLine, site: Facility, town: Jurisdiction,
                      out: AwayRow) -> bool:
        """A later file wins over what was recorded; blanks never erase. True when something changed."""
        if self.seen_before:
            return False  # this very file was imported before: what was reported since is newer
        if record.status == AwayStatus.HOME:
            raise _Reject(_("%(name)s has been brought home already.") % {"name": record.episode.person.name})
        changes = {}
        if site.pk != record.origin_id:
            changes["origin"] = site
        if town.pk != record.home_town_id:
            changes["home_town"] = town
        if line.release_on is not None and line.release_on != record.release_on:
            changes["release_on"] = line.release_on
        if line.status is not None and line.status != record.status:
            changes["status"] = line.status
        if not changes:
            return False
        if not at_origin(record):
            raise _Reject(_("%(name)s is on the way home already; the roster cannot change that.")
                          % {"name": record.episode.person.name})
        before = record_view(record)
        if "origin" in changes:
            move(record.episode, site, actor=self.actor, reason=_("Moved to %(site)s (%(source)s)")
                 % {"site": site.name, "source": self.source})
        for name, value in changes.items():
            setattr(record, name, value)
        record.reported_at, record.source = timezone.now(), self.source
        record.save()
        out.changed = sorted(changes)
        b, a = diff(before, record_view(record))
        audit_record(actor=self.actor, action="away.update", target=record, before=b, after=a, reason=self.source)
        return True

    def row(self, line: AwayLine) -> AwayRow:
        out = AwayRow(row=line.row, name=line.name, doc_number_masked=line.doc_number_masked, site=line.site,
                      city=line.city or self.hint, town=line.town, release_on=line.release_on,
                      status=line.status or "")
        if line.problem:
            out.reason, out.column, out.value = line.problem, line.problem_column, line.problem_value
            return out
        self.new_sites = []
        try:
            with transaction.atomic():
                town = self.town(line)
                community = self.community(line, town, out)
                person = self.person(line, out, town, community)
                site = self.site(line)
                record = (AwayRecord.objects.select_related("episode__person", "origin", "home_town")
                          .filter(episode__person=person, episode__status="open").first())
                if record is None:
                    record = self.new_record(line, person, site, town)
                    out.outcome = "created"
                else:
                    out.outcome = "updated" if self.update_record(record, line, site, town, out) else "unchanged"
                out.record_id = record.pk
        except _Reject as exc:
            out.outcome, out.reason, out.column, out.value = "rejected", exc.reason, exc.column, exc.value
        except (ValidationError, PermissionDenied) as exc:
            out.outcome = "rejected"
            out.reason = " ".join(exc.messages) if isinstance(exc, ValidationError) else refusal(exc)
        if out.outcome == "rejected":
            for key in self.new_sites:  # rolled back with the row
                del self.sites[key]
        else:
            self.report.sites_created += [f"{self.sites[k].other_city} · {self.sites[k].name}" for k in self.new_sites]
        return out


@transaction.atomic
def away_import(*, path: Path, actor, origin_city_hint: str = "", file_name: str = "",
                city: Jurisdiction | None = None) -> AwayImport:
    """A roster of our residents isolated in another city (.xlsx/.csv), as that city's headquarters sends it.

    Every row gets an outcome: created, updated (a later file changed the release day, the status, the
    site or the home town), unchanged, or rejected with its reason; a rejected row writes nothing. A file
    that cannot be read at all is refused with a ValidationError on ``file`` and writes nothing.
    ``origin_city_hint`` is the city of every row whose file has no city column.
    """
    _may_import(actor)
    city = city or city_of(actor)
    if city is None:
        raise ValidationError(_("Your account belongs to no city; ask an administrator."))
    path = Path(path)
    file_name = (file_name or path.name)[:200]
    from closedloop.people.importing.reader import UnreadableFile

    try:
        data = path.read_bytes()
        away_file = read_away_file(path, today=timezone.localdate())
    except UnreadableFile as exc:
        raise ValidationError({"file": str(exc)}) from None
    except OSError:
        raise ValidationError({"file": _("The file cannot be read.")}) from None
    sha256 = hashlib.sha256(data).hexdigest()
    seen_before = AuditEvent.objects.filter(action="away.import", target_id=sha256[:40]).exists()
    report = AwayImport(file_name=file_name, sha256=sha256, header_row=away_file.header_row, seen_before=seen_before)
    labels = {f: away_file.label(f) for f in ("name", "doc_number", "site", "city", "town", "release_on", "status")}
    importer = _Importer(city=city, actor=actor, file_name=file_name, sha256=sha256, labels=labels,
                         origin_city_hint=origin_city_hint, seen_before=seen_before, report=report)
    for line in away_file.lines:
        report.rows.append(importer.row(line))
    audit_record(actor=actor, action="away.import", target_type="away_file", target_id=sha256[:40],
                 target_label=file_name, after={k: v for k, v in report.as_dict().items() if k != "rows"},
                 reason=clean_cell(origin_city_hint))
    return report
