"""Writing checked rows to the registry, one whole batch per transaction.

Rows are matched first by document (keyed hash), then, for people without a
document, by the same name, phone and birth date (the same row imported
before). A row without a document that only *resembles* someone registered
(same name and phone, or same name and birth date) is never merged: it becomes
a MatchReview for a person to decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from closedloop.lib.categories import ANCHOR_FOR
from closedloop.people.actions import CONTACT_FIELDS, history_record
from closedloop.people.choices import FLAGS, ReviewKind, ReviewStatus
from closedloop.people.derive import derive
from closedloop.people.importing.rowcheck import FLAGGED, MERGED, NOTE, CheckedRow
from closedloop.people.models import Household, ImportRun, MatchReview, Person, PersonContactHistory
from closedloop.quarantine.choices import EpisodeStatus
from closedloop.quarantine.models import Episode

UPDATABLE = ("phone", "phone_other", "address", "employer", "employer_uscc", "town_id", "community_id")
OUTCOMES = ("created", "updated", "unchanged", "merged_in_file", "flagged", "rejected")


@dataclass
class RunState:
    run: ImportRun
    city_id: int
    today: object
    counts: dict = field(default_factory=lambda: {"read": 0, **{k: 0 for k in OUTCOMES}})
    problems: list = field(default_factory=list)
    headers: dict = field(default_factory=dict)  # field -> column header, for the report
    households: dict = field(default_factory=dict)  # household key in the file -> Household id
    rows_done: int = 0


def _new_person(row: CheckedRow, state: RunState) -> Person:
    v = row.values
    person = Person(
        city_id=state.city_id, town_id=v.get("town_id"), community_id=v.get("community_id"), name=v["name"],
        doc_type=v.get("doc_type", ""), doc_number=v.get("doc_number", ""), sex=v.get("sex", ""),
        birth_date=v.get("birth_date"), phone=v.get("phone", ""), phone_other=v.get("phone_other", ""),
        address=v.get("address", ""), employer=v.get("employer", ""),
        employer_uscc=v.get("employer_uscc", ""), notes=v.get("notes", ""),
        source_import_id=state.run.pk,
    )
    derive(person, state.today)
    return person


def _changes(person: Person, row: CheckedRow) -> dict:
    """Contact details the row brings that differ from the registry (newer wins; blanks never erase)."""
    changed = {}
    for fld in UPDATABLE:
        new = row.values.get(fld)
        if new not in (None, "") and new != getattr(person, fld):
            changed[fld] = new
    return changed


def _candidates(rows: list[CheckedRow], city_id: int) -> dict[int, Person]:
    """For undocumented rows: a registered person with the same name and phone, or name and birth date."""
    q = Q()
    for row in rows:
        v = row.values
        if v.get("phone"):
            q |= Q(name=v["name"], phone=v["phone"])
        if v.get("birth_date"):
            q |= Q(name=v["name"], birth_date=v["birth_date"])
    if not q:
        return {}
    found = list(Person.objects.filter(q, city_id=city_id).order_by("pk"))
    result = {}
    for row in rows:
        v = row.values
        for p in found:
            if p.name == v["name"] and (
                (v.get("phone") and p.phone == v["phone"]) or (v.get("birth_date") and p.birth_date == v["birth_date"])
            ):
                result[row.row] = p
                break
    return result


def _review(row: CheckedRow, state: RunState, person: Person, kind: str, reason: str) -> MatchReview:
    data = {
        k: (v.isoformat() if hasattr(v, "isoformat") else v)
        for k, v in row.values.items()
        if not k.startswith("_")  # engine bookkeeping (_person, _merged)
    }
    return MatchReview(
        kind=kind, city_id=state.city_id, town_id=person.town_id, community_id=person.community_id,
        import_run_id=state.run.pk, row_number=row.row, candidate=person, row_key=row.key[:32], data=data,
        reason=reason[:300],
    )


def commit_batch(rows: list[CheckedRow], state: RunState, *, source: str) -> None:
    """Write one batch of checked, de-duplicated, accepted rows in one transaction."""
    with transaction.atomic():
        _commit(rows, state, source=source)
        state.rows_done += len(rows) + sum(len(r.merged_rows) for r in rows)
        ImportRun.objects.filter(pk=state.run.pk).update(
            rows_done=state.rows_done, counts=state.counts, problems=state.problems
        )


def _commit(rows: list[CheckedRow], state: RunState, *, source: str) -> None:
    documented = [r.key for r in rows if not r.key.startswith("n:")]
    by_key = {p.id_hash: p for p in Person.objects.filter(id_hash__in=documented)} if documented else {}
    undocumented = [r.key[2:] for r in rows if r.key.startswith("n:")]
    if undocumented:
        # Only a person an earlier import created from the same name, phone and birth
        # date counts as the same row; one registered by hand is flagged instead.
        for p in Person.objects.filter(
            no_id_key__in=undocumented, city_id=state.city_id, doc_number="", source_import__isnull=False
        ):
            by_key.setdefault("n:" + p.no_id_key, p)
    unmatched_undoc = [r for r in rows if r.key.startswith("n:") and r.key not in by_key]
    candidates = _candidates(unmatched_undoc, state.city_id)

    outcome: dict[int, str] = {}
    new_people: list[tuple[CheckedRow, Person]] = []
    changed: list[Person] = []
    history: list[PersonContactHistory] = []
    reviews: list[MatchReview] = []
    for row in rows:
        person = by_key.get(row.key)
        if person is None and row.row in candidates:
            cand = candidates[row.row]
            reviews.append(_review(row, state, cand, ReviewKind.POSSIBLE_DUPLICATE,
                                   _("Same name and phone or birth date as a registered person, but no document number.")))
            row.problem("name", _("May be %(name)s, already registered (no document number to be sure); "
                                  "a person must decide.") % {"name": cand.name}, FLAGGED)
            outcome[row.row] = "flagged"
            continue
        if person is None:
            new_people.append((row, _new_person(row, state)))
            outcome[row.row] = "created"
            continue
        if person.name != row.values["name"]:
            row.problem("name", _("The registry has this document under the name %(name)s; the registered name is kept.")
                        % {"name": person.name}, NOTE)
        delta = _changes(person, row)
        if delta:
            old = {f: getattr(person, f) for f in CONTACT_FIELDS}
            for f, v in delta.items():
                setattr(person, f, v)
            derive(person, state.today)
            history.extend(history_record(person, old, source, save=False))
            changed.append(person)
            outcome[row.row] = "updated"
        else:
            outcome[row.row] = "unchanged"
        row.values["_person"] = person

    if new_people:
        _attach_households(new_people, rows, by_key, state)
        created = Person.objects.bulk_create([p for _r, p in new_people], batch_size=500)
        for (row, _p), person in zip(new_people, created, strict=True):
            row.values["_person"] = person
    if changed:
        now = timezone.now()
        for p in changed:
            p.updated_at = now
        Person.objects.bulk_update(changed, [*UPDATABLE, "phone_tail", "no_id_key", "updated_at"], batch_size=500)
    if history:
        PersonContactHistory.objects.bulk_create(history, batch_size=500)
    _episodes(rows, outcome, reviews, state)
    if reviews:
        MatchReview.objects.bulk_create(reviews, batch_size=500, ignore_conflicts=True)

    for row in rows:
        state.counts[outcome[row.row]] += 1
        state.counts["merged_in_file"] += len(row.merged_rows)
        state.problems.extend(p.as_dict(state.headers) for p in row.problems)


def _attach_households(new_people, rows, by_key, state: RunState) -> None:
    """People sharing a household key in the file share a household (one INSERT for the batch's new ones)."""
    for row in rows:
        key = row.values.get("household")
        person = by_key.get(row.key)
        if key and person is not None and person.household_id and key not in state.households:
            state.households[key] = person.household_id
    fresh: dict[str, Household] = {}
    for row, person in new_people:
        key = row.values.get("household")
        if key and key not in state.households and key not in fresh:
            fresh[key] = Household(city_id=state.city_id, town_id=person.town_id, community_id=person.community_id,
                                   address=person.address)
    if fresh:
        for key, household in zip(fresh, Household.objects.bulk_create(list(fresh.values()), batch_size=500),
                                  strict=True):
            state.households[key] = household.pk
    for row, person in new_people:
        key = row.values.get("household")
        if key:
            person.household_id = state.households[key]


def _episodes(rows: list[CheckedRow], outcome: dict, reviews: list, state: RunState) -> None:
    with_category = [r for r in rows if r.values.get("category") and "_person" in r.values]
    if not with_category:
        return
    # People created in this batch cannot have an episode yet: ask only about the others.
    known = [r.values["_person"].pk for r in with_category if outcome[r.row] != "created"]
    open_by_person = {
        e.person_id: e
        for e in Episode.objects.filter(person_id__in=known, status=EpisodeStatus.OPEN).only(
            "pk", "person_id", "category"
        )
    } if known else {}
    new = []
    for row in with_category:
        person = row.values["_person"]
        category = row.values["category"]
        current = open_by_person.get(person.pk)
        if current is None:
            new.append(Episode(
                person=person, city_id=state.city_id, category=category, anchor_kind=ANCHOR_FOR[category],
                anchor_date=row.values.get("anchor_date"), details=row.values.get("details", {}),
                opened_by_id=state.run.actor_id, source_import_id=state.run.pk,
            ))
            open_by_person[person.pk] = new[-1]
            if outcome[row.row] == "unchanged":
                outcome[row.row] = "updated"
        elif current.category != category:
            reviews.append(_review(row, state, person, ReviewKind.CATEGORY_CONFLICT,
                                   _("Already under control in another category.")))
            row.problem("category", _("Already under control as %(current)s; no second episode was opened, "
                                      "a person must decide.") % {"current": current.get_category_display()}, FLAGGED)
            outcome[row.row] = "flagged"
    if new:
        Episode.objects.bulk_create(new, batch_size=500)


def merge_into(first: CheckedRow, later: CheckedRow) -> None:
    """Two rows of one file for the same person: fill the first's blanks from the later one."""
    for fld, value in later.values.items():
        if value not in (None, "", {}) and first.values.get(fld) in (None, "", {}):
            first.values[fld] = value
    first.merged_rows.append(later.row)
    later.problem("name", _("Same person as row %(row)s; the two rows were merged.") % {"row": first.row}, MERGED)
    first.problems.extend(later.problems)


def apply_review_decision(review: MatchReview, *, actor) -> None:
    """Carry out a decided review (called by ``people.actions.review_decide``)."""
    from datetime import date

    from closedloop.people.actions import PersonData, person_register, person_update

    data = review.data
    if review.status == ReviewStatus.DIFFERENT and review.kind == ReviewKind.POSSIBLE_DUPLICATE:
        person = person_register(data=_person_data(data, review, PersonData, date), actor=actor,
                                 reason=_("Possible match decided: a different person."))
        _open_from_review(person, data, review, actor)
    elif review.status == ReviewStatus.SAME and review.kind == ReviewKind.POSSIBLE_DUPLICATE:
        person = review.candidate
        merged = _person_data(data, review, PersonData, date)
        for fld in ("doc_type", "doc_number", "sex", "birth_date", "name"):
            if getattr(person, fld):
                setattr(merged, fld, getattr(person, fld))
        for fld in ("phone", "address", "employer", "employer_uscc", "phone_other"):
            if not getattr(merged, fld):  # the row's blanks never erase what is registered
                setattr(merged, fld, getattr(person, fld))
        # Town and community go as a pair, so a row naming only the town keeps a community inside it.
        if merged.town is None or merged.town.pk == person.town_id:
            merged.town = person.town if merged.town is None else merged.town
            merged.community = merged.community or person.community
        merged.flags = {f: getattr(person, f) for f, _label in FLAGS}
        person_update(person=person, data=merged, actor=actor, reason=_("Possible match decided: the same person."),
                      source=f"import:{review.import_run_id}")
        _open_from_review(person, data, review, actor)


def _person_data(data, review, PersonData, date):
    from closedloop.core.models import Jurisdiction

    town = Jurisdiction.objects.filter(pk=data.get("town_id")).first() if data.get("town_id") else None
    community = Jurisdiction.objects.filter(pk=data.get("community_id")).first() if data.get("community_id") else None
    birth = date.fromisoformat(data["birth_date"]) if data.get("birth_date") else None
    return PersonData(
        name=data["name"], city=review.city, town=town, community=community, doc_type=data.get("doc_type", ""),
        doc_number=data.get("doc_number", ""), sex=data.get("sex", ""), birth_date=birth,
        phone=data.get("phone", ""), phone_other=data.get("phone_other", ""), address=data.get("address", ""),
        employer=data.get("employer", ""), notes=data.get("notes", ""),
    )


def _open_from_review(person, data, review, actor) -> None:
    from datetime import date

    from closedloop.quarantine.actions import episode_open

    if data.get("category") and not Episode.objects.filter(person=person, status=EpisodeStatus.OPEN).exists():
        anchor = date.fromisoformat(data["anchor_date"]) if data.get("anchor_date") else None
        episode_open(person=person, category=data["category"], anchor_date=anchor, actor=actor,
                     details=data.get("details") or {}, source_import=review.import_run)
