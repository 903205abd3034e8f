"""Stripe: `Stripe-Signature` read once and checked over the raw bytes; deduplicated on the event id.

What each event type becomes:

    payment_intent.succeeded                  PaymentSucceeded (amount_received)
    payment_intent.payment_failed             PaymentFailed, reason from last_payment_error
    payment_intent.canceled                   PaymentFailed, reason "canceled"
    charge.refunded                           PaymentRefunded (this refund's amount; payment_amount = charge amount)
    charge.dispute.created                    PaymentDisputed, status opened
    charge.dispute.closed                     PaymentDisputed, won / lost (closed for any other outcome)
    checkout.session.completed                PaymentSucceeded when payment_status is "paid"; ignored while an
                                              asynchronous payment is still processing, or when nothing was due
    checkout.session.async_payment_succeeded  PaymentSucceeded
    checkout.session.async_payment_failed     PaymentFailed
    checkout.session.expired                  CheckoutExpired
    anything else (and thin v2 notifications) ignored

The storefront order comes from the metadata the WooCommerce Stripe plugin sets (`order_id` is the
order number, with `order_key` and `site_url`; a `channel` key names the channel outright).
A payment succeeds once: its PaymentSucceeded id derives from the PaymentIntent, so the
`checkout.session.completed` and `payment_intent.succeeded` of one payment are one canonical event.
Every other event's id derives from Stripe's event id.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Generic, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, StrictInt, TypeAdapter

from hub.config import HubConfig
from hub.errors import MalformedPayloadError, SignatureError
from hub.events import (
    CheckoutData,
    CheckoutExpired,
    DisputeData,
    HubEvent,
    OrderReference,
    PaymentData,
    PaymentDisputed,
    PaymentFailed,
    PaymentRefundData,
    PaymentRefunded,
    PaymentSucceeded,
    ProviderRef,
    event_id_for,
)
from hub.intake.envelopes import EventReader
from hub.intake.signatures import any_match
from hub.ports import Delivery, WebhookRequest
from hub.secrets import SecretsProvider

__all__ = ["DEFAULT_TOLERANCE", "StripeEvent", "StripeSignatureHeader", "StripeSource", "parse_signature_header"]

DEFAULT_TOLERANCE = 300  # seconds; the stripe SDK's own default
SIGNATURE_HEADER = "Stripe-Signature"

T = TypeVar("T")
# Minor units exactly as the gateway sends them: a JSON integer, never a string or a float coerced.
Minor = StrictInt


class _Wire(BaseModel):
    # Stripe adds fields with every API version; only what the hub reads is declared.
    model_config = ConfigDict(extra="ignore")


class StripeLastPaymentError(_Wire):
    type: str | None = None
    code: str | None = None
    decline_code: str | None = None
    message: str | None = None


class StripePaymentIntent(_Wire):
    object: Literal["payment_intent"]
    id: str
    amount: Minor
    amount_received: Minor = 0
    currency: str
    status: str
    metadata: dict[str, str] = Field(default_factory=dict)
    receipt_email: str | None = None
    last_payment_error: StripeLastPaymentError | None = None
    cancellation_reason: str | None = None


class StripeRefund(_Wire):
    id: str
    amount: Minor
    status: str | None = None
    created: int = 0


class StripeRefundList(_Wire):
    data: list[StripeRefund] = Field(default_factory=list)


class StripeBillingDetails(_Wire):
    email: str | None = None


class StripeCharge(_Wire):
    object: Literal["charge"]
    id: str
    amount: Minor
    amount_refunded: Minor
    currency: str
    refunded: bool = False
    payment_intent: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    receipt_email: str | None = None
    billing_details: StripeBillingDetails | None = None
    # Expanded only by endpoints pinned to API versions before 2022-11-15.
    refunds: StripeRefundList | None = None


class StripeDispute(_Wire):
    object: Literal["dispute"]
    id: str
    amount: Minor
    currency: str
    charge: str
    payment_intent: str | None = None
    reason: str | None = None
    status: str
    metadata: dict[str, str] = Field(default_factory=dict)


class StripeCustomerDetails(_Wire):
    email: str | None = None


class StripeRecovery(_Wire):
    url: str | None = None


class StripeAfterExpiration(_Wire):
    recovery: StripeRecovery | None = None


class StripeCheckoutSession(_Wire):
    object: Literal["checkout.session"]
    id: str
    mode: str | None = None
    status: str | None = None
    payment_status: str
    amount_total: Minor | None = None
    currency: str | None = None
    payment_intent: str | None = None
    client_reference_id: str | None = None
    customer_email: str | None = None
    customer_details: StripeCustomerDetails | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    after_expiration: StripeAfterExpiration | None = None


class StripeEventData(_Wire, Generic[T]):
    object: T
    previous_attributes: dict | None = None


class _StripeEventBase(_Wire):
    id: str
    object: Literal["event"]
    created: int = Field(ge=0, le=253_402_300_799, description="unix seconds")
    account: str | None = None
    livemode: bool | None = None
    api_version: str | None = None


class PaymentIntentEvent(_StripeEventBase):
    type: Literal["payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled"]
    data: StripeEventData[StripePaymentIntent]


class ChargeRefundedEvent(_StripeEventBase):
    type: Literal["charge.refunded"]
    data: StripeEventData[StripeCharge]


class DisputeEvent(_StripeEventBase):
    type: Literal["charge.dispute.created", "charge.dispute.closed"]
    data: StripeEventData[StripeDispute]


class CheckoutSessionEvent(_StripeEventBase):
    type: Literal[
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
    ]
    data: StripeEventData[StripeCheckoutSession]


StripeEvent = Annotated[
    PaymentIntentEvent | ChargeRefundedEvent | DisputeEvent | CheckoutSessionEvent,
    Field(discriminator="type"),
]
_EVENT: TypeAdapter[StripeEvent] = TypeAdapter(StripeEvent)
HANDLED_TYPES: frozenset[str] = frozenset(
    name
    for model in (PaymentIntentEvent, ChargeRefundedEvent, DisputeEvent, CheckoutSessionEvent)
    for name in get_args(model.model_fields["type"].annotation)
)


class _Envelope(_Wire):
    """Enough of any Stripe notification to decide whether the hub reads it."""

    id: str
    type: str
    object: str = "event"


_READER = EventReader("Stripe", _Envelope, _EVENT, envelope_name="Stripe event")


@dataclass(frozen=True)
class StripeSignatureHeader:
    """The one reading of a `Stripe-Signature` header that both the signature and the window use."""

    timestamp: int
    signatures: tuple[str, ...]


def parse_signature_header(header: str) -> StripeSignatureHeader:
    """Read `t=<unix>,v1=<hex>[,v1=<hex>...][,v0=...]` exactly as Stripe writes it.

    Stripe sends comma-separated `key=value` elements with no spaces, one `t`, and one `v1` per
    signing secret; other schemes (`v0`) are ignored. The SDKs disagree on a header Stripe never
    sends: stripe-python takes the first element keyed exactly `t`, stripe-node the last, and a
    reader that strips spaces sees ` t=` too. So `v1=<sig>, t=9999999999,t=<old>` could be signed
    for one `t` and checked against the clock with another, replaying a captured delivery for
    ever. Rather than pick one of those readings, such a header is refused: exactly one element
    whose key is `t` (spaces or not), holding only digits.
    """
    if not header.isascii():
        raise SignatureError(f"the {SIGNATURE_HEADER} header is not ASCII; Stripe sends t=...,v1=<hex>")
    elements = [element.partition("=") for element in header.split(",")]
    stamps = [value for key, _, value in elements if key.strip() == "t"]
    if not stamps:
        raise SignatureError(f"the {SIGNATURE_HEADER} header has no t= timestamp; Stripe sends t=...,v1=...")
    if len(stamps) > 1:
        raise SignatureError(f"the {SIGNATURE_HEADER} header has {len(stamps)} t= timestamps; Stripe sends exactly one")
    if any(key.strip() == "t" and key != "t" for key, _, _ in elements):
        raise SignatureError(f"the {SIGNATURE_HEADER} header has spaces around t=; Stripe sends none")
    stamp = stamps[0]
    if not (stamp.isdigit() and len(stamp) <= 12):
        raise SignatureError(f"the {SIGNATURE_HEADER} t= is not unix seconds; Stripe sends t=<digits>")
    signatures = tuple(value for key, sep, value in elements if key == "v1" and sep and value)
    if not signatures:
        raise SignatureError(f"the {SIGNATURE_HEADER} header has no v1 signature; Stripe sends t=...,v1=...")
    return StripeSignatureHeader(int(stamp), signatures)


def _v1(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


class StripeSource:
    """`clock` (unix seconds) and `tolerance` are arguments so staleness can be tested."""

    name = "stripe"
    handled_types = HANDLED_TYPES  # hub.ports.EventTypeSource: Stripe's change feed lists only these

    def __init__(self, *, clock: Callable[[], float] = time.time, tolerance: int = DEFAULT_TOLERANCE) -> None:
        self._clock = clock
        self._tolerance = tolerance

    def verify(self, request: WebhookRequest, secrets: SecretsProvider) -> None:
        header = request.header(SIGNATURE_HEADER)
        if not header:
            raise SignatureError(f"missing {SIGNATURE_HEADER} header; Stripe signs every webhook")
        candidates = secrets.candidates("STRIPE_WEBHOOK_SECRET")
        if not candidates:
            raise SignatureError("no Stripe webhook secret is configured, so the signature cannot be checked")
        reading = parse_signature_header(header)
        # Every secret against every v1; the bytes signed are the raw body, exactly as received.
        expected = [_v1(secret, reading.timestamp, request.body) for secret in candidates]
        if not any_match(expected, reading.signatures):
            raise SignatureError(
                f"the {SIGNATURE_HEADER} signature does not match the body; check STRIPE_WEBHOOK_SECRET "
                "(the endpoint's whsec_ signing secret)"
            )
        # The window uses the very t the signature covers: too old is a replay, too far ahead is a
        # timestamp an attacker chose (or a clock that is wrong) and would outlive the window.
        age = int(self._clock()) - reading.timestamp
        if age > self._tolerance:
            raise SignatureError(
                f"the {SIGNATURE_HEADER} timestamp is {age} s old and the hub accepts {self._tolerance} s: "
                "a replayed delivery, or a clock that is wrong"
            )
        if -age > self._tolerance:
            raise SignatureError(
                f"the {SIGNATURE_HEADER} timestamp is {-age} s in the future and the hub accepts "
                f"{self._tolerance} s: a forged timestamp, or a clock that is wrong"
            )

    def parse(self, request: WebhookRequest, config: HubConfig) -> Delivery:
        body, envelope = _READER.envelope(request.body)
        dedupe_key = f"stripe:{envelope.id}"
        if envelope.object != "event":
            reason = f"the hub does not use Stripe '{envelope.object[:40]}' notifications"
            return Delivery(dedupe_key, envelope.type, [], ignored_reason=reason)
        if envelope.type not in HANDLED_TYPES:
            reason = f"the hub does not use Stripe event type '{envelope.type[:80]}'"
            return Delivery(dedupe_key, envelope.type, [], ignored_reason=reason)
        event = _READER.event(body, envelope.type)
        return _translate(event, config, dedupe_key)


# --- translation into canonical events, all in one place -------------------------------------------


def _text(metadata: Mapping[str, str], key: str) -> str | None:
    value = metadata.get(key)
    return (value.strip() or None) if isinstance(value, str) else None


def _reference(metadata: Mapping[str, str], *, order_id: str | None = None) -> OrderReference:
    return OrderReference(
        order_id=_text(metadata, "order_id") or order_id,
        order_key=_text(metadata, "order_key"),
        site_url=_text(metadata, "site_url"),
        channel=_text(metadata, "channel"),
    )


def _channel(reference: OrderReference, config: HubConfig) -> str:
    """The payment's own channel, else a storefront whose site URL it names, else the gateway's."""
    if reference.channel:
        return reference.channel
    if reference.site_url:
        site = reference.site_url.rstrip("/")
        for name, channel in config.channels.items():
            if channel.site_url and channel.site_url.rstrip("/") == site:
                return name
    gateway = config.gateways.get("stripe")
    return gateway.channel if gateway else "stripe"


def _failure(error: StripeLastPaymentError | None) -> str:
    if error is None:
        return "payment_failed"
    code = error.code or error.type or "payment_failed"
    return f"{code} ({error.decline_code})" if error.decline_code and error.decline_code != code else code


def _refund_status(status: str | None) -> str:
    return {"succeeded": "completed", "pending": "pending", "requires_action": "pending"}.get(
        status or "succeeded", "failed"
    )


def _dispute_status(event_type: str, status: str) -> Literal["opened", "won", "lost", "closed"]:
    if event_type == "charge.dispute.created":
        return "opened"
    if status == "won":
        return "won"
    if status == "lost":
        return "lost"
    return "closed"  # warning_closed (an inquiry that never became a chargeback), or a newer outcome


def _translate(event: StripeEvent, config: HubConfig, dedupe_key: str) -> Delivery:
    occurred_at = datetime.fromtimestamp(event.created, UTC)
    provider = ProviderRef(topic=event.type, event_id=event.id, account=event.account)
    by_event = event_id_for("stripe", event.id)

    def common(event_id: str, reference: OrderReference) -> dict:
        return {
            "event_id": event_id,
            "source": "stripe",
            "channel": _channel(reference, config),
            "occurred_at": occurred_at,
            "provider": provider,
        }

    canonical: HubEvent
    if isinstance(event, PaymentIntentEvent):
        intent = event.data.object
        reference = _reference(intent.metadata)
        fields = {
            "gateway": "stripe",
            "payment_id": intent.id,
            "currency": intent.currency.upper(),
            "reference": reference,
            "customer_email": intent.receipt_email or _text(intent.metadata, "customer_email"),
        }
        if event.type == "payment_intent.succeeded":
            canonical = PaymentSucceeded(
                **common(event_id_for("stripe", "PaymentSucceeded", intent.id), reference),
                data=PaymentData(**fields, amount=intent.amount_received or intent.amount),
            )
        else:
            reason = "canceled" if event.type == "payment_intent.canceled" else _failure(intent.last_payment_error)
            canonical = PaymentFailed(
                **common(by_event, reference),
                data=PaymentData(**fields, amount=intent.amount, failure_reason=reason),
            )

    elif isinstance(event, ChargeRefundedEvent):
        charge = event.data.object
        reference = _reference(charge.metadata)
        refunds = charge.refunds.data if charge.refunds else []
        if refunds:
            latest = max(refunds, key=lambda r: r.created)
            refund_id, amount, status = latest.id, latest.amount, _refund_status(latest.status)
        else:
            # Newer API versions leave the refund list out. This refund is what moved since the
            # previous state, and the charge with its refunded total names it for good.
            previous = (event.data.previous_attributes or {}).get("amount_refunded")
            amount = charge.amount_refunded - previous if isinstance(previous, int) else charge.amount_refunded
            refund_id, status = f"{charge.id}:refunded:{charge.amount_refunded}", "completed"
        canonical = PaymentRefunded(
            **common(by_event, reference),
            data=PaymentRefundData(
                gateway="stripe",
                payment_id=charge.payment_intent or charge.id,
                refund_id=refund_id,
                amount=amount,
                currency=charge.currency.upper(),
                payment_amount=charge.amount,
                reference=reference,
                status=status,
            ),
        )

    elif isinstance(event, DisputeEvent):
        dispute = event.data.object
        reference = _reference(dispute.metadata)
        canonical = PaymentDisputed(
            **common(by_event, reference),
            data=DisputeData(
                gateway="stripe",
                dispute_id=dispute.id,
                payment_id=dispute.payment_intent or dispute.charge,
                amount=dispute.amount,
                currency=dispute.currency.upper(),
                status=_dispute_status(event.type, dispute.status),
                reason=dispute.reason,
                reference=reference,
            ),
        )

    else:
        session = event.data.object
        reference = _reference(session.metadata, order_id=session.client_reference_id)
        email = (session.customer_details.email if session.customer_details else None) or session.customer_email
        if event.type == "checkout.session.expired":
            recovery = session.after_expiration.recovery if session.after_expiration else None
            canonical = CheckoutExpired(
                **common(by_event, reference),
                data=CheckoutData(
                    checkout_id=session.id,
                    customer_email=email,
                    currency=session.currency.upper() if session.currency else None,
                    total=session.amount_total,
                    recovery_url=recovery.url if recovery else None,
                    updated_at=occurred_at,
                ),
            )
            return Delivery(dedupe_key, event.type, [canonical])
        if event.type == "checkout.session.completed" and session.payment_status != "paid":
            reason = (
                "the checkout completed with nothing to pay"
                if session.payment_status == "no_payment_required"
                else "the checkout's payment is still processing; "
                "checkout.session.async_payment_succeeded or _failed follows"
            )
            return Delivery(dedupe_key, event.type, [], ignored_reason=reason)
        if session.amount_total is None or not session.currency:
            missing = "amount_total" if session.amount_total is None else "currency"
            raise MalformedPayloadError(f"not a Stripe {event.type} event: 'data.object.{missing}' is missing")
        payment_id = session.payment_intent or session.id
        payment = PaymentData(
            gateway="stripe",
            payment_id=payment_id,
            amount=session.amount_total,
            currency=session.currency.upper(),
            reference=reference,
            customer_email=email,
            failure_reason="async_payment_failed" if event.type.endswith("async_payment_failed") else None,
        )
        if payment.failure_reason:
            canonical = PaymentFailed(**common(by_event, reference), data=payment)
        else:
            canonical = PaymentSucceeded(
                **common(event_id_for("stripe", "PaymentSucceeded", payment_id), reference), data=payment
            )
    return Delivery(dedupe_key, event.type, [canonical])
