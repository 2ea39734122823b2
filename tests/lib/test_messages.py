"""Clerk-readable reasons are translatable: marked literals, values passed as params."""

from __future__ import annotations

import ast
import pickle
import re
from datetime import date
from pathlib import Path

import pytest

import closedloop.lib
from closedloop.lib import categories, dates, identity, phones
from closedloop.lib.dates import DateError, check_recent
from closedloop.lib.identity import IdError, parse_resident_id
from closedloop.lib.phones import PhoneError, parse_phone
from closedloop.lib.text import CellError, gettext_noop

LIB_DIR = Path(closedloop.lib.__file__).parent
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
ERROR_CLASSES = {"CellError", "IdError", "PhoneError", "DateError", "CategoryError"}


def _module_constants(tree: ast.Module) -> set[str]:
    """Names assigned at module level from a gettext_noop(...) call."""
    names = set()
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id == "gettext_noop"
        ):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return names


def _raise_sites():
    for path in sorted(LIB_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = _module_constants(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Raise)
                and isinstance(node.exc, ast.Call)
                and isinstance(node.exc.func, ast.Name)
                and node.exc.func.id in ERROR_CLASSES
            ):
                yield path.name, node.lineno, node.exc, constants


RAISE_SITES = list(_raise_sites())


def test_raise_sites_were_found():
    files = {name for name, *_ in RAISE_SITES}
    assert {"identity.py", "phones.py", "dates.py", "categories.py"} <= files
    assert len(RAISE_SITES) >= 25


@pytest.mark.parametrize(("name", "line", "call", "constants"), RAISE_SITES, ids=lambda v: str(v)[:40])
def test_every_raise_passes_a_marked_literal_and_values_as_params(name, line, call, constants):
    assert len(call.args) == 1, f"{name}:{line}: one positional argument, the template"
    template = call.args[0]
    if isinstance(template, ast.Name):
        assert template.id in constants, f"{name}:{line}: {template.id} is not a gettext_noop constant"
        return
    assert isinstance(template, ast.Call) and isinstance(template.func, ast.Name), f"{name}:{line}"
    assert template.func.id == "gettext_noop", f"{name}:{line}: wrap the message in gettext_noop"
    literal = template.args[0]
    assert isinstance(literal, ast.Constant), f"{name}:{line}: no f-strings, pass values as params"
    assert set(PLACEHOLDER.findall(literal.value)) == {kw.arg for kw in call.keywords}, f"{name}:{line}"


def test_marked_messages_are_well_formed(marked_messages):
    assert len(marked_messages) >= 25
    for message, where in marked_messages.items():
        # Only %(name)s placeholders: a bare % would break "template % params".
        assert "%" not in PLACEHOLDER.sub("", message), where
        assert message == message.strip() and message.endswith("."), where


def test_gettext_noop_returns_its_argument():
    assert gettext_noop("The date is empty.") == "The date is empty."


def test_template_params_and_reason():
    with pytest.raises(DateError) as info:
        check_recent(date(2022, 5, 1), date(2022, 8, 20), 60)
    error = info.value
    assert error.template == "The date %(date)s is more than %(days)s days before the import; check the year."
    assert error.params == {"date": "2022-05-01", "days": 60}
    assert error.reason == "The date 2022-05-01 is more than 60 days before the import; check the year."


def test_translated_uses_the_given_gettext():
    catalogue = {"A mobile number has 11 digits; this one has %(count)s.": "手机号应为11位，这个号码有%(count)s位。"}
    with pytest.raises(PhoneError) as info:
        parse_phone("1381234567")
    assert info.value.translated(lambda message: catalogue.get(message, message)) == "手机号应为11位，这个号码有10位。"
    # No translation: the English reason.
    assert info.value.translated(lambda message: message) == info.value.reason


def test_user_values_with_percent_signs_stay_in_params():
    with pytest.raises(DateError) as info:
        dates.parse_date("50%(date)s", context_year=2022, today=date(2022, 8, 20))
    assert info.value.params == {"value": "50%(date)s"}
    assert info.value.reason == '"50%(date)s" is not a date we can read; write it like 2022-08-03.'
    assert "50%" not in info.value.template


def test_pickling_keeps_template_and_params():
    with pytest.raises(IdError) as info:
        parse_resident_id("33078219600101001", today=date(2022, 8, 20))
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is IdError
    assert (copy.template, copy.params, copy.reason) == (info.value.template, info.value.params, info.value.reason)


def test_cell_error_param_named_like_the_template():
    error = CellError(gettext_noop("The date %(date)s is in the future."), date="2022-09-10")
    assert error.reason == "The date 2022-09-10 is in the future."
    assert isinstance(error, ValueError)


def test_recorder_sees_errors_from_every_module(raised_cell_errors):
    for call in (
        lambda: categories.parse_category("低风险区"),
        lambda: categories.parse_sex("未知"),
        lambda: identity.parse_doc_type("驾驶证"),
        lambda: identity.parse_other_document(identity.TAIWAN_PERMIT, 1234567.0),
        lambda: phones.parse_phone("+852 123"),
        lambda: dates.check_not_future(date(2022, 9, 10), date(2022, 8, 20)),
    ):
        with pytest.raises(CellError):
            call()
    assert {type(e).__name__ for e in raised_cell_errors} == {"CategoryError", "IdError", "PhoneError", "DateError"}
