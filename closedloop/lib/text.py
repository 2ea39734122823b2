"""Cell cleaning and search keys for values typed by hand into spreadsheets."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache


# Marks a message for extraction without translating it: Django's makemessages
# passes --keyword=gettext_noop to xgettext, so these literals land in the .po
# file while this module stays free of Django. The Django layer translates them
# (see CellError.translated).
def gettext_noop(message: str) -> str:
    return message


class CellError(ValueError):
    """A value that cannot be used, with a reason a clerk can act on.

    ``template`` is the untranslated English message, marked with gettext_noop
    at the raise site, with ``%(name)s`` placeholders filled from ``params``.
    ``reason`` is the English text; the import writes ``translated(gettext)``
    next to the row.
    """

    def __init__(self, template: str, /, **params: object) -> None:
        self.template = template
        self.params = params
        self.reason = template % params
        super().__init__(self.reason)

    def translated(self, gettext: Callable[[str], str]) -> str:
        """The reason in the caller's language: pass Django's gettext."""
        return gettext(self.template) % self.params

    def __reduce__(self):
        # The default pickles args (the formatted reason) and would rebuild the
        # error with that as its template, losing the params.
        return (_rebuild_cell_error, (type(self), self.template, self.params))


def _rebuild_cell_error(cls: type[CellError], template: str, params: dict) -> CellError:
    return cls(template, **params)


def _build_table() -> dict[int, str | None]:
    # An explicit table rather than NFKC: NFKC also rewrites CJK compatibility
    # ideographs and circled/superscript forms, which may change a name.
    table: dict[int, str | None] = {cp: chr(cp - 0xFEE0) for cp in range(0xFF01, 0xFF5F)}
    for cp in (0x3000, 0x00A0, 0x2007, 0x202F):  # ideographic, no-break spaces
        table[cp] = " "
    for cp in (0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF, 0x00AD):
        table[cp] = None  # zero-width characters, BOM, soft hyphen, direction marks
    for cp in [*range(0x00, 0x20), *range(0x7F, 0xA0)]:
        table[cp] = None  # control characters
    for cp in (0x09, 0x0A, 0x0D):
        table[cp] = " "  # keep tabs and line breaks as separators between values
    return table


_TABLE = _build_table()
_NO_SPACE = re.compile(r"\s+")

# Integers up to 2**53 survive a float exactly; Excel itself keeps only 15
# significant digits, so larger values are shown the way Excel shows them.
_EXACT_FLOAT_LIMIT = 2**53


def _float_text(value: float) -> str:
    if math.isnan(value):
        return ""  # an empty cell read through pandas/numpy
    if math.isinf(value):
        return str(value)
    if value.is_integer():
        if abs(value) < _EXACT_FLOAT_LIMIT:
            return str(int(value))
        return str(int(Decimal(format(value, ".15g"))))
    return format(value, ".15g")


def clean_cell(value: object) -> str:
    """Return the text of a cell as a clerk meant it.

    Full-width characters become half-width, invisible characters go,
    surrounding whitespace and one leading apostrophe (Excel's text marker)
    are removed, and whole-number floats lose their ``.0``.
    """
    if value is None:
        return ""
    if isinstance(value, float):
        return _float_text(value)
    text = value if isinstance(value, str) else str(value)
    # Fast path: printable ASCII has nothing to translate.
    if not (text.isascii() and text.isprintable()):
        text = text.translate(_TABLE)
    text = text.strip()
    if text.startswith("'"):
        text = text[1:].strip()
    return text


def fold_search(text: object) -> str:
    """Search key: cleaned, lower-cased, without any whitespace."""
    return _NO_SPACE.sub("", clean_cell(text).lower())


@lru_cache(maxsize=1 << 16)  # bounded by the CJK repertoire in practice
def _char_pinyin(char: str) -> str:
    """Pinyin of one character, or the character itself if it is a letter or digit."""
    if char.isascii():
        return char.lower() if char.isalnum() else ""
    # Imported lazily: loading pypinyin's dictionaries takes a while.
    from pypinyin import Style, lazy_pinyin

    # Per-character conversion ignores phrase context (单 reads dan, not shan):
    # good enough for search, and it lets every character be cached once.
    syllable = lazy_pinyin(char, style=Style.NORMAL, errors="default")[0]
    if syllable != char:
        return syllable
    return char.lower() if char.isalnum() else ""


@lru_cache(maxsize=1 << 16)
def name_pinyin(name: str) -> tuple[str, str]:
    """Return (full pinyin, initials) of a name, lower-case, without tones or spaces.

    Chinese characters give one syllable each; a run of Latin letters or
    digits is kept as it is and contributes its first letter to the initials.
    """
    full: list[str] = []
    initials: list[str] = []
    in_latin_run = False
    for char in clean_cell(name):
        syllable = _char_pinyin(char)
        if not syllable:
            in_latin_run = False
            continue
        full.append(syllable)
        if char.isascii() or syllable == char.lower():
            if not in_latin_run:
                initials.append(syllable[0])
            in_latin_run = True
        else:
            initials.append(syllable[0])
            in_latin_run = False
    return "".join(full), "".join(initials)
