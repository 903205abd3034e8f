"""The stock list and the dead letters without I/O: low stock, pages over a fake index, cursors,
ages, and what a dead letter's body says it is about."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hub.config import parse_config
from hub.domain.deadletters import QueueMessage, age_text, sent_at, subject
from hub.domain.stock import SkuStock, StockLevel, is_low
from hub.errors import BadRequestError
from hub.services.stock_list import StockList, decode_cursor, encode_cursor

from tests.fakes import FakeLedger

CONFIG = parse_config("locations: [{id: wh-east, country: US}, {id: wh-west, country: US}]\nlow_stock_threshold: 3\n")


class FakeIndex:
    """hub.ports.StockIndex over the fake ledger's rows, as the index stock-by-location orders them."""

    def __init__(self, ledger: FakeLedger) -> None:
        self.ledger = ledger
        self.asked: list[tuple[tuple[str, ...], str | None, int]] = []

    def stock_skus(self, locations, after, limit):
        self.asked.append((tuple(locations), after, limit))
        skus = sorted({s for (s, loc) in self.ledger.levels if loc in locations and (after is None or s > after)})
        return skus[:limit], len(skus) > limit


def test_a_sku_is_low_at_the_threshold_or_below_by_its_total():
    assert is_low(3, 3) and is_low(0, 3) and not is_low(4, 3)
    row = SkuStock("MUG", {"a": StockLevel("MUG", "a", 2, 9), "b": StockLevel("MUG", "b", 2, 1)}, threshold=3)
    assert (row.available, row.reserved, row.low) == (4, 10, False)


def test_the_stock_list_pages_in_sku_order_over_the_configured_locations():
    ledger = FakeLedger()
    for sku, loc, units in [("B", "wh-east", 9), ("A", "wh-west", 1), ("C", "wh-east", 5), ("C", "wh-west", 5)]:
        ledger.levels[(sku, loc)] = StockLevel(sku, loc, units)
    index = FakeIndex(ledger)
    stock = StockList(ledger, index, lambda: CONFIG)

    first = stock.page(limit=2)
    assert [(r.sku, r.available, r.low) for r in first.skus] == [("A", 1, True), ("B", 9, False)]
    assert first.next_after == "B" and index.asked[-1] == (("wh-east", "wh-west"), None, 2)
    rest = stock.page(first.next_after, limit=2)
    assert [(r.sku, r.available) for r in rest.skus] == [("C", 10)] and rest.next_after is None


def test_a_cursor_round_trips_and_a_foreign_one_is_a_400():
    assert decode_cursor(encode_cursor("TEE/ORGANIC L é")) == "TEE/ORGANIC L é"
    assert decode_cursor(None) is None and decode_cursor("") is None
    with pytest.raises(BadRequestError, match="cursor"):
        decode_cursor("!!not-ours")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (45, "45s"), (720, "12m"), (3 * 3600 + 300, "3h5m"), (2 * 86400 + 4 * 3600, "2d4h")],
)
def test_ages_are_short(seconds, text):
    assert age_text(seconds) == text


def test_a_dead_letter_names_its_order_from_a_hub_event_or_a_marketing_due():
    # The body shape of events/crm_upsert_order_placed.json: an EventBridge event with the hub's detail.
    body = {
        "detail-type": "OrderPlaced",
        "detail": {"type": "OrderPlaced", "event_id": "e1", "data": {"order_id": "shopify:1"}},
    }
    assert subject(json.dumps(body)) == ("shopify:1", "OrderPlaced", "e1")
    due = {"marketing_due": {"subject_kind": "order", "subject_id": "shopify:2"}}
    assert subject(json.dumps(due)) == ("shopify:2", "MarketingDue", None)
    assert subject("not json") == (None, None, None) and subject("[1]") == (None, None, None)
    message = QueueMessage("m", "{}", "r", {"SentTimestamp": "1764979200000"})
    assert sent_at(message) == datetime(2025, 12, 6, tzinfo=UTC)
    assert sent_at(QueueMessage("m", "{}", "r", {"SentTimestamp": "soon"})) is None
