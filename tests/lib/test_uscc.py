import pytest

from closedloop.lib.uscc import UsccError, make_uscc, parse_uscc


def test_valid_code_is_cleaned_and_upper_cased():
    code = make_uscc("91330782MA28FQ6P4")
    assert parse_uscc(" " + code.lower() + " ") == code


@pytest.mark.parametrize(
    ("raw", "words"),
    [("91330782MA28FQ6P4", "18 characters"), ("", "empty")],
)
def test_refusals_say_why(raw, words):
    with pytest.raises(UsccError) as exc:
        parse_uscc(raw)
    assert words in exc.value.reason


def test_wrong_check_character():
    code = make_uscc("91330782MA28FQ6P4")
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    with pytest.raises(UsccError) as exc:
        parse_uscc(wrong)
    assert "mistyped" in exc.value.reason
