"""Exception text that is safe to log: what failed and where, never the input that made it fail.

pydantic's ValidationError prints every offending input value (`input_value='jane@example.com'`),
and a traceback prints every exception of the chain (`raise ... from exc`), so one event that fails
validation would copy the customer's email, phone and address into the logs, into the batch
processor's failure report and into the Lambda error. Everything that turns an exception into text
for a log goes through here (the Logger's formatter, the batch processor): a ValidationError is
shown as its fields and problems only, the way the 400 bodies name them; every other exception is
shown by its own text, which the project writes with ids and never with personal data
(vendors' answers are reduced to status, code and request id in `hub.adapters.http`).
"""

from __future__ import annotations

import traceback
from types import TracebackType
from typing import overload

from pydantic import ValidationError

from hub.errors import RedactedError

__all__ = ["describe", "field_problems", "format_exception", "redacted", "redacted_info"]

_MAX_PROBLEMS = 5


def field_problems(exc: ValidationError, *, skip_tag: str | None = None) -> list[str]:
    """`'field.path': problem` for each error, without the input value (or pydantic's URL)."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False, include_context=False):
        loc = list(error["loc"])
        if skip_tag is not None and loc and loc[0] == skip_tag:
            loc = loc[1:]  # a discriminated union's tag, not a field
        problems.append(f"'{'.'.join(str(p) for p in loc)}': {error['msg']}")
    return problems


def describe(exc: BaseException) -> str:
    """The text of one exception, safe for a log line."""
    if isinstance(exc, ValidationError):
        problems = field_problems(exc)
        shown = "; ".join(problems[:_MAX_PROBLEMS])
        more = f" (and {len(problems) - _MAX_PROBLEMS} more)" if len(problems) > _MAX_PROBLEMS else ""
        return f"{exc.error_count()} validation error(s) for {exc.title}: {shown}{more}"
    return str(exc)


def _chain(exc: BaseException) -> list[BaseException]:
    """exc, its cause or context, and so on, as a traceback would print them (innermost last)."""
    links: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        links.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return links


def _needs_redaction(exc: BaseException) -> bool:
    return any(isinstance(link, ValidationError) for link in _chain(exc))


def _name(exc: BaseException) -> str:
    kind = type(exc)
    return (
        kind.__qualname__ if kind.__module__ in ("builtins", "__main__") else f"{kind.__module__}.{kind.__qualname__}"
    )


def format_exception(exc: BaseException) -> str:
    """A traceback of the whole chain, as `traceback.format_exception` gives it, with safe texts."""
    parts: list[str] = []
    links = list(reversed(_chain(exc)))  # innermost first, as Python prints them
    for position, link in enumerate(links):
        if position:
            caused = link.__cause__ is links[position - 1]
            parts.append(
                "\nThe above exception was the direct cause of the following exception:\n\n"
                if caused
                else "\nDuring handling of the above exception, another exception occurred:\n\n"
            )
        if link.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(traceback.format_tb(link.__traceback__))
        parts.append(f"{_name(link)}: {describe(link)}\n")
    return "".join(parts)


def redacted(exc: BaseException) -> BaseException:
    """exc itself when its chain carries no input values, else a RedactedError saying the same safely.

    The stand-in keeps exc's traceback (frames name code, not values) and drops the chain, so any
    formatter that prints it, the standard library's included, prints nothing of the input.
    """
    if not _needs_redaction(exc):
        return exc
    text = " <- ".join(f"{type(link).__name__}: {describe(link)}" for link in _chain(exc))
    stand_in = RedactedError(text, type(exc).__name__)
    stand_in.__cause__ = None
    stand_in.__context__ = None
    stand_in.__suppress_context__ = True
    return stand_in.with_traceback(exc.__traceback__)


_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
_OptExcInfo = tuple[type[BaseException] | None, BaseException | None, TracebackType | None]


@overload
def redacted_info(info: _ExcInfo) -> _ExcInfo: ...
@overload
def redacted_info(info: _OptExcInfo) -> _OptExcInfo: ...
def redacted_info(info: _OptExcInfo) -> _OptExcInfo:
    """`sys.exc_info()`-shaped, redacted (see `redacted`); an exception's info stays one."""
    _kind, exc, tb = info
    if exc is None:
        return info
    safe = redacted(exc)
    return (type(safe), safe, tb if safe is exc else safe.__traceback__)
