from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from closedloop.lib.dates import (
    DateError,
    _from_serial,
    check_not_future,
    check_recent,
    format_cn,
    format_cn_datetime,
    parse_date,
    parse_datetime,
)

TODAY = date(2022, 8, 20)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def read(raw):
    return parse_date(raw, context_year=2022, today=TODAY)


def read_dt(raw):
    return parse_datetime(raw, context_year=2022, today=TODAY, tz=SHANGHAI)


@pytest.mark.parametrize(
    "raw",
    [
        "2022-08-03", "2022-8-3", "2022/8/3", "2022/08/03", "2022.8.3", "2022年8月3日",
        "2022年8月3号", "2022 年 8 月 3 日", "8月3日", "8月3号", "20220803",
        "2022-08-03 14:30", "2022/8/3 14:30:00", "2022-08-03T14:30:00", "2022年8月3日 14时30分",
        44776, 44776.0, "44776", 44776.6041666667, 20220803, 20220803.0,
        date(2022, 8, 3), datetime(2022, 8, 3, 14, 30),
        "２０２２年８月３日", "'2022-08-03", " 2022-08-03\u200b ",
    ],
)
def test_every_form_reads_as_the_same_day(raw):
    assert read(raw) == date(2022, 8, 3)


def test_excel_serial_44776_is_2022_08_03():
    assert read(44776) == date(2022, 8, 3)
    assert read(44777.0) == date(2022, 8, 4)


def test_excel_1900_leap_year_bug():
    assert _from_serial(1).date() == date(1900, 1, 1)
    assert _from_serial(59).date() == date(1900, 2, 28)
    assert _from_serial(61).date() == date(1900, 3, 1)
    with pytest.raises(ValueError):
        _from_serial(60)


def test_month_day_takes_the_context_year():
    assert parse_date("8月3日", context_year=2022, today=TODAY) == date(2022, 8, 3)
    # Typed in January about last December.
    assert parse_date("12月25日", context_year=2022, today=date(2022, 1, 10)) == date(2021, 12, 25)


@pytest.mark.parametrize(
    "raw", ["2022-13-01", "2022-02-30", "yesterday", "123", "8月32日", "2022-08-03 25:00", "3/8", 1.5, True]
)
def test_unreadable_dates(raw):
    with pytest.raises(DateError) as info:
        read(raw)
    assert info.value.reason.endswith("is not a date we can read; write it like 2022-08-03.")


def test_unreadable_reason_quotes_the_value():
    with pytest.raises(DateError) as info:
        read("2022-13-01")
    assert info.value.reason == '"2022-13-01" is not a date we can read; write it like 2022-08-03.'


def test_empty_date():
    with pytest.raises(DateError):
        read("")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2022-08-03 14:30", datetime(2022, 8, 3, 14, 30)),
        ("2022/8/3 14:30:05", datetime(2022, 8, 3, 14, 30, 5)),
        ("2022年8月3日 14时30分", datetime(2022, 8, 3, 14, 30)),
        ("2022年8月3日 9点", datetime(2022, 8, 3, 9, 0)),
        ("8月3日 9:05", datetime(2022, 8, 3, 9, 5)),
        ("2022-08-03", datetime(2022, 8, 3, 0, 0)),
        (44776.6041666667, datetime(2022, 8, 3, 14, 30)),
        (datetime(2022, 8, 3, 14, 30), datetime(2022, 8, 3, 14, 30)),
        (date(2022, 8, 3), datetime(2022, 8, 3, 0, 0)),
    ],
)
def test_parse_datetime_keeps_the_time(raw, expected):
    value = read_dt(raw)
    assert value == expected.replace(tzinfo=SHANGHAI)
    assert value.tzinfo is SHANGHAI


def test_parse_datetime_converts_aware_values():
    value = read_dt(datetime(2022, 8, 3, 6, 30, tzinfo=UTC))
    assert value.tzinfo is SHANGHAI
    assert (value.date(), value.time()) == (date(2022, 8, 3), time(14, 30))


def test_check_not_future():
    assert check_not_future(TODAY, TODAY) == TODAY
    with pytest.raises(DateError) as info:
        check_not_future(date(2022, 9, 10), TODAY)
    assert info.value.reason == "The date 2022-09-10 is in the future."
    with pytest.raises(DateError):
        check_not_future(datetime(2022, 8, 21, 1, 0, tzinfo=SHANGHAI), TODAY)


def test_check_recent():
    assert check_recent(date(2022, 6, 21), TODAY, 60) == date(2022, 6, 21)  # exactly 60 days
    with pytest.raises(DateError) as info:
        check_recent(date(2022, 5, 1), TODAY, 60)
    assert info.value.reason == "The date 2022-05-01 is more than 60 days before the import; check the year."


def test_format_cn():
    assert format_cn(date(2022, 8, 3)) == "2022年8月3日"
    assert format_cn(date(2022, 12, 25)) == "2022年12月25日"
    assert format_cn_datetime(datetime(2022, 8, 3, 14, 30)) == "2022年8月3日 14:30"
    assert format_cn_datetime(datetime(2022, 8, 3, 9, 5)) == "2022年8月3日 9:05"
