"""``closedloop export <subject> -o FILE.csv|FILE.xlsx --user USERNAME …``

Exports run as one account: its jurisdictions decide which rows are written
and its role whether ``--unmask`` is allowed; each export is audited under
that account. The file format follows the file name's extension.

Each subject (``people``; later ``episodes``) is one function registered with
``@subject``: it adds its own options and returns the rows (an object with
``columns``, ``language``, ``count`` that iterates dicts, like
``people.exports.ExportRows``); the command does the rest.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from closedloop.core.models import Jurisdiction
from closedloop.core.roles import Cap
from closedloop.lib.categories import CategoryError, parse_category

USAGE_ERROR = 2


@dataclass(frozen=True)
class Subject:
    name: str
    help: str
    add_arguments: Callable
    rows: Callable  # rows(*, user, options, unmask, fmt) -> rows to write


SUBJECTS: dict[str, Subject] = {}


def subject(name: str, *, help: str, arguments: Callable = lambda parser: None):
    """Register an export subject: ``@subject("episodes", help=..., arguments=...)``."""

    def register(rows: Callable) -> Callable:
        SUBJECTS[name] = Subject(name=name, help=help, add_arguments=arguments, rows=rows)
        return rows

    return register


def _writers() -> dict[str, Callable]:
    from closedloop.people.exports import write_csv, write_xlsx

    return {".csv": write_csv, ".xlsx": write_xlsx}


# --- people ---------------------------------------------------------------------------

def _people_arguments(parser) -> None:
    parser.add_argument("--town", metavar="CODE", help="Only people of this town or street (its code).")
    parser.add_argument("--category", metavar="CAT", help="Only people with an open episode of this category.")


@subject("people", help="The person registry, one row a person.", arguments=_people_arguments)
def people_rows(*, user, options: dict, unmask: bool, fmt: str):
    from closedloop.people.exports import export_rows

    params: dict[str, str] = {}
    if options.get("town"):
        code = options["town"].strip()
        pk = Jurisdiction.objects.filter(code=code, level=Jurisdiction.Level.TOWN).values_list("pk", flat=True).first()
        if pk is None:
            raise CommandError(_("No town or street has the code %(code)s.") % {"code": code}, returncode=USAGE_ERROR)
        params["town"] = str(pk)
    if options.get("category"):
        try:
            params["category"] = parse_category(options["category"]) or ""
        except CategoryError as exc:
            raise CommandError(exc.translated(_), returncode=USAGE_ERROR) from None
    return export_rows(user, params, unmask=unmask, fmt=fmt)


# --- episodes -------------------------------------------------------------------------

def _episodes_arguments(parser) -> None:
    parser.add_argument("--category", metavar="CAT", help="Only episodes of this category.")
    parser.add_argument("--state", metavar="STATE",
                        help="Only episodes in this state: awaiting, in_custody, in_transit, released, became_case "
                        "or closed.")


@subject("episodes", help="Episodes of the closed loop, one row an episode: person, protocol, phases, custodian, "
         "state.", arguments=_episodes_arguments)
def episodes_rows(*, user, options: dict, unmask: bool, fmt: str):
    from closedloop.quarantine.choices import EpisodeState
    from closedloop.quarantine.exports import export_episodes

    category = state = ""
    if options.get("category"):
        try:
            category = parse_category(options["category"]) or ""
        except CategoryError as exc:
            raise CommandError(exc.translated(_), returncode=USAGE_ERROR) from None
    if options.get("state"):
        state = options["state"].strip()
        if state not in EpisodeState.values:
            raise CommandError(_("Unknown state %(state)s; use one of: %(choices)s.") % {
                "state": state, "choices": ", ".join(EpisodeState.values)}, returncode=USAGE_ERROR)
    return export_episodes(user, category=category, state=state, unmask=unmask, fmt=fmt)


# --- the command ------------------------------------------------------------------------

class Command(BaseCommand):
    help = "Export data to a CSV or XLSX file, within the scope of one account."

    def add_arguments(self, parser) -> None:
        subjects = parser.add_subparsers(dest="subject", metavar="SUBJECT", required=True)
        for item in SUBJECTS.values():
            sub = subjects.add_parser(item.name, help=item.help, description=item.help)
            sub.add_argument("-o", "--output", required=True, metavar="FILE",
                             help="The file to write; .csv or .xlsx decides the format.")
            sub.add_argument("--user", metavar="USERNAME",
                             help="The account whose scope and capabilities apply (required).")
            sub.add_argument("--unmask", action="store_true",
                             help="Full ID numbers, phones and addresses (audited; the account must be allowed).")
            sub.add_argument("--language", choices=[code for code, _name in settings.LANGUAGES],
                             default=settings.LANGUAGE_CODE, help="Language of the header row and labels.")
            item.add_arguments(sub)

    def handle(self, *args, **options) -> None:
        with translation.override(options["language"]):
            self._export(options)

    def _export(self, options: dict) -> None:
        item = SUBJECTS[options["subject"]]
        path = Path(options["output"]).expanduser()
        writer = _writers().get(path.suffix.lower())
        if writer is None:
            raise CommandError(
                _("The file name must end in .csv or .xlsx (it decides the format): %(path)s") % {"path": path},
                returncode=USAGE_ERROR,
            )
        user = self._user(options.get("user"))
        try:
            rows = item.rows(user=user, options=options, unmask=options["unmask"], fmt=path.suffix.lower()[1:])
        except PermissionDenied as exc:
            what = Cap(str(exc)).label if str(exc) in Cap.values else str(exc)
            raise CommandError(
                _("The account %(user)s may not do this: %(what)s.") % {"user": user.username, "what": what}
            ) from None
        written = self._write(writer, rows, path)
        self.stdout.write(
            ngettext("Exported %(count)d row to %(path)s.", "Exported %(count)d rows to %(path)s.", written)
            % {"count": written, "path": path}
        )

    def _user(self, username: str | None):
        if not username:
            raise CommandError(
                _("Give --user USERNAME: the export runs with that account's scope and capabilities."),
                returncode=USAGE_ERROR,
            )
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(_("No active account is named %(name)s.") % {"name": username}, returncode=USAGE_ERROR)
        return user

    def _write(self, writer: Callable, rows, path: Path) -> int:
        """Write to a temporary file beside the target, then move it in: never a half-written file."""
        directory = path.parent if str(path.parent) else Path(".")
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
        except OSError as exc:
            raise CommandError(
                _("Cannot write %(path)s: %(reason)s.") % {"path": path, "reason": exc.strerror}
            ) from None
        os.close(fd)
        try:
            written = writer(rows, tmp)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return written
