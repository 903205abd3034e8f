"""A hot SKU's stock kept in shards (configuration `stock.shards`), on moto: the ledger's set, read,
reservation, release and rebalance, orders placed from many threads at once, and the admin API and
stock_updates handlers with a sharded SKU. See docs/stock.md#hot-skus-sharded-stock.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from hub.adapters.dynamodb import DynamoLedger
from hub.config import parse_config
from hub.domain.orders import OrderLine, TimelineEntry
from hub.domain.stock import HEAD, LowStockState, Move, home_shard, release
from hub.errors import StaleLevelError
from hub.events import OrderPlaced
from hub.services.stock import Applied, StockService

from tests.fakes import FakePublisher
from tests.functional.conftest import CONFIG_PARAMETER, ROOT, event

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SKU = "FLASH-1"
CONFIG = parse_config(
    "locations: [{id: wh-east, country: US}, {id: wh-west, country: US}]\n"
    f"stock: {{shards: {{{SKU}: 4}}}}\n"
    "low_stock_threshold: 0\n"
)


class _Atomic:
    """The client with each request applied alone, as DynamoDB applies each request atomically
    (moto in one process does not: two threads' transactions could interleave inside moto)."""

    _lock = threading.Lock()

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute) or name in ("get_paginator", "exceptions"):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attribute(*args, **kwargs)

        return call


@pytest.fixture
def ledger(aws) -> DynamoLedger:
    return DynamoLedger(_Atomic(boto3.client("dynamodb")), aws.resources["HubTable"])


def service(ledger: DynamoLedger, publisher: FakePublisher | None = None) -> StockService:
    return StockService(ledger, publisher or FakePublisher(), lambda: CONFIG, clock=lambda: NOW)


def placed(number: int, quantity: int = 1, sku: str = SKU) -> OrderPlaced:
    """An OrderPlaced as intake publishes a paid Shopify orders/create (events/ sample's shape)."""
    body = json.loads(json.dumps(_placed_template()))
    body["event_id"] = f"evt-flash-{number}"
    body["data"]["order_id"] = f"shopify:{900000 + number}"
    body["data"]["lines"] = [{**body["data"]["lines"][0], "sku": sku, "quantity": quantity, "stocked": True}]
    body["data"]["paid"] = True
    return OrderPlaced.model_validate(body)


def _placed_template() -> dict[str, Any]:
    record = event("stock_updates_order_placed.json")["Records"][0]
    return json.loads(record["body"])["detail"]


def shard_rows(aws, sku: str, location: str, count: int) -> list[dict[str, int]]:
    client = boto3.client("dynamodb")
    rows = []
    for n in range(count):
        item = client.get_item(
            TableName=aws.resources["HubTable"],
            Key={"pk": {"S": f"SKU#{sku}#SHARD#{n:02d}"}, "sk": {"S": f"LOC#{location}"}},
        ).get("Item", {})
        rows.append({k: int(item[k]["N"]) for k in ("available", "reserved", "version") if k in item})
    return rows


def test_a_sharded_level_is_spread_over_its_shards_and_read_back_as_the_sum(aws, ledger):
    written = ledger.set_level(SKU, "wh-east", 10, by="admin", at=NOW, newer_only=False, shards=4)

    assert written.previous is None
    assert [r["available"] for r in shard_rows(aws, SKU, "wh-east", 4)] == [3, 3, 2, 2]
    level = ledger.levels_for(SKU)["wh-east"]
    assert (level.available, level.reserved, level.shards, level.spare) == (10, 0, (3, 3, 2, 2), 0)
    assert level.set_by == "admin" and level.set_at == NOW
    # The row and the four shards were each written once.
    assert level.version == written.version == 5


def test_a_newer_set_replaces_every_shard_and_an_older_report_is_refused(aws, ledger):
    ledger.set_level(SKU, "wh-east", 10, by="shopify", at=NOW, newer_only=True, shards=4)
    written = ledger.set_level(
        SKU, "wh-east", 5, by="shopify", at=NOW + timedelta(minutes=1), newer_only=True, shards=4
    )

    assert written.previous is not None and written.previous.available == 10
    assert ledger.levels_for(SKU)["wh-east"].shards == (2, 1, 1, 1)
    with pytest.raises(StaleLevelError):
        ledger.set_level(SKU, "wh-east", 99, by="shopify", at=NOW, newer_only=True, shards=4)
    assert ledger.levels_for(SKU)["wh-east"].available == 5


def test_orders_draw_from_their_shard_then_fall_over_and_a_release_lands_on_the_row(aws, ledger):
    stock = service(ledger)
    ledger.set_level(SKU, "wh-east", 4, by="admin", at=NOW, newer_only=False, shards=4)  # one unit a shard

    results = [stock.place_order(placed(n, quantity=1)) for n in range(4)]
    assert [r.outcome for r in results] == [Applied.APPLIED] * 4
    level = ledger.levels_for(SKU)["wh-east"]
    assert (level.available, level.reserved, level.shards) == (0, 4, (0, 0, 0, 0))

    fifth = stock.place_order(placed(5, quantity=1))
    assert fifth.order.status.value == "on_hold" and fifth.order.shortages == {SKU: 1}

    # Cancelling the first order gives its unit back to the location's row, not to a shard.
    order = ledger.get_order(results[0].order.order_id)
    assert order is not None
    _reservations, changes = release(order.reservations, [OrderLine(SKU, 1, 0)])
    entry = TimelineEntry("evt-cancel-0", "OrderCancelled", NOW, NOW, "cancelled")
    ledger.save_order(order, entry, changes)
    level = ledger.levels_for(SKU)["wh-east"]
    assert (level.available, level.reserved, level.spare, level.shards) == (1, 3, 1, (0, 0, 0, 0))

    # A rebalance moves it into a shard; an order then finds it there.
    assert stock.rebalance(SKU) == 1
    level = ledger.levels_for(SKU)["wh-east"]
    assert (level.available, level.spare, sum(level.shards)) == (1, 0, 1)
    assert stock.place_order(placed(6, quantity=1)).order.status.value == "paid"
    assert ledger.levels_for(SKU)["wh-east"].available == 0


def test_an_order_larger_than_any_shard_takes_from_several_in_one_transaction(aws, ledger):
    stock = service(ledger)
    ledger.set_level(SKU, "wh-east", 8, by="admin", at=NOW, newer_only=False, shards=4)

    result = stock.place_order(placed(1, quantity=7))

    assert result.order.status.value == "paid"
    level = ledger.levels_for(SKU)["wh-east"]
    assert (level.available, level.reserved, sum(level.shards)) == (1, 7, 1)
    assert sum(r.get("reserved", 0) for r in shard_rows(aws, SKU, "wh-east", 4)) == 7


def test_an_order_that_falls_over_evens_the_shards_out_after_it(aws, ledger):
    stock = service(ledger)
    ledger.set_level(SKU, "wh-east", 12, by="admin", at=NOW, newer_only=False, shards=4)  # 3 a shard
    numbers = [n for n in range(100) if home_shard(placed(n).data.order_id, 4) == 0][:2]

    stock.place_order(placed(numbers[0], quantity=3))  # empties its home shard
    assert ledger.levels_for(SKU)["wh-east"].shards == (0, 3, 3, 3)
    stock.place_order(placed(numbers[1], quantity=1))  # falls over to shard 1, then rebalances

    level = ledger.levels_for(SKU)["wh-east"]
    assert (level.available, level.reserved) == (8, 4)
    # The emptied home shard got units back from the fullest; the total is unchanged.
    assert level.shards[0] > 0 and sum(level.shards) == 8


class _Counting:
    """The client, counting the requests made through it by operation."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[str] = []
        client.meta.events.register("before-call.dynamodb", self._count)

    def _count(self, model: Any, **_kwargs: Any) -> None:
        self.calls.append(model.name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_the_levels_and_the_low_stock_crossing_are_read_in_one_query_of_the_skus_partition(aws, ledger):
    ledger.set_level(SKU, "wh-east", 10, by="admin", at=NOW, newer_only=False, shards=4)
    ledger.set_level(SKU, "wh-west", 3, by="admin", at=NOW, newer_only=False)
    assert ledger.enter_low_stock(SKU, 1)
    counting = _Counting(boto3.client("dynamodb"))
    reader = DynamoLedger(counting, aws.resources["HubTable"])

    levels, low = reader.levels_and_low_stock(SKU)

    # One Query of SKU#<sku> holds the rows and the crossing; the hot location's shards, which
    # live in partitions of their own, are one BatchGetItem, as levels_for reads them.
    assert counting.calls == ["Query", "BatchGetItem"]
    assert levels == ledger.levels_for(SKU)
    assert (levels["wh-east"].available, levels["wh-east"].shards, levels["wh-west"].available) == (10, (3, 3, 2, 2), 3)
    assert low == ledger.low_stock(SKU) == LowStockState(low=True, crossings=1, announced=False)
    # A SKU never low reads as not low.
    assert ledger.levels_and_low_stock("NEVER-LOW") == ({}, LowStockState())


def test_a_move_takes_only_units_the_source_has(aws, ledger):
    ledger.set_level(SKU, "wh-east", 4, by="admin", at=NOW, newer_only=False, shards=4)

    assert ledger.move_stock(SKU, "wh-east", [Move(0, 1, 5)]) == 0  # shard 0 holds 1: refused whole
    assert ledger.move_stock(SKU, "wh-east", [Move(0, 1, 1), Move(HEAD, 2, 1)]) == 1  # the row holds none
    level = ledger.levels_for(SKU)["wh-east"]
    assert (level.available, level.shards) == (4, (0, 2, 1, 1))


def test_fewer_shards_fold_the_dropped_ones_into_the_row_keeping_the_reserved_units(aws, ledger):
    stock = service(ledger)
    ledger.set_level(SKU, "wh-east", 8, by="admin", at=NOW, newer_only=False, shards=4)
    for n in range(6):
        stock.place_order(placed(n, quantity=1))
    before = ledger.levels_for(SKU)["wh-east"]
    assert (before.available, before.reserved) == (2, 6)

    ledger.set_level(SKU, "wh-east", 5, by="admin", at=NOW, newer_only=False, shards=2)
    halved = ledger.levels_for(SKU)["wh-east"]
    assert (halved.available, halved.reserved, halved.shards) == (5, 6, (3, 2))
    assert halved.version > before.version

    # Sharding turned off: the plain set folds every shard back into the row.
    ledger.set_level(SKU, "wh-east", 4, by="admin", at=NOW, newer_only=False)
    single = ledger.levels_for(SKU)["wh-east"]
    assert (single.available, single.reserved, single.shards) == (4, 6, ())
    assert shard_rows(aws, SKU, "wh-east", 2) == [{}, {}]
    assert single.version > halved.version


def test_orders_from_many_threads_never_take_more_than_the_shards_hold(aws, ledger):
    ledger.set_level(SKU, "wh-east", 25, by="admin", at=NOW, newer_only=False, shards=4)
    ledger.set_level(SKU, "wh-west", 0, by="admin", at=NOW, newer_only=False, shards=4)
    stock = service(ledger)

    def order(n: int) -> str:
        return stock.place_order(placed(n, quantity=1 + n % 2)).order.status.value

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(order, range(40)))

    paid = [n for n, status in enumerate(statuses) if status == "paid"]
    held = [n for n, status in enumerate(statuses) if status == "on_hold"]
    assert len(paid) + len(held) == 40
    units = sum(1 + n % 2 for n in paid)
    east = ledger.levels_for(SKU)["wh-east"]
    # Never more than the 25 units, every shard at zero or above, and the sums agree.
    assert units <= 25 and east.reserved == units and east.available == 25 - units
    assert all(units_left >= 0 for units_left in east.shards)
    # Orders are held only once fewer units are left than they want.
    assert east.available < 2
    rows = shard_rows(aws, SKU, "wh-east", 4)
    assert sum(r["reserved"] for r in rows) == units


# ---------------------------------------------------------------------------------------- handlers
@pytest.fixture
def sharded_config(aws, monkeypatch):
    from aws_lambda_powertools.utilities import parameters
    from hub.config import forget_config, load_config

    text = (ROOT / "config" / "local.yaml").read_text() + f"\nstock:\n  shards: {{{SKU}: 4}}\n"
    boto3.client("ssm").put_parameter(Name=CONFIG_PARAMETER, Type="String", Value=text, Overwrite=True)
    parameters.clear_caches()
    forget_config()
    return load_config()


def put_inventory(admin, context, sku: str, location: str, available: int) -> dict[str, Any]:
    ev = event("admin_api_put_inventory.json")
    ev["rawPath"] = f"/inventory/{sku}"
    ev["requestContext"]["http"]["path"] = ev["rawPath"]
    ev["pathParameters"] = {"sku": sku}
    ev["body"] = json.dumps({"location": location, "available": available})
    response = admin.lambda_handler(ev, context)
    assert response["statusCode"] == 200, response["body"]
    return json.loads(response["body"])


def get_inventory(admin, context, sku: str) -> dict[str, Any]:
    ev = event("admin_api_get_inventory.json")
    ev["rawPath"] = f"/inventory/{sku}"
    ev["requestContext"]["http"]["path"] = ev["rawPath"]
    ev["pathParameters"] = {"sku": sku}
    response = admin.lambda_handler(ev, context)
    assert response["statusCode"] == 200, response["body"]
    return json.loads(response["body"])


def test_the_admin_api_sets_the_total_and_shows_the_sum_and_stock_updates_reserves_from_shards(
    aws, sharded_config, load_function, context
):
    admin, stock = load_function("admin_api"), load_function("stock_updates")
    location = sharded_config.location_ids()[0]

    put_inventory(admin, context, SKU, location, 9)
    assert [r["available"] for r in shard_rows(aws, SKU, location, 4)] == [3, 2, 2, 2]
    view = get_inventory(admin, context, SKU)
    assert (view["available"], view["reserved"]) == (9, 0)

    record = event("stock_updates_order_placed.json")
    body = json.loads(record["Records"][0]["body"])
    body["detail"]["data"]["lines"] = [{**body["detail"]["data"]["lines"][0], "sku": SKU, "quantity": 2}]
    record["Records"][0]["body"] = json.dumps(body)
    assert stock.lambda_handler(record, context) == {"batchItemFailures": []}

    view = get_inventory(admin, context, SKU)
    assert (view["available"], view["reserved"]) == (7, 2)
    assert view["locations"][location] == {"available": 7, "reserved": 2}
    changed = [b for b in aws.drain("StockQueue") if b["detail-type"] == "StockLevelChanged"]
    assert changed and changed[-1]["detail"]["data"]["total_available"] == 7
    assert sum(r["available"] for r in shard_rows(aws, SKU, location, 4)) == 7
    assert sum(r["reserved"] for r in shard_rows(aws, SKU, location, 4)) == 2
