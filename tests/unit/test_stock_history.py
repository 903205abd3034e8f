"""A SKU's stock change history (hub.domain.stock_history, hub.services.stock_history) and its
recording by channel_sync: one write for a batch's changes, a failed write failing the batch's
records. The changes are the StockLevelChanged events the stock service and OrderUpdater publish
(built here as they build them: hub.events.hub_event with their topics and keys)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from hub.consumers.channel_sync import ChannelSync
from hub.domain.stock_history import ChangeCause, StockChange, cause_of
from hub.events import RESERVED_TOPIC, StockLevelChanged, StockLevelData, hub_event
from hub.services.stock_history import StockHistory, change_for

from tests.customer_fakes import FakePayloads
from tests.fakes import FakeStockHistoryLog

ROOT = Path(__file__).resolve().parents[2]
# events/stock_updates_order_placed.json: an SQS record of a bus event; its body is replaced below.
SAMPLE = json.loads((ROOT / "events" / "stock_updates_order_placed.json").read_text())["Records"][0]
AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def changed(topic: str, origin: str, available: int, previous: int | None = None, order_id: str | None = None,
            sku: str = "MUG-ENAMEL-WHT", location: str = "wh-east", n: int = 0) -> StockLevelChanged:  # fmt: skip
    event = hub_event(
        StockLevelChanged,
        key=(sku, location, topic, str(n)),
        channel=origin,
        occurred_at=AT - timedelta(hours=1),  # the cause's time: an order placed an hour before
        topic=topic,
        data=StockLevelData(
            sku=sku, location=location, available=available, previous=previous, origin=origin, order_id=order_id
        ),
    )
    return event.model_copy(update={"received_at": AT + timedelta(seconds=n)})


# ------------------------------------------------------------------------------------------ the cause
@pytest.mark.parametrize(
    ("topic", "origin", "order_id", "cause"),
    [
        (RESERVED_TOPIC, "shopify", "shopify:1", ChangeCause.RESERVATION),  # StockService._reserved
        ("inventory/moved", "woocommerce", "woocommerce:7", ChangeCause.RELEASE),  # stock_events.stock_moved
        ("inventory/moved", "hub", "woocommerce:7", ChangeCause.RELEASE),  # a gateway's refund
        ("inventory/set", "admin", None, ChangeCause.CORRECTION),  # PUT /inventory/{sku}
        ("inventory/reported", "shopify", None, ChangeCause.STOREFRONT),  # a storefront's level
    ],
)
def test_each_change_says_where_it_came_from(topic, origin, order_id, cause):
    assert cause_of(topic=topic, origin=origin, order_id=order_id, reserved_topic=RESERVED_TOPIC) is cause


def test_a_change_is_the_units_before_and_after_at_the_time_the_hub_made_it():
    change = change_for(changed(RESERVED_TOPIC, "shopify", 7, previous=10, order_id="shopify:1"))
    assert change == StockChange(
        sku="MUG-ENAMEL-WHT",
        location="wh-east",
        at=AT,  # when the hub made it, not the order's time (occurred_at, an hour before)
        cause=ChangeCause.RESERVATION,
        origin="shopify",
        after=7,
        before=10,
        order_id="shopify:1",
        event_id=change.event_id,
    )
    assert change.delta == -3 and change.event_id.startswith("evt_")
    first = change_for(changed("inventory/set", "admin", 10))
    assert (first.before, first.delta, first.cause) == (None, None, ChangeCause.CORRECTION)


def test_the_latest_changes_are_newest_first_and_a_redelivery_is_kept_once():
    log = FakeStockHistoryLog()
    history = StockHistory(log)
    corrected = changed("inventory/set", "admin", 10, n=0)
    reserved = changed(RESERVED_TOPIC, "shopify", 7, 10, "shopify:1", n=1)
    released = changed("inventory/moved", "shopify", 10, 7, "shopify:1", n=2)
    other_sku = changed("inventory/set", "admin", 4, sku="TEE-ORGANIC-L", n=3)
    assert history.record([corrected, reserved, released, other_sku]) == 4
    assert history.record([reserved]) == 1  # redelivered: the same entry again
    assert [c.cause for c in history.latest("MUG-ENAMEL-WHT", limit=1)] == [ChangeCause.RELEASE]
    # A replayed placement publishes its reservation's event again: the same id, made anew (later);
    # it is shown once, at the time it was first recorded.
    assert history.record([reserved.model_copy(update={"received_at": AT + timedelta(hours=2)})]) == 1
    assert len(log.items) == 5
    latest = history.latest("MUG-ENAMEL-WHT")
    assert [(c.cause, c.before, c.after) for c in latest] == [
        (ChangeCause.RELEASE, 7, 10),  # the cancellation shows as its own change
        (ChangeCause.RESERVATION, 10, 7),
        (ChangeCause.CORRECTION, None, 10),
    ]


# --------------------------------------------------------------------------- channel_sync records them
def sqs_record(message_id: str, event: StockLevelChanged) -> dict:
    body = json.loads(SAMPLE["body"])
    body.update(
        {"detail-type": "StockLevelChanged", "source": "commerce-hub.hub", "detail": event.model_dump(mode="json")}
    )
    return dict(SAMPLE, messageId=message_id, body=json.dumps(body))


class Pushes:
    def __init__(self, failing: set[str] = frozenset()) -> None:
        self.failing = failing
        self.seen: list[str] = []

    def sync(self, event: StockLevelChanged) -> list:
        self.seen.append(event.data.sku)
        if event.data.sku in self.failing:
            raise RuntimeError("storefront down")
        return []


def consumer(log: FakeStockHistoryLog, pushes: Pushes) -> ChannelSync:
    sandbox = SimpleNamespace(payloads=FakePayloads(), channel_sync=pushes, stock_history=StockHistory(log))
    return ChannelSync(sandbox)  # type: ignore[arg-type]


def test_channel_sync_records_a_batchs_changes_in_one_write_pushed_or_not():
    log, pushes = FakeStockHistoryLog(), Pushes(failing={"TEE-ORGANIC-L"})
    events = [
        changed("inventory/set", "admin", 10, n=0),
        changed(RESERVED_TOPIC, "shopify", 7, 10, "shopify:1", n=1),
        changed("inventory/set", "admin", 3, sku="TEE-ORGANIC-L", n=2),
    ]
    records = [sqs_record(f"m{i}", e) for i, e in enumerate(events)]
    answer = consumer(log, pushes).consumer({"Records": records}, None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m2"}]}  # only the failed push
    assert log.writes == 1 and len(log.items) == 3  # the failed push's change too: it happened
    assert [c.after for c in StockHistory(log).latest("MUG-ENAMEL-WHT")] == [7, 10]


def test_a_history_write_that_fails_fails_every_record_of_the_batch_once():
    log, pushes = FakeStockHistoryLog(), Pushes(failing={"TEE-ORGANIC-L"})
    log.fail_next = True
    events = [changed("inventory/set", "admin", 10, n=0), changed("inventory/set", "admin", 3, sku="TEE-ORGANIC-L")]
    sync = consumer(log, pushes)
    # Every record failed (m1 its push, m0 the write): Lambda gets the whole batch back, as for any
    # batch whose every record fails.
    with pytest.raises(BatchProcessingError) as failed:
        sync.consumer({"Records": [sqs_record("m0", events[0]), sqs_record("m1", events[1])]}, None)
    assert len(failed.value.child_exceptions) == 2  # each record failed once, not m1 twice
    assert log.items == {}
    # The retry (SQS delivers them again) records them; a batch starts with nothing left of the last.
    pushes.failing = set()
    answer = sync.consumer({"Records": [sqs_record("m0", events[0]), sqs_record("m1", events[1])]}, None)
    assert answer == {"batchItemFailures": []} and log.writes == 1 and len(log.items) == 2
