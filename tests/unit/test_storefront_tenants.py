"""Unsigned headers do not choose the tenant: the store a delivery claims picks its channel, the channel
picks the one secret that may verify it, and what the signed body proves must agree with the claim
(the store, and the topic).

Bodies are the project's samples in events/payloads (shopify_*.json follow the examples of Shopify's
webhook reference, shopify.dev/docs/api/webhooks; woocommerce_*.json WooCommerce's REST API docs,
woocommerce/woocommerce-rest-api-docs), edited where a case needs it.
"""

import base64
import hashlib
import hmac
import json
import re
from pathlib import Path

import pytest
from hub.bootstrap import Sandbox
from hub.config import parse_config
from hub.errors import ConfigError, MalformedPayloadError, SignatureError
from hub.intake import IntakeService
from hub.ports import WebhookRequest
from hub.secrets import SecretsProvider

from tests.unit.test_intake_service import FakeDeliveryLog

PAYLOADS = Path(__file__).resolve().parents[2] / "events" / "payloads"
EU, US = "ada-goods-eu.myshopify.com", "ada-goods-us.myshopify.com"
EU_SECRET, US_SECRET = "shpss_eu_store_secret", "shpss_us_store_secret"
TWO_STORES = f"""
channels:
  shopify-eu: {{platform: shopify, shop_domain: {EU}, webhook_secret: SHOPIFY_WEBHOOK_SECRET_EU, shop_id: "60412345678"}}
  shopify-us: {{platform: shopify, shop_domain: {US}, webhook_secret: SHOPIFY_WEBHOOK_SECRET_US}}
locations: [{{id: wh-east, country: US}}]
"""
SECRETS = {"SHOPIFY_WEBHOOK_SECRET_EU": EU_SECRET, "SHOPIFY_WEBHOOK_SECRET_US": US_SECRET}


def body_of(name: str, **changes: object) -> bytes:
    return json.dumps({**json.loads((PAYLOADS / f"{name}.json").read_text()), **changes}).encode()


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify(body: bytes, *, shop: str = EU, topic: str = "orders/create", secret: str = EU_SECRET) -> WebhookRequest:
    return WebhookRequest(
        {
            "x-shopify-hmac-sha256": sign(body, secret),
            "x-shopify-topic": topic,
            "x-shopify-shop-domain": shop,
            "x-shopify-webhook-id": f"wh-{hashlib.sha256(body + topic.encode()).hexdigest()[:12]}",
            "x-shopify-triggered-at": "2026-11-20T14:12:46.000Z",
        },
        body,
    )


def intake(config: str = TWO_STORES, secrets: dict[str, str] | None = None) -> tuple[IntakeService, FakeDeliveryLog]:
    log = FakeDeliveryLog()
    parsed = parse_config(config)
    provider = SecretsProvider(values=secrets or SECRETS)
    return IntakeService(Sandbox(secrets=provider).sources, provider, lambda: parsed, log), log


# ------------------------------------------------------------------ a channel's secret verifies it only
def test_each_store_verifies_with_its_own_channels_secret():
    service, log = intake()
    eu = service.receive("shopify", shopify(body_of("shopify_orders_create")))
    us = service.receive("shopify", shopify(body_of("shopify_orders_create", id=77), shop=US, secret=US_SECRET))
    assert (eu.status, us.status) == ("accepted", "accepted")
    channels = {e.channel for events in log.published.values() for e in events}
    assert channels == {"shopify-eu", "shopify-us"}


def test_one_stores_secret_does_not_verify_a_delivery_claiming_the_other():
    service, log = intake()
    with pytest.raises(SignatureError, match="check SHOPIFY_WEBHOOK_SECRET_EU"):
        service.receive("shopify", shopify(body_of("shopify_orders_create"), shop=EU, secret=US_SECRET))
    assert log.published == {}


def test_a_store_no_channel_names_is_refused_before_its_signature_is_tried():
    service, log = intake()
    with pytest.raises(SignatureError, match=r"no shopify channel of this hub is the store 'stranger\.myshopify\.com'"):
        service.receive("shopify", shopify(body_of("shopify_orders_create"), shop="stranger.myshopify.com"))
    assert log.published == {}


def test_the_claimed_shop_is_matched_without_regard_to_case():
    service, _ = intake()
    assert service.receive("shopify", shopify(body_of("shopify_orders_create"), shop=EU.upper())).status == "accepted"


def test_a_channel_naming_no_shop_takes_every_other_shop_with_its_own_secret():
    config = f"""
channels:
  shopify-eu: {{platform: shopify, shop_domain: {EU}, webhook_secret: SHOPIFY_WEBHOOK_SECRET_EU}}
  shopify: {{platform: shopify}}
locations: [{{id: wh-east, country: US}}]
"""
    service, _ = intake(config, {**SECRETS, "SHOPIFY_WEBHOOK_SECRET": "shpss_default"})
    other = shopify(body_of("shopify_orders_create"), shop="other.myshopify.com", secret="shpss_default")
    assert service.receive("shopify", other).status == "accepted"
    with pytest.raises(SignatureError, match="check SHOPIFY_WEBHOOK_SECRET_EU"):
        service.receive("shopify", shopify(body_of("shopify_orders_create", id=5), secret="shpss_default"))


def test_with_one_channel_of_the_platform_its_secret_alone_decides():
    # One store: a site named differently in the header (www., http://) must not lock it out.
    config = f"channels: {{eu: {{platform: shopify, shop_domain: {EU}, webhook_secret: SHOPIFY_WEBHOOK_SECRET_EU}}}}\n"
    service, log = intake(config + "locations: [{id: wh-east, country: US}]\n")
    req = shopify(body_of("shopify_orders_create"), shop="ada-goods.example", secret=EU_SECRET)
    assert service.receive("shopify", req).status == "accepted"
    assert {e.channel for events in log.published.values() for e in events} == {"eu"}
    with pytest.raises(SignatureError, match="check SHOPIFY_WEBHOOK_SECRET_EU"):
        service.receive("shopify", shopify(body_of("shopify_orders_create", id=9), secret=US_SECRET))


def test_without_channels_the_standard_key_verifies_as_before():
    service, _ = intake("locations: [{id: wh-east, country: US}]\n", {"SHOPIFY_WEBHOOK_SECRET": "shpss_one"})
    req = shopify(body_of("shopify_orders_create"), shop="any.myshopify.com", secret="shpss_one")
    assert service.receive("shopify", req).status == "accepted"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            "channels: {a: {platform: shopify, shop_domain: x.myshopify.com}, "
            "b: {platform: shopify, shop_domain: X.myshopify.com}}\n",
            "channel 'a' is already the shopify store x.myshopify.com",
        ),
        (
            "channels: {a: {platform: woocommerce}, b: {platform: woocommerce}}\n",
            "a, b are woocommerce channels without a site_url",
        ),
        ("channels: {a: {platform: shopify, webhook_secret: 'my secret'}}\n", "channels.a.webhook_secret"),
        ("channels: {a: {platform: shopify, webhook_secrets: X}}\n", "unknown key 'channels.a.webhook_secrets'"),
    ],
)
def test_channels_of_one_platform_must_name_different_stores(config, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(config + "locations: [{id: wh-east, country: US}]\n")


# ------------------------------------------------------------ the signed body must agree with the shop
@pytest.mark.parametrize("topic", ["shop/redact", "customers/redact", "customers/data_request"])
def test_a_privacy_request_for_another_shop_is_refused(topic):
    name = "shopify_" + topic.replace("/", "_")
    service, log = intake()
    with pytest.raises(SignatureError, match=f"is for shop '{US}', not the shop it was delivered as"):
        service.receive("shopify", shopify(body_of(name, shop_domain=US), topic=topic))
    assert log.published == {}


def test_a_privacy_request_with_another_shop_id_is_refused():
    service, _ = intake()
    with pytest.raises(SignatureError, match="shop_id is not the shop id configured"):
        service.receive(
            "shopify", shopify(body_of("shopify_shop_redact", shop_domain=EU, shop_id=1), topic="shop/redact")
        )


def test_a_privacy_request_for_its_own_shop_is_accepted():
    service, log = intake()
    body = body_of("shopify_shop_redact", shop_domain=EU, shop_id=60412345678)
    assert service.receive("shopify", shopify(body, topic="shop/redact")).status == "accepted"
    (events,) = log.published.values()
    assert events[0].type == "ShopRedactionRequested" and events[0].channel == "shopify-eu"


def test_app_uninstalled_for_another_shop_is_refused():
    service, _ = intake()
    body = body_of("shopify_app_uninstalled", myshopify_domain=US)
    with pytest.raises(SignatureError, match=f"'app/uninstalled' body is for shop '{US}'"):
        service.receive("shopify", shopify(body, topic="app/uninstalled"))


PUBLIC_APP = f"""
channels:
  shopify-eu: {{platform: shopify, shop_domain: {EU}, webhook_secret: SHOPIFY_APP_SECRET}}
  shopify-us: {{platform: shopify, shop_domain: {US}, webhook_secret: SHOPIFY_APP_SECRET}}
locations: [{{id: wh-east, country: US}}]
"""


def test_with_one_app_secret_for_both_shops_an_order_on_the_other_shops_host_is_refused():
    # A public app signs every shop's deliveries with its one client secret: the signed body binds the shop.
    service, _ = intake(PUBLIC_APP, {"SHOPIFY_APP_SECRET": "shpss_app"})
    url = f"https://{US}/60412345678/orders/4f1a/authenticate?key=abc"
    with pytest.raises(SignatureError, match=f"order_status_url is on shop '{US}', not '{EU}'"):
        service.receive("shopify", shopify(body_of("shopify_orders_create", order_status_url=url), secret="shpss_app"))
    own = f"https://{EU}/60412345678/orders/4f1a/authenticate?key=abc"
    req = shopify(body_of("shopify_orders_create", order_status_url=own), secret="shpss_app")
    assert service.receive("shopify", req).status == "accepted"


def test_an_order_status_url_on_a_custom_domain_proves_nothing_and_is_accepted():
    service, _ = intake(PUBLIC_APP, {"SHOPIFY_APP_SECRET": "shpss_app"})
    url = "https://shop.ada-goods.example/60412345678/orders/4f1a/authenticate?key=abc"
    req = shopify(body_of("shopify_orders_create", order_status_url=url), secret="shpss_app")
    assert service.receive("shopify", req).status == "accepted"


# ----------------------------------------------------------------- the topic must agree with the body
PENDING = {"financial_status": "pending", "cancelled_at": None}


@pytest.mark.parametrize(
    ("name", "changes", "topic", "message"),
    [
        ("shopify_orders_create", PENDING, "orders/paid", "must show a paid order; its financial_status is 'pending'"),
        ("shopify_orders_create", PENDING, "orders/cancelled", "must show the order cancelled"),
        ("shopify_checkouts_create", {}, "orders/create", "it lacks 'financial_status'"),
        ("shopify_orders_create", {}, "checkouts/create", "it carries 'financial_status'"),
        ("shopify_orders_create", {}, "customers/update", "it carries 'line_items'"),
        ("shopify_orders_create", {}, "app/uninstalled", "it lacks 'myshopify_domain'"),
        ("shopify_customers_redact", {"shop_domain": EU}, "shop/redact", "it carries 'customer'"),
        ("shopify_customers_data_request", {"shop_domain": EU}, "customers/redact", "it lacks 'orders_to_redact'"),
        ("shopify_shop_redact", {"shop_domain": EU}, "customers/redact", "it lacks 'customer'"),
        ("shopify_refunds_create", {}, "orders/updated", "it lacks 'financial_status'"),
    ],
)
def test_a_body_replayed_under_another_topic_is_refused(name, changes, topic, message):
    service, log = intake()
    with pytest.raises(MalformedPayloadError, match=message):
        service.receive("shopify", shopify(body_of(name, **changes), topic=topic))
    assert log.published == {}


@pytest.mark.parametrize("topic", ["orders/create", "orders/updated", "orders/paid", "orders/fulfilled"])
def test_a_paid_order_body_is_accepted_under_every_order_topic_it_can_be(topic):
    # State-based topics: a snapshot under orders/updated or orders/fulfilled records only what it shows.
    service, _ = intake()
    assert service.receive("shopify", shopify(body_of("shopify_orders_create"), topic=topic)).status == "accepted"


# -------------------------------------------------------------------------------------- WooCommerce
SHOP_A, SHOP_B = "https://larkspur-supply.example/", "https://birch-and-co.example/"
WOO_TWO = f"""
channels:
  larkspur: {{platform: woocommerce, site_url: "{SHOP_A}", webhook_secret: WOOCOMMERCE_WEBHOOK_SECRET_LARKSPUR}}
  birch: {{platform: woocommerce, site_url: "{SHOP_B.rstrip("/")}", webhook_secret: WOOCOMMERCE_WEBHOOK_SECRET_BIRCH}}
locations: [{{id: wh-east, country: US}}]
"""
WOO_SECRETS = {
    "WOOCOMMERCE_WEBHOOK_SECRET_LARKSPUR": 'k9,Q a]b{"c&d=f g<h>~j|',
    "WOOCOMMERCE_WEBHOOK_SECRET_BIRCH": "birch-secret, with a comma",
}


def woo(body: bytes, *, site: str = SHOP_A, topic: str = "order.created", secret: str | None = None) -> WebhookRequest:
    key = secret or WOO_SECRETS["WOOCOMMERCE_WEBHOOK_SECRET_LARKSPUR"]
    return WebhookRequest(
        {
            "x-wc-webhook-source": site,
            "x-wc-webhook-topic": topic,
            "x-wc-webhook-signature": sign(body, key),
            "x-wc-webhook-delivery-id": "d-1",
        },
        body,
    )


def test_each_woocommerce_site_verifies_with_its_own_secret_only():
    service, log = intake(WOO_TWO, WOO_SECRETS)
    created = body_of("woocommerce_order_created")
    assert service.receive("woocommerce", woo(created)).status == "accepted"
    birch = woo(created, site=SHOP_B, secret=WOO_SECRETS["WOOCOMMERCE_WEBHOOK_SECRET_BIRCH"])
    assert service.receive("woocommerce", birch).status == "accepted"
    with pytest.raises(SignatureError, match="check WOOCOMMERCE_WEBHOOK_SECRET_BIRCH"):
        service.receive("woocommerce", woo(created, site=SHOP_B))
    with pytest.raises(SignatureError, match="no woocommerce channel of this hub is the store"):
        service.receive("woocommerce", woo(created, site="https://stranger.example/"))
    assert {e.channel for events in log.published.values() for e in events} == {"larkspur", "birch"}


@pytest.mark.parametrize("status", ["pending", "processing", "completed"])
def test_an_order_body_replayed_as_order_deleted_is_refused(status):
    # WooCommerce sends only {"id": N} for a deleted order (events/payloads/woocommerce_order_deleted.json).
    service, log = intake(WOO_TWO, WOO_SECRETS)
    with pytest.raises(MalformedPayloadError, match=r"not a WooCommerce 'order\.deleted' body"):
        service.receive("woocommerce", woo(body_of("woocommerce_order_created", status=status), topic="order.deleted"))
    assert log.published == {}


def test_a_deletion_body_is_still_a_deletion():
    service, log = intake(WOO_TWO, WOO_SECRETS)
    assert service.receive("woocommerce", woo(body_of("woocommerce_order_deleted"), topic="order.deleted")).status == (
        "accepted"
    )
    (events,) = log.published.values()
    assert [e.type for e in events] == ["OrderCancelled"]


@pytest.mark.parametrize("topic", ["customer.updated", "customer.created"])
def test_an_order_body_replayed_as_a_customer_is_refused(topic):
    service, _ = intake(WOO_TWO, WOO_SECRETS)
    with pytest.raises(
        MalformedPayloadError, match=f"not a WooCommerce '{re.escape(topic)}' body: it carries an order's 'line_items'"
    ):
        service.receive("woocommerce", woo(body_of("woocommerce_order_created"), topic=topic))


def test_a_customer_body_replayed_as_an_order_is_refused():
    service, _ = intake(WOO_TWO, WOO_SECRETS)
    with pytest.raises(
        MalformedPayloadError, match=r"not a WooCommerce 'order\.updated' body: it carries a customer's 'role'"
    ):
        service.receive("woocommerce", woo(body_of("woocommerce_customer_updated"), topic="order.updated"))


def test_with_one_channel_a_privacy_request_must_name_the_configured_shop():
    config = f"channels: {{eu: {{platform: shopify, shop_domain: {EU}}}}}\nlocations: [{{id: wh-east, country: US}}]\n"
    service, _ = intake(config, {"SHOPIFY_WEBHOOK_SECRET": EU_SECRET})
    own = shopify(body_of("shopify_shop_redact", shop_domain=EU), shop="ada-goods.example", topic="shop/redact")
    assert service.receive("shopify", own).status == "accepted"
    other = shopify(body_of("shopify_shop_redact", shop_domain=US), shop=US, topic="shop/redact")
    with pytest.raises(SignatureError, match=f"is for shop '{US}', not the shop it was delivered as"):
        service.receive("shopify", other)


# -------------------------------------------------------------------------------------- BigCommerce
# The body names its store in the signed `producer` (events/payloads/bigcommerce_store_order_created.json,
# after BigCommerce's webhook payload reference); it is read first only to choose the secret.
BC_CREATED = (PAYLOADS / "bigcommerce_store_order_created.json").read_bytes()
BC_STORE = json.loads(BC_CREATED)["producer"].removeprefix("stores/")
BC_TWO = f"""
channels:
  bc-main: {{platform: bigcommerce, store_hash: {BC_STORE}, webhook_secret: BIGCOMMERCE_CLIENT_SECRET_MAIN}}
  bc-outlet: {{platform: bigcommerce, store_hash: outlet99, webhook_secret: BIGCOMMERCE_CLIENT_SECRET_OUTLET}}
locations: [{{id: wh-east, country: US}}]
"""


def bc_request(body: bytes, secret: str) -> WebhookRequest:
    from commerce_hub.signing.bigcommerce import sign as sign_bigcommerce

    signed = sign_bigcommerce(body, topic=None, secrets={"BIGCOMMERCE_CLIENT_SECRET": secret}, delivery_id="msg_1")
    return WebhookRequest({k.lower(): v for k, v in signed.headers.items()}, body)


def test_a_bigcommerce_store_verifies_with_its_own_channels_secret_only():
    secrets = SecretsProvider(
        values={"BIGCOMMERCE_CLIENT_SECRET_MAIN": "bc-main-secret", "BIGCOMMERCE_CLIENT_SECRET_OUTLET": "bc-outlet"}
    )
    source, config = Sandbox(secrets=secrets).sources["bigcommerce"], parse_config(BC_TWO)
    good = bc_request(BC_CREATED, "bc-main-secret")
    assert source.secret_key_for(good, config) == "BIGCOMMERCE_CLIENT_SECRET_MAIN"
    source.verify(good, secrets, source.secret_key_for(good, config))
    forged = bc_request(BC_CREATED, "bc-outlet")
    with pytest.raises(SignatureError, match="does not match"):
        source.verify(forged, secrets, source.secret_key_for(forged, config))
    stranger = bc_request(BC_CREATED.replace(BC_STORE.encode(), b"zz9stranger"), "bc-outlet")
    with pytest.raises(SignatureError, match="no bigcommerce channel of this hub is the store 'zz9stranger'"):
        source.secret_key_for(stranger, config)
