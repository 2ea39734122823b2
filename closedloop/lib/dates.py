"""Dates and times as typed in rosters, and how a Chinese clerk reads them."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from closedloop.lib.text import CellError, clean_cell, gettext_noop


class DateError(CellError):
    """A date that cannot be read or is implausible; see ``reason``."""


# Excel serial numbers we accept as dates: 1954-10-03 .. 2119-01-10. Anything
# outside is more likely a mistyped number than a date.
_SERIAL_MIN, _SERIAL_MAX = 20000, 80000
_SERIAL_TEXT = re.compile(r"\d{5}(?:\.\d+)?")

_DATE_FORMS = (
    # 2022-08-03, 2022/8/3, 2022.8.3
    re.compile(r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?P<rest>.*)"),
    # 2022年8月3日, 2022年8月3号
    re.compile(r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]?(?P<rest>.*)"),
    # 8月3日: the year comes from the import's context
    re.compile(r"(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]?(?P<rest>.*)"),
    # 20220803
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?P<rest>(?:[\sT].*)?)"),
)
# 14:30, 14:30:00, 14:30:00.000, 14时30分, 14点, 14点30分
_TIME_FORMS = (
    re.compile(r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?"),
    re.compile(r"(?P<h>\d{1,2})\s*[时点]\s*(?:(?P<mi>\d{1,2})\s*分?)?"),
)


_REASON_UNREADABLE = gettext_noop('"%(value)s" is not a date we can read; write it like 2022-08-03.')


def _from_serial(serial: float) -> dt.datetime:
    """Excel 1900 date system, including its bug: 1900-02-29 (serial 60) exists there."""
    days = int(serial)
    if days == 60:
        raise ValueError("serial 60 is Excel's non-existent 1900-02-29")
    epoch = dt.datetime(1899, 12, 31) if days < 60 else dt.datetime(1899, 12, 30)
    seconds = round((serial - days) * 86400)
    return epoch + dt.timedelta(days=days, seconds=seconds)


def _parse_time(rest: str) -> dt.time | None:
    rest = rest.strip().removeprefix("T").strip()
    if not rest:
        return None
    for form in _TIME_FORMS:
        match = form.fullmatch(rest)
        if match:
            parts = match.groupdict()
            return dt.time(int(parts["h"]), int(parts["mi"] or 0), int(parts.get("s") or 0))
    raise ValueError(rest)


def _parse_text(text: str, context_year: int, today: dt.date) -> tuple[dt.date, dt.time | None]:
    for form in _DATE_FORMS:
        match = form.fullmatch(text)
        if not match:
            continue
        month, day = int(match["m"]), int(match["d"])
        if "y" in form.groupindex:
            value = dt.date(int(match["y"]), month, day)
        else:
            value = dt.date(context_year, month, day)
            if value > today:  # 8月3日 typed in January means last year
                value = value.replace(year=context_year - 1)
        return value, _parse_time(match["rest"])
    raise ValueError(text)


def _parse(raw: object, context_year: int, today: dt.date) -> tuple[dt.date, dt.time | None]:
    """The date and, when given, the time of a cell; raise DateError otherwise."""
    if isinstance(raw, dt.datetime):  # calamine returns date and datetime objects
        return raw.date(), raw.timetz()
    if isinstance(raw, dt.date):
        return raw, None
    text = clean_cell(raw)
    if not text:
        raise DateError(gettext_noop("The date is empty."))
    try:
        serial = _serial(raw, text)
        if serial is not None:
            moment = _from_serial(serial)
            has_time = moment.time() != dt.time(0)
            return moment.date(), moment.time() if has_time else None
        return _parse_text(text, context_year, today)
    except ValueError:  # includes impossible dates such as 2022-02-30
        raise DateError(_REASON_UNREADABLE, value=text) from None


def _serial(raw: object, text: str) -> float | None:
    """The Excel serial number in a cell, if it holds one in the plausible range."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        value = float(raw)
    elif _SERIAL_TEXT.fullmatch(text):
        value = float(text)
    else:
        return None
    # A number cell like 20220803 (yyyymmdd typed as a number) is read as text.
    return value if _SERIAL_MIN <= value <= _SERIAL_MAX else None


def parse_date(raw: object, *, context_year: int, today: dt.date) -> dt.date:
    """Read a date in any of the forms clerks type; a time of day is dropped."""
    return _parse(raw, context_year, today)[0]


def parse_datetime(raw: object, *, context_year: int, today: dt.date, tz: ZoneInfo) -> dt.datetime:
    """Read a date and time (midnight when no time is given), aware in tz."""
    if isinstance(raw, dt.datetime) and raw.tzinfo is not None:
        return raw.astimezone(tz)
    day, time = _parse(raw, context_year, today)
    return dt.datetime.combine(day, (time or dt.time(0)).replace(tzinfo=None), tzinfo=tz)


def _day(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def check_not_future(value: dt.date, today: dt.date) -> dt.date:
    """Return value, or raise DateError if it is after today."""
    if _day(value) > today:
        raise DateError(gettext_noop("The date %(date)s is in the future."), date=_day(value).isoformat())
    return value


def check_recent(value: dt.date, today: dt.date, max_age_days: int) -> dt.date:
    """Return value, or raise DateError if it is more than max_age_days before today."""
    if (today - _day(value)).days > max_age_days:
        raise DateError(
            gettext_noop("The date %(date)s is more than %(days)s days before the import; check the year."),
            date=_day(value).isoformat(),
            days=max_age_days,
        )
    return value


def format_cn(value: dt.date) -> str:
    """2022年8月3日: no zero padding, as a Chinese clerk writes it."""
    return f"{value.year}年{value.month}月{value.day}日"


def format_cn_datetime(value: dt.datetime) -> str:
    """2022年8月3日 14:30 (the hour unpadded, minutes always two digits)."""
    return f"{format_cn(value)} {value.hour}:{value.minute:02d}"
