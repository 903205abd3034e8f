"""Which order an event concerns, for the reconciler's "already applied" check
(hub.services.payments.order_id_of): the order's own events name it; a gateway's payment, refund or
dispute by its reference, exactly as payment_confirmation applies it (order_id_for)."""

from __future__ import annotations

from pathlib import Path

from hub.config import parse_config
from hub.intake.paypal import PayPalSource
from hub.intake.shopify import ShopifySource
from hub.intake.square import SquareSource
from hub.intake.stripe import StripeSource
from hub.ports import WebhookRequest
from hub.services.payments import order_id_of

ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = ROOT / "events" / "payloads"
CONFIG = parse_config(
    "gateways:\n  stripe: {channel: woocommerce}\n  paypal: {channel: magento, invoice_prefix: MG-}\n"
    "  square: {channel: shopify}\nlocations: [{id: wh-east, country: US}]"
)


def parsed(source, name: str, headers: dict[str, str] | None = None):
    body = (PAYLOADS / f"{name}.json").read_bytes()
    return source.parse(WebhookRequest(headers or {}, body), CONFIG).events[0]


def test_a_gateway_payment_names_its_order_by_its_reference():
    # events/payloads samples: Stripe metadata.order_id 2187 (channel woocommerce by configuration),
    # Square reference_id 5849162203418 (channel shopify), PayPal custom_id 318 (channel magento).
    assert order_id_of(parsed(StripeSource(), "stripe_payment_intent_succeeded"), CONFIG) == "woocommerce:2187"
    assert order_id_of(parsed(SquareSource(), "square_payment_updated"), CONFIG) == "shopify:5849162203418"
    assert order_id_of(parsed(PayPalSource(), "paypal_payment_capture_completed"), CONFIG) == "magento:318"


def test_an_order_event_names_its_own_order_and_a_payment_naming_none_has_none():
    headers = {"x-shopify-topic": "orders/create", "x-shopify-shop-domain": "ada-goods.myshopify.com",
               "x-shopify-webhook-id": "w1"}  # fmt: skip
    placed = parsed(ShopifySource(), "shopify_orders_create", headers)
    assert order_id_of(placed, CONFIG) == placed.data.order_id
    square = parsed(SquareSource(), "square_payment_updated")
    anonymous = square.model_copy(
        update={"data": square.data.model_copy(update={"reference": type(square.data.reference)()})}
    )
    assert order_id_of(anonymous, CONFIG) is None
