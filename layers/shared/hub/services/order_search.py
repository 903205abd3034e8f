"""Listing orders by status, channel, day and customer email, a page at a time (the console, GET /orders).

Without an email the list walks the `orders-by-day` index from the newest day of the range to the
oldest, each day newest first, filtering by status and channel in the index's own query. With an
email it reads the customer's profile (which names every order of theirs, derived by crm_upsert
from their orders: the hub keeps no second copy of an email to search by) and those orders' rows,
then applies the other filters. Either way a page is at most `query.limit` orders, and its cursor
continues exactly after the last one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from hub.domain.order_search import MAX_DAYS, Cursor, OrderPage, OrderQuery, OrderRow
from hub.errors import BadRequestError
from hub.ports import OrderIndex, ProfileStore

__all__ = ["OrderSearch"]


def _today() -> date:
    return datetime.now(UTC).date()


class OrderSearch:
    def __init__(self, index: OrderIndex, profiles: ProfileStore, today: Callable[[], date] = _today) -> None:
        self._index = index
        self._profiles = profiles
        self._today = today

    def search(self, query: OrderQuery) -> OrderPage:
        first, last = query.days(self._today())
        if first > last:
            raise BadRequestError("the range of days ends before it starts; write the earlier day first")
        if (last - first).days >= MAX_DAYS:
            raise BadRequestError(f"a range of days spans at most {MAX_DAYS} days")
        if query.email is not None:
            return self._by_email(query, query.email)
        return self._by_day(query, first, last)

    def _by_email(self, query: OrderQuery, email: str) -> OrderPage:
        profile = self._profiles.get(email)
        if profile is None:
            return OrderPage((), None)
        today = self._today()
        after = query.cursor.key if query.cursor else None
        rows = sorted(
            (r for r in self._index.rows(profile.order_ids) if query.matches(r, today)),
            key=lambda r: r.key,
            reverse=True,
        )
        if after is not None:
            rows = [r for r in rows if r.key < after]
        page = tuple(rows[: query.limit])
        more = len(rows) > query.limit
        return OrderPage(page, Cursor(None, page[-1].key) if more and page else None)

    def _by_day(self, query: OrderQuery, first: date, last: date) -> OrderPage:
        day, before = last, None
        if query.cursor is not None:
            if query.cursor.day is None or not first <= query.cursor.day <= last:
                raise BadRequestError("cursor is not one this list gave; start again from the first page")
            day, before = query.cursor.day, query.cursor.key
        found: list[OrderRow] = []
        while day >= first:
            wanted = query.limit - len(found)
            rows, more = self._index.placed_on(
                day, before=before, status=query.status, channel=query.channel, limit=wanted
            )
            found.extend(rows)
            if len(found) >= query.limit:
                if more:
                    return OrderPage(tuple(found), Cursor(day, found[-1].key))
                # The page ends with the day: the next one starts with the day before, if any.
                following = day - timedelta(days=1)
                return OrderPage(tuple(found), Cursor(following, None) if following >= first else None)
            day, before = day - timedelta(days=1), None
        return OrderPage(tuple(found), None)
