"""``closedloop returns``: plan the return of people quarantined in other cities, or check a plan.

    closedloop returns plan INSTANCE.json -o PLAN.json [--time-limit SECONDS] [--seed N]
    closedloop returns validate INSTANCE.json PLAN.json

Both read and write the JSON formats of docs/returns-planner.md (``closedloop.returns-instance/1``,
``closedloop.returns-plan/1``) and need no database. ``validate`` prints each rule the plan breaks
and exits 1 if any, or prints one line with the makespan and the bound and exits 0. A file that
cannot be read as an instance or a plan exits 2 with the reason.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from closedloop.planning.returns import instance as inst
from closedloop.planning.returns.planner import PlanningError, plan
from closedloop.planning.returns.validate import PlanFormatError, check

USAGE_ERROR = 2


def _seconds(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


class Command(BaseCommand):
    help = "Plans the return of people quarantined in other cities (plan), or checks a plan (validate)."
    requires_system_checks = []

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{plan,validate}")
        made = actions.add_parser("plan", help="Make a plan for an instance and write it as JSON.")
        made.add_argument("instance", type=Path, help="The instance (closedloop.returns-instance/1).")
        made.add_argument("-o", "--output", type=Path, required=True, help="Where to write the plan.")
        made.add_argument("--time-limit", type=_seconds, default=None,
                          help="Seconds the search may take (default: a few).")
        made.add_argument("--seed", type=int, default=0, help="Seed of the search's perturbations.")
        checked = actions.add_parser("validate", help="Check a plan against every rule of the spec.")
        checked.add_argument("instance", type=Path, help="The instance (closedloop.returns-instance/1).")
        checked.add_argument("plan", type=Path, help="The plan (closedloop.returns-plan/1).")
        for sub in (made, checked):  # like `closedloop import`: English unless asked
            sub.add_argument("--lang", default="en", choices=["en", "zh-hans"], help="Language of the messages.")

    def handle(self, *args, **opts):
        translation.activate(opts["lang"])
        if opts["action"] == "plan":
            return self._plan(opts)
        return self._validate(opts)

    def _instance(self, path: Path):
        try:
            return inst.load(path)
        except inst.InstanceError as exc:
            raise CommandError(_("%(path)s: %(reason)s") % {"path": path, "reason": exc.translated(_)},
                               returncode=USAGE_ERROR) from None

    def _plan(self, opts):
        instance = self._instance(opts["instance"])
        started = time.perf_counter()
        try:
            made = plan(instance, time_limit=opts["time_limit"], seed=opts["seed"])
        except PlanningError as exc:
            raise CommandError(exc.translated(_), returncode=1) from None
        seconds = time.perf_counter() - started
        try:
            made.write(opts["output"])
        except OSError as exc:
            raise CommandError(_("Cannot write %(path)s: %(reason)s.") % {
                "path": opts["output"], "reason": exc.strerror or str(exc)}, returncode=USAGE_ERROR) from None
        self.stdout.write(_("%(groups)s groups (%(people)s people) planned in %(seconds).1f s: the last home at "
                            "minute %(makespan)s, no plan can beat minute %(bound)s; written to %(path)s.") % {
            "groups": instance.group_count, "people": instance.people, "seconds": seconds,
            "makespan": made.makespan, "bound": made.lower_bound, "path": opts["output"]})

    def _validate(self, opts):
        instance = self._instance(opts["instance"])
        path = opts["plan"]
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(_("Cannot read %(path)s: %(reason)s.") % {
                "path": path, "reason": exc.strerror or str(exc)}, returncode=USAGE_ERROR) from None
        except ValueError as exc:
            raise CommandError(_("%(path)s is not JSON: %(reason)s.") % {"path": path, "reason": exc},
                               returncode=USAGE_ERROR) from None
        try:
            violations = check(inst.to_dict(instance), data)
        except PlanFormatError as exc:
            raise CommandError(_("%(path)s: %(reason)s") % {"path": path, "reason": exc.translated(_)},
                               returncode=USAGE_ERROR) from None
        for v in violations:
            self.stdout.write(_("rule %(rule)s, %(subject)s: %(message)s") % {
                "rule": v.rule, "subject": v.subject, "message": v.translated(_)})
        if violations:
            self.stderr.write(ngettext("%(count)s violation: the plan breaks the rules.",
                                       "%(count)s violations: the plan breaks the rules.",
                                       len(violations)) % {"count": len(violations)})
            sys.exit(1)
        self.stdout.write(_("OK: every rule is kept; makespan %(makespan)s, lower bound %(bound)s.") % {
            "makespan": data["makespan"], "bound": data["lower_bound"]})
