"""A real headless Chromium for the console's browser tests and benchmark: Debian's `chromium`.

Playwright's own browser download is not used (it cannot be reached everywhere the tests run);
Playwright drives the installed executable instead. `make test` installs it when it is missing and
the user is root (CI); otherwise a run without it FAILS, saying how to install one. Set
HUB_CHROMIUM to use another Chromium executable.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "build" / "test-artifacts" / "console"
INSTALL_HINT = (
    "the console's browser tests need Chromium and found none: install it with "
    "`sudo apt-get install -y chromium` (make test does this itself when run as root), "
    "or set HUB_CHROMIUM to a Chromium executable"
)


class NoBrowserError(RuntimeError):
    """No Chromium executable is installed."""


def chromium_executable() -> str:
    """The Chromium to drive: HUB_CHROMIUM, else Debian's chromium (or chromium-browser) on PATH."""
    configured = os.environ.get("HUB_CHROMIUM")
    candidates = [configured] if configured else [shutil.which("chromium"), shutil.which("chromium-browser")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise NoBrowserError(INSTALL_HINT)


def launch_options() -> dict[str, object]:
    # --no-sandbox: CI runs as root, where Chromium refuses its sandbox.
    return {"executable_path": chromium_executable(), "headless": True, "args": ["--no-sandbox"]}
