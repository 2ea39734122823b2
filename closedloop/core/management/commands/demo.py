"""``closedloop demo``: load the demo city into an empty database.

    closedloop demo [--persons N] [--seed S] [--if-empty]

Loads the 14 towns and streets of a Yiwu-like city with their villages and
communities, one login per role (password ``closedloop-demo``), N synthetic
people in households and the episodes of the ~40% under control, all through
the actions and in one transaction. The same seed gives the same people.

It refuses a database that already holds data (exit status 1). With
``--if-empty`` such a database is left alone and the command exits 0, so a
start script can run it every time. The database must be migrated first.
"""

from __future__ import annotations

import argparse
import unicodedata

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from closedloop.core.demo import DemoError, check_database, demo_load, has_data
from closedloop.core.roles import Role
from closedloop.quarantine.choices import Category


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("%(value)r is not a whole number") % {"value": text}) from None
    if value < 1:
        raise argparse.ArgumentTypeError(_("must be at least 1"))
    return value


def _width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _table(rows: list[tuple[str, ...]], indent: str = "  ") -> list[str]:
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def _scope_label(jurisdiction) -> str:
    if jurisdiction.level == "community" and jurisdiction.parent is not None:
        return f"{jurisdiction.parent.label} {jurisdiction.label}"
    return jurisdiction.label


class Command(BaseCommand):
    help = "Loads the demo city (towns, logins, synthetic people, episodes) into an empty database."

    def add_arguments(self, parser):
        parser.add_argument("--persons", type=_positive, default=2000, help="How many people to create (default 2000).")
        parser.add_argument("--seed", type=int, default=2022, help="The seed of the generator (default 2022).")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Leave a database that already holds data alone and exit 0 (for start scripts).",
        )

    def handle(self, *args, persons: int, seed: int, if_empty: bool, verbosity: int = 1, **options):
        try:
            check_database()
            if has_data():
                if if_empty:
                    if verbosity >= 1:
                        self.stdout.write(_("Demo data already present (the database is not empty); nothing loaded."))
                    return
                raise CommandError(
                    _("The database already holds data; the demo is only loaded into an empty database. "
                      "Use a new data directory (CLOSEDLOOP_DATA_DIR) or database to try the demo.")
                )
            result = demo_load(persons=persons, seed=seed, stdout=self.stdout if verbosity >= 1 else None)
        except DemoError as exc:
            raise CommandError(str(exc)) from None
        if verbosity >= 1:
            self.print_summary(result)

    def print_summary(self, result) -> None:
        out = self.stdout
        out.write(self.style.SUCCESS(
            _("Demo city %(city)s loaded in %(seconds).1f s.") % {"city": result.city.label, "seconds": result.seconds}
        ))
        labels = {value: str(label) for value, label in Category.choices}
        rows = [
            (_("Towns and streets"), str(result.towns)),
            (_("Villages and communities"), str(result.communities)),
            (_("Households"), str(result.households)),
            (_("People"), str(result.people)),
            (_("Under control (open episodes)"), str(sum(result.episodes.values()))),
        ]
        rows += [
            ("  " + labels[category], str(result.episodes[category]))
            for category in Category.values
            if result.episodes.get(category)
        ]
        for line in _table(rows):
            out.write(line)
        out.write("")
        out.write(_("Demo logins (password: %(password)s):") % {"password": result.password})
        roles = {value: str(label) for value, label in Role.choices}
        login_rows = [(_("Username"), _("Role"), _("Scope"))]
        login_rows += [(login.username, roles[login.role], _scope_label(login.scope)) for login in result.logins]
        for line in _table(login_rows):
            out.write(line)
        out.write(self.style.WARNING(
            _("These accounts share a published password: use them for demonstrations only, never with real data.")
        ))
