"""``closedloop check``: Django's system checks, then the platform's integrity checks.

It extends Django's own command, so ``--deploy``, ``--tag``, ``--list-tags``,
``--fail-level`` and app labels behave as in Django. The integrity checks
(``closedloop.core.integrity``) run after the system checks unless the run is
narrowed to some tags or apps, or ``--no-integrity`` is given.

Exit status: 0 when all is well; 1 when a system check fails or any integrity
check finds a violation (each is printed with its rule and object); 2 when a
setting is wrong (printed by the ``closedloop`` command).

``--periodic`` is what ``closedloop serve`` runs on a timer: quiet on success,
and checks may apply their audited repairs (a stuck import is marked
interrupted).
"""

from __future__ import annotations

from django.core.management.base import CommandError
from django.core.management.commands.check import Command as DjangoCheck
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

from closedloop.core import integrity

# Beyond this many lines per rule the rest is counted, not listed.
MAX_LINES_PER_RULE = 100


class Command(DjangoCheck):
    help = (
        "Checks the project for problems (Django's system checks) and the data for "
        "broken rules (the platform's integrity checks)."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--periodic",
            action="store_true",
            help="Quiet on success, and apply the audited repairs some checks have (run by `closedloop serve`).",
        )
        parser.add_argument("--no-integrity", action="store_true", help="Run Django's system checks only.")
        parser.add_argument(
            "--integrity",
            action="append",
            dest="integrity_checks",
            metavar="NAME",
            help="Run only this integrity check (repeatable).",
        )
        parser.add_argument(
            "--list-integrity", action="store_true", help="List the integrity checks and exit."
        )

    _periodic = False

    def check(self, *args, **kwargs):
        if self._periodic:
            kwargs["display_num_errors"] = False
        return super().check(*args, **kwargs)

    def handle(self, *app_labels, **options):
        self._periodic = options["periodic"]
        if options["list_integrity"]:
            integrity.autodiscover()
            for name in sorted(integrity.REGISTRY):
                doc = (integrity.REGISTRY[name].__doc__ or "").strip().splitlines()
                self.stdout.write(f"{name:24} {doc[0] if doc else ''}".rstrip())
            return
        super().handle(*app_labels, **options)
        if options["list_tags"] or options["no_integrity"]:
            return
        narrowed = bool(app_labels or options["tags"])
        if narrowed and not options["integrity_checks"]:
            return
        self.run_integrity(options["integrity_checks"])

    def run_integrity(self, only: list[str] | None) -> None:
        self.require_migrated()
        try:
            results = integrity.run_checks(periodic=self._periodic, only=only)
        except KeyError as exc:
            raise CommandError(exc.args[0]) from None
        failures = 0
        fixed = 0
        for result in results:
            if result.error:
                failures += 1
                self.stdout.write(f"error [{result.name}] the check could not run: {result.error}")
            by_rule: dict[str, int] = {}
            for violation in result.violations:
                by_rule[violation.rule] = by_rule.get(violation.rule, 0) + 1
                if by_rule[violation.rule] <= MAX_LINES_PER_RULE:
                    self.stdout.write(str(violation))
            for rule, count in by_rule.items():
                if count > MAX_LINES_PER_RULE:
                    self.stdout.write(f"… and {count - MAX_LINES_PER_RULE} more of [{rule}]")
            failures += len(result.failed)
            fixed += len(result.violations) - len(result.failed)
        summary = f"integrity: {len(results)} checks, {failures} violation{'' if failures == 1 else 's'}"
        if fixed:
            summary += f", {fixed} fixed"
        if failures:
            raise CommandError(summary, returncode=1)
        if not self._periodic or fixed:
            self.stdout.write(summary)

    def require_migrated(self) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        try:
            executor = MigrationExecutor(connection)
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except DatabaseError as exc:
            raise CommandError(f"integrity: the database cannot be reached: {exc}".strip()) from None
        if plan:
            raise CommandError(
                f"integrity: the database has {len(plan)} unapplied migration(s); run `closedloop migrate` first."
            )
