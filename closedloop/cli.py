"""The ``closedloop`` command: Django's manage.py under a better name.

Every Django command works (``closedloop migrate``, ``closedloop createsuperuser``)
beside the platform's own (``serve``, ``demo``, ``import``, ``export``, ``check``,
``bench``). A bad setting is printed as one sentence, not a traceback.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "closedloop.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(["closedloop", *(sys.argv[1:] if argv is None else argv)])
    except ImproperlyConfigured as exc:
        print(f"closedloop cannot start: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
