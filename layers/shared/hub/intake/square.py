"""Square: `x-square-hmacsha256-signature` over the notification URL + the raw body.

The URL is the subscription's notification URL as configured (SQUARE_NOTIFICATION_URL), never the
URL the request arrived on, which a proxy or API Gateway may have rewritten. Deliveries are
deduplicated on Square's `event_id`.

What each event type becomes:

    payment.created / payment.updated   PaymentSucceeded when the payment is COMPLETED, PaymentFailed
                                        when FAILED or CANCELED; ignored while APPROVED or PENDING
    refund.created / refund.updated     PaymentRefunded with status pending / completed / failed
                                        (consumers act on completed)
    inventory.count.updated             StockLevelReported for each IN_STOCK count (catalog object and
                                        location as platform ids; Square does not send the SKU)
    order.created / order.updated       ignored: Square orders are the point of sale's own, not
                                        storefront orders; their payments arrive as payment.* events
    anything else                       ignored

Square reports one payment state in several events (payment.created and payment.updated, and again
on every refund), so a payment's canonical id derives from the payment and its state, and a
refund's from the refund and its status: each state reaches consumers under one id.
The storefront order is `payment.reference_id`. Amounts are already minor units.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Annotated, Generic, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, StrictInt, TypeAdapter

from hub.config import HubConfig
from hub.errors import MalformedPayloadError, SignatureError
from hub.events import (
    MAX_STOCK_LEVEL,
    HubEvent,
    OrderReference,
    PaymentData,
    PaymentFailed,
    PaymentRefundData,
    PaymentRefunded,
    PaymentSucceeded,
    ProviderRef,
    StockLevelReported,
    StockReportData,
    event_id_for,
)
from hub.intake.envelopes import EventReader
from hub.intake.signatures import any_match, hmac_sha256_b64
from hub.ports import Delivery, WebhookRequest
from hub.secrets import SecretsProvider

__all__ = ["SquareEvent", "SquareSource"]

SIGNATURE_HEADER = "x-square-hmacsha256-signature"

T = TypeVar("T")
# Minor units exactly as the gateway sends them: a JSON integer, never a string or a float coerced.
Minor = StrictInt


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SquareMoney(_Wire):
    amount: Minor
    currency: str


class SquareCardError(_Wire):
    code: str | None = None
    category: str | None = None


class SquareCardDetails(_Wire):
    status: str | None = None
    errors: list[SquareCardError] = Field(default_factory=list)


class SquarePayment(_Wire):
    id: str
    status: str
    amount_money: SquareMoney
    reference_id: str | None = None
    order_id: str | None = None
    location_id: str | None = None
    buyer_email_address: str | None = None
    card_details: SquareCardDetails | None = None
    updated_at: datetime | None = None


class SquareRefund(_Wire):
    id: str
    status: str
    amount_money: SquareMoney
    payment_id: str
    order_id: str | None = None
    location_id: str | None = None
    reason: str | None = None


class SquareInventoryCount(_Wire):
    catalog_object_id: str
    catalog_object_type: str | None = None
    state: str
    location_id: str
    quantity: str
    calculated_at: datetime | None = None


class SquarePaymentObject(_Wire):
    payment: SquarePayment


class SquareRefundObject(_Wire):
    refund: SquareRefund


class SquareInventoryObject(_Wire):
    inventory_counts: list[SquareInventoryCount]


class SquareEventData(_Wire, Generic[T]):
    type: str | None = None
    id: str | None = None
    object: T


class _SquareEventBase(_Wire):
    merchant_id: str | None = None
    event_id: str
    created_at: datetime


class PaymentEvent(_SquareEventBase):
    type: Literal["payment.created", "payment.updated"]
    data: SquareEventData[SquarePaymentObject]


class RefundEvent(_SquareEventBase):
    type: Literal["refund.created", "refund.updated"]
    data: SquareEventData[SquareRefundObject]


class InventoryCountEvent(_SquareEventBase):
    type: Literal["inventory.count.updated"]
    data: SquareEventData[SquareInventoryObject]


SquareEvent = Annotated[PaymentEvent | RefundEvent | InventoryCountEvent, Field(discriminator="type")]
_EVENT: TypeAdapter[SquareEvent] = TypeAdapter(SquareEvent)
HANDLED_TYPES: frozenset[str] = frozenset(
    name
    for model in (PaymentEvent, RefundEvent, InventoryCountEvent)
    for name in get_args(model.model_fields["type"].annotation)
)
_IGNORED_WHY = {
    "order.created": "Square orders are the point of sale's own; their payments arrive as payment events",
    "order.updated": "Square orders are the point of sale's own; their payments arrive as payment events",
}


class _Envelope(_Wire):
    event_id: str
    type: str


_READER = EventReader("Square", _Envelope, _EVENT, envelope_name="Square webhook event")


class SquareSource:
    name = "square"

    def verify(self, request: WebhookRequest, secrets: SecretsProvider) -> None:
        header = request.header(SIGNATURE_HEADER)
        if not header:
            raise SignatureError(f"missing {SIGNATURE_HEADER} header; Square signs every webhook")
        keys = secrets.candidates("SQUARE_WEBHOOK_SIGNATURE_KEY")
        if not keys:
            raise SignatureError("no Square webhook signature key is configured, so the signature cannot be checked")
        urls = secrets.candidates("SQUARE_NOTIFICATION_URL")
        if not urls:
            raise SignatureError(
                "no SQUARE_NOTIFICATION_URL is configured; Square signs the subscription's notification URL "
                "with the body, so the signature cannot be checked"
            )
        # Every key with every URL (either may be mid-rotation).
        expected = [hmac_sha256_b64(key, url.encode() + request.body) for url in urls for key in keys]
        if not any_match(expected, [header]):
            raise SignatureError(
                f"the {SIGNATURE_HEADER} signature does not match the body; check the Square signature key "
                "and that SQUARE_NOTIFICATION_URL is exactly the subscription's notification URL"
            )

    def parse(self, request: WebhookRequest, config: HubConfig) -> Delivery:
        body, envelope = _READER.envelope(request.body)
        dedupe_key = f"square:{envelope.event_id}"
        topic = envelope.type
        if topic not in HANDLED_TYPES:
            reason = _IGNORED_WHY.get(topic, f"the hub does not use Square event type '{topic[:80]}'")
            return Delivery(dedupe_key, topic, [], ignored_reason=reason)
        event = _READER.event(body, topic)
        events, why_none = _translate(event, config)
        if not events:
            return Delivery(dedupe_key, topic, [], ignored_reason=why_none)
        return Delivery(dedupe_key, topic, events)


# --- translation into canonical events, all in one place -------------------------------------------


def _channel(config: HubConfig) -> str:
    gateway = config.gateways.get("square")
    return gateway.channel if gateway else "square"


def _failure(payment: SquarePayment) -> str:
    errors = payment.card_details.errors if payment.card_details else []
    code = next((e.code for e in errors if e.code), None)
    return code.lower() if code else payment.status.lower()


def _refund_status(status: str) -> str:
    return {"COMPLETED": "completed", "PENDING": "pending"}.get(status.upper(), "failed")


def _whole_units(quantity: str, where: str) -> int:
    """Square counts are decimal strings (measured items can be fractional); the hub counts whole units."""
    try:
        value = Decimal(quantity)
    except InvalidOperation as exc:
        raise MalformedPayloadError(f"not a Square inventory.count.updated event: '{where}' is not a number") from exc
    if not value.is_finite():
        raise MalformedPayloadError(f"not a Square inventory.count.updated event: '{where}' is not a number")
    if value.copy_abs() > MAX_STOCK_LEVEL:  # before int(): "1e999999" is a few bytes and a huge integer
        raise MalformedPayloadError(
            f"not a Square inventory.count.updated event: '{where}' is beyond {MAX_STOCK_LEVEL} units"
        )
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def _translate(event: SquareEvent, config: HubConfig) -> tuple[list[HubEvent], str | None]:
    provider = ProviderRef(topic=event.type, event_id=event.event_id, account=event.merchant_id)
    common = {"source": "square", "occurred_at": event.created_at, "provider": provider}

    if isinstance(event, PaymentEvent):
        payment = event.data.object.payment
        status = payment.status.upper()
        if status not in ("COMPLETED", "FAILED", "CANCELED"):
            return [], f"the Square payment is {status}; the hub acts once it is COMPLETED, FAILED or CANCELED"
        data = {
            "gateway": "square",
            "payment_id": payment.id,
            "amount": payment.amount_money.amount,
            "currency": payment.amount_money.currency.upper(),
            "reference": OrderReference(order_id=(payment.reference_id or "").strip() or None),
            "customer_email": payment.buyer_email_address,
        }
        if status == "COMPLETED":
            succeeded = PaymentSucceeded(
                **common,
                event_id=event_id_for("square", "PaymentSucceeded", payment.id),
                channel=_channel(config),
                data=PaymentData(**data),
            )
            return [succeeded], None
        failed = PaymentFailed(
            **common,
            event_id=event_id_for("square", "PaymentFailed", payment.id),
            channel=_channel(config),
            data=PaymentData(**data, failure_reason=_failure(payment)),
        )
        return [failed], None

    if isinstance(event, RefundEvent):
        refund = event.data.object.refund
        status = _refund_status(refund.status)
        refunded = PaymentRefunded(
            **common,
            event_id=event_id_for("square", "PaymentRefunded", refund.id, status),
            channel=_channel(config),
            data=PaymentRefundData(
                gateway="square",
                payment_id=refund.payment_id,
                refund_id=refund.id,
                amount=refund.amount_money.amount,
                currency=refund.amount_money.currency.upper(),
                status=status,
            ),
        )
        return [refunded], None

    reports: list[HubEvent] = []
    for index, count in enumerate(event.data.object.inventory_counts):
        if count.state != "IN_STOCK":
            continue  # SOLD, WASTE, IN_TRANSIT_TO and the like are not what is on the shelf
        where = f"data.object.inventory_counts.{index}.quantity"
        reports.append(
            StockLevelReported(
                **common,
                event_id=event_id_for("square", event.event_id, count.catalog_object_id, count.location_id),
                channel="square",  # the point of sale's own stock, whichever storefront Square payments serve
                data=StockReportData(
                    sku=None,
                    available=_whole_units(count.quantity, where),
                    platform_location_id=count.location_id,
                    platform_item_id=count.catalog_object_id,
                    updated_at=count.calculated_at,
                ),
            )
        )
    return reports, None if reports else "no IN_STOCK count in this inventory update"
