"""AWS calls per order, pinned: what one order costs in requests, by function, service and action.

The emulator counts every request (commerce_hub.local.calls); bench/calls.py sends one order at a
time and waits until all it caused has settled. The counts are deterministic (an uncounted order of
each scenario first warms the functions' caches), so they are pinned exactly: a change that
adds a call fails here, and one that removes calls updates the figures (docs/performance.md shows
them, with why each DynamoDB call remains).

Payloads: the vendor samples in events/payloads (Shopify's orders/create, WooCommerce's
order.created, Stripe's payment_intent.succeeded, Shippo's track_updated), see bench/calls.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.calls import WHY, count_order, render, warm_up
from commerce_hub.local import LocalStack

from .conftest import ROOT, _environment

pytestmark = pytest.mark.e2e

# Quiet time before a count is taken as settled: the queues are checked too, so it can be short.
QUIET = 0.5

PINNED = {
    "paid_order": {
        # The reservation's StockLevelChanged, kept in the SKU's change history (docs/stock.md).
        "ChannelSyncFunction": {"dynamodb:BatchWriteItem": 1},
        "CrmUpsertFunction": {
            "dynamodb:GetItem": 1,
            "dynamodb:Query": 2,
            "dynamodb:TransactWriteItems": 1,
            "kms:Decrypt": 1,
        },
        "MarketingTriggersFunction": {
            "dynamodb:BatchGetItem": 2,
            "dynamodb:GetItem": 1,
            "dynamodb:PutItem": 1,
            "dynamodb:Query": 2,
            "dynamodb:TransactWriteItems": 1,
            "kms:Decrypt": 1,
            "scheduler:CreateSchedule": 2,
        },
        "OrderRoutingFunction": {"dynamodb:Query": 2, "dynamodb:TransactWriteItems": 1, "events:PutEvents": 1},
        "PaymentConfirmationFunction": {"dynamodb:Query": 1},
        "ReportingFunction": {
            "dynamodb:BatchGetItem": 1,
            "dynamodb:GetItem": 1,
            "dynamodb:TransactWriteItems": 1,
            "kms:Decrypt": 1,
        },
        "StockUpdatesFunction": {
            "dynamodb:GetItem": 1,
            "dynamodb:Query": 3,
            "dynamodb:TransactWriteItems": 1,
            "events:PutEvents": 1,
            "kms:Decrypt": 1,
        },
        "WebhookIntakeFunction": {
            "dynamodb:BatchWriteItem": 1,
            "dynamodb:GetItem": 1,
            "dynamodb:PutItem": 2,
            "dynamodb:UpdateItem": 1,  # the idempotency record completed (the count rides with the lineage)
            "events:PutEvents": 1,
            "kms:GenerateDataKey": 1,
        },
        "event-source-mapping": {"sqs:DeleteMessageBatch": 9, "sqs:ReceiveMessage": 9},
    },
    "gateway_payment": {
        "CrmUpsertFunction": {"dynamodb:Query": 6, "dynamodb:TransactWriteItems": 2},
        "MarketingTriggersFunction": {
            "dynamodb:BatchGetItem": 1,
            "dynamodb:PutItem": 1,
            "dynamodb:Query": 1,
            "scheduler:CreateSchedule": 1,
        },
        "OrderRoutingFunction": {"dynamodb:Query": 1, "dynamodb:TransactWriteItems": 1, "events:PutEvents": 1},
        "PaymentConfirmationFunction": {"dynamodb:Query": 1, "dynamodb:TransactWriteItems": 1, "events:PutEvents": 1},
        "WebhookIntakeFunction": {
            "dynamodb:BatchWriteItem": 1,
            "dynamodb:PutItem": 1,
            "dynamodb:UpdateItem": 1,
            "events:PutEvents": 1,
        },
        "event-source-mapping": {"sqs:DeleteMessageBatch": 5, "sqs:ReceiveMessage": 5},
    },
    "shipped_to_delivered": {
        "MarketingTriggersFunction": {
            "dynamodb:BatchGetItem": 1,
            "dynamodb:DeleteItem": 1,
            "dynamodb:Query": 1,
            "scheduler:DeleteSchedule": 1,
        },
        "OrderRoutingFunction": {
            "dynamodb:GetItem": 1,
            "dynamodb:Query": 1,
            "dynamodb:TransactWriteItems": 1,
            "events:PutEvents": 1,
        },
        "WebhookIntakeFunction": {"dynamodb:PutItem": 1, "dynamodb:UpdateItem": 2, "events:PutEvents": 1},
        "event-source-mapping": {"sqs:DeleteMessageBatch": 2, "sqs:ReceiveMessage": 2},
    },
}


@pytest.fixture(scope="module")
def counting_stack() -> Iterator[LocalStack]:
    """A stack of this module's own, so no other test's orders, retries or schedules run beside the count."""
    with LocalStack(ROOT, http_port=0, aws_port=0, env=_environment()) as running:
        warm_up(running, quiet=QUIET)
        yield running


@pytest.mark.parametrize("scenario", list(PINNED))
def test_one_order_costs_exactly_the_pinned_calls(counting_stack, scenario):
    counted = count_order(counting_stack, scenario, quiet=QUIET)
    assert counted["calls"] == PINNED[scenario]
    totals: dict[str, int] = {}
    for actions in PINNED[scenario].values():
        for action, n in actions.items():
            totals[action.split(":")[0]] = totals.get(action.split(":")[0], 0) + n
    assert counted["totals"] == totals
    # Every function that reads or writes DynamoDB is charged units for it.
    assert {caller for caller, c in counted["dynamodb_units"].items() if c["read"] + c["write"] > 0} == {
        caller for caller, actions in PINNED[scenario].items() if any(a.startswith("dynamodb:") for a in actions)
    }


def test_every_pinned_dynamodb_call_says_why_in_the_report():
    unexplained = {
        (caller, action)
        for calls in PINNED.values()
        for caller, actions in calls.items()
        for action in actions
        if action.startswith("dynamodb:") and (caller, action) not in WHY
    }
    assert not unexplained, f"bench/calls.py WHY has no reason for {sorted(unexplained)}"
    rendered = render({"calls": {s: {"calls": c, "dynamodb_units": {}, "totals": {}} for s, c in PINNED.items()}})
    assert "(no reason recorded)" not in rendered
