import hashlib
import hmac
from datetime import date

import pytest
from stdnum.cn import ric

from closedloop.lib.identity import (
    HK_MACAO_PERMIT,
    OTHER,
    PASSPORT,
    RESIDENT_ID,
    TAIWAN_PERMIT,
    IdError,
    ResidentId,
    id_hash,
    is_synthetic_resident_id,
    mask_id,
    parse_doc_type,
    parse_other_document,
    parse_resident_id,
    sex_from_id,
    synthetic_resident_id,
)

TODAY = date(2022, 8, 20)
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def with_check(body: str) -> str:
    """A checksum-valid number from its first 17 digits (calc_check_digit ignores the last)."""
    assert len(body) == 17
    return body + ric.calc_check_digit(body + "0")


def number_ending_in(check: str, prefix: str = "330782") -> str:
    """A valid number for some birth date in 1960 whose check character is `check`."""
    for day in range(1, 29):
        for seq in range(100, 1000):
            body = f"{prefix}196003{day:02d}{seq}"
            if ric.calc_check_digit(body + "0") == check:
                return body + check
    raise AssertionError("not found")


def parse(raw):
    return parse_resident_id(raw, today=TODAY)


def reason(raw) -> str:
    with pytest.raises(IdError) as info:
        parse(raw)
    assert isinstance(info.value, ValueError)
    return info.value.reason


# --- accepted ---------------------------------------------------------------

def test_valid_number_gives_birth_date_and_sex():
    number = with_check("11010519491231002")
    assert parse(number) == ResidentId(number=number, birth_date=date(1949, 12, 31), sex="F")
    male = with_check("33078219900517003")
    assert parse(male).sex == "M"


def test_yiwu_resident_born_1960_is_accepted():
    # stdnum's full validate refuses 330782 (created 1988) for a 1960 birth.
    number = with_check("33078219600101001")
    assert not ric.is_valid(number)
    assert parse(number).birth_date == date(1960, 1, 1)


def test_lowercase_x_is_upper_cased():
    number = number_ending_in("X")
    assert parse(number.lower()).number == number


def test_full_width_apostrophe_and_spaces():
    number = number_ending_in("X")
    assert parse(number.translate(FULL_WIDTH)).number == number
    assert parse("'" + number).number == number
    assert parse(f" {number[:6]} {number[6:14]} {number[14:]}\u200b ").number == number
    assert parse(f"{number[:6]}-{number[6:14]}-{number[14:]}").number == number


def test_genuine_number_ending_in_000_is_accepted():
    # Order code x00 with check digit 0 exists: a valid checksum is never "zeroed by Excel".
    number = next(
        body + "0"
        for day in range(1, 29)
        for first in "123456789"
        if ric.calc_check_digit((body := f"330782196003{day:02d}{first}00") + "0") == "0"
    )
    assert number.endswith("000")
    assert parse(number).number == number


# --- rejected, each with its own reason -----------------------------------

@pytest.mark.parametrize("raw", ["1.10105E+17", "3.30782E+17", "3.30782E17", "3,30782E+17", "３.３０７８２Ｅ＋１７"])
def test_scientific_notation(raw):
    assert "scientific notation" in reason(raw)


def test_number_stored_as_excel_number_lost_its_tail():
    assert "last digits were lost" in reason(3.30782196001010e17)
    assert "last digits were lost" in reason(330782196001010000)


def test_zeroed_digits_in_text():
    number = "330782196001010000"
    assert ric.calc_check_digit(number) != "0"
    assert "last digits were lost" in reason(number)


def test_wrong_length_says_the_length():
    assert reason("33078219600101001") == (
        "The ID number has 17 characters; a resident ID number has 18."
    )
    assert "19 characters" in reason("3307821960010100133")


def test_bad_characters():
    assert '"O"' in reason("33078219600101O01X")
    assert "X can only be the last" in reason("33078219600101X013")


def test_wrong_checksum():
    number = with_check("33078219600101001")
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10) if number[-1] != "X" else number[:-1] + "0"
    assert "does not match the rest: a digit was probably mistyped" in reason(wrong)


def test_impossible_birth_date():
    assert "is not a real date" in reason(with_check("33078219601301001"))
    assert "is not a real date" in reason(with_check("33078219610229001"))


def test_birth_date_in_the_future_or_too_old():
    assert "in the future" in reason(with_check("33078220220821001"))
    assert "before 1890" in reason(with_check("33078218800101001"))


def test_unknown_region():
    assert "not a province code" in reason(with_check("99078219600101001"))


def test_fifteen_digit_number():
    text = reason("330782600101001")
    assert "15-digit" in text and "18-digit" in text


def test_empty():
    assert reason("") == "The ID number is empty."
    assert reason(None) == "The ID number is empty."


def test_sex_from_id():
    assert sex_from_id(with_check("33078219600101001")) == "M"
    assert sex_from_id(with_check("33078219600101002")) == "F"


# --- document types and other documents ---------------------------------------

@pytest.mark.parametrize(
    ("label", "code"),
    [
        ("身份证", RESIDENT_ID), ("居民身份证", RESIDENT_ID), ("公民身份号码", RESIDENT_ID),
        ("ID card", RESIDENT_ID), ("Resident ID", RESIDENT_ID), ("resident_id", RESIDENT_ID),
        ("护照", PASSPORT), ("Passport", PASSPORT),
        ("港澳通行证", HK_MACAO_PERMIT), ("回乡证", HK_MACAO_PERMIT),
        ("港澳居民来往内地通行证", HK_MACAO_PERMIT), ("Home return permit", HK_MACAO_PERMIT),
        ("台胞证", TAIWAN_PERMIT), ("台湾居民来往大陆通行证", TAIWAN_PERMIT),
        ("其他", OTHER), (" 身份证\u3000", RESIDENT_ID),
    ],
)
def test_parse_doc_type(label, code):
    assert parse_doc_type(label) == code


def test_parse_doc_type_empty_and_unknown():
    assert parse_doc_type("") is None
    assert parse_doc_type(None) is None
    with pytest.raises(ValueError) as info:
        parse_doc_type("驾驶证")
    assert "驾驶证" in info.value.reason and "护照" in info.value.reason


@pytest.mark.parametrize(
    ("doc_type", "raw", "expected"),
    [
        (PASSPORT, "e12345678", "E12345678"),
        (PASSPORT, " G 1234 5678 ", "G12345678"),
        (PASSPORT, "X1234", "X1234"),
        (HK_MACAO_PERMIT, "h12345678", "H12345678"),
        (HK_MACAO_PERMIT, "M1234567890", "M1234567890"),
        (TAIWAN_PERMIT, "01234567", "01234567"),
        (TAIWAN_PERMIT, "A123456789", "A123456789"),
        (TAIWAN_PERMIT, "123456789B", "123456789B"),
        (TAIWAN_PERMIT, 12345678.0, "12345678"),
        (OTHER, "军官证123", "军官证123"),
    ],
)
def test_other_documents(doc_type, raw, expected):
    assert parse_other_document(doc_type, raw) == expected


@pytest.mark.parametrize(
    ("doc_type", "raw", "words"),
    [
        (PASSPORT, "E123", "5 to 17"),
        (PASSPORT, "E1234567!", "5 to 17"),
        (HK_MACAO_PERMIT, "H1234567", "H or M followed by 8 digits"),
        (HK_MACAO_PERMIT, "C12345678", "H or M followed by 8 digits"),
        (TAIWAN_PERMIT, "1234567", "8 digits"),
        (TAIWAN_PERMIT, 1234567.0, "leading 0"),
        (OTHER, "abc", "4 to 30"),
        (PASSPORT, "", "empty"),
    ],
)
def test_other_documents_rejected(doc_type, raw, words):
    with pytest.raises(IdError) as info:
        parse_other_document(doc_type, raw)
    assert words in info.value.reason


def test_other_document_passes_resident_ids_on():
    number = with_check("33078219600101001")
    assert parse_other_document(RESIDENT_ID, number.lower()) == number


# --- masking, hashing, synthetic numbers ------------------------------------

def test_mask_id():
    assert mask_id("33078219600101123X") == "330782********123X"
    assert mask_id("H12345678") == "H1*****78"
    assert mask_id("1234") == "1**4"
    assert mask_id("123") == "1**"
    assert mask_id("") == ""


def test_mask_never_shows_more_than_half_of_a_short_number():
    for length in range(1, 18):
        masked = mask_id("A" * length)
        assert len(masked) == length
        assert masked.count("A") <= length // 2


def test_id_hash():
    key = b"secret"
    value = id_hash(key, RESIDENT_ID, "33078219600101123X")
    expected = hmac.new(key, b"resident_id:33078219600101123X", hashlib.sha256).hexdigest()[:32]
    assert value == expected and len(value) == 32
    assert id_hash(key, PASSPORT, "33078219600101123X") != value
    assert id_hash(b"other", RESIDENT_ID, "33078219600101123X") != value


def test_synthetic_ids_pass_every_check():
    seen = set()
    for birth in (date(1931, 2, 28), date(1960, 1, 1), date(2020, 2, 29)):
        for sequence in (0, 7, 99):
            for female in (False, True):
                number = synthetic_resident_id(birth, sequence, female)
                parsed = parse(number)
                assert parsed.birth_date == birth
                assert parsed.sex == ("F" if female else "M")
                assert is_synthetic_resident_id(number)
                seen.add(number)
    assert len(seen) == 3 * 3 * 2


def test_synthetic_sequence_range_and_real_numbers():
    with pytest.raises(ValueError):
        synthetic_resident_id(date(1960, 1, 1), 100, False)
    assert not is_synthetic_resident_id(with_check("33078219600101001"))
