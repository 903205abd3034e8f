"""The benchmark of goals 1 and 2 with a handful of orders on the project's stack: it sees every
order reserved and then fulfilling through its own bus rule, samples the emulator's memory at each
tenth, and leaves neither its rule nor its queue behind. Timings are never asserted."""

from __future__ import annotations

import pytest

from bench import sustained
from commerce_hub.local import LocalStack

pytestmark = pytest.mark.e2e


def test_the_benchmark_sees_every_order_through_and_leaves_nothing_behind(stack: LocalStack) -> None:
    results = sustained.run(stack, orders=6, senders=2)

    assert results["orders"] == 6 and results["window"] == 1
    assert list(results["rss_mb"]) == ["0", "1", "2", "3", "4", "5", "6"]
    assert all(mb > 0 for mb in results["rss_mb"].values())
    assert results["reserved_p50_ms"] <= results["fulfilling_p50_ms"]
    assert results["wait_calls"]["DeleteMessageBatch"] >= 1
    rules = stack.client("events").list_rules(EventBusName=str(stack.resolver.ref("HubBus")))["Rules"]
    assert not [rule["Name"] for rule in rules if rule["Name"].startswith("bench-completions-")]
    queues = stack.client("sqs").list_queues(QueueNamePrefix="bench-completions-").get("QueueUrls", [])
    assert queues == []
    assert "| emulator RSS after 6 orders / after 1 |" in sustained.render(results)
