"""Oldest first from an API that lists newest first (Stripe's `/v1/events`, PayPal's webhook events).

The reconciler moves its cursor up to the newest change of each page once that page is durable, so
a feed must hand its changes oldest first: were the newest page handed first, a later page that
failed would lie behind the cursor and never be listed again. These APIs list newest first and page
towards older items, so `oldest_window` walks a whole time window (every page of it) before any
of it is handed on, and sorts it.

A window with more items than one walk may read (`max_calls` pages) is narrowed to what is older than
the oldest item seen, and walked again: the first window handed on is always the oldest part of the
backlog, and the next page of the feed starts where that window ended. A backlog so dense that even
`narrowings` halvings do not fit is a FeedError: the run fails visibly, its cursor stays, nothing is
skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from hub.errors import FeedError

__all__ = ["Listing", "oldest_window"]

T = TypeVar("T")


@dataclass(frozen=True)
class Listing(Generic[T]):
    """One answer of the API: its items (newest first, as listed) and the cursor of the next, older,
    page (None: the window is listed whole)."""

    items: Sequence[T]
    older: str | None = None


def oldest_window(
    list_page: Callable[[str | None, datetime | None], Listing[T]],
    created: Callable[[T], datetime],
    *,
    max_calls: int,
    narrowings: int,
    what: str,
) -> tuple[list[T], datetime | None]:
    """Every item of the oldest window that fits one walk, oldest first, and the window's upper
    bound (None: up to now). `list_page(cursor, upper)` lists the items created after the feed's
    lower bound and at or before `upper` (no upper bound when None), from `cursor` (None: the newest)."""
    upper: datetime | None = None
    for _ in range(narrowings + 1):
        items: list[T] = []
        cursor: str | None = None
        for _call in range(max_calls):
            listing = list_page(cursor, upper)
            items += listing.items
            cursor = listing.older
            if cursor is None:
                return sorted(items, key=created), upper
        if not items:
            break
        upper = min(created(item) for item in items)
    raise FeedError(
        f"{what}: more changes than {max_calls} pages hold even in a narrowed window; "
        "the run stops with its cursor where it was"
    )
