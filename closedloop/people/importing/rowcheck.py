"""Checking one roster row: normalise every cell, decide what is fatal.

A row is *rejected* when the person cannot be identified or placed under
control correctly (bad ID number, sex or birth date contradicting it, an
unreadable anchor date); a doubtful optional value is dropped with a note and
the rest of the row is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from closedloop.lib import identity
from closedloop.lib.categories import ANCHOR_FOR, parse_category, parse_sex
from closedloop.lib.dates import check_not_future, check_recent, parse_date
from closedloop.lib.phones import parse_phones
from closedloop.lib.text import CellError, clean_cell, fold_search
from closedloop.lib.uscc import parse_uscc
from closedloop.people.derive import document_hash, no_id_key

REJECTED = "rejected"
FLAGGED = "flagged"
MERGED = "merged"
DROPPED = "value ignored"
NOTE = "note"
# How pages name each outcome (reports keep the codes above, stable for machines).
OUTCOME_LABELS = {
    REJECTED: gettext_lazy("Rejected"),
    FLAGGED: gettext_lazy("Flagged for a person to decide"),
    MERGED: gettext_lazy("Merged with an earlier row"),
    DROPPED: gettext_lazy("Value ignored, row kept"),
    NOTE: gettext_lazy("Note"),
}

_LOOKS_LIKE_ID = re.compile(r"[\d\s\-.,eE+]*[\dxX]")
_HK_MACAO = re.compile(r"[HMhm]\d{8}(\d{2})?")


def reason_text(exc: CellError) -> str:
    """The library's reason, in the clerk's language when a translation exists."""
    return exc.translated(_)


@dataclass
class Problem:
    row: int
    field: str
    value: str
    reason: str
    outcome: str

    def as_dict(self, headers: dict[str, str]) -> dict:
        return {"row": self.row, "column": headers.get(self.field, self.field), "value": self.value,
                "reason": self.reason, "outcome": self.outcome}


@dataclass
class CheckedRow:
    row: int
    raw: dict
    values: dict = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    rejected: bool = False
    key: str = ""  # identity within the file and the registry
    merged_rows: list[int] = field(default_factory=list)

    def problem(self, fld: str, reason: str, outcome: str) -> None:
        self.problems.append(Problem(self.row, fld, clean_cell(self.raw.get(fld)), reason, outcome))
        if outcome == REJECTED:
            self.rejected = True


@dataclass
class CheckContext:
    today: date
    max_age_days: int
    default_category: str | None
    towns: dict[str, int]  # folded name / code -> town id
    communities: dict[tuple[int | None, str], tuple[int, int]]  # (town id or None, folded name/code) -> (id, town id)

    @property
    def context_year(self) -> int:
        return self.today.year


def _doc(row: CheckedRow, ctx: CheckContext) -> None:
    raw_type, raw_number = row.raw.get("doc_type"), row.raw.get("doc_number")
    try:
        doc_type = identity.parse_doc_type(raw_type)
    except CellError as exc:
        row.problem("doc_type", reason_text(exc), REJECTED)
        return
    text = clean_cell(raw_number)
    if not text and not isinstance(raw_number, (int, float)):
        if doc_type:
            row.problem("doc_number", _("A document type is given but no number; the row is kept without a document."), DROPPED)
        return
    if doc_type is None:
        if isinstance(raw_number, (int, float)) or _LOOKS_LIKE_ID.fullmatch(text):
            doc_type = identity.RESIDENT_ID
        elif _HK_MACAO.fullmatch(text):
            doc_type = identity.HK_MACAO_PERMIT
        else:
            doc_type = identity.PASSPORT
    try:
        if doc_type == identity.RESIDENT_ID:
            rid = identity.parse_resident_id(raw_number, today=ctx.today)
            row.values.update(doc_number=rid.number, sex=rid.sex, birth_date=rid.birth_date, id_sex=True)
        else:
            row.values["doc_number"] = identity.parse_other_document(doc_type, raw_number)
    except CellError as exc:
        row.problem("doc_number", reason_text(exc), REJECTED)
        return
    row.values["doc_type"] = doc_type


def _sex_and_birth(row: CheckedRow, ctx: CheckContext) -> None:
    from_id = row.values.get("id_sex", False)
    if clean_cell(row.raw.get("sex")):
        try:
            sex = parse_sex(row.raw.get("sex"))
        except CellError as exc:
            row.problem("sex", reason_text(exc), DROPPED)
        else:
            if from_id and sex != row.values["sex"]:
                row.problem("sex", _("The sex column says %(given)s but the ID number belongs to a %(derived)s; "
                                     "one of them is wrong.") % {
                    "given": _("male") if sex == "M" else _("female"),
                    "derived": _("man") if row.values["sex"] == "M" else _("woman")}, REJECTED)
            elif not from_id:
                row.values["sex"] = sex
    raw_birth = row.raw.get("birth_date")
    if clean_cell(raw_birth) or isinstance(raw_birth, (date, int, float)):
        try:
            birth = check_not_future(parse_date(raw_birth, context_year=ctx.context_year, today=ctx.today), ctx.today)
        except CellError as exc:
            row.problem("birth_date", reason_text(exc), REJECTED if from_id else DROPPED)
            return
        if from_id and birth != row.values["birth_date"]:
            row.problem("birth_date", _("The birth date %(given)s disagrees with the ID number, which says %(derived)s.")
                        % {"given": birth.isoformat(), "derived": row.values["birth_date"].isoformat()}, REJECTED)
        elif not from_id:
            row.values["birth_date"] = birth


def _phones(row: CheckedRow) -> None:
    if not clean_cell(row.raw.get("phone")):
        return
    try:
        phones = parse_phones(row.raw.get("phone"))
    except CellError as exc:
        identified = bool(row.values.get("doc_number"))
        row.problem("phone", reason_text(exc), DROPPED if identified else REJECTED)
        return
    if phones:
        row.values["phone"] = phones[0]
        row.values["phone_other"] = " ".join(phones[1:])


def _place(row: CheckedRow, ctx: CheckContext) -> None:
    town_text = fold_search(row.raw.get("town"))
    comm_text = fold_search(row.raw.get("community"))
    town_id = None
    if town_text:
        town_id = ctx.towns.get(town_text)
        if town_id is None:
            row.problem("town", _("No town or street of this city has this name; the row is kept without it."), DROPPED)
    if comm_text:
        found = ctx.communities.get((town_id, comm_text)) if town_id else ctx.communities.get((None, comm_text))
        if found is None:
            row.problem("community", _("No village or community of this name in the town; the row is kept without it."),
                        DROPPED)
        else:
            row.values["community_id"], town_id = found
    row.values["town_id"] = town_id


def _dated(row: CheckedRow, fld: str, ctx: CheckContext, *, recent: bool) -> date | None:
    raw = row.raw.get(fld)
    if not clean_cell(raw) and not isinstance(raw, (date, int, float)):
        return None
    value = parse_date(raw, context_year=ctx.context_year, today=ctx.today)
    check_not_future(value, ctx.today)
    if recent:
        check_recent(value, ctx.today, ctx.max_age_days)
    return value


def _category(row: CheckedRow, ctx: CheckContext) -> None:
    try:
        category = parse_category(row.raw.get("category")) or ctx.default_category
    except CellError as exc:
        row.problem("category", reason_text(exc), REJECTED)
        return
    details = {}
    for fld in ("isolation_site", "linked_case"):
        if clean_cell(row.raw.get(fld)):
            details[fld] = clean_cell(row.raw.get(fld))[:120]
    anchor_field = ANCHOR_FOR.get(category) if category else None
    for fld in ("last_exposure", "arrival", "left_risk_area", "isolation_start"):
        try:
            value = _dated(row, fld, ctx, recent=fld == anchor_field)
        except CellError as exc:
            row.problem(fld, reason_text(exc), REJECTED if fld == anchor_field else DROPPED)
            continue
        if value is not None:
            details[fld] = value.isoformat()
    if category is None:
        return
    row.values["category"] = category
    row.values["details"] = details
    if anchor_field == "control_start":
        row.values["anchor_date"] = date.fromisoformat(details["isolation_start"]) if "isolation_start" in details else None
    else:
        row.values["anchor_date"] = date.fromisoformat(details[anchor_field]) if anchor_field in details else None
        if row.values["anchor_date"] is None and not any(p.field == anchor_field for p in row.problems):
            row.problem(anchor_field, _("The date this person's control is counted from is missing; "
                                        "the episode is opened without it and must be completed."), NOTE)


def check_row(number: int, raw: dict, ctx: CheckContext) -> CheckedRow:
    row = CheckedRow(row=number, raw=raw)
    name = re.sub(r"\s+", " ", clean_cell(raw.get("name")))
    if not name:
        row.problem("name", _("The name is missing."), REJECTED)
    elif len(name) > 60 or not any(ch.isalpha() for ch in name):
        row.problem("name", _("This does not look like a person's name."), REJECTED)
    row.values["name"] = name
    _doc(row, ctx)
    _sex_and_birth(row, ctx)
    _phones(row)
    if not row.rejected and not row.values.get("doc_number") and not row.values.get("phone"):
        row.problem("doc_number", _("Neither a document number nor a phone: the person cannot be told apart "
                                    "from others of the same name."), REJECTED)
    _place(row, ctx)
    _category(row, ctx)
    if clean_cell(raw.get("employer_uscc")):
        try:
            row.values["employer_uscc"] = parse_uscc(raw.get("employer_uscc"))
        except CellError as exc:
            row.problem("employer_uscc", reason_text(exc), DROPPED)
    for fld, limit in (("address", 200), ("employer", 120), ("notes", 1000), ("household", 60)):
        text = clean_cell(raw.get(fld))
        if text:
            row.values[fld] = text[:limit]
    if not row.rejected:
        row.key = (
            document_hash(row.values["doc_type"], row.values["doc_number"])
            if row.values.get("doc_number")
            else "n:" + no_id_key(name, row.values.get("phone", ""), row.values.get("birth_date"))
        )
    return row
