"""When each order reached a moment, read from the hub's own bus: a waiting that does not load the
stack it measures.

Polling `GET /orders/{id}` every 20 ms per sender costs an admin API invocation and a DynamoDB read
behind the emulator's DynamoDB lock each time, which is the very path the orders take. Instead, an
EventBridge rule of the benchmark's own on the hub bus sends every `OrderStatusChanged` that says
the order is reserved to a queue of the benchmark's own, which one thread long-polls for all
senders (a ReceiveMessage that waits in the emulator on a condition, and one DeleteMessageBatch per
batch received). No DynamoDB request, no function invocation; a few SQS calls per order.

The moments, as the hub publishes them (after the write that makes them true, so the order is
readable with them by then):
- reserved: `OrderStatusChanged` with `data.reserved` true and `data.previous` null, published by
  stock_updates once it has recorded the order with every unit held (hub.services.stock).
- fulfilling: `OrderStatusChanged` with `data.status` "fulfilling", published by order_routing once
  it has chosen the locations and recorded the fulfilments (hub.services.fulfilment).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from typing import Any

__all__ = ["FULFILLING", "RESERVED", "Completions", "moments_of"]

RESERVED = "reserved"
FULFILLING = "fulfilling"

# Only status changes of reserved orders: the two moments and few others (a label bought, shipped).
PATTERN = {
    "source": ["commerce-hub.hub"],
    "detail-type": ["OrderStatusChanged"],
    "detail": {"data": {"reserved": [True]}},
}


def moments_of(detail: dict[str, Any]) -> list[str]:
    """The moments an OrderStatusChanged detail marks for its order."""
    data = detail.get("data") or {}
    moments = []
    if data.get("reserved") and data.get("previous") is None:
        moments.append(RESERVED)
    if data.get("status") == FULFILLING:
        moments.append(FULFILLING)
    return moments


class Completions:
    """A rule and a queue of the benchmark's own on the hub bus, and one thread reading them.

    with Completions(stack) as completions:
        ...POST an order...
        at = completions.wait("shopify:123", RESERVED, timeout=120)  # perf_counter() when seen
    """

    def __init__(self, stack: Any, wait_seconds: int = 20) -> None:
        self._sqs = stack.client("sqs")
        self._events = stack.client("events")
        self._bus = str(stack.resolver.ref("HubBus"))
        suffix = secrets.token_hex(4)
        self._rule = f"bench-completions-{suffix}"
        self._queue_name = f"bench-completions-{suffix}"
        self._wait_seconds = wait_seconds
        self._seen: dict[tuple[str, str], float] = {}
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._collect, name="bench-completions", daemon=True)
        self._queue_url = ""
        self.calls = {"ReceiveMessage": 0, "DeleteMessageBatch": 0}
        self.errors: list[str] = []

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> Completions:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        self._queue_url = self._sqs.create_queue(QueueName=self._queue_name)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self._events.put_rule(Name=self._rule, EventBusName=self._bus, EventPattern=json.dumps(PATTERN))
        self._events.put_targets(Rule=self._rule, EventBusName=self._bus, Targets=[{"Id": "bench", "Arn": arn}])
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._events.remove_targets(Rule=self._rule, EventBusName=self._bus, Ids=["bench"])
        self._events.delete_rule(Name=self._rule, EventBusName=self._bus)
        # The long poll in flight returns when the queue goes (or after its wait at most).
        self._sqs.delete_queue(QueueUrl=self._queue_url)
        self._thread.join(timeout=self._wait_seconds + 5)

    # ------------------------------------------------------------ reading
    def _collect(self) -> None:
        while not self._stop.is_set():
            try:
                received = self._sqs.receive_message(
                    QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=self._wait_seconds
                ).get("Messages", [])
            except Exception as exc:  # the queue is gone at close, or the emulator went
                if not self._stop.is_set():
                    self.errors.append(str(exc))
                    time.sleep(0.5)
                continue
            self.calls["ReceiveMessage"] += 1
            now = time.perf_counter()
            if not received:
                continue
            with self._changed:
                for message in received:
                    detail = json.loads(message["Body"]).get("detail") or {}
                    order_id = (detail.get("data") or {}).get("order_id")
                    for moment in moments_of(detail):
                        self._seen.setdefault((order_id, moment), now)
                self._changed.notify_all()
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)],
            )
            self.calls["DeleteMessageBatch"] += 1

    def seen(self, order_id: str, moment: str) -> float | None:
        """perf_counter() when the order was seen reaching the moment, or None so far."""
        with self._changed:
            return self._seen.get((order_id, moment))

    def wait(self, order_id: str, moment: str, timeout: float) -> float:
        """Block until the order reached the moment; perf_counter() when it was seen. TimeoutError after `timeout`."""
        key = (order_id, moment)
        with self._changed:
            if not self._changed.wait_for(lambda: key in self._seen, timeout=timeout):
                raise TimeoutError(f"{order_id} not {moment} after {timeout:.0f} s ({'; '.join(self.errors[-3:])})")
            return self._seen[key]
