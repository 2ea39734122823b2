"""The Simplified Chinese catalogue ships complete, compiled and in use.

* every entry of ``django.po`` is translated, none is fuzzy, and every placeholder
  of the English text is kept (a lost ``%(name)s`` hides data, an invented one
  crashes the page);
* the shipped ``django.mo`` says what the ``.po`` says (it is shipped so that an
  installation needs no gettext);
* the ``.po`` holds exactly the strings the code marks: a new string that nobody
  translated fails here, with its msgid, when the gettext tools are installed;
* pages render in Chinese by default and in English on request.

When this file fails after you added a string, run from ``closedloop/``::

    closedloop makemessages -l zh_Hans --no-obsolete --add-location=file -i "migrations/*"
    (translate the new entries, drop their ``#, fuzzy``)
    closedloop compilemessages -l zh_Hans
"""

from __future__ import annotations

import ast
import gettext
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

import closedloop

PACKAGE = Path(closedloop.__file__).resolve().parent
MESSAGES = PACKAGE / "locale" / "zh_Hans" / "LC_MESSAGES"
PO = MESSAGES / "django.po"
MO = MESSAGES / "django.mo"
# The options the catalogue is made with (see the module docstring).
MAKEMESSAGES = {"locale": ["zh_Hans"], "no_obsolete": True, "add_location": "file", "ignore_patterns": ["migrations/*"]}
GETTEXT_TOOLS = ("xgettext", "msguniq", "msgmerge", "msgattrib")

# printf-style conversions as Python's ``%`` operator reads them.
PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]*)\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conv>[diouxXeEfFgGcrsa%])")
CJK = re.compile(r"[\u3400-\u9fff]")


# --- a tiny .po reader -----------------------------------------------------------

@dataclass
class Entry:
    line: int
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)  # 0 for a plain msgstr, n for msgstr[n]
    flags: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple[str | None, str, str | None]:
        return (self.msgctxt, self.msgid, self.msgid_plural)

    def __str__(self) -> str:
        return f"line {self.line}: {self.msgid!r}"


KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(".*")\s*$')


def read_po(path: Path) -> tuple[dict[str, str], list[Entry], list[str]]:
    """(header fields, entries, obsolete lines) of a .po file; strings unescaped like Python literals."""
    entries: list[Entry] = []
    obsolete: list[str] = []
    current: Entry | None = None
    target: tuple[str, int] | None = None

    def store(kind: str, index: int, text: str) -> None:
        if kind == "msgstr":
            current.msgstr[index] = current.msgstr.get(index, "") + text
        else:
            setattr(current, kind, (getattr(current, kind) or "") + text)

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if line.startswith("#~"):
            obsolete.append(raw)
            continue
        if not line:
            current, target = None, None
            continue
        if current is None:
            current = Entry(line=number)
            entries.append(current)
        if line.startswith("#,"):
            current.flags |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            assert target is not None, f"{path}:{number}: a continuation line without a keyword"
            store(target[0], target[1], ast.literal_eval(line))
        else:
            match = KEYWORD.match(line)
            assert match, f"{path}:{number}: cannot read {raw!r}"
            kind, index = match.group(1), int(match.group(2) or 0)
            target = (kind, index)
            store(kind, index, ast.literal_eval(match.group(3)))
    assert entries and entries[0].msgid == "" and entries[0].msgctxt is None, f"{path} has no header entry"
    header = dict(
        (name.strip(), value.strip())
        for name, _, value in (line.partition(":") for line in entries[0].msgstr.get(0, "").splitlines())
        if name.strip()
    )
    return header, entries[1:], obsolete


@pytest.fixture(scope="module")
def catalogue():
    return read_po(PO)


def placeholders(text: str) -> tuple[set[str], list[str]]:
    """({named placeholders}, [positional ones in order]) of a python-format string; ``%%`` is not one."""
    named, positional = set(), []
    for match in PLACEHOLDER.finditer(text):
        if match.group("conv") == "%":
            continue
        if match.group("name") is not None:
            named.add(match.group(0))
        else:
            positional.append(match.group(0))
    return named, positional


# --- (a) the .po itself ------------------------------------------------------------

def test_the_catalogue_is_simplified_chinese_with_one_plural_form(catalogue):
    header, entries, obsolete = catalogue
    assert header.get("Language") == "zh_Hans"
    assert header.get("Content-Type") == "text/plain; charset=UTF-8"
    assert header.get("Plural-Forms", "").replace(" ", "") == "nplurals=1;plural=0;"
    assert not obsolete, "obsolete (#~) entries are left; re-run makemessages with --no-obsolete"
    assert len(entries) > 400  # a sanity floor: the product has several hundred strings
    keys = [e.key for e in entries]
    assert len(keys) == len(set(keys)), "an entry appears twice"


def test_every_entry_is_translated_and_none_is_fuzzy(catalogue):
    _, entries, _ = catalogue
    fuzzy = [str(e) for e in entries if "fuzzy" in e.flags]
    assert not fuzzy, "fuzzy entries are ignored at run time; check them and remove '#, fuzzy':\n" + "\n".join(fuzzy)
    untranslated = [str(e) for e in entries if not e.msgstr or any(not s.strip() for s in e.msgstr.values())]
    assert not untranslated, "untranslated entries:\n" + "\n".join(untranslated)
    plural_shape = [str(e) for e in entries if e.msgid_plural is not None and set(e.msgstr) != {0}]
    assert not plural_shape, "Chinese has one plural form, msgstr[0] only:\n" + "\n".join(plural_shape)
    english = [f"{e}: {e.msgstr[0]!r}" for e in entries if not any(CJK.search(s) for s in e.msgstr.values())]
    assert not english, "these translations contain no Chinese at all (copied English?):\n" + "\n".join(english)


def test_every_placeholder_is_kept(catalogue):
    _, entries, _ = catalogue
    wrong = []
    for e in entries:
        if "python-format" not in e.flags and "%(" not in e.msgid:
            continue
        named, positional = placeholders(e.msgid)
        if e.msgid_plural is not None:
            plural_named, plural_positional = placeholders(e.msgid_plural)
            named |= plural_named  # one Chinese form serves the singular and the plural
            positional = plural_positional or positional
        for index, text in sorted(e.msgstr.items()):
            got_named, got_positional = placeholders(text)
            if got_named != named or got_positional != positional:
                wrong.append(f"{e} msgstr[{index}] {text!r}: expected {sorted(named) + positional}, "
                             f"found {sorted(got_named) + got_positional}")
    assert not wrong, "placeholders differ between English and Chinese:\n" + "\n".join(wrong)


def test_the_catalogue_passes_msgfmt_check(tmp_path):
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("msgfmt (GNU gettext) is not installed; the .po's own checks above still ran")
    done = subprocess.run([msgfmt, "--check", "-o", str(tmp_path / "check.mo"), str(PO)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


# --- (b) the shipped .mo is the compiled .po ------------------------------------------

def _expected_mo_catalogue(entries: list[Entry]) -> dict:
    """What msgfmt puts in the .mo, in the shape of ``gettext.GNUTranslations._catalog``."""
    catalogue = {}
    for e in entries:
        if "fuzzy" in e.flags or not all(e.msgstr.values()):
            continue  # msgfmt leaves fuzzy and untranslated entries out
        msgid = e.msgid if e.msgctxt is None else f"{e.msgctxt}\x04{e.msgid}"
        if e.msgid_plural is None:
            catalogue[msgid] = e.msgstr[0]
        else:
            for index, text in e.msgstr.items():
                catalogue[(msgid, index)] = text
    return catalogue


def _mo_catalogue(path: Path) -> dict:
    with path.open("rb") as handle:
        compiled = dict(gettext.GNUTranslations(handle)._catalog)
    compiled.pop("", None)  # the header: its dates change on every makemessages run
    return compiled


def test_the_shipped_mo_says_what_the_po_says(catalogue):
    assert MO.exists(), f"{MO} is missing; run `closedloop compilemessages -l zh_Hans`"
    _, entries, _ = catalogue
    shipped, expected = _mo_catalogue(MO), _expected_mo_catalogue(entries)
    stale = sorted({repr(k) for k in shipped.keys() ^ expected.keys()}
                   | {repr(k) for k in shipped.keys() & expected.keys() if shipped[k] != expected[k]})
    assert not stale, ("django.mo is older than django.po; run `closedloop compilemessages -l zh_Hans`. Differing:\n"
                       + "\n".join(stale[:50]))


def test_the_shipped_mo_equals_a_fresh_msgfmt_compile(tmp_path):
    """Compiled by gettext itself, not by the reader above. Compared entry by entry, not byte by
    byte: another gettext version may lay out the same catalogue differently."""
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("msgfmt (GNU gettext) is not installed; the .mo was compared with the .po reader instead")
    fresh = tmp_path / "django.mo"
    done = subprocess.run([msgfmt, "--check", "-o", str(fresh), str(PO)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert _mo_catalogue(fresh) == _mo_catalogue(MO), "django.mo is stale; run `closedloop compilemessages -l zh_Hans`"


def test_django_serves_every_translation_at_run_time(catalogue):
    _, entries, _ = catalogue
    wrong = []
    with translation.override("zh-hans"):
        for e in entries:
            if e.msgid_plural is None:
                got = (translation.gettext(e.msgid) if e.msgctxt is None
                       else translation.pgettext(e.msgctxt, e.msgid))
            else:
                got = (translation.ngettext(e.msgid, e.msgid_plural, 2) if e.msgctxt is None
                       else translation.npgettext(e.msgctxt, e.msgid, e.msgid_plural, 2))
            if got != e.msgstr[0]:
                wrong.append(f"{e}: Django gives {got!r}, the .po says {e.msgstr[0]!r}")
    assert not wrong, "\n".join(wrong[:50])


# --- (c) the catalogue holds exactly what the code marks -----------------------------

def test_the_catalogue_has_every_marked_string_and_nothing_else(catalogue, tmp_path, monkeypatch, settings):
    """makemessages over a copy of the package, into an empty locale directory there."""
    missing_tools = [tool for tool in GETTEXT_TOOLS if shutil.which(tool) is None]
    if missing_tools:
        pytest.skip(f"GNU gettext tools not installed ({', '.join(missing_tools)}); cannot extract the msgids")
    copy = tmp_path / "closedloop"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "locale"))
    (copy / "locale").mkdir()
    settings.LOCALE_PATHS = [copy / "locale"]  # never the shipped catalogue
    monkeypatch.chdir(copy)
    call_command("makemessages", verbosity=0, **MAKEMESSAGES)

    _, fresh, _ = read_po(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")
    _, shipped, _ = catalogue
    marked, present = {e.key for e in fresh}, {e.key for e in shipped}
    missing = sorted(marked - present, key=str)
    extra = sorted(present - marked, key=str)
    assert not missing, (f"{len(missing)} string(s) marked in the code are not in django.po "
                         "(run makemessages, translate, compilemessages):\n" + "\n".join(repr(k[1]) for k in missing))
    assert not extra, (f"{len(extra)} entr(ies) of django.po are no longer in the code "
                       "(run makemessages with --no-obsolete):\n" + "\n".join(repr(k[1]) for k in extra))


# --- pages, as a user sees them --------------------------------------------------------

@pytest.fixture
def product_default_language(settings):
    """The shipped default, whatever the rest of the suite runs in."""
    settings.LANGUAGE_CODE = "zh-hans"
    with translation.override(None):
        yield


def test_login_page_is_in_chinese_by_default(client, db, product_default_language):
    page = client.get(reverse("login")).content.decode()
    assert '<html lang="zh-hans">' in page
    assert "<h1>登录</h1>" in page
    assert "疫情防控指挥部" in page
    assert "登录 · 闭环管理平台</title>" in page
    assert "Log in" not in page


def test_overview_is_in_chinese_with_the_role_and_the_welcome_filled_in(client, commander, product_default_language):
    client.force_login(commander)
    page = client.get(reverse("home")).content.decode()
    assert "<h1>总览</h1>" in page
    assert f"{commander}，您好。" in page  # a blocktranslate placeholder survives translation
    assert "指挥长" in page  # the role, a lazily translated choice
    assert "退出登录" in page and "审计日志" in page
    assert "个人信息已脱敏" in page
    assert "Overview" not in page


def test_the_same_pages_are_in_english_on_request(client, commander, product_default_language):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in page and "<h1>Log in</h1>" in page and "登录" not in page
    client.force_login(commander)
    page = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<h1>Overview</h1>" in page and "Commander" in page and "总览" not in page


def test_reasons_from_the_pure_helpers_and_plurals_are_translated():
    from closedloop.lib.identity import IdError, parse_resident_id

    with pytest.raises(IdError) as caught:
        parse_resident_id("1101051949123100")
    with translation.override("zh-hans"):
        assert caught.value.translated(translation.gettext) == "身份证号码为16位，正确应为18位。"
        assert translation.ngettext("%(counter)s row", "%(counter)s rows", 1) % {"counter": 1} == "共1条"
        assert translation.ngettext("%(counter)s row", "%(counter)s rows", 7) % {"counter": 7} == "共7条"
    with translation.override("en"):
        assert caught.value.translated(translation.gettext) == caught.value.reason
