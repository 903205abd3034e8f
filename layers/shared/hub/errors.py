"""Every error the hub raises, in one hierarchy, each class saying what it means to its caller.

`HubError` is the root. Its five branches say what to do about a failure, so a boundary (an HTTP
handler's exception table, the queue consumers' batch processor) translates by branch, never by
message text:

| branch | meaning | HTTP | on a queue |
|---|---|---|---|
| `RefusedError` | the input is not acceptable as sent | its `status_code` (a 4xx) | fails; retrying the same input cannot help |
| `SupersededError` | already recorded, or something newer is | 409 | nothing to do: a redelivery or an older value |
| `ConflictError` | what was read changed, or is held, before the write | 409 | read again and decide again; else the record is retried |
| `RetryableError` | a downstream failed, or what this needs is not there yet | 503 | the record goes back to its queue; the sender retries |
| `ConfigurationError` | the deployment lacks a setting, secret or template | 500 | fails every time until the configuration is fixed |

Each class keeps the built-in base it always had (`ValueError`, `LookupError`, `RuntimeError`)
beside its branch, so code that catches those still does. Messages name the problem and the field
or key, never a secret or a value a sender put there. This module imports only the standard
library: the domain raises from it too.

Not here: the local stack's and command line's own errors (`commerce_hub`), and exceptions private
to one module's control flow (named with a leading underscore, never escaping that module).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "TOO_MANY_VARIATIONS",
    "AlreadyAppliedError",
    "AnalyticsConfigError",
    "AudiencesConfigError",
    "BadRequestError",
    "BigCommerceFetchError",
    "CatalogConflictError",
    "ChangeFromQuantityStaleError",
    "CircuitOpenError",
    "ConfigError",
    "ConfigurationError",
    "ConflictError",
    "ContactErasureError",
    "ContainerNotReadyError",
    "CredentialsMissingError",
    "CrmBusyError",
    "CrmSetupError",
    "FeedError",
    "FeedNotConfiguredError",
    "Ga4DataError",
    "HubError",
    "HubSpotError",
    "IllegalTransitionError",
    "InsufficientStockError",
    "IntakeError",
    "MalformedPayloadError",
    "MarketingConflictError",
    "MessageBusyError",
    "MethodNotAllowedError",
    "MissingCredentialError",
    "MoneyError",
    "NoRateError",
    "NotDurableError",
    "NotFoundError",
    "NotShippedYetError",
    "OrderConflictError",
    "OrderExistsError",
    "OrderNotRecordedError",
    "OutOfTimeError",
    "OutboundError",
    "PartsMissingError",
    "PayloadTooLargeError",
    "PostBusyError",
    "ProfileConflictError",
    "PublishError",
    "QuantityError",
    "RedactedError",
    "RefusedError",
    "RenderError",
    "ReportConflictError",
    "RetryableError",
    "SalesforceAuthError",
    "SalesforceError",
    "SalesforceLimitError",
    "SalesforceMissingFieldsError",
    "SalesforceMultipleMatchesError",
    "ScheduleError",
    "SealError",
    "SecretsError",
    "ServiceAccountError",
    "SesError",
    "SettingsError",
    "ShipError",
    "SignatureError",
    "SocialPostError",
    "StaleLevelError",
    "StockConflictError",
    "StoreError",
    "StorefrontShipmentPendingError",
    "SupersededError",
    "SyncBusyError",
    "SyncFailedError",
    "SyncStaleError",
    "ThrottledError",
    "TooManyRefusalsError",
    "TrafficImportError",
    "UnknownChannelError",
    "UnknownLocationError",
    "UnknownPlatformError",
    "UnknownQueueError",
    "UnknownSourceError",
    "UnmatchedPaymentError",
    "UnsubscribeNotConfiguredError",
    "read_again_later",
]


class HubError(Exception):
    """The root of every error the hub raises; catch a branch, not this, where the meaning matters."""


class RedactedError(HubError):
    """Stands in for an exception whose chain held input values: its text without them
    (`hub.redaction`); it carries the meaning of none of the branches."""

    def __init__(self, message: str, original: str) -> None:
        super().__init__(message)
        self.original = original


# ------------------------------------------------------------------ refused input: 4xx, not retried


class RefusedError(HubError):
    """The input is not acceptable as sent: an HTTP caller gets `status_code` (a 4xx) and the
    message; a queue record fails, and retrying the same input cannot help."""

    status_code = 400


class IntakeError(RefusedError):
    """A webhook delivery refused by intake (400 unless a subclass says otherwise); `message` is
    the JSON error body's text."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownSourceError(IntakeError):
    """`POST /webhooks/{source}` for a source the hub does not know: 404."""

    status_code = 404


class SignatureError(IntakeError):
    """Missing or wrong signature, or a signed timestamp outside the tolerance: 401."""

    status_code = 401


class MalformedPayloadError(IntakeError):
    """The body or headers are not what the source sends: 400, naming the field."""

    status_code = 400


class MethodNotAllowedError(IntakeError):
    """A GET to a source that answers no registration challenge: 405."""

    status_code = 405


class TooManyRefusalsError(IntakeError):
    """Too many refused deliveries from one sender, or in all, this minute: 429, slow down and retry."""

    status_code = 429


class PayloadTooLargeError(IntakeError):
    """A body over the intake's limit: 413."""

    status_code = 413


class MoneyError(RefusedError, ValueError):
    """An amount or currency that cannot be represented exactly: 400. Messages name the problem,
    never the value: a field can hold anything a sender put there, an email included, and errors
    reach logs."""


class QuantityError(RefusedError, ValueError):
    """A quantity that is not a whole number of units the hub can count: 400 (its message, not the value)."""


class SealError(RefusedError, ValueError):
    """A sealed value could not be opened: tampered, moved to another field, or no key store
    configured. The record carrying it fails."""


class UnknownChannelError(RefusedError, LookupError):
    """A delivery claims a store no configured channel is (intake answers it as a SignatureError,
    401); the message names the store, never a secret."""

    status_code = 401


class UnknownLocationError(RefusedError, ValueError):
    """A stock level for a location the configuration does not list: 400."""


class UnknownPlatformError(RefusedError, LookupError):
    """A fetch request for a platform this hub cannot read from; the record fails."""


class UnmatchedPaymentError(RefusedError, ValueError):
    """A gateway payment that names no order; it is kept for a person to look at."""


class IllegalTransitionError(RefusedError, ValueError):
    """The event would move the order somewhere its status does not allow: 409."""

    status_code = 409


class InsufficientStockError(RefusedError):
    """Not every line can be reserved (409); `shortages` maps sku -> units missing. The stock
    service decides what follows (another location, or a hold)."""

    status_code = 409

    def __init__(self, shortages: Mapping[str, int]) -> None:
        self.shortages = dict(shortages)
        listed = ", ".join(f"{sku} short by {n}" for sku, n in sorted(self.shortages.items()))
        super().__init__(f"insufficient stock: {listed}")


class ShipError(RefusedError, ValueError):
    """A manual shipment that cannot be recorded; the message says why, for the merchant. Its
    status is the instance's: 409 (the order's state), 404 (no such order or fulfilment) or 400."""

    def __init__(self, message: str, status_code: int = 409) -> None:
        super().__init__(message)
        self.status_code = status_code


class NotFoundError(RefusedError, LookupError):
    """The read/admin API has nothing under that name: 404, the message says what names look like."""

    status_code = 404


class UnknownQueueError(NotFoundError):
    """No dead-letter queue goes by that name (or it has no source to redrive to); the message lists the ones that do."""


class BadRequestError(RefusedError, ValueError):
    """A read/admin API request that is not what the route takes: 400, the message shows the shape."""

    status_code = 400


# ------------------------------------------------------------ superseded: nothing to do, not retried


class SupersededError(HubError):
    """The change is already recorded, or something newer is: nothing to do (409 to an HTTP caller;
    a queue record succeeds without effect)."""


class OrderExistsError(SupersededError):
    """The order is already recorded: a redelivery of its placement."""


class AlreadyAppliedError(SupersededError):
    """The event is already in the order's timeline: a redelivery."""


class StaleLevelError(SupersededError):
    """A level older than the one the location holds: refused, so an older value never wins."""


class SyncStaleError(SupersededError):
    """The channel already has (or is being sent) this version of the level or a newer one."""


# ------------------------------------------------------------------- conflicts: read again, retry


class ConflictError(HubError):
    """What was read changed, or is held by another attempt, before the write: nothing was written;
    read again and decide again (409 to an HTTP caller; else the record is retried)."""


class StockConflictError(ConflictError):
    """Stock changed between reading the levels and reserving, or a concurrent transaction was in
    the way (DynamoDB's TransactionConflict); read again and retry."""


class OrderConflictError(ConflictError):
    """The order changed since it was read, or a concurrent transaction was in the way; read again
    and apply the event again."""


class PartsMissingError(ConflictError):
    """The order item names parts the read did not return (a write in flight): read again."""


class CatalogConflictError(ConflictError):
    """The product record changed since it was read; read again and apply the change again."""


class ProfileConflictError(ConflictError):
    """The profile, or an erasure covering it, changed since it was read; read again and retry."""


class ReportConflictError(ConflictError):
    """The facts changed since they were read; read again and apply the fact again."""


class MarketingConflictError(ConflictError):
    """What a decision read changed before its write (another delivery, or another order of the
    customer): nothing was written; read again and decide again."""


class SyncBusyError(ConflictError):
    """Another push of an older version to the same channel is in flight; try again after it."""


class CrmBusyError(ConflictError):
    """Another push for the same customer holds the lease; this one is retried later."""


class MessageBusyError(ConflictError):
    """Another attempt is sending this message right now; the record is retried after it."""


class PostBusyError(ConflictError):
    """Another attempt is making this social post right now; the record is retried after it."""


# ------------------------------------------------- retryable: a downstream failed or is not ready


class RetryableError(HubError):
    """A downstream failed, or what this needs has not arrived yet: the record goes back to its queue
    (and after its retries to the dead-letter queue); an HTTP sender gets 503 and retries."""


class NotDurableError(RetryableError):
    """The delivery could not be made durable (the bus, the delivery log, a signing key's host):
    intake answers 503 with this message, so the sender retries."""

    status_code = 503


class PublishError(RetryableError):
    """Events could not be made durable on the bus."""


class StoreError(RetryableError):
    """The state store failed for a reason other than a guarded condition."""


class FeedError(RetryableError):
    """A vendor's API could not list what changed (down, throttled past every retry, refused the
    credentials, answered what it never answers); the page is read again on the next run."""


class BigCommerceFetchError(RetryableError):
    """The resource could not be read now (network, 5xx, 429, 404, no token, unexpected shape).

    Never fatal to a delivery: intake makes it durable, and resource_fetch retries it.
    """


class ContainerNotReadyError(RetryableError):
    """Instagram is still processing a post's image (IN_PROGRESS): the record is retried later, and
    the retry publishes the same container."""


class SocialPostError(RetryableError):
    """A social network refused or failed a post (the message names each network and why); the posts
    that went out are recorded, so the retry makes only the others."""


class ScheduleError(RetryableError):
    """EventBridge Scheduler refused to create or delete a schedule."""


class SesError(RetryableError):
    """SES refused the message (identity not verified, sending paused, throttled)."""


class SyncFailedError(RetryableError):
    """At least one channel's push failed; the record is retried (pushes that succeeded are not redone).

    `results` are the pushes' results; the message names each failed channel and its reason.
    """

    def __init__(self, results: list[Any], what: str = "stock") -> None:
        self.results = results
        failed = ", ".join(f"{r.channel}: {r.reason}" for r in results if r.outcome == "failed")
        super().__init__(f"{what} push failed ({failed})")


class ContactErasureError(RetryableError):
    """Some of the customer's downstream contacts could not be deleted; the event is retried."""


class OrderNotRecordedError(RetryableError):
    """An erased customer's order arrived before the ledger recorded it; erase it on a later try."""


class NotShippedYetError(RetryableError):
    """A carrier reports a delivery for a fulfilment the hub has not recorded as shipped yet.

    Raised (not recorded) so the update is retried: the shipment's own record is on its way.
    """


class StorefrontShipmentPendingError(RetryableError):
    """The order says the storefront shipped (some of) it, but that shipment is not applied yet.

    Raised (not recorded) so routing is retried: the storefront's OrderFulfilled was published in
    the same PutEvents as the statement, so it is on its way, and routing now could buy a label for
    units that have already left.
    """


class ThrottledError(RetryableError):
    """Raised inside the outbound retry loop so a throttled answer is retried like a 429; never
    escapes it (when the retries are spent, the throttled response itself is returned to the caller)."""


class OutboundError(RetryableError):
    """A downstream API refused or failed a call after every retry.

    The message names the call, the status, the vendor's error code and request id, never the body.
    """

    def __init__(
        self, message: str, status_code: int | None = None, *, code: str | None = None, request_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code  # the vendor's answer; None when there was none
        self.code = code
        self.request_id = request_id


TOO_MANY_VARIATIONS = "too_many_variations"  # OutboundError.code: more than a reader may read


def read_again_later(exc: Exception) -> bool:
    """Whether a storefront read that failed may succeed later (and is worth a durable retry): not a
    resource the store no longer has (404, 410), nor one too large to read; anything else (no answer,
    429, 5xx, refused or missing credentials) may."""
    if isinstance(exc, OutboundError):
        return exc.status_code not in (404, 410) and exc.code != TOO_MANY_VARIATIONS
    return True


class OutOfTimeError(OutboundError):
    """A call not started: too little of the record's time budget is left for it to finish.

    Retryable: the record goes back to its queue and is tried in a later invocation."""


class CircuitOpenError(OutboundError):
    """A call not made: the API's circuit is open after repeated failures (hub.adapters.breaker).

    Retryable: the record goes back to its queue and is tried after the cool-down."""

    def __init__(self, api: str, retry_in: float) -> None:
        super().__init__(f"circuit open for {api}: not called, tried again after {retry_in:.0f}s")
        self.api = api


class NoRateError(OutboundError):
    """No rate offered for the shipment meets the configured service level."""


class CredentialsMissingError(OutboundError):
    """A channel's API credentials are not in the hub secret; the message names the missing key."""


class ChangeFromQuantityStaleError(OutboundError):
    """The storefront's count changed since the hub last knew it; retry once the hub has heard."""


class HubSpotError(OutboundError):
    """HubSpot refused or failed one contact (or the whole call)."""

    def __init__(
        self,
        message: str,
        status_code: int | None = None,
        category: str | None = None,
        *,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, status_code, code=category, request_id=request_id)
        self.category = category


class SalesforceError(OutboundError):
    """Salesforce refused or failed the upsert of one record."""


class SalesforceMultipleMatchesError(SalesforceError):
    """DUPLICATE_EXTERNAL_ID: several records carry this external id; merge them in Salesforce."""


class SalesforceLimitError(SalesforceError):
    """The org's API request allocation is spent (REQUEST_LIMIT_EXCEEDED)."""


class Ga4DataError(OutboundError):
    """The GA4 Data API or Google's token endpoint refused or failed a call (after its retries)."""


class TrafficImportError(RetryableError):
    """Some configured GA4 properties could not be read in this run; the message names the channels."""


class SalesforceAuthError(SalesforceError):
    """No session could be had: the credentials were refused, or a static token expired."""


class SalesforceMissingFieldsError(SalesforceError):
    """REQUIRED_FIELD_MISSING: the record cannot be created without these fields."""

    def __init__(self, message: str, fields: frozenset[str]) -> None:
        super().__init__(message)
        self.fields = fields


# ------------------------------------------------- configuration: fails until the deployment is fixed


class ConfigurationError(HubError):
    """The deployment lacks a setting, a secret or a template, or has one that is not valid: it fails
    every time until the configuration is fixed (500 to an HTTP caller). The message names the key."""


class ConfigError(ConfigurationError, ValueError):
    """The configuration document is not valid; the message names the offending key."""


class SettingsError(ConfigurationError, RuntimeError):
    """A required environment variable is missing; the message names it."""


class SecretsError(ConfigurationError, RuntimeError):
    """The secret could not be read; the message never contains a secret value."""


class FeedNotConfiguredError(ConfigurationError):
    """The channel or gateway has no API address or no reconciler: nothing to list; the message says why."""


class CrmSetupError(ConfigurationError):
    """The CRM is configured but cannot be called (a credential is missing); names the key."""


class AnalyticsConfigError(ConfigurationError):
    """A destination is configured but its credential is missing from the hub secret."""


class ServiceAccountError(ConfigurationError):
    """GA4_SERVICE_ACCOUNT_JSON is missing or is not a service account key file; never holds the key."""


class AudiencesConfigError(ConfigurationError):
    """An audience vendor is configured but a credential it needs is missing from the hub secret."""


class MissingCredentialError(ConfigurationError):
    """A key the configured channels need is not in the hub secret."""


class UnsubscribeNotConfiguredError(ConfigurationError, RuntimeError):
    """Email needs an unsubscribe link: no page URL or no MARKETING_UNSUBSCRIBE_SECRET."""


class RenderError(ConfigurationError, ValueError):
    """A template is missing, broken, or lacks a subject or the unsubscribe link."""
