"""The cost arithmetic of bench/cost.py, on a small literal input in the format of results["calls"]."""

from __future__ import annotations

from decimal import Decimal

from bench import cost

CALLS = {
    "paid_order": {
        "calls": {
            "WebhookIntakeFunction": {"dynamodb:PutItem": 1, "events:PutEvents": 1, "secretsmanager:GetSecretValue": 1},
            "StockUpdatesFunction": {"dynamodb:TransactWriteItems": 2, "events:PutEvents": 1},
            "MarketingTriggersFunction": {"scheduler:CreateSchedule": 1, "ses:SendEmail": 1},
            "event-source-mapping": {"sqs:ReceiveMessage": 3, "sqs:DeleteMessageBatch": 3},
        },
        "dynamodb_units": {
            "WebhookIntakeFunction": {"read": 0.0, "write": 1.0},
            "StockUpdatesFunction": {"read": 2.0, "write": 8.0},  # a transaction's units, already doubled
        },
        "totals": {"dynamodb": 3, "events": 2, "sqs": 6, "scheduler": 1, "ses": 1, "secretsmanager": 1},
    },
    "shipped_to_delivered": {
        "calls": {
            "WebhookIntakeFunction": {"events:PutEvents": 1, "s3:PutObject": 1},
            "event-source-mapping": {"sqs:ReceiveMessage": 1, "sqs:DeleteMessageBatch": 1},
        },
        "dynamodb_units": {"OrderRoutingFunction": {"read": 1.5, "write": 2.0}},
        "totals": {"events": 1, "sqs": 2, "s3": 1},
    },
    "gateway_payment": {
        "calls": {"PaymentConfirmationFunction": {"events:PutEvents": 2, "kms:Decrypt": 1}},
        "dynamodb_units": {"PaymentConfirmationFunction": {"read": 4.0, "write": 4.0}},
        "totals": {"events": 2, "kms": 1},
    },
}

SIZING = {
    "functions": {
        "WebhookIntakeFunction": {
            "per_order": 2.0,
            "configured_mb": 512,
            "sizes": {"512": {"billed_ms": 100.0}, "1024": {"billed_ms": 60.0}},
        },
        "AdminApiFunction": {"per_order": 1.0, "configured_mb": 256, "sizes": {"256": {"billed_ms": 20.0}}},
        "ReconcilerFunction": {"per_order": 0.0, "configured_mb": 256, "sizes": {"256": {"billed_ms": 500.0}}},
        "ResourceFetchFunction": {"per_order": 0.0, "configured_mb": 256},  # not invoked by the load
    }
}


def test_service_counts_take_each_call_of_a_billed_kind_once() -> None:
    counts = cost.service_counts(CALLS["paid_order"]["calls"])
    assert counts == {"events": 2, "sqs": 6, "scheduler": 1, "ses": 1, "secretsmanager": 1}
    assert cost.service_counts({"X": {"s3:GetObject": 2, "s3:PutObject": 1, "ssm:GetParameter": 4}}) == {
        "s3_get": 2,
        "s3_put": 1,
    }  # standard SSM parameters cost nothing per call


def test_an_order_is_a_paid_order_and_its_delivery_plus_a_share_of_a_gateway_payment() -> None:
    q = cost.per_order_quantities(CALLS, gateway_share=Decimal("0.25"))
    assert q["dynamodb_write"] == Decimal("1") + Decimal("8") + Decimal("2") + Decimal("0.25") * 4
    assert q["dynamodb_read"] == Decimal("2") + Decimal("1.5") + Decimal("0.25") * 4
    assert q["events"] == 2 + 1 + Decimal("0.5")
    assert q["sqs"] == 8 and q["s3_put"] == 1 and q["kms"] == Decimal("0.25")


def test_lambda_per_order_is_gb_seconds_at_the_configured_memory() -> None:
    q = cost.lambda_per_order(SIZING)
    # Intake: 2 x 0.100 s x 0.5 GB; admin: 1 x 0.020 s x 0.25 GB.
    assert q["lambda_gb_s"] == Decimal("0.1") + Decimal("0.005")
    assert q["lambda_requests"] == 3
    assert q["http_api"] == 3  # the webhook POSTs and the admin request


def test_cost_per_million_orders_multiplies_quantities_by_the_unit_prices() -> None:
    result = cost.run(CALLS, SIZING, gateway_share=0.25)
    rows = result["aws"]["rows"]
    assert rows["dynamodb_write"]["usd_per_million_orders"] == Decimal("7.50")  # 12 WRU x $0.625
    assert rows["dynamodb_read"]["usd_per_million_orders"] == Decimal("0.56")  # 4.5 RRU x $0.125 = 0.5625
    assert rows["events"]["usd_per_million_orders"] == Decimal("3.50")
    assert rows["sqs"]["usd_per_million_orders"] == Decimal("3.20")
    assert rows["lambda_gb_s"]["usd_per_million_orders"] == Decimal("1.40")  # 105,000 GB-s x $0.0000133334
    assert rows["lambda_requests"]["usd_per_million_orders"] == Decimal("0.60")
    assert rows["ses"]["usd_per_million_orders"] == Decimal("100.00")  # 1M emails at $0.10 per 1,000
    assert result["aws"]["total_usd_per_million_orders"] == sum(r["usd_per_million_orders"] for r in rows.values())


def test_without_counted_calls_only_lambda_and_the_http_api_are_priced() -> None:
    result = cost.run(None, SIZING)
    assert set(result["aws"]["rows"]) == {"lambda_gb_s", "lambda_requests", "http_api"}
    assert "were not counted" in cost.render(result)


def test_the_no_code_platforms_are_priced_per_task_and_operation_of_the_same_flow() -> None:
    tasks = sum(t for _, t, _ in cost.EQUIVALENT_FLOW)
    operations = sum(o for _, _, o in cost.EQUIVALENT_FLOW)
    c = cost.competitors(orders=1_000_000)
    assert c["zapier"]["units_per_order"] == tasks
    assert c["zapier"]["usd_per_million_orders"] == (Decimal("0.0178") * tasks * 1_000_000).quantize(Decimal(1))
    assert c["make"]["usd_per_million_orders"] == (Decimal("113.85") / 150_000 * operations * 1_000_000).quantize(
        Decimal(1)
    )
    assert c["celigo"]["usd_per_million_orders"] is None  # sold by quote: said so, not guessed


def test_the_section_lists_every_priced_row_and_its_source() -> None:
    text = cost.render(cost.run(CALLS, SIZING))
    for key in ("dynamodb_write", "sqs", "events", "lambda_gb_s", "ses"):
        assert cost.LABELS[key] in text
    assert "(not confirmed)" in text  # SES's price was not read from a page
    assert "https://cloudburn.io/blog/amazon-eventbridge-pricing" in text
