import pytest

from closedloop.lib.phones import PhoneError, mask_phone, parse_phone, parse_phones, phone_tail


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "+86-13812345678",
        "+8613812345678", "0086 13812345678", "8613812345678", "(+86)13812345678", "86-138-1234-5678",
        13812345678.0, "１３８１２３４５６７８", "'13812345678", " 13812345678\u200b", "138.1234.5678",
        "13812345678.0",
    ],
)
def test_mobiles(raw):
    assert parse_phone(raw) == "13812345678"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0579-85123456", "0579-85123456"),
        ("057985123456", "0579-85123456"),
        ("(0579)85123456", "0579-85123456"),
        ("（0579）85123456", "0579-85123456"),
        ("0579 8512 3456", "0579-85123456"),
        ("0579.85123456", "0579-85123456"),
        ("+86 579 8512 3456", "0579-85123456"),
        ("+86 (0)579 85123456", "0579-85123456"),
        ("0086-579-85123456", "0579-85123456"),
        ("010-12345678", "010-12345678"),
        ("021 1234 5678", "021-12345678"),
        ("'0579-85123456", "0579-85123456"),
    ],
)
def test_landlines(raw, expected):
    assert parse_phone(raw) == expected


def test_numbers_abroad_keep_their_country_code():
    assert parse_phone("+852 9123 4567") == "+85291234567"
    assert parse_phone("00852-91234567") == "+85291234567"
    assert parse_phone("+1 (415) 555-2671") == "+14155552671"


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("", "empty"),
        ("85123456", "no area code"),
        ("1381234567", "11 digits; this one has 10"),
        ("138123456789", "11 digits; this one has 12"),
        ("12345678901", "starts with 13 to 19"),
        ("138abc45678", "not digits"),
        ("0579-123", "landline with its area code"),
        ("+852 123", "not a valid international"),
    ],
)
def test_rejected(raw, words):
    with pytest.raises(PhoneError) as info:
        parse_phone(raw)
    assert isinstance(info.value, ValueError)
    assert words in info.value.reason


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678/13987654321", ["13812345678", "13987654321"]),
        ("13812345678，13987654321", ["13812345678", "13987654321"]),
        ("13812345678; 13987654321", ["13812345678", "13987654321"]),
        ("13812345678、0579-85123456", ["13812345678", "0579-85123456"]),
        ("13812345678 13987654321", ["13812345678", "13987654321"]),
        ("138 1234 5678 139 8765 4321", ["13812345678", "13987654321"]),
        ("0579 85123456 13812345678", ["0579-85123456", "13812345678"]),
        ("13812345678\n13987654321", ["13812345678", "13987654321"]),
        ("13812345678 / 13812345678", ["13812345678"]),
        ("138 1234 5678", ["13812345678"]),
        ("", []),
        (None, []),
        ("无", []),
    ],
)
def test_parse_phones(raw, expected):
    assert parse_phones(raw) == expected


def test_parse_phones_reports_a_bad_number():
    with pytest.raises(PhoneError):
        parse_phones("13812345678/1381234")
    with pytest.raises(PhoneError):
        parse_phones("13812345678 1381234")


def test_masks_and_tails():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("0579-85123456") == "0579-******56"
    assert mask_phone("010-12345678") == "010-******78"
    assert mask_phone("+85291234567") == "+852******67"
    assert phone_tail("13812345678") == "5678"
    assert phone_tail("0579-85123456") == "3456"
