"""Running the ``closedloop`` command in a subprocess, as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def cli_env(data_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment of a fresh installation: SQLite in ``data_dir``, no other CLOSEDLOOP_* setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOSEDLOOP_") and k != "DJANGO_SETTINGS_MODULE"}
    env["CLOSEDLOOP_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env.update(overrides)
    return env


def closedloop(*args: str, data_dir: Path, timeout: float = 120, **overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "closedloop.cli", *args],
        env=cli_env(data_dir, **overrides),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
