"""Every CellError raised while a lib test runs is checked for a translatable message."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import closedloop.lib
from closedloop.lib.text import CellError

LIB_DIR = Path(closedloop.lib.__file__).parent
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _marked_literals() -> dict[str, tuple[str, int]]:
    """Every gettext_noop("...") literal in the lib sources, with where it is."""
    found: dict[str, tuple[str, int]] = {}
    for path in sorted(LIB_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "gettext_noop":
                assert len(node.args) == 1 and not node.keywords, f"{path.name}:{node.lineno}"
                arg = node.args[0]
                assert isinstance(arg, ast.Constant) and isinstance(arg.value, str), (
                    f"{path.name}:{node.lineno}: gettext_noop needs a string literal"
                )
                found[arg.value] = (path.name, node.lineno)
    return found


MARKED = _marked_literals()


@pytest.fixture(scope="session")
def marked_messages() -> dict[str, tuple[str, int]]:
    return MARKED


def check_cell_error(error: CellError) -> None:
    """The error's template is a marked literal whose placeholders are exactly its params."""
    assert error.template in MARKED, (
        f"{type(error).__name__} template is not a gettext_noop literal of closedloop/lib: {error.template!r}"
    )
    assert set(PLACEHOLDER.findall(error.template)) == set(error.params), error.template
    assert error.template % error.params == error.reason
    assert error.translated(lambda message: message) == error.reason
    assert str(error) == error.reason


@pytest.fixture(autouse=True)
def raised_cell_errors(monkeypatch):
    """Record every CellError built during the test, then check each one."""
    seen: list[CellError] = []
    original = CellError.__init__

    def recording_init(self, template, /, **params):
        original(self, template, **params)
        seen.append(self)

    monkeypatch.setattr(CellError, "__init__", recording_init)
    yield seen
    monkeypatch.undo()
    for error in seen:
        check_cell_error(error)
