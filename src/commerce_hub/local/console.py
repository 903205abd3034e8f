"""What the local stack prints: one line per invocation, and the functions' own output.

Function output (Powertools JSON logs, EMF metrics, prints) is shown in full, prefixed with the
function's name, only with --verbose. Otherwise only lines at WARNING or above get through, so the
console stays a readable list of invocations. Tracebacks of failed invocations are always shown.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from typing import TextIO

__all__ = ["Console", "is_warning_or_worse"]

_LEVELS_SHOWN = frozenset({"WARNING", "WARN", "ERROR", "CRITICAL", "FATAL", "EXCEPTION"})
_PLAIN_WARNING = re.compile(r"\b(WARNING|WARN|ERROR|CRITICAL|FATAL|Traceback)\b|\w+Warning:")


def is_warning_or_worse(line: str) -> bool:
    """True for a log line worth showing without --verbose; EMF metric documents never are."""
    text = line.strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if isinstance(document, dict):
            if "_aws" in document:
                return False
            level = document.get("level") or document.get("log_level") or document.get("levelname")
            return str(level).upper() in _LEVELS_SHOWN
    return bool(_PLAIN_WARNING.search(text))


class Console:
    """Thread-safe printing for the runner, the HTTP server, pollers, scheduler and workers."""

    def __init__(self, *, verbose: bool = False, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.verbose = verbose
        self.quiet = quiet
        self._stream = stream
        self._lock = threading.Lock()

    def _write(self, text: str) -> None:
        stream = self._stream or sys.stdout
        with self._lock:
            try:
                stream.write(text + "\n")
                stream.flush()
            except (ValueError, OSError):
                pass  # the stream was closed under us (interpreter shutdown, a closed pipe)

    def info(self, message: str) -> None:
        if not self.quiet:
            self._write(message)

    def warning(self, message: str) -> None:
        self._write(f"warning: {message}")

    def invocation(self, function: str, trigger: str, outcome: str, duration_ms: float) -> None:
        """One line per invocation: time, function, trigger, outcome, duration."""
        if self.quiet:
            return
        stamp = time.strftime("%H:%M:%S")
        self._write(f"{stamp}  {function:<34} {trigger:<44} {outcome:<10} {duration_ms:8.1f} ms")

    def request(self, trigger: str, outcome: str) -> None:
        """A request the runner answered itself (no route, no token): no function ran."""
        if not self.quiet:
            self._write(f"{time.strftime('%H:%M:%S')}  {'-':<34} {trigger:<44} {outcome}")

    def traceback(self, function: str, text: str) -> None:
        for line in text.rstrip().splitlines():
            self._write(f"[{function}] {line}")

    def emulator_output(self, line: str) -> None:
        """A line moto printed after start-up (its own errors): rare and useful, always shown.

        It goes to this console's stream when one was given (tests read everything the stack
        wrote from there), else to stderr, apart from the invocation lines.
        """
        if self._stream is not None:
            self._write(f"[aws emulator] {line}")
            return
        with self._lock:
            print(f"[aws emulator] {line}", file=sys.stderr, flush=True)

    def function_output(self, function: str, line: str) -> None:
        if self.verbose or is_warning_or_worse(line):
            self._write(f"[{function}] {line}")
