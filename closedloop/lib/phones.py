"""Phone numbers: mainland mobiles and landlines as typed in rosters."""

from __future__ import annotations

import re

from closedloop.lib.text import CellError, clean_cell, gettext_noop


class PhoneError(CellError):
    """A phone number that cannot be accepted; see ``reason``."""


# Mainland mobile numbers: 11 digits, 13x-19x. Most cells hold exactly this,
# and phonenumbers.parse costs tens of microseconds, too slow for 100k-row
# imports; every number of this shape is a valid mobile, so accept it as is.
_MOBILE = re.compile(r"1[3-9]\d{9}")
_SEPARATORS = re.compile(r"[\s\-().·]+")
# A number cell saved to CSV by a script can come back as "13812345678.0".
_FLOAT_TEXT = re.compile(r"([0-9]{7,})\.0+")
_MULTI_SPLIT = re.compile(r"[/,;、|]+")

# What clerks write in a phone column when there is no phone.
_NONE_MARKERS = frozenset({"无", "暂无", "没有", "空", "none", "n/a", "na", "-", "--"})

_REASON_SHAPE = gettext_noop(
    "This is not a mainland mobile (11 digits starting with 1) or a landline "
    "with its area code (like 0579-85123456)."
)


def parse_phone(raw: object) -> str:
    """Normalise one phone number: 13812345678, 0579-85123456, or +85291234567 abroad."""
    text = clean_cell(raw)
    if _MOBILE.fullmatch(text):
        return text
    if not text:
        raise PhoneError(gettext_noop("The phone number is empty."))
    if float_text := _FLOAT_TEXT.fullmatch(text):
        text = float_text[1]
    digits = _SEPARATORS.sub("", text)
    plus = digits.startswith("+")
    if plus:
        digits = digits[1:]
    elif digits.startswith("00"):
        digits, plus = digits[2:], True
    if not digits.isdigit() or not digits.isascii():
        raise PhoneError(gettext_noop("The phone number contains characters that are not digits."))
    if plus and not digits.startswith("86"):
        return _parse_foreign(digits)
    # "86" without a plus only counts as the country code when what follows is
    # a full number: a national number never starts with 86.
    if digits.startswith("86") and (plus or len(digits) >= 12):
        digits = digits[2:]
        if digits.startswith("0"):  # "+86 0579 ..." written with the trunk 0
            digits = digits[1:]
        if not digits.startswith("1"):
            digits = "0" + digits
    if _MOBILE.fullmatch(digits):
        return digits
    if digits.startswith("1"):
        if len(digits) == 11:
            raise PhoneError(
                gettext_noop("A mainland mobile number starts with 13 to 19; check the first digits.")
            )
        raise PhoneError(
            gettext_noop("A mobile number has 11 digits; this one has %(count)s."), count=len(digits)
        )
    if not digits.startswith("0"):
        if 7 <= len(digits) <= 8:
            raise PhoneError(
                gettext_noop("The landline has no area code; write it with one, like 0579-85123456.")
            )
        raise PhoneError(_REASON_SHAPE)
    return _parse_landline(digits)


def _parse_landline(digits: str) -> str:
    import phonenumbers  # lazily: its metadata is large and most numbers are mobiles

    try:
        number = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        raise PhoneError(_REASON_SHAPE) from None
    fixed = (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in fixed:
        raise PhoneError(_REASON_SHAPE)
    national = str(number.national_number)
    area = phonenumbers.length_of_geographical_area_code(number)
    if not area:
        raise PhoneError(_REASON_SHAPE)
    return f"0{national[:area]}-{national[area:]}"


def _parse_foreign(digits: str) -> str:
    # Inbound travellers may only have a Hong Kong, Macao or foreign number.
    import phonenumbers

    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise PhoneError(
            gettext_noop("+%(prefix)s… is not a valid international phone number."), prefix=digits[:3]
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_phones(raw: object) -> list[str]:
    """All phone numbers in one cell, the primary first, without repeats.

    Numbers are separated by / , ， ; 、 or by spaces between whole numbers
    (spaces inside one number, as in 138 1234 5678, are kept together).
    An empty cell, or one saying there is no phone (无, 暂无), gives [].
    """
    phones: list[str] = []
    for part in _MULTI_SPLIT.split(clean_cell(raw)):
        if part.strip() and part.strip().lower() not in _NONE_MARKERS:
            for phone in _parse_part(part.strip()):
                if phone not in phones:
                    phones.append(phone)
    return phones


def _parse_part(part: str) -> list[str]:
    try:
        return [parse_phone(part)]
    except PhoneError as error:
        tokens = part.split()
        if len(tokens) < 2:
            raise
        split = _split_tokens(tokens)
        if split is None:
            raise error from None
        return split


def _split_tokens(tokens: list[str]) -> list[str] | None:
    """Group space-separated tokens into the fewest whole phone numbers, or None."""
    # best[i]: fewest numbers covering tokens[:i]; a cell holds a handful of
    # tokens, so trying every grouping is cheap.
    best: list[list[str] | None] = [[]] + [None] * len(tokens)
    for end in range(1, len(tokens) + 1):
        for start in range(end):
            prefix = best[start]
            if prefix is None:
                continue
            try:
                phone = parse_phone("".join(tokens[start:end]))
            except PhoneError:
                continue
            current = best[end]
            if current is None or len(prefix) + 1 < len(current):
                best[end] = [*prefix, phone]
    return best[-1]


def mask_phone(phone: str) -> str:
    """138****5678 for mobiles; landlines keep the area code and the last 2 digits."""
    if len(phone) == 11 and phone.isdigit():
        return f"{phone[:3]}****{phone[-4:]}"
    if "-" in phone:
        area, local = phone.split("-", 1)
        return f"{area}-{'*' * (len(local) - 2)}{local[-2:]}"
    head = 4 if phone.startswith("+") else 0
    return phone[:head] + "*" * max(0, len(phone) - head - 2) + phone[-2:]


def phone_tail(phone: str) -> str:
    """Last 4 digits, as people confirm a number on the phone."""
    return "".join(c for c in phone if c.isdigit())[-4:]
