"""Listing orders (hub.services.order_search) over the in-memory index: days, filters, pages, cursors."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from hub.api.admin import order_query
from hub.domain.order_search import Cursor, OrderQuery, OrderRow, placement_key
from hub.errors import BadRequestError
from hub.services.order_search import OrderSearch

from tests.fakes import FakeOrderIndex

TODAY = date(2026, 11, 20)


def row(order_id: str, at: str, status: str = "paid", channel: str = "shopify") -> OrderRow:
    hold = "insufficient_stock" if status == "on_hold" else None
    return OrderRow(order_id, channel, status, hold, "USD", 1000, datetime.fromisoformat(at))


class Profiles:
    def __init__(self, orders: dict[str, tuple[str, ...]]) -> None:
        self._orders = orders

    def get(self, email: str):
        ids = self._orders.get(email.strip().lower())
        return SimpleNamespace(order_ids=ids) if ids is not None else None


def search(index, profiles=None, **filters):
    return OrderSearch(index, profiles or Profiles({}), today=lambda: TODAY).search(OrderQuery(**filters))


def test_orders_list_newest_first_over_the_last_30_days_by_default():
    index = FakeOrderIndex(
        [
            row("shopify:1", "2026-11-20T09:00:00+00:00"),
            row("shopify:2", "2026-11-20T10:00:00+00:00"),
            # 23:30 in New York on the 18th is the 19th in UTC: days are UTC days.
            row("shopify:3", "2026-11-18T23:30:00-05:00"),
            row("shopify:4", "2026-10-22T12:00:00+00:00"),  # the 30th day, today included
            row("shopify:5", "2026-10-21T12:00:00+00:00"),  # the 31st: outside
        ]
    )
    page = search(index)
    assert [r.order_id for r in page.orders] == ["shopify:2", "shopify:1", "shopify:3", "shopify:4"]
    assert page.next_cursor is None
    assert index.queries[0] == TODAY and index.queries[-1] == date(2026, 10, 22) and len(index.queries) == 30


def test_a_page_ends_at_the_limit_and_its_cursor_continues_exactly_after_it():
    rows = [row(f"shopify:{n}", f"2026-11-{20 - n // 3:02d}T1{n % 3}:00:00+00:00") for n in range(10)]
    index = FakeOrderIndex(rows)
    expected = [r.order_id for r in sorted(rows, key=lambda r: r.key, reverse=True)]
    seen, cursor = [], None
    for _ in range(10):
        page = search(index, limit=4, cursor=cursor)
        seen.append([r.order_id for r in page.orders])
        cursor = page.next_cursor
        if cursor is None:
            break
        cursor = Cursor.decode(cursor.encode())  # as it travels in a link
    assert [i for p in seen for i in p] == expected
    assert [len(p) for p in seen] == [4, 4, 2]


def test_status_and_channel_filter_in_the_index_query():
    index = FakeOrderIndex(
        [
            row("shopify:1", "2026-11-20T09:00:00+00:00", status="on_hold"),
            row("shopify:2", "2026-11-20T10:00:00+00:00"),
            row("woocommerce:3", "2026-11-19T10:00:00+00:00", status="on_hold", channel="woocommerce"),
        ]
    )
    assert [r.order_id for r in search(index, status="on_hold").orders] == ["shopify:1", "woocommerce:3"]
    assert [r.order_id for r in search(index, status="on_hold", channel="woocommerce").orders] == ["woocommerce:3"]


def test_by_email_the_customers_own_orders_any_day_then_the_other_filters():
    index = FakeOrderIndex(
        [
            row("shopify:1", "2025-01-02T09:00:00+00:00"),  # long ago: still the customer's
            row("shopify:2", "2026-11-20T10:00:00+00:00", status="on_hold"),
            row("shopify:9", "2026-11-20T11:00:00+00:00"),  # someone else's
        ]
    )
    profiles = Profiles({"ada@example.com": ("shopify:1", "shopify:2", "shopify:404")})
    assert [r.order_id for r in search(index, profiles, email=" Ada@Example.com").orders] == ["shopify:2", "shopify:1"]
    assert [r.order_id for r in search(index, profiles, email="ada@example.com", status="on_hold").orders] == [
        "shopify:2"
    ]
    only_2025 = search(index, profiles, email="ada@example.com", first=date(2025, 1, 1), last=date(2025, 1, 31))
    assert [r.order_id for r in only_2025.orders] == ["shopify:1"]
    first = search(index, profiles, email="ada@example.com", limit=1)
    assert [r.order_id for r in first.orders] == ["shopify:2"] and first.next_cursor is not None
    rest = search(index, profiles, email="ada@example.com", limit=1, cursor=first.next_cursor)
    assert [r.order_id for r in rest.orders] == ["shopify:1"] and rest.next_cursor is None
    assert search(index, profiles, email="nobody@example.com").orders == ()
    assert index.queries == []  # never the day index


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"first": date(2026, 11, 20), "last": date(2026, 11, 1)}, "ends before it starts"),
        ({"first": date(2026, 1, 1), "last": date(2026, 11, 20)}, "at most 92 days"),
        ({"cursor": Cursor(date(2025, 1, 1), None)}, "cursor is not one this list gave"),
    ],
)
def test_impossible_ranges_and_foreign_cursors_are_400s(filters, message):
    with pytest.raises(BadRequestError, match=message):
        search(FakeOrderIndex(), **filters)


@pytest.mark.parametrize("text", ["not base64!", "eyJ4Ijox", Cursor(None, "'; drop").encode()])
def test_a_cursor_not_made_here_is_refused(text):
    with pytest.raises(BadRequestError, match="cursor"):
        Cursor.decode(text)


def test_the_query_string_of_get_orders():
    query = order_query({"status": "on_hold", "channel": " shopify ", "date": "2026-11-01..2026-11-20", "email": ""})
    assert (query.status, query.channel, query.email, query.first, query.last) == (
        "on_hold",
        "shopify",
        None,
        date(2026, 11, 1),
        date(2026, 11, 20),
    )
    one_day = order_query({"date": "2026-11-20"})
    assert (one_day.first, one_day.last) == (date(2026, 11, 20), date(2026, 11, 20))
    console_form = order_query({"from": "2026-11-01", "to": "2026-11-02"})
    assert (console_form.first, console_form.last) == (date(2026, 11, 1), date(2026, 11, 2))
    since = order_query({"from": "2026-11-01"})
    assert since.last == max(date(2026, 11, 1), datetime.now(UTC).date())
    cursor = Cursor(TODAY, placement_key("shopify:1", datetime(2026, 11, 20, tzinfo=UTC)))
    assert order_query({"cursor": cursor.encode()}).cursor == cursor


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"status": "lost"}, "status must be one of pending_payment, paid"),
        ({"date": "20/11/2026"}, "date must be a UTC day written YYYY-MM-DD"),
        ({"date": "2026-02-30"}, "2026-02-30 is not a day of the calendar"),
        ({"from": "yesterday"}, "from must be"),
        ({"email": "not-an-address"}, "email must be"),
        ({"channel": "x" * 101}, "channel is a channel id"),
    ],
)
def test_a_wrong_filter_is_a_400_naming_it(params, message):
    with pytest.raises(BadRequestError, match=message):
        order_query(params)


def test_the_default_range_moves_with_today():
    query = OrderQuery()
    assert query.days(TODAY) == (TODAY - timedelta(days=29), TODAY)
    assert replace(query, first=TODAY).days(TODAY) == (TODAY, TODAY)
