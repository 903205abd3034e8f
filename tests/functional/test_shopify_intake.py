"""Every Shopify topic in events/ through the intake handler on moto, observed on the bus."""

from __future__ import annotations

import json

import pytest

from tests.functional.conftest import EVENTS, event

SHOPIFY_EVENTS = sorted(p.name for p in EVENTS.glob("webhook_intake_shopify_*.json"))


@pytest.fixture
def intake(aws, load_function):
    return load_function("webhook_intake")


@pytest.mark.parametrize("name", SHOPIFY_EVENTS)
def test_each_sample_is_accepted_once_and_reaches_the_bus(aws, bus_tap, intake, context, name):
    ev = event(name)
    response = intake.lambda_handler(ev, context)
    body = json.loads(response["body"])
    assert (response["statusCode"], body["status"]) == (200, "accepted"), body
    published = bus_tap.events()
    assert [p["detail"]["event_id"] for p in published] == body["event_ids"]
    assert all(p["source"] == "commerce-hub.shopify" for p in published)
    assert all(p["detail"]["provider"]["topic"] == ev["headers"]["x-shopify-topic"] for p in published)

    again = json.loads(intake.lambda_handler(ev, context)["body"])
    assert again["status"] == "duplicate"
    assert bus_tap.events() == []


def test_a_topic_the_hub_does_not_use_is_ignored_and_counted(aws, bus_tap, intake, context, capsys):
    from tests.unit.test_shopify_source import sign

    ev = event("webhook_intake_shopify_app_uninstalled.json")
    ev["headers"]["x-shopify-topic"] = "themes/publish"
    ev["headers"]["x-shopify-hmac-sha256"] = sign(ev["body"].encode(), "local-shopify-webhook-secret")
    body = json.loads(intake.lambda_handler(ev, context)["body"])
    assert body["status"] == "ignored" and "themes/publish" in body["reason"]
    assert bus_tap.events() == []
    assert '"WebhookIgnored"' in capsys.readouterr().out
