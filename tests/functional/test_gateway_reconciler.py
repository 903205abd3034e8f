"""The reconciler handler on moto for the payment gateways, against a fake of their APIs (respx;
tests/gateway_api_fakes.py), with their keys in the hub's `gateways` secret.

A payment the webhook delivered, whose order is not recorded yet (payment_confirmation keeps it), is
known; one whose webhook never came is published and kept by payment_confirmation in turn. A gateway
whose key is not in the secret fails alone, naming the key.

The delivered payment is events/webhook_intake_stripe_payment_intent_succeeded.json (the hub's signed
sample of Stripe's `payment_intent.succeeded`, signed again now); the API lists the same Event object
(docs.stripe.com/api/events/object) and one more made from it."""

from __future__ import annotations

import copy
import json
import time
from datetime import timedelta

import boto3
import httpx
import pytest
import respx
from hub.bootstrap import Sandbox

from tests.functional.conftest import CONFIG_PARAMETER, ROOT, FakeContext
from tests.functional.test_gateway_intake import fresh
from tests.functional.test_stock_sync import run
from tests.gateway_api_fakes import GATEWAY_SECRETS, FakeGatewayApis

CONFIG = """
channels:
  shopify: {platform: shopify, reconcile: {every_minutes: 0}}
gateways:
  stripe: {channel: woocommerce, api_url: "https://stripe.fake.test"}
  paypal: {channel: magento, api_url: "https://paypal.fake.test"}
  square: {channel: shopify, api_url: "https://square.fake.test"}
locations:
  - {id: wh-east, country: US}
"""
SAMPLE = json.loads((ROOT / "events" / "payloads" / "stripe_payment_intent_succeeded.json").read_text())


@pytest.fixture
def hub(aws, monkeypatch):
    from aws_lambda_powertools.utilities import parameters
    from hub.config import forget_config

    from commerce_hub.local.keys import local_signing_keys
    from commerce_hub.local.secrets import local_secrets

    boto3.client("ssm").put_parameter(Name=CONFIG_PARAMETER, Type="String", Value=CONFIG, Overwrite=True)
    aws.put_secrets(
        {**local_secrets({}, local_signing_keys(ROOT)), "STRIPE_API_KEY": GATEWAY_SECRETS["STRIPE_API_KEY"]}
    )
    parameters.clear_caches()
    forget_config()
    return aws


@pytest.fixture
def gateways():
    fake = FakeGatewayApis()

    def answer(request: httpx.Request) -> httpx.Response:
        status, body = fake.answer(request.method, str(request.url), dict(request.headers), request.content)
        return httpx.Response(status, json=body)

    with respx.mock(assert_all_called=False) as mock:
        for host in ("stripe.fake.test", "paypal.fake.test", "square.fake.test"):
            mock.route(host=host).mock(side_effect=answer)
        yield fake


@pytest.fixture
def fns(hub, load_function):
    return {name: load_function(name) for name in ("webhook_intake", "payment_confirmation", "reconciler")}


def _pending(aws) -> list[str]:
    items = boto3.client("dynamodb").scan(TableName=aws.resources["HubTable"])["Items"]
    return sorted(i["sk"]["S"] for i in items if i["sk"]["S"].startswith("PENDING#"))


def test_a_delivered_payment_is_known_and_a_missed_one_is_published(hub, fns, gateways, bus_tap, monkeypatch):
    answer = fns["webhook_intake"].lambda_handler(fresh("stripe_payment_intent_succeeded"), FakeContext())
    assert answer["statusCode"] == 200 and json.loads(answer["body"])["status"] == "accepted"
    assert run(hub, fns["payment_confirmation"], "PaymentsQueue") == []
    assert len(_pending(hub)) == 1  # its order (woocommerce:2187) is not recorded yet: kept
    bus_tap.events()

    # Both made in the last few minutes, so the next run's overlap window lists them again.
    delivered = copy.deepcopy(SAMPLE)
    delivered["created"] = int(time.time()) - 120
    missed = copy.deepcopy(SAMPLE)
    missed["id"], missed["created"] = "evt_3RkT7mHq2wXyZa0B1MISSED0", delivered["created"] + 60
    missed["data"]["object"]["id"] = "pi_3RkT7mHq2wXyZa0B1MISSED0"
    missed["data"]["object"]["metadata"]["order_id"] = "2188"
    gateways.stripe_events += [delivered, missed]
    reconciler = fns["reconciler"]
    monkeypatch.setattr(reconciler, "sandbox", Sandbox(reconcile_lookback=timedelta(days=3650)))

    result = reconciler.lambda_handler({"force": True, "only": "stripe"}, FakeContext())
    assert result == {"stripe": {"found": 2, "published": 1, "known": 1}}
    published = [e for e in bus_tap.events() if e["source"] == "commerce-hub.stripe"]
    assert [(e["detail-type"], e["detail"]["provider"]["event_id"]) for e in published] == [
        ("PaymentSucceeded", missed["id"])
    ]
    assert run(hub, fns["payment_confirmation"], "PaymentsQueue") == []
    assert len(_pending(hub)) == 2

    again = reconciler.lambda_handler({"force": True, "only": "stripe"}, FakeContext())
    assert again == {"stripe": {"found": 2, "published": 0, "known": 2}}


def test_a_gateway_whose_key_is_missing_fails_alone_naming_the_key(hub, fns, gateways):
    result = fns["reconciler"].lambda_handler({"force": True}, FakeContext())
    assert result["stripe"] == {"found": 0, "published": 0, "known": 0}
    assert "SQUARE_ACCESS_TOKEN" in result["square"]["error"]
    assert "PAYPAL_CLIENT_ID" in result["paypal"]["error"]
