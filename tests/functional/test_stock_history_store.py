"""The stock change history on DynamoDB (moto, the table template.yaml creates): one item per
change, newest first, a limited Query, a change written again kept once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
from hub.adapters.stock_history import DynamoStockHistory
from hub.domain.stock_history import ChangeCause, StockChange

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def correction(n: int, sku: str = "MUG-ENAMEL-WHT") -> StockChange:
    return StockChange(
        sku=sku,
        location="wh-east",
        at=AT + timedelta(seconds=n, microseconds=n),
        cause=ChangeCause.CORRECTION,
        origin="admin",
        after=n,
        before=n - 1 if n else None,
        event_id=f"evt_{n:032d}",
    )


def test_the_latest_changes_are_one_limited_query_newest_first(aws):
    store = DynamoStockHistory(boto3.client("dynamodb"), aws.resources["HubTable"])
    store.append([correction(n) for n in range(30)] + [correction(3)])  # 31 writes, two batches; one twice
    store.append([correction(0, sku="TEE-ORGANIC-L")])
    latest = store.latest("MUG-ENAMEL-WHT", 20)
    assert [c.after for c in latest] == list(range(29, 9, -1))  # the 20 newest, newest first
    assert latest[0] == correction(29)  # read back whole, to the microsecond
    assert store.latest("MUG-ENAMEL-WHT", 100)[-1] == correction(0)  # `before` unknown stays unknown
    assert len(store.latest("MUG-ENAMEL-WHT", 100)) == 30  # the change written twice is one item
    assert [c.sku for c in store.latest("TEE-ORGANIC-L", 20)] == ["TEE-ORGANIC-L"]
    assert store.latest("NO-SUCH-SKU", 20) == []
