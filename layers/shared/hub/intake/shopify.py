"""Shopify: X-Shopify-Hmac-Sha256 over the raw body; deliveries deduplicated on shop + webhook id."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, ValidationError

from hub.config import HubConfig
from hub.events import LineItem, OrderData, OrderPlaced, ProviderRef, event_id_for
from hub.intake.errors import MalformedPayloadError
from hub.intake.model import Delivery, WebhookRequest
from hub.intake.service import load_json_object
from hub.intake.signatures import require_base64_hmac
from hub.money import MoneyError, parse_minor
from hub.secrets import SecretsProvider

__all__ = ["ShopifySource"]


class _Wire(BaseModel):
    # Shopify adds fields often; only what the hub reads is declared, the rest is ignored.
    model_config = ConfigDict(extra="ignore")


class ShopifyAddress(_Wire):
    country_code: str | None = None


class ShopifyCustomer(_Wire):
    id: int | None = None
    email: str | None = None


class ShopifyLineItem(_Wire):
    id: int
    sku: str | None = None
    variant_id: int | None = None
    title: str | None = None
    quantity: int
    price: str


class ShopifyOrder(_Wire):
    id: int
    name: str | None = None
    order_number: int | None = None
    email: str | None = None
    currency: str
    total_price: str
    financial_status: str | None = None
    created_at: datetime
    updated_at: datetime | None = None
    customer: ShopifyCustomer | None = None
    shipping_address: ShopifyAddress | None = None
    line_items: list[ShopifyLineItem]


def _problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"'{where}': {first['msg']}"


class ShopifySource:
    name = "shopify"
    signature_header = "X-Shopify-Hmac-Sha256"

    def verify(self, request: WebhookRequest, secrets: SecretsProvider) -> None:
        require_base64_hmac(
            self.signature_header,
            request.header(self.signature_header),
            secrets.candidates("SHOPIFY_WEBHOOK_SECRET"),
            request.body,
            "Shopify",
        )

    def parse(self, request: WebhookRequest, config: HubConfig) -> Delivery:
        topic = request.header("X-Shopify-Topic")
        shop = request.header("X-Shopify-Shop-Domain")
        webhook_id = request.header("X-Shopify-Webhook-Id")
        for name, value in (("X-Shopify-Topic", topic), ("X-Shopify-Shop-Domain", shop),
                            ("X-Shopify-Webhook-Id", webhook_id)):  # fmt: skip
            if not value:
                raise MalformedPayloadError(f"missing {name} header; Shopify sends it with every webhook")
        assert topic and shop and webhook_id
        body = load_json_object(request.body, "Shopify")
        dedupe_key = f"shopify:{shop}:{webhook_id}"
        if topic != "orders/create":
            return Delivery(dedupe_key, topic, [], ignored_reason=f"the hub does not use Shopify topic '{topic}'")
        try:
            order = ShopifyOrder.model_validate(body)
        except ValidationError as exc:
            raise MalformedPayloadError(f"not a Shopify order: {_problem(exc)}") from exc

        channel = config.channel_for("shopify", shop)
        provider = ProviderRef(
            topic=topic,
            event_id=request.header("X-Shopify-Event-Id"),
            delivery_id=webhook_id,
            account=shop,
            triggered_at=_parse_time(request.header("X-Shopify-Triggered-At")),
        )
        try:
            lines = [
                LineItem(
                    sku=item.sku,
                    quantity=item.quantity,
                    unit_price=parse_minor(item.price, order.currency),
                    title=item.title,
                    platform_line_id=str(item.id),
                )
                for item in order.line_items
                if item.sku  # custom items and gift cards carry no SKU and hold no stock
            ]
            total = parse_minor(order.total_price, order.currency)
        except (MoneyError, ValidationError) as exc:
            raise MalformedPayloadError(f"not a Shopify order: {exc}") from exc
        # The same order event, however delivered, gets the same canonical id.
        ident = ("event", provider.event_id) if provider.event_id else ("webhook", webhook_id)
        event = OrderPlaced(
            event_id=event_id_for("shopify", shop, *ident),
            source="shopify",
            channel=channel,
            occurred_at=order.created_at,
            provider=provider,
            data=OrderData(
                order_id=f"{channel}:{order.id}",
                platform_order_id=str(order.id),
                order_number=order.name or (str(order.order_number) if order.order_number else None),
                currency=order.currency.upper(),
                total=total,
                paid=order.financial_status == "paid",
                customer_email=order.email or (order.customer.email if order.customer else None),
                shipping_country=order.shipping_address.country_code if order.shipping_address else None,
                lines=lines,
                updated_at=order.updated_at,
            ),
        )
        return Delivery(dedupe_key, topic, [event])


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
