"""Unified social credit codes (统一社会信用代码, GB 32100) of employers and enterprises."""

from __future__ import annotations

from stdnum import exceptions
from stdnum.cn import uscc

from closedloop.lib.text import CellError, clean_cell, gettext_noop


class UsccError(CellError):
    """A credit code that cannot be used; see ``reason``."""


def parse_uscc(raw: object) -> str:
    """The 18-character code, upper-cased and checked with python-stdnum."""
    text = clean_cell(raw).upper()
    if not text:
        raise UsccError(gettext_noop("The credit code is empty."))
    try:
        return uscc.validate(text)
    except exceptions.InvalidLength:
        raise UsccError(gettext_noop("A unified social credit code has 18 characters; this one has %(count)s."),
                        count=len(uscc.compact(text))) from None
    except exceptions.InvalidChecksum:
        raise UsccError(gettext_noop("The credit code's last character does not match the rest: "
                                     "a character was probably mistyped.")) from None
    except exceptions.ValidationError:
        raise UsccError(gettext_noop("This is not a unified social credit code (18 digits and capital letters, "
                                     "without I, O, S, V or Z).")) from None


def make_uscc(body17: str) -> str:
    """A valid code from its first 17 characters (demo data and tests)."""
    return body17 + uscc.calc_check_digit(body17)
