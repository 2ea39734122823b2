"""closedloop import people FILE — import a roster from the terminal.

Exit status 0 when the import ran (even with rejected rows), 2 when the file
could not be read at all.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from closedloop.people.importing.engine import import_run_create, import_run_execute, report
from closedloop.people.importing.reader import UnreadableFile


class ProgressLine:
    """Rows done, rows per second and time left, redrawn on one terminal line."""

    def __init__(self, stream):
        self.stream, self.start = stream, time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        elapsed = max(time.monotonic() - self.start, 1e-6)
        rate = done / elapsed
        left = (total - done) / rate if rate else 0
        self.stream.write(f"\r  {done:>9,}/{total:,} rows  {rate:>8,.0f} rows/s  {left:>5.0f} s left ")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")


class Command(BaseCommand):
    help = "Import a roster of people from an .xlsx or .csv file (see docs/import.md)."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=["people"], help="What the file lists (people).")
        parser.add_argument("file", type=Path)
        parser.add_argument("--sheet", help="Sheet name in a workbook (default: the first sheet).")
        parser.add_argument("--category", help="Category for every row without one, e.g. 密接 or close_contact.")
        parser.add_argument("--mapping", help="Name of a saved column mapping.")
        parser.add_argument("--report", type=Path, help="Write the counts and every problem to this JSON file.")
        parser.add_argument("--user", help="Account the import is done as (default: the system).")
        parser.add_argument("--lang", default="en", choices=["en", "zh-hans"], help="Language of the reasons.")

    def handle(self, *args, **opts):
        translation.activate(opts["lang"])
        actor = None
        if opts["user"]:
            actor = get_user_model().objects.filter(username=opts["user"], is_active=True).first()
            if actor is None:
                raise CommandError(f"There is no active account named {opts['user']!r}.")
        path: Path = opts["file"]
        if not path.is_file():
            self._fail(f"{path}: no such file.")
        try:
            run, table = import_run_create(
                path=path, file_name=path.name, actor=actor, sheet=opts["sheet"], category=opts["category"],
                mapping=opts["mapping"],
            )
            if not run.header_row:
                self._fail(f"{path.name}: no header row found (no row names at least two known columns).")
            progress = ProgressLine(self.stderr._out) if self.stderr._out.isatty() or opts["verbosity"] > 1 else None
            import_run_execute(run=run, actor=actor, progress=progress, table=table)
            if progress:
                progress.close()
        except UnreadableFile as exc:
            self._fail(f"{path.name}: {exc}")
        run.refresh_from_db()
        result = report(run)
        counts = "  ".join(f"{k} {result[k]}" for k in
                           ("read", "created", "updated", "unchanged", "merged_in_file", "flagged", "rejected"))
        self.stdout.write(f"import #{run.pk} {path.name}: {counts}")
        for p in result["problems"][:20]:
            self.stdout.write(f"  row {p['row']} {p['column']}: {p['reason']} ({p['outcome']})")
        if len(result["problems"]) > 20:
            self.stdout.write(f"  … {len(result['problems']) - 20} more problems (see --report)")
        if opts["report"]:
            opts["report"].write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str))

    def _fail(self, message: str):
        self.stderr.write(message)
        sys.exit(2)
