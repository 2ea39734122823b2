"""Shapes of the person registry's JSON API, and how its input is checked.

Input is read by ``load`` rather than by django-ninja's own parameter
validation, so every bad value comes back as ``{"detail": [{"field", "message"}]}``
with a sentence a clerk can act on, in the request's language. The input
models are strict (a number where text is expected is an error, not a guess)
and refuse unknown fields, so a typo such as ``"phon"`` is reported instead of
silently dropped.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from closedloop.core.models import Jurisdiction
from closedloop.core.templatetags.cl import mask_address, mask_value
from closedloop.lib import identity
from closedloop.lib.categories import CategoryError, parse_sex
from closedloop.lib.dates import DateError, check_not_future
from closedloop.lib.phones import PhoneError, parse_phone, parse_phones
from closedloop.lib.text import clean_cell
from closedloop.people.actions import PersonData
from closedloop.people.choices import FLAGS, DocType, Sex
from closedloop.people.models import Person

FLAG_NAMES = tuple(name for name, _label in FLAGS)
FlagName = Literal["is_elderly", "is_child", "is_pregnant", "has_chronic_illness", "has_disability", "needs_medication"]


def sex_label(code: str) -> str:
    return str(dict(Sex.choices).get(code, code))


# --- errors ----------------------------------------------------------------------

class FieldError(Schema):
    field: str | None = Field(None, description="The input field at fault; null when the request as a whole is.")
    message: str


class FieldErrorsOut(Schema):
    detail: list[FieldError]


class ErrorOut(Schema):
    detail: str


class InputError(Exception):
    """Bad input, as a list of ``{"field", "message"}``; the API answers 422."""

    def __init__(self, errors: list[dict]) -> None:
        super().__init__(errors)
        self.errors = errors

    @classmethod
    def one(cls, field: str | None, message: str) -> InputError:
        return cls([{"field": field, "message": message}])

    @classmethod
    def from_django(cls, exc: DjangoValidationError) -> InputError:
        if hasattr(exc, "error_dict"):
            return cls([
                {"field": None if name == "__all__" else name, "message": message}
                for name, messages in exc.message_dict.items()
                for message in messages
            ])
        return cls([{"field": None, "message": message} for message in exc.messages])


def _pydantic_message(error: dict) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind == "extra_forbidden":
        return _("This field is not known; check its spelling.")
    if kind == "json_invalid":
        return _("The request body is not valid JSON.")
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return _("The request body must be a JSON object.")
    if kind.startswith("string_too_long"):
        return _("At most %(max)s characters.") % {"max": ctx.get("max_length")}
    if kind.startswith("string"):
        return _("Write this as text.")
    if kind.startswith("date"):
        return _("Write the date like 2022-08-03.")
    if kind.startswith("bool"):
        return _("Use true or false.")
    if kind in {"list_type", "tuple_type"}:
        return _("Give a list.")
    if kind in {"literal_error", "enum"}:
        return _("Use one of: %(choices)s.") % {"choices": ctx.get("expected", "")}
    return _("This value is not valid.")


def field_errors(errors: list[dict]) -> list[dict]:
    """Pydantic's errors as ``{"field", "message"}``: one per field, in clerk-readable words.

    Usable as the body of a 422 for any django-ninja validation error too.
    """
    out: list[dict] = []
    seen: set = set()
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "payload", "query", "path")]
        field = loc[0] if loc else None
        if field in seen:
            continue
        seen.add(field)
        out.append({"field": field, "message": _pydantic_message(error)})
    return out


def load(model: type[BaseModel], body: bytes) -> BaseModel:
    """Parse a JSON request body into ``model``, or raise InputError."""
    try:
        return model.model_validate_json(body or b"")
    except PydanticValidationError as exc:
        raise InputError(field_errors(exc.errors())) from None


# --- input -----------------------------------------------------------------------

class PersonIn(BaseModel):
    """A person to register. Town and community are given by code."""

    model_config = ConfigDict(strict=True, extra="forbid", title="PersonIn")

    name: str = Field(max_length=60)
    town: str | None = Field(None, description="Code of the town or street, e.g. 330782001.")
    community: str | None = Field(None, description="Code of the village or community; implies its town.")
    doc_type: str = Field("", description="resident_id, passport, hk_macao_permit, taiwan_permit or other.")
    doc_number: str = Field("", max_length=40)
    sex: str = Field("", description="M or F; derived from a resident ID number when omitted.")
    birth_date: date | None = Field(None, description="Derived from a resident ID number when omitted.")
    phone: str = Field("", max_length=30)
    phone_other: str = Field("", max_length=60, description="More numbers, separated by /.")
    address: str = Field("", max_length=200)
    employer: str = Field("", max_length=120)
    notes: str = Field("", max_length=2000)
    flags: list[FlagName] = Field(default_factory=list)
    reason: str = Field("", max_length=500, description="Kept in the audit log.")


class PersonPatch(BaseModel):
    """The fields to change; fields left out keep their value, null clears one."""

    model_config = ConfigDict(strict=True, extra="forbid", title="PersonPatch")

    name: str | None = Field(None, max_length=60)
    town: str | None = None
    community: str | None = None
    doc_type: str | None = None
    doc_number: str | None = Field(None, max_length=40)
    sex: str | None = None
    birth_date: date | None = None
    phone: str | None = Field(None, max_length=30)
    phone_other: str | None = Field(None, max_length=60)
    address: str | None = Field(None, max_length=200)
    employer: str | None = Field(None, max_length=120)
    notes: str | None = Field(None, max_length=2000)
    flags: list[FlagName] | None = None
    reason: str | None = Field(None, max_length=500, description="Kept in the audit log.")


class UnmaskIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", title="UnmaskIn")

    field: Literal["doc_number", "phone", "address"]
    reason: str = Field(max_length=500, description="Why the full value is needed; kept in the audit log.")


def openapi_body(model: type[BaseModel]) -> dict:
    """The ``requestBody`` of an operation whose body is read with ``load``."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


# --- output ----------------------------------------------------------------------

class PersonOut(Schema):
    id: int
    name: str
    sex: str = Field(description="M, F or empty.")
    birth_date: date | None
    doc_type: str
    doc_number_masked: str
    phone_masked: str
    town_code: str | None
    town_name: str | None
    community_code: str | None
    community_name: str | None
    household_id: int | None
    employer: str
    flags: list[str]
    open_category: str | None = Field(description="Category of the open episode, if any.")
    created_at: datetime

    @staticmethod
    def resolve_town_code(obj) -> str | None:
        return obj.town.code if obj.town_id else None

    @staticmethod
    def resolve_town_name(obj) -> str | None:
        return obj.town.name if obj.town_id else None

    @staticmethod
    def resolve_community_code(obj) -> str | None:
        return obj.community.code if obj.community_id else None

    @staticmethod
    def resolve_community_name(obj) -> str | None:
        return obj.community.name if obj.community_id else None

    @staticmethod
    def resolve_flags(obj) -> list[str]:
        return [name for name in FLAG_NAMES if getattr(obj, name)]

    @staticmethod
    def resolve_open_category(obj) -> str | None:
        return getattr(obj, "open_category", None)


class PersonDetailOut(PersonOut):
    address_masked: str
    phone_other_masked: str
    notes: str
    open_anchor_date: date | None
    is_synthetic: bool
    updated_at: datetime

    @staticmethod
    def resolve_address_masked(obj) -> str:
        return mask_address(obj.address)

    @staticmethod
    def resolve_phone_other_masked(obj) -> str:
        return mask_value(obj.phone_other, "phones")

    @staticmethod
    def resolve_open_anchor_date(obj) -> date | None:
        return getattr(obj, "open_anchor_date", None)


class PeoplePage(Schema):
    count: int
    page: int
    page_size: int
    items: list[PersonOut]


class UnmaskOut(Schema):
    field: str
    value: str


# --- from input to PersonData --------------------------------------------------------

def _jurisdiction(field: str, code: str | None, level: str, errors: list) -> Jurisdiction | None:
    code = clean_cell(code)
    if not code:
        return None
    found = Jurisdiction.objects.filter(code=code, level=level).first()
    if found is None:
        if level == Jurisdiction.Level.TOWN:
            message = _("No town or street has the code %(code)s.")
        else:
            message = _("No village or community has the code %(code)s.")
        errors.append({"field": field, "message": message % {"code": code}})
    return found


def person_data(values: dict, *, base: PersonData | None = None, today: date | None = None) -> PersonData:
    """Check the given values (those of PersonIn or PersonPatch) with the rules of the form.

    ``base`` is the person as registered (for an update): fields not given keep
    its value, except that sex and birth date follow a new resident ID number
    unless they are given too. Raises InputError with every problem found.
    """
    today = today or timezone.localdate()
    errors: list[dict] = []
    data = base

    def given(name: str) -> bool:
        return name in values

    def text(name: str) -> str:
        if given(name):
            return clean_cell(values.get(name))
        return getattr(data, name) if data else ""

    def problem(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    name = text("name")
    if not name:
        problem("name", _("Enter the name."))

    # Where they live.
    town = data.town if data else None
    community = data.community if data else None
    if given("town"):
        town = _jurisdiction("town", values.get("town"), Jurisdiction.Level.TOWN, errors)
        if not given("community") and community is not None and (town is None or community.parent_id != town.pk):
            community = None  # moved to another town: the old community cannot follow
    if given("community"):
        community = _jurisdiction("community", values.get("community"), Jurisdiction.Level.COMMUNITY, errors)
    if town is None and community is not None:
        town = community.parent
    if town is not None and community is not None and community.parent_id != town.pk:
        problem("community", _("This community is not in the chosen town or street."))
    if town is None and not any(e["field"] in {"town", "community"} for e in errors):
        problem("town", _("Choose the town or street where the person lives."))
    city = (town.city if town is not None else None) or (data.city if data else None)

    # The document: a number without a type is a resident ID number, as in the form.
    doc_type, doc_number = text("doc_type"), text("doc_number")
    resident = None
    if data is not None and not given("doc_type") and not given("doc_number"):
        # Unchanged: kept as stored (even a number registered before today's checks),
        # and read only to cross-check a newly given sex or birth date.
        if doc_type == identity.RESIDENT_ID:
            try:
                resident = identity.parse_resident_id(doc_number, today=today)
            except identity.IdError:
                resident = None
    elif doc_number and not doc_type:
        doc_type = identity.RESIDENT_ID
    if doc_type and (data is None or given("doc_type") or given("doc_number")):
        try:
            doc_type = identity.parse_doc_type(doc_type) or ""
        except identity.IdError:
            problem("doc_type", _("Unknown document type; use one of: %(choices)s.") % {
                "choices": ", ".join(DocType.values)})
            doc_type = ""
        if doc_type and not doc_number:
            problem("doc_number", _("Enter the document number, or leave the type empty."))
        elif doc_type:
            try:
                if doc_type == identity.RESIDENT_ID:
                    resident = identity.parse_resident_id(doc_number, today=today)
                    doc_number = resident.number
                else:
                    doc_number = identity.parse_other_document(doc_type, doc_number)
            except identity.IdError as exc:
                problem("doc_number", exc.translated(_))

    # Sex and birth date: from a resident ID number, and a different given value is pointed out.
    sex = text("sex")
    if sex:
        try:
            sex = parse_sex(sex) or ""
        except CategoryError:
            problem("sex", _('Use "M" (male) or "F" (female).'))
            sex = ""
    birth_date = values.get("birth_date") if given("birth_date") else (data.birth_date if data else None)
    birth_ok = True
    if birth_date is not None:
        try:
            check_not_future(birth_date, today)
        except DateError as exc:
            problem("birth_date", exc.translated(_))
            birth_ok = False
    if resident is not None:
        id_changed = data is None or resident.number != data.doc_number or doc_type != data.doc_type
        if given("sex") and sex and sex != resident.sex:
            problem("sex", _("The ID number says %(sex)s, not %(typed)s; check both.") % {
                "sex": sex_label(resident.sex), "typed": sex_label(sex)})
        elif (not given("sex") and id_changed) or not sex:
            sex = resident.sex
        if given("birth_date") and birth_date and birth_ok and birth_date != resident.birth_date:
            problem("birth_date", _("The ID number says born on %(date)s, not %(typed)s; check both.") % {
                "date": resident.birth_date.isoformat(), "typed": birth_date.isoformat()})
        elif (not given("birth_date") and id_changed) or not birth_date:
            birth_date = resident.birth_date

    # Phones.
    phone = text("phone")
    if phone and given("phone"):
        try:
            phone = parse_phone(phone)
        except PhoneError as exc:
            problem("phone", exc.translated(_))
    phone_other = text("phone_other")
    if phone_other and given("phone_other"):
        try:
            phone_other = " / ".join(parse_phones(phone_other))
        except PhoneError as exc:
            problem("phone_other", exc.translated(_))

    if given("flags"):
        flags = {flag: flag in (values.get("flags") or ()) for flag in FLAG_NAMES}
    else:
        flags = dict(data.flags) if data else {}
    if given("notes"):
        notes = (values.get("notes") or "").strip()
    else:
        notes = data.notes if data else ""

    if errors:
        raise InputError(errors)
    return PersonData(
        name=name, city=city, town=town, community=community, doc_type=doc_type, doc_number=doc_number,
        sex=sex, birth_date=birth_date, phone=phone, phone_other=phone_other, address=text("address"),
        employer=text("employer"), notes=notes, flags=flags, is_synthetic=data.is_synthetic if data else False,
    )


def data_of(person: Person) -> PersonData:
    """A registered person as PersonData, the base of an update."""
    return PersonData(
        name=person.name, city=person.city, town=person.town, community=person.community,
        doc_type=person.doc_type, doc_number=person.doc_number, sex=person.sex, birth_date=person.birth_date,
        phone=person.phone, phone_other=person.phone_other, address=person.address, employer=person.employer,
        notes=person.notes, flags={flag: getattr(person, flag) for flag in FLAG_NAMES},
        is_synthetic=person.is_synthetic,
    )
