"""Identity documents: resident ID numbers (GB 11643) and other documents.

Every rejection carries a reason a clerk can act on. A number mangled by
Excel is rejected with that reason: it can never be repaired by guessing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass

from stdnum.cn import ric

from closedloop.lib.text import CellError, clean_cell, gettext_noop

RESIDENT_ID = "resident_id"
PASSPORT = "passport"
HK_MACAO_PERMIT = "hk_macao_permit"  # 港澳居民来往内地通行证 (回乡证)
TAIWAN_PERMIT = "taiwan_permit"  # 台湾居民来往大陆通行证 (台胞证)
OTHER = "other"

DOC_TYPES = (RESIDENT_ID, PASSPORT, HK_MACAO_PERMIT, TAIWAN_PERMIT, OTHER)


class IdError(CellError):
    """A document type or number that cannot be accepted; see ``reason``."""


# --- document types ---------------------------------------------------------

_DOC_TYPE_LABELS = {
    RESIDENT_ID: (
        "身份证", "居民身份证", "公民身份号码", "身份证号", "身份证号码", "居民身份证号码",
        "二代身份证", "第二代居民身份证", "大陆身份证", "中国居民身份证",
        # Residence permits for Hong Kong, Macao and Taiwan residents carry an
        # 18-digit number in the GB 11643 format (810000/820000/830000...).
        "港澳台居民居住证", "港澳居民居住证", "台湾居民居住证",
        "id", "idcard", "idno", "idnumber", "residentid", "residentidcard", "residentidentitycard",
        "identitycard", "prcid", "prcidcard", "chineseidcard", "nationalid",
    ),
    PASSPORT: ("护照", "中国护照", "外国护照", "普通护照", "passport", "passportno", "passportnumber"),
    HK_MACAO_PERMIT: (
        "港澳通行证", "回乡证", "港澳居民来往内地通行证", "港澳居民通行证", "来往内地通行证",
        "hkmacaopermit", "homereturnpermit", "hongkongmacaopermit",
        "mainlandtravelpermitforhongkongandmacaoresidents",
    ),
    TAIWAN_PERMIT: (
        "台胞证", "台湾居民来往大陆通行证", "台湾通行证", "台湾居民通行证",
        "taiwanpermit", "taiwancompatriotpermit", "mainlandtravelpermitfortaiwanresidents",
    ),
    OTHER: ("其他", "其它", "其他证件", "other", "others"),
}
_DOC_TYPES_BY_LABEL = {
    label: code for code, labels in _DOC_TYPE_LABELS.items() for label in (*labels, code.replace("_", ""))
}
_LABEL_NOISE = re.compile(r"[\s\-_/.·()]+")


def parse_doc_type(text: object) -> str | None:
    """Map a document-type label (Chinese or English) to a constant; empty gives None."""
    cleaned = clean_cell(text)
    if not cleaned:
        return None
    code = _DOC_TYPES_BY_LABEL.get(_LABEL_NOISE.sub("", cleaned.lower()))
    if code is None:
        raise IdError(
            gettext_noop(
                'Unknown document type "%(value)s"; use 身份证 (resident ID), 护照 (passport), '
                "港澳通行证 (Hong Kong/Macao permit), 台胞证 (Taiwan permit) or 其他 (other)."
            ),
            value=cleaned,
        )
    return code


# --- resident ID numbers ----------------------------------------------------

@dataclass(frozen=True, slots=True)
class ResidentId:
    number: str
    birth_date: dt.date
    sex: str  # "M" or "F"


# Province-level codes (the first two digits). 83 is used by residence
# permits for Taiwan residents, which share the GB 11643 format.
_PROVINCES = frozenset(
    [*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47),
     *range(50, 55), *range(61, 66), 71, 81, 82, 83]
)
_EARLIEST_BIRTH_YEAR = 1890

# What Excel shows for a long number: 1.10105E+17, 3,30782E17 ...
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d*)?[eE][+-]?\d+")
_SEPARATORS = re.compile(r"[\s\-]+")
_COMPACT = re.compile(r"[0-9]{17}[0-9X]")

_REASON_SCIENTIFIC = gettext_noop(
    "The ID number was turned into a number by Excel (scientific notation such as "
    "1.10105E+17); the real digits are lost — type it again as text."
)
_REASON_ZEROED = gettext_noop(
    "The ID number was stored as a number by Excel, which keeps only 15 digits, so its "
    "last digits were lost (they show as 000) — type it again as text."
)


def sex_from_id(number: str) -> str:
    """'M' or 'F' from the 17th digit of a resident ID number (odd is male)."""
    return "M" if int(number[16]) % 2 else "F"


def _is_numeric(raw: object) -> bool:
    return isinstance(raw, (int, float)) and not isinstance(raw, bool)


def parse_resident_id(raw: object, *, today: dt.date | None = None) -> ResidentId:
    """Validate a GB 11643 resident ID number; raise IdError with a reason.

    Pass the cell value as read (not cleaned first): a float tells us the
    number went through an Excel number cell.
    """
    # Excel stores numbers as doubles shown with 15 significant digits: any
    # number cell of 16+ digits has lost its tail. 15 digits survive intact,
    # so those fall through to the old-style (15-digit) check below.
    if _is_numeric(raw) and abs(raw) >= 10**15:
        raise IdError(_REASON_ZEROED)
    text = clean_cell(raw)
    number = text.upper()
    # Fast path for the usual, already compact cell: ric.compact() walks the
    # string character by character and would dominate a 100k-row import.
    if not _COMPACT.fullmatch(number):
        if not text:
            raise IdError(gettext_noop("The ID number is empty."))
        if _SCIENTIFIC.fullmatch(text):
            raise IdError(_REASON_SCIENTIFIC)
        number = ric.compact(_SEPARATORS.sub("", text))
        _check_shape(number)
    return _check_content(number, today or dt.date.today())


def _check_shape(number: str) -> None:
    bad = sorted({c for c in number if not (c.isascii() and (c.isdigit() or c == "X"))})
    if bad:
        shown = " ".join(f'"{c}"' for c in bad)
        raise IdError(
            gettext_noop(
                "The ID number contains characters that cannot be in it (%(chars)s); "
                "it has 17 digits followed by a digit or X."
            ),
            chars=shown,
        )
    if len(number) == 15 and number.isdigit():
        raise IdError(
            gettext_noop(
                "This is an old 15-digit ID number; those were replaced by 18-digit numbers. "
                "Ask the person for the 18-digit number on their current ID card."
            )
        )
    if len(number) != 18:
        raise IdError(
            gettext_noop("The ID number has %(count)s characters; a resident ID number has 18."),
            count=len(number),
        )
    if "X" in number[:17]:
        raise IdError(gettext_noop("The ID number has an X before the end; X can only be the last character."))


def _check_content(number: str, today: dt.date) -> ResidentId:
    # We do not call ric.validate(): its birth-place check refuses an area
    # code for anyone born before that code was created, yet people keep the
    # code of where they registered later (a Yiwu resident born in 1960 holds
    # 330782..., and stdnum refuses it). Checksum, date and province suffice.
    if number[-1] != ric.calc_check_digit(number):
        if number.endswith("000"):
            raise IdError(_REASON_ZEROED)
        raise IdError(
            gettext_noop("The ID number's last character does not match the rest: a digit was probably mistyped.")
        )
    try:
        # What ric.get_birth_date() does, minus its second compact() pass.
        birth_date = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdError(
            gettext_noop("The birth date inside the ID number (%(digits)s) is not a real date."),
            digits=number[6:14],
        ) from None
    if birth_date > today:
        raise IdError(
            gettext_noop("The birth date inside the ID number (%(date)s) is in the future."),
            date=birth_date.isoformat(),
        )
    if birth_date.year < _EARLIEST_BIRTH_YEAR:
        raise IdError(
            gettext_noop(
                "The birth date inside the ID number (%(date)s) is before %(year)s; "
                "a digit was probably mistyped."
            ),
            date=birth_date.isoformat(),
            year=_EARLIEST_BIRTH_YEAR,
        )
    if int(number[:2]) not in _PROVINCES:
        raise IdError(
            gettext_noop(
                "The ID number starts with %(prefix)s, which is not a province code; "
                "the first digits were probably mistyped."
            ),
            prefix=number[:2],
        )
    return ResidentId(number=number, birth_date=birth_date, sex=sex_from_id(number))


# --- other documents --------------------------------------------------------

_COMPACT_NOISE = re.compile(r"[\s\-()]+")
_PASSPORT = re.compile(r"[A-Z0-9]{5,17}")
# H/M + 8 digits since 2013; older cards H/M + 10 digits.
_HK_MACAO = re.compile(r"[HM](?:[0-9]{8}|[0-9]{10})")
# 8 digits since 2015; older cards 10 characters with a letter at one end.
_TAIWAN = re.compile(r"[0-9]{8}|[A-Z][0-9]{9}|[0-9]{9}[A-Z]")


def parse_other_document(doc_type: str, raw: object) -> str:
    """Validate a document number by the shape of its type; return it normalised.

    A resident ID is passed on to parse_resident_id, so callers can use this
    for any document type.
    """
    if doc_type == RESIDENT_ID:
        return parse_resident_id(raw).number
    text = clean_cell(raw)
    if not text:
        raise IdError(gettext_noop("The document number is empty."))
    if doc_type == OTHER:
        if not 4 <= len(text) <= 30:
            raise IdError(
                gettext_noop("The document number has %(count)s characters; expected 4 to 30."),
                count=len(text),
            )
        return text.upper()
    number = _COMPACT_NOISE.sub("", text).upper()
    if doc_type == PASSPORT:
        if not _PASSPORT.fullmatch(number):
            raise IdError(
                gettext_noop(
                    "A passport number has 5 to 17 letters and digits; "
                    "this one has %(count)s characters or contains other characters."
                ),
                count=len(number),
            )
    elif doc_type == HK_MACAO_PERMIT:
        if not _HK_MACAO.fullmatch(number):
            raise IdError(
                gettext_noop(
                    "A Hong Kong/Macao permit number is H or M followed by 8 digits "
                    "(older cards: 10 digits), like H12345678."
                )
            )
    elif doc_type == TAIWAN_PERMIT:
        if not _TAIWAN.fullmatch(number):
            if _is_numeric(raw):
                raise IdError(
                    gettext_noop(
                        "A Taiwan permit number has 8 digits (older cards: 10 characters "
                        "with a letter at the start or end). Excel may have dropped a leading 0."
                    )
                )
            raise IdError(
                gettext_noop(
                    "A Taiwan permit number has 8 digits (older cards: 10 characters "
                    "with a letter at the start or end)."
                )
            )
    else:
        raise IdError(gettext_noop('Unknown document type "%(value)s".'), value=doc_type)
    return number


# --- masking, hashing, demo numbers -----------------------------------------

def mask_id(number: str) -> str:
    """Star the middle of a document number: 330782********123X.

    18+ characters keep the first 6 and last 4 (the usual Chinese display);
    shorter numbers keep up to 2 at each end, never more than half in total.
    """
    n = len(number)
    if n >= 18:
        head, tail = 6, 4
    else:
        shown = min(4, n // 2)
        head, tail = (shown + 1) // 2, shown // 2
    return number[:head] + "*" * (n - head - tail) + number[n - tail:]


def id_hash(key: bytes, doc_type: str, number: str) -> str:
    """Keyed hash for finding a person by document number without storing it in clear."""
    message = f"{doc_type}:{number}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


# 330000 is the province-level code of Zhejiang: never issued to a person,
# yet it passes every check above, so demo data is valid but obviously fake.
SYNTHETIC_AREA = "330000"


def synthetic_resident_id(birth_date: dt.date, sequence: int, female: bool) -> str:
    """A checksum-valid demo ID number; sequence 0-99, the 17th digit carries sex."""
    if not 0 <= sequence <= 99:
        raise ValueError("sequence must be between 0 and 99")
    sex_digit = "2" if female else "1"
    body = f"{SYNTHETIC_AREA}{birth_date:%Y%m%d}{sequence:02d}{sex_digit}"
    return body + ric.calc_check_digit(body + "0")


def is_synthetic_resident_id(number: str) -> bool:
    return number.startswith(SYNTHETIC_AREA)
