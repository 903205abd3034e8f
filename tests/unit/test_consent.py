"""Marketing consent: per channel of contact, the latest statement wins, whichever storefront made it;
silence is no statement; a tie is "not subscribed"; nothing said at all is unknown (no consent)."""

from __future__ import annotations

import json
from pathlib import Path

from hub.intake.shopify import ShopifySource
from hub.ports import WebhookRequest

from commerce_hub.signing import sign_delivery
from tests.unit.test_customer_profiles import CONFIG, at, customer, placed, profiles_after

ROOT = Path(__file__).resolve().parents[2]


def consent_of(*events):
    ada = profiles_after(events)["ada@example.com"]
    return ada.email_marketing, ada.sms_marketing


def test_the_latest_statement_wins_across_storefronts():
    email, _sms = consent_of(
        customer("ada@example.com", channel="shopify", email_ok=True, minutes=0),
        customer("ada@example.com", channel="woocommerce", email_ok=False, minutes=10, pid="2"),
    )
    assert (email.subscribed, email.channel, email.stated_at) == (False, "woocommerce", at(10))
    email, _sms = consent_of(
        customer("ada@example.com", channel="shopify", email_ok=False, minutes=0),
        customer("ada@example.com", channel="woocommerce", email_ok=True, minutes=10, pid="2"),
    )
    assert (email.subscribed, email.channel) == (True, "woocommerce")


def test_the_statement_time_is_the_storefronts_own_not_the_delivery_time():
    # The opt-out was made later at the storefront but delivered first.
    email, _sms = consent_of(
        customer("ada@example.com", email_ok=False, minutes=1, stated=50),
        customer("ada@example.com", channel="woocommerce", email_ok=True, minutes=60, stated=40, pid="2"),
    )
    assert (email.subscribed, email.stated_at) == (False, at(50))


def test_a_storefront_that_says_nothing_changes_nothing():
    email, sms = consent_of(
        customer("ada@example.com", channel="shopify", email_ok=True, sms_ok=True, minutes=0),
        customer("ada@example.com", channel="bigcommerce", minutes=30, pid="9"),
    )
    assert email.subscribed is True and sms.subscribed is True


def test_statements_at_the_same_instant_that_disagree_mean_not_subscribed():
    email, _sms = consent_of(
        customer("ada@example.com", channel="shopify", email_ok=True, minutes=0, stated=5),
        customer("ada@example.com", channel="woocommerce", email_ok=False, minutes=9, stated=5, pid="2"),
    )
    assert email.subscribed is False


def test_email_and_sms_are_decided_separately():
    email, sms = consent_of(
        customer("ada@example.com", email_ok=True, sms_ok=None, minutes=0),
        customer("ada@example.com", channel="woocommerce", email_ok=None, sms_ok=False, minutes=10, pid="2"),
    )
    assert (email.subscribed, email.channel) == (True, "shopify")
    assert (sms.subscribed, sms.channel) == (False, "woocommerce")


def test_no_statement_is_unknown_and_unknown_is_no_consent():
    profiles = profiles_after([placed("1", "ada@example.com")])
    ada = profiles["ada@example.com"]
    assert ada.email_marketing.subscribed is None and ada.sms_marketing.subscribed is None
    assert not ada.may_email and not ada.may_text


def test_shopify_consent_fields_reach_the_profile():
    body = json.loads((ROOT / "events" / "payloads" / "shopify_customers_create.json").read_text())
    delivery = sign_delivery(
        "shopify", json.dumps(body).encode(), topic="customers/create", secrets={"SHOPIFY_WEBHOOK_SECRET": "s"}
    )
    request = WebhookRequest(headers={k.lower(): v for k, v in delivery.headers.items()}, body=delivery.body)
    events = ShopifySource().parse(request, CONFIG).events
    ada = profiles_after(events)["ada.lovelace@example.com"]
    assert ada.email_marketing.subscribed is True  # email_marketing_consent.state = subscribed
    assert ada.sms_marketing.subscribed is False  # sms_marketing_consent.state = not_subscribed
    assert (ada.first_name, ada.last_name) == ("Ada", "Lovelace")
