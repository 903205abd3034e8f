"""PayPal: offline verification of PAYPAL-TRANSMISSION-SIG against PayPal's certificate.

PayPal signs `transmission_id|transmission_time|webhook_id|crc32(raw body)` with SHA256withRSA
(PKCS#1 v1.5); `webhook_id` is this hub's subscription id (PAYPAL_WEBHOOK_ID), never read from the
request, so a delivery meant for another listener does not verify here.

PAYPAL-TRANSMISSION-TIME is signed, and must lie within MAX_TRANSMISSION_AGE (84 h: PayPal's 3 days
of retries and a margin, inside the 4 days intake remembers event ids) and no more than 5 minutes
ahead; it is checked before anything is fetched.

The certificate comes from PAYPAL-CERT-URL, fetched (hub.intake.keyfetch) only when that URL is https
on one of PayPal's own API hosts (no other port, no user info, no query), without redirects, size-
capped, checked (currently valid, issued to a paypal.com name) and cached per URL for the life of
the sandbox; failed fetches are remembered briefly, so forged requests cannot make every call wait
on PayPal. Trust rests on TLS to those hosts. When the secret holds PAYPAL_CERT (locally, the file
PAYPAL_CERT_FILE names, or the checkout's own generated certificate), that certificate is trusted
instead and nothing is fetched; the URL must still be one of PayPal's.

What each event type becomes:

    PAYMENT.CAPTURE.COMPLETED           PaymentSucceeded
    PAYMENT.CAPTURE.DENIED / .DECLINED  PaymentFailed (reason from status_details, else "denied"/"declined")
    PAYMENT.CAPTURE.REFUNDED            PaymentRefunded (the refund; the capture from its rel=up link)
    PAYMENT.CAPTURE.REVERSED            PaymentRefunded: PayPal took the money back (a chargeback or an
                                        unauthorised-payment claim), so for the order it is a refund that
                                        has already happened, whatever the merchant does
    CUSTOMER.DISPUTE.CREATED            PaymentDisputed, status opened
    CUSTOMER.DISPUTE.RESOLVED           PaymentDisputed, won / lost from dispute_outcome.outcome_code
    CHECKOUT.ORDER.APPROVED             ignored: the buyer approved, but nothing is captured yet
    anything else                       ignored

The storefront order comes from `custom_id` (the order id) and `invoice_id` (WooCommerce PayPal
Payments sends prefix + order number). Amounts are decimal strings, parsed exactly.
"""

from __future__ import annotations

import base64
import binascii
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Literal, get_args
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from hub.config import HubConfig
from hub.errors import MalformedPayloadError, MoneyError, SignatureError
from hub.events import (
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
from hub.intake.keyfetch import FetchPolicy, KeyFetcher
from hub.money import parse_minor
from hub.ports import Delivery, WebhookRequest
from hub.secrets import SecretsProvider

if TYPE_CHECKING:
    import httpx
    from cryptography.x509 import Certificate

__all__ = ["MAX_TRANSMISSION_AGE", "MAX_TRANSMISSION_AHEAD", "PAYPAL_CERT_HOSTS", "PayPalEvent", "PayPalSource"]

# PayPal's own REST API hosts, live and sandbox: the only places a certificate is fetched from.
PAYPAL_CERT_HOSTS: frozenset[str] = frozenset(
    {"api.paypal.com", "api-m.paypal.com", "api.sandbox.paypal.com", "api-m.sandbox.paypal.com"}
)
AUTH_ALGO = "SHA256withRSA"
MAX_CERT_BYTES = 64 * 1024
# How old a transmission may be. PayPal retries a delivery up to 25 times over 3 days; whether a
# retry is signed with a fresh transmission time is not documented in so many words, so the window
# spans the whole retry schedule plus a margin, and stays inside the 4 days for which intake
# remembers event ids: any replay the window lets through is a duplicate, and no older one passes.
MAX_TRANSMISSION_AGE = timedelta(hours=84)
# How far ahead of the hub's clock a transmission time may be: clock skew, not a chosen timestamp.
MAX_TRANSMISSION_AHEAD = timedelta(minutes=5)
CERT_POLICY = FetchPolicy(
    max_bytes=MAX_CERT_BYTES,
    vendor="PayPal",
    header="PAYPAL-CERT-URL",
    hosts=PAYPAL_CERT_HOSTS,
    path_prefix="/v1/notifications/certs/",
    noun="certificate",
    hosts_are="API hosts",
)

TRANSMISSION_ID = "PAYPAL-TRANSMISSION-ID"
TRANSMISSION_TIME = "PAYPAL-TRANSMISSION-TIME"
TRANSMISSION_SIG = "PAYPAL-TRANSMISSION-SIG"
CERT_URL = "PAYPAL-CERT-URL"
AUTH_ALGO_HEADER = "PAYPAL-AUTH-ALGO"
_SIGNED_HEADERS = (TRANSMISSION_ID, TRANSMISSION_TIME, TRANSMISSION_SIG, CERT_URL, AUTH_ALGO_HEADER)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PayPalMoney(_Wire):
    currency_code: str
    value: str


class PayPalLink(_Wire):
    href: str
    rel: str
    method: str | None = None


class PayPalStatusDetails(_Wire):
    reason: str | None = None


class PayPalRelatedIds(_Wire):
    order_id: str | None = None


class PayPalSupplementaryData(_Wire):
    related_ids: PayPalRelatedIds | None = None


class PayPalCapture(_Wire):
    id: str
    status: str
    amount: PayPalMoney
    custom_id: str | None = None
    invoice_id: str | None = None
    status_details: PayPalStatusDetails | None = None
    supplementary_data: PayPalSupplementaryData | None = None
    links: list[PayPalLink] = Field(default_factory=list)


class PayPalRefund(_Wire):
    id: str
    status: str
    amount: PayPalMoney
    custom_id: str | None = None
    invoice_id: str | None = None
    note_to_payer: str | None = None
    links: list[PayPalLink] = Field(default_factory=list)


class PayPalDisputedTransaction(_Wire):
    seller_transaction_id: str | None = None
    custom: str | None = None
    invoice_number: str | None = None


class PayPalDisputeOutcome(_Wire):
    outcome_code: str | None = None
    amount_refunded: PayPalMoney | None = None


class PayPalDispute(_Wire):
    dispute_id: str
    status: str | None = None
    reason: str | None = None
    dispute_amount: PayPalMoney | None = None
    dispute_outcome: PayPalDisputeOutcome | None = None
    disputed_transactions: list[PayPalDisputedTransaction] = Field(default_factory=list)


class _PayPalEventBase(_Wire):
    id: str
    create_time: datetime
    resource_type: str | None = None
    event_version: str | None = None
    summary: str | None = None


class CaptureEvent(_PayPalEventBase):
    event_type: Literal["PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.DECLINED"]
    resource: PayPalCapture


class RefundEvent(_PayPalEventBase):
    event_type: Literal["PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED"]
    resource: PayPalRefund


class DisputeEvent(_PayPalEventBase):
    event_type: Literal["CUSTOMER.DISPUTE.CREATED", "CUSTOMER.DISPUTE.RESOLVED"]
    resource: PayPalDispute


PayPalEvent = Annotated[CaptureEvent | RefundEvent | DisputeEvent, Field(discriminator="event_type")]
_EVENT: TypeAdapter[PayPalEvent] = TypeAdapter(PayPalEvent)
HANDLED_TYPES: frozenset[str] = frozenset(
    name
    for model in (CaptureEvent, RefundEvent, DisputeEvent)
    for name in get_args(model.model_fields["event_type"].annotation)
)
_IGNORED_WHY = {
    "CHECKOUT.ORDER.APPROVED": "the buyer approved a PayPal order, but nothing is captured yet; "
    "the hub acts on PAYMENT.CAPTURE.COMPLETED",
}


class _Envelope(_Wire):
    id: str
    event_type: str


_READER = EventReader("PayPal", _Envelope, _EVENT, envelope_name="PayPal webhook event")


def _load_certificate(pem: bytes) -> Certificate:
    """PayPal's signing certificate from the document at PAYPAL-CERT-URL: issued to a paypal.com name."""
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificates(pem)[0]  # the signing certificate comes first
    except ValueError as exc:
        raise SignatureError(f"the document at {CERT_URL} is not a PEM certificate") from exc
    names = _names(cert)
    if not any(_is_paypal_name(name) for name in names):
        shown = ", ".join(n[:60] for n in names[:3]) or "no name"
        raise SignatureError(f"the certificate at {CERT_URL} is not issued to a paypal.com name ({shown})")
    return cert


def _transmission_time(value: str) -> datetime:
    """PAYPAL-TRANSMISSION-TIME (RFC 3339, e.g. 2015-05-18T15:45:13Z) as an aware datetime."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise SignatureError(
            f"the {TRANSMISSION_TIME} '{value[:40]}' is not a date and time with its offset, as PayPal sends it"
        )
    return parsed


def _is_paypal_name(name: str) -> bool:
    name = name.lower().rstrip(".")
    return name == "paypal.com" or name.endswith(".paypal.com")


def _names(cert: Certificate) -> list[str]:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    names = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return names
    return names + [str(n) for n in san.get_values_for_type(x509.DNSName)]


class PayPalSource:
    """`http` (an httpx.Client) and `clock` are arguments with lazy defaults, so tests hand in their own."""

    name = "paypal"

    def __init__(
        self,
        *,
        http: httpx.Client | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._certs: KeyFetcher[Certificate] = KeyFetcher(
            CERT_POLICY, _load_certificate, http=http, monotonic=monotonic
        )
        self._configured: tuple[str, list[Certificate]] | None = None

    # --- verification -------------------------------------------------------------------------

    def verify(self, request: WebhookRequest, secrets: SecretsProvider) -> None:
        values = {name: request.header(name) for name in _SIGNED_HEADERS}
        for name, value in values.items():
            if not value:
                raise SignatureError(f"missing {name} header; PayPal signs every webhook with it")
        transmission_id, transmission_time = values[TRANSMISSION_ID], values[TRANSMISSION_TIME]
        algo, url, signature_b64 = values[AUTH_ALGO_HEADER], values[CERT_URL], values[TRANSMISSION_SIG]
        assert transmission_id and transmission_time and algo and url and signature_b64
        if algo != AUTH_ALGO:
            raise SignatureError(f"{AUTH_ALGO_HEADER} '{algo[:40]}' is not supported; PayPal signs with {AUTH_ALGO}")
        self._require_recent(transmission_time)
        self._certs.check(url)
        webhook_ids = secrets.candidates("PAYPAL_WEBHOOK_ID")
        if not webhook_ids:
            raise SignatureError(
                "no PayPal webhook id (PAYPAL_WEBHOOK_ID) is configured, so the signature cannot be checked"
            )
        try:
            signature = base64.b64decode(signature_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SignatureError(f"the {TRANSMISSION_SIG} header is not base64") from exc

        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        keys = [cert.public_key() for cert in self._certificates(url, secrets)]
        crc = zlib.crc32(request.body) & 0xFFFFFFFF
        for key in keys:
            if not isinstance(key, rsa.RSAPublicKey):
                continue
            for webhook_id in webhook_ids:
                message = f"{transmission_id}|{transmission_time}|{webhook_id}|{crc}".encode()
                try:
                    key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
                except InvalidSignature:
                    continue
                return
        if not any(isinstance(key, rsa.RSAPublicKey) for key in keys):
            raise SignatureError("PayPal's certificate does not hold an RSA key, so it cannot check SHA256withRSA")
        raise SignatureError(
            f"the {TRANSMISSION_SIG} signature does not match this body for this hub's PAYPAL_WEBHOOK_ID; "
            "check the webhook id, or the body was changed"
        )

    def _certificates(self, url: str, secrets: SecretsProvider) -> list[Certificate]:
        """The certificates whose keys may have signed: the configured ones, else PayPal's at `url`."""
        configured = secrets.get("PAYPAL_CERT")
        if configured:
            return self._configured_certificates(configured)
        cert = self._certs.get(url)
        self._require_current(cert, "PayPal's certificate")
        return [cert]

    def _configured_certificates(self, pem: str) -> list[Certificate]:
        if self._configured is None or self._configured[0] != pem:
            from cryptography import x509

            try:
                certs = x509.load_pem_x509_certificates(pem.encode())
            except ValueError as exc:
                raise SignatureError("the configured PAYPAL_CERT is not a PEM certificate") from exc
            self._configured = (pem, certs)
        certs = self._configured[1]
        current = [cert for cert in certs if self._is_current(cert)]
        if not current:
            self._require_current(certs[0], "the configured PAYPAL_CERT")
        return current

    def _require_recent(self, transmission_time: str) -> None:
        sent = _transmission_time(transmission_time)
        now = self._clock()
        if now - sent > MAX_TRANSMISSION_AGE:
            raise SignatureError(
                f"the {TRANSMISSION_TIME} {transmission_time[:40]} is more than "
                f"{MAX_TRANSMISSION_AGE.total_seconds() / 3600:.0f} h old, beyond PayPal's 3 days of retries: "
                "a replayed delivery, or a clock that is wrong"
            )
        if sent - now > MAX_TRANSMISSION_AHEAD:
            raise SignatureError(
                f"the {TRANSMISSION_TIME} {transmission_time[:40]} is more than "
                f"{MAX_TRANSMISSION_AHEAD.total_seconds() / 60:.0f} min in the future: a forged time, "
                "or a clock that is wrong"
            )

    def _is_current(self, cert: Certificate) -> bool:
        now = self._clock()
        return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc

    def _require_current(self, cert: Certificate, what: str) -> None:
        now = self._clock()
        if now < cert.not_valid_before_utc:
            raise SignatureError(f"{what} is not valid before {cert.not_valid_before_utc.isoformat()}")
        if now > cert.not_valid_after_utc:
            raise SignatureError(f"{what} expired on {cert.not_valid_after_utc.isoformat()}")

    # --- parsing ------------------------------------------------------------------------------

    def parse(self, request: WebhookRequest, config: HubConfig) -> Delivery:
        body, envelope = _READER.envelope(request.body)
        dedupe_key = f"paypal:{envelope.id}"
        topic = envelope.event_type
        if topic not in HANDLED_TYPES:
            reason = _IGNORED_WHY.get(topic, f"the hub does not use PayPal event type '{topic[:80]}'")
            return Delivery(dedupe_key, topic, [], ignored_reason=reason)
        event = _READER.event(body, topic)
        try:
            canonical = _translate(event, config, request.header(TRANSMISSION_ID))
        except MoneyError as exc:
            raise MalformedPayloadError(f"not a PayPal {topic} event: {exc}") from exc
        return Delivery(dedupe_key, topic, [canonical])


# --- translation into canonical events, all in one place -------------------------------------------


def _minor(money: PayPalMoney, field: str = "resource.amount.value") -> tuple[int, str]:
    return parse_minor(money.value, money.currency_code, field=field), money.currency_code.upper()


def _reference(order_id: str | None, invoice_id: str | None) -> OrderReference:
    return OrderReference(order_id=(order_id or "").strip() or None, invoice_id=(invoice_id or "").strip() or None)


def _channel(config: HubConfig) -> str:
    gateway = config.gateways.get("paypal")
    return gateway.channel if gateway else "paypal"


def _capture_id(links: list[PayPalLink]) -> str | None:
    """The capture a refund belongs to: the last segment of its rel=up link (.../v2/payments/captures/ID)."""
    for link in links:
        if link.rel == "up":
            path = urlsplit(link.href).path.rstrip("/")
            if "/captures/" in path:
                return path.rsplit("/", 1)[-1] or None
    return None


def _refund_status(status: str) -> str:
    return {"COMPLETED": "completed", "PENDING": "pending"}.get(status.upper(), "failed")


def _dispute_status(event: DisputeEvent) -> Literal["opened", "won", "lost", "closed"]:
    if event.event_type == "CUSTOMER.DISPUTE.CREATED":
        return "opened"
    outcome = (event.resource.dispute_outcome.outcome_code if event.resource.dispute_outcome else None) or ""
    if outcome in ("RESOLVED_SELLER_FAVOUR", "CANCELED_BY_BUYER", "DENIED"):
        return "won"  # the merchant keeps the money
    if outcome in ("RESOLVED_BUYER_FAVOUR", "ACCEPTED"):
        return "lost"  # the buyer got the money back
    return "closed"  # RESOLVED_WITH_PAYOUT (PayPal paid the buyer itself), NONE, or a newer outcome


def _translate(event: PayPalEvent, config: HubConfig, transmission_id: str | None) -> HubEvent:
    provider = ProviderRef(topic=event.event_type, event_id=event.id, delivery_id=transmission_id)
    common = {
        "event_id": event_id_for("paypal", event.id),
        "source": "paypal",
        "channel": _channel(config),
        "occurred_at": event.create_time,
        "provider": provider,
    }
    if isinstance(event, CaptureEvent):
        capture = event.resource
        amount, currency = _minor(capture.amount)
        reference = _reference(capture.custom_id, capture.invoice_id)
        if event.event_type == "PAYMENT.CAPTURE.COMPLETED":
            return PaymentSucceeded(
                **{**common, "event_id": event_id_for("paypal", "PaymentSucceeded", capture.id)},
                data=PaymentData(
                    gateway="paypal", payment_id=capture.id, amount=amount, currency=currency, reference=reference
                ),
            )
        default = event.event_type.rsplit(".", 1)[-1].lower()
        reason = (capture.status_details.reason if capture.status_details else None) or default
        return PaymentFailed(
            **common,
            data=PaymentData(
                gateway="paypal",
                payment_id=capture.id,
                amount=amount,
                currency=currency,
                reference=reference,
                failure_reason=reason.lower(),
            ),
        )
    if isinstance(event, RefundEvent):
        refund = event.resource
        capture_id = _capture_id(refund.links)
        if capture_id is None:
            raise MalformedPayloadError(
                f"not a PayPal {event.event_type} event: 'resource.links' has no rel=up link to the capture"
            )
        amount, currency = _minor(refund.amount)
        return PaymentRefunded(
            **common,
            data=PaymentRefundData(
                gateway="paypal",
                payment_id=capture_id,
                refund_id=refund.id,
                amount=amount,
                currency=currency,
                reference=_reference(refund.custom_id, refund.invoice_id),
                status=_refund_status(refund.status),
            ),
        )
    dispute = event.resource
    transaction = dispute.disputed_transactions[0] if dispute.disputed_transactions else None
    amount_currency = (
        _minor(dispute.dispute_amount, "resource.dispute_amount.value") if dispute.dispute_amount else (None, None)
    )
    return PaymentDisputed(
        **common,
        data=DisputeData(
            gateway="paypal",
            dispute_id=dispute.dispute_id,
            payment_id=transaction.seller_transaction_id if transaction else None,
            amount=amount_currency[0],
            currency=amount_currency[1],
            status=_dispute_status(event),
            reason=dispute.reason,
            reference=_reference(transaction.custom, transaction.invoice_number) if transaction else OrderReference(),
        ),
    )
