"""The one error type the local stack raises for problems a developer must fix.

The CLI prints its message and exits non-zero without a traceback, so every message names the file,
resource or key at fault and says what to change.
"""

from __future__ import annotations

__all__ = ["LocalStackError"]


class LocalStackError(RuntimeError):
    """The local stack cannot start or continue; the message says why in plain words."""
