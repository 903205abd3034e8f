"""Every interface the core owns, in one place; adapters (DynamoDB, EventBridge, S3, the vendors'
APIs), intake's sources and the tests' fakes implement them.

The rule (docs/architecture.md, "Interfaces"): a Protocol that one part of the hub calls and
another part, an adapter or the runtime implements lives here. A Protocol that only types one
module's own helpers stays in that module, private (a leading underscore) and saying so. The
values a port carries live in hub/domain (or hub/events), so an adapter never imports a service.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol, runtime_checkable

from hub.config import ChannelConfig, HubConfig
from hub.domain.analytics import Purchase, RefundMade, SentMarker
from hub.domain.audiences import Audience, AudienceRecord, Identifiers, Membership
from hub.domain.catalog import CatalogProduct, Drift, PushState, StoredProduct
from hub.domain.customers import Contact, CustomerProfile, Fact, OrderSummary
from hub.domain.deadletters import QueueMessage, StoredFailure
from hub.domain.lineage import LineageEntry
from hub.domain.marketing import CheckoutState, Claim, LastOrder, Look, OutboundMessage, SentMessage, Waiter
from hub.domain.marketing_rules import Due
from hub.domain.order_search import OrderRow
from hub.domain.orders import Fulfilment, Order, Reservation, TimelineEntry
from hub.domain.privacy import OrderErasure
from hub.domain.reporting import BucketRow, Contribution, Facts, FactsWrite, StoredFacts
from hub.domain.social import PostClaim, SocialDue, SocialPost
from hub.domain.stock import Draw, LowStockState, Move, StockLevel
from hub.domain.stock_history import StockChange
from hub.domain.sync import PlatformIds, StockPush, SyncState
from hub.domain.traffic import TrafficDay
from hub.domain.webhook_activity import DeliveryCount, HourCounts, Outcome, Refusal
from hub.events import HubEvent, ResourceFetchRequested
from hub.failures import RecordFailure
from hub.secrets import SecretsProvider

__all__ = [
    "ActivityTracker",
    "AnalyticsSink",
    "AppliedEvents",
    "AudienceDestination",
    "AudienceMemberships",
    "AudienceRecords",
    "BigCommerceApi",
    "CarrierPort",
    "Catalog",
    "CatalogPushLog",
    "ChangeFeed",
    "ChangeFeeds",
    "ChangePage",
    "ContactDeleter",
    "ContactRecord",
    "ContactRegistry",
    "CrmClient",
    "CustomerKeys",
    "CustomerStore",
    "DataKeys",
    "Delivery",
    "DeliveryLog",
    "Derived",
    "EventPublisher",
    "EventTypeSource",
    "FailureLog",
    "FoundChange",
    "LabelPort",
    "Ledger",
    "LevelWritten",
    "LineageLog",
    "MagentoProducts",
    "MarketingStore",
    "MessageHistory",
    "MessageSender",
    "OrderIndex",
    "OrderPrivacy",
    "OrderReader",
    "PayloadStore",
    "ProductPusher",
    "ProductPushers",
    "ProductRecords",
    "ProfileStore",
    "Profiles",
    "ReconcileCursor",
    "ReconcileCursors",
    "ReconcileTarget",
    "RemainingTime",
    "ReportStore",
    "ResourceCompleter",
    "Schedules",
    "SentMarkers",
    "ShipmentStore",
    "SocialPublisher",
    "SocialSchedules",
    "SocialStore",
    "StockHistoryLog",
    "StockLedger",
    "StockPusher",
    "StockPushers",
    "StoredCustomer",
    "StoredOrder",
    "StorefrontSource",
    "StorefrontWriter",
    "SyncLog",
    "TrafficSource",
    "TrafficStore",
    "WebhookActivityLog",
    "WebhookRequest",
    "WebhookSource",
    "WooCommerceVariations",
    "WriteResultPort",
]


class FailureLog(Protocol):
    """Where a queue record's failures are kept, by SQS message id (hub.failures)."""

    def record(self, failure: RecordFailure) -> None: ...


class FailureReader(Protocol):
    """The failures recorded for SQS messages, by message id (hub.adapters.failures)."""

    def find(self, message_ids: Iterable[str]) -> dict[str, StoredFailure]: ...


class QueueMessages(Protocol):
    """What the dead-letter tools ask of a queue, by URL (hub.adapters.sqs_queues)."""

    def attributes(self, url: str) -> dict[str, str]: ...

    def receive(self, url: str, count: int, visibility: int) -> list[QueueMessage]: ...

    def release(self, url: str, receipts: Sequence[str]) -> None:
        """Make received messages visible again at once."""

    def send(self, url: str, body: str, attributes: Mapping[str, Mapping[str, Any]]) -> None: ...

    def delete(self, url: str, receipt: str) -> None: ...

    def start_move_task(self, source_arn: str) -> str | None:
        """SQS moves every message of the dead-letter queue back to its source; the task's handle."""


class EventPublisher(Protocol):
    def publish(self, events: Sequence[HubEvent]) -> None:
        """Put every event on the bus or raise PublishError."""


class DataKeys(Protocol):
    """Per-subject data keys for crypto-shredding (hub.shredding): one AES-256 key per customer,
    order or channel, kept wrapped by KMS; forgetting it makes every sealed copy unreadable."""

    def subject_of(self, kind: str, value: str) -> str:
        """The subject's name, `<kind>:<keyed hash of value>`: never the value itself."""

    def key_for(self, subject: str) -> bytes:
        """The subject's key, created on first use (two writers agree on one)."""

    def key_if_any(self, subject: str) -> bytes | None:
        """The subject's key; None once it is forgotten (or was never made)."""

    def forget(self, subject: str) -> None:
        """Delete the subject's key, for good."""


class Ledger(Protocol):
    """Orders and the per-location stock ledger, kept in one store so one write can cover both."""

    def stock_levels(self, skus: Iterable[str]) -> dict[str, dict[str, StockLevel]]:
        """sku -> location -> level, for every known location of each sku."""

    def place_order(self, order: Order, reservations: Sequence[Reservation], entry: TimelineEntry) -> None:
        """Record a new order, its first timeline entry and its reservations: whole or not at all.

        Raises OrderExistsError when the order is already there (or another delivery recorded it
        meanwhile), StockConflictError when any location no longer has the units, or a concurrent
        write was in the way (nothing is held then: read the levels again and retry). The order is
        visible only once every reservation is held, however many there are.
        """

    def get_order(self, order_id: str) -> Order | None:
        """The order with its timeline, or None."""

    def set_available(self, sku: str, location: str, available: int) -> int | None:
        """Set the available units at a location; returns the previous value (None if new)."""

    def levels_for(self, sku: str) -> Mapping[str, StockLevel]:
        """location -> level for one sku (empty when the sku is unknown)."""

    def save_order(self, order: Order, entry: TimelineEntry, stock: Sequence[tuple[str, str, int, int]] = ()) -> None:
        """Store the order as changed by one event, with its timeline entry and stock changes, atomically.

        OrderConflictError when the order changed since it was read; AlreadyAppliedError when the
        event is already in its timeline.
        """

    def finish_stock(self, order_id: str) -> None:
        """Apply what the order's stored changes still owe the stock ledger (a change too large for
        one write, interrupted after the order was stored); nothing when nothing is owed."""

    def put_pending(self, order_id: str, event_id: str, event_json: str) -> None:
        """Keep an event (a payment) for an order that is not recorded yet."""

    def pending_for(self, order_id: str) -> list[str]:
        """The events kept for an order, as JSON."""


class LineageLog(Protocol):
    """Where each order's lineage is kept: appends only, read back by order (hub.domain.lineage)."""

    def append(self, entries: Sequence[LineageEntry], counts: Sequence[DeliveryCount] = ()) -> None:
        """Keep the entries, and the webhook deliveries' counts given with them (one write for all
        of them); StoreError when they could not be kept."""

    def entries(self, order_id: str) -> list[LineageEntry]:
        """The order's recorded entries, oldest first (empty when none)."""


# ---------------------------------------------------------------------------------------------- stock
class StockHistoryLog(Protocol):
    """Where each SKU's stock changes are kept (hub.domain.stock_history): appends, read newest first."""

    def append(self, changes: Sequence[StockChange]) -> None:
        """Keep the changes (one write for up to 25); writing one again replaces it. StoreError when
        they could not be kept."""

    def latest(self, sku: str, limit: int) -> list[StockChange]:
        """The SKU's `limit` newest changes, newest first (one read)."""


@dataclass(frozen=True, slots=True)
class LevelWritten:
    previous: StockLevel | None  # the row before the write (None: the first level of that location)
    version: int  # the row's version after the write


class StockIndex(Protocol):
    """The SKUs the ledger holds a level for, in SKU order (hub.adapters.dynamodb, index stock-by-location)."""

    def stock_skus(self, locations: Sequence[str], after: str | None, limit: int) -> tuple[list[str], bool]:
        """Up to `limit` SKUs with a level at any of `locations`, after `after`; and whether more follow."""
        ...


class StockLedger(Ledger, Protocol):
    """The ledger's stock rows, with the time and origin of each absolute level and a change counter."""

    def set_level(
        self, sku: str, location: str, available: int, *, by: str, at: datetime, newer_only: bool, shards: int = 1
    ) -> LevelWritten:
        """Set the available units at a location, recording who set them and the time of the value.

        With `newer_only`, raises StaleLevelError when the location holds a value set later than `at`.
        With `shards` > 1 the units are spread over that many shard rows (a hot SKU); with 1, a
        location sharded before is folded back into one row.
        """

    def place_order(
        self,
        order: Order,
        reservations: Sequence[Reservation],
        entry: TimelineEntry,
        counted: Mapping[tuple[str, str], tuple[str, datetime]] | None = None,
        draws: Mapping[tuple[str, str], Sequence[Draw]] | None = None,
    ) -> None:
        """Ledger.place_order; the `counted` (sku, location) reservations are held without taking from
        `available`, on condition the level is still the report (set_by, set_at) the plan saw. A
        reservation at a sharded location takes its units from the shards its `draws` name."""

    def move_stock(self, sku: str, location: str, moves: Sequence[Move]) -> int:
        """Move units between the shards of a sharded location, each move all or nothing; moves
        that meet a concurrent change are skipped. Returns the units moved."""

    def low_stock(self, sku: str) -> LowStockState:
        """The SKU's low-stock crossing state (not low when never recorded)."""

    def levels_and_low_stock(self, sku: str) -> tuple[dict[str, StockLevel], LowStockState]:
        """levels_for and low_stock together, in one read where the store keeps them side by side."""

    def enter_low_stock(self, sku: str, crossing: int) -> bool:
        """Record crossing number `crossing` (not yet announced); False when it is already recorded."""

    def low_stock_announced(self, sku: str, crossing: int) -> None:
        """The LowStock event of `crossing` is on the bus."""

    def leave_low_stock(self, sku: str) -> bool:
        """Back above the threshold; False when another writer recorded it first."""


class Catalog(Protocol):
    """SKU <-> platform ids per channel, learned from webhooks (configuration takes precedence)."""

    def ids(self, channel: str, sku: str) -> PlatformIds | None:
        """The learned ids of `sku` on `channel`."""

    def sku_for(self, channel: str, item_key: str) -> str | None:
        """The SKU whose most specific platform id on `channel` is `item_key`."""

    def learn(self, channel: str, sku: str, ids: PlatformIds, at: datetime) -> None:
        """Remember the ids of `sku` on `channel`."""

    def platform_location(self, channel: str, location: str) -> str | None:
        """The platform location id learned for a hub location the channel maps by default."""

    def learn_location(self, channel: str, location: str, platform_location: str) -> None:
        """Remember which platform location a channel's default hub location is."""


class ProductRecords(Protocol):
    """The hub's own product records (one per product, a SKU index), each change versioned."""

    def product_for_sku(self, sku: str) -> CatalogProduct | None:
        """The product one of whose variants is `sku`, or None."""

    def product(self, key: str) -> StoredProduct | None:
        """The product under `key`, its version and what is known of its history."""

    def save(
        self,
        product: CatalogProduct,
        expected_version: int,
        previous: CatalogProduct | None = None,
        *,
        as_of: str | None = None,
    ) -> int:
        """Record `product` (and index its SKUs, dropping those of `previous` it no longer has) if its
        version is still `expected_version` (0: not yet recorded) and return the new version;
        CatalogConflictError when another writer changed it first. `as_of`: when the master changed it."""

    def mark_published(self, key: str) -> bool:
        """Note that ProductPublished was announced for `key`: False when it already was."""


class CatalogPushLog(Protocol):
    """What the hub pushed to each channel per product (version and content hash), and drift seen."""

    def pushed(self, channel: str, key: str) -> PushState | None:
        """The push state of the product on `channel`, or None when nothing was ever claimed."""

    def claim(self, channel: str, key: str, version: int, *, now_ms: int, lease_ms: int) -> None:
        """Claim the push of `version` (SyncStaleError: that version or newer is done or claimed;
        SyncBusyError: an older push is still in flight)."""

    def complete(self, channel: str, key: str, version: int, digest: str) -> None:
        """The push of `version` succeeded: the channel now holds the content hashed `digest`."""

    def abandon(self, channel: str, key: str, version: int) -> None:
        """The push of `version` failed: release the lease so a retry can claim it again."""

    def record_drift(self, drift: Drift) -> None:
        """Record a change made on a channel that is not the master (once per event)."""

    def drift(self, limit: int) -> list[Drift]:
        """The latest drift recorded, newest first."""


class ProductPusher(Protocol):
    def push(self, product: CatalogProduct, ids: Mapping[str, PlatformIds]) -> None:
        """Write the product (its prices already the channel's) over the channel's copy, found by
        the ids learned for its SKUs (`ids`, by SKU); raise the adapters' OutboundError on failure."""


class ProductPushers(Protocol):
    """The storefront APIs products are pushed to (hub.adapters.storefront_catalog.StorefrontCatalog)."""

    def pusher(self, channel: str, config: ChannelConfig) -> ProductPusher:
        """The channel's pusher; its credentials are read here (an error when they are missing)."""


class SyncLog(Protocol):
    """What was pushed to each channel, per SKU and hub location, guarded by ledger versions."""

    def state(self, channel: str, sku: str, location: str) -> SyncState | None:
        """The current sync state, or None when nothing was ever pushed or reported."""

    def claim(self, channel: str, sku: str, location: str, version: int, *, now_ms: int, lease_ms: int) -> None:
        """Claim the push of `version`: SyncStaleError when that version or a newer one is done or
        claimed; SyncBusyError while an older version's push is in flight (its lease not expired)."""

    def complete(self, channel: str, sku: str, location: str, version: int, quantity: int) -> None:
        """The push of `version` succeeded: the channel now holds `quantity`."""

    def abandon(self, channel: str, sku: str, location: str, version: int) -> None:
        """The push of `version` failed: release the lease so a retry can claim it again."""

    def note_known(self, channel: str, sku: str, location: str, quantity: int) -> None:
        """The channel reported holding `quantity` there (its own count, e.g. after a sale)."""


class StockPusher(Protocol):
    def push(self, push: StockPush) -> None:
        """Set the level on the storefront, or raise an error (the adapters' OutboundError)."""


class StockPushers(Protocol):
    """The storefront APIs stock is pushed to (hub.adapters.storefront_stock.StorefrontStock)."""

    def base_url(self, config: ChannelConfig) -> str | None:
        """The channel's API address; None when the hub does not push stock to it."""

    def pusher(self, channel: str, config: ChannelConfig) -> StockPusher:
        """The channel's pusher; its credentials are read here (an error when they are missing)."""


# ------------------------------------------------------------------------------------------ customers
@dataclass(frozen=True)
class StoredCustomer:
    """What is kept under one customer: the facts naming them, their orders' summaries, and the
    version of their stored profile (0: none)."""

    facts: list[Fact]
    orders: dict[str, OrderSummary]
    version: int
    summary_versions: dict[str, int] = field(default_factory=dict)  # order id -> version of its summary


@dataclass(frozen=True)
class StoredOrder:
    """What is kept under one order: its facts, and the version of that set (0: none yet). Every
    write of a fact of the order moves the version on, in the same transaction."""

    facts: list[Fact]
    version: int


@dataclass(frozen=True)
class Derived:
    """One customer's profile (and, for a fact about an order, their summary of it) derived from
    what was read at the versions given; None removes the item (or, with version 0, writes nothing)."""

    email: str
    profile: CustomerProfile | None
    profile_version: int
    order_id: str | None = None
    summary: OrderSummary | None = None
    summary_version: int = 0


class OrderIndex(Protocol):
    """Orders as rows of a list: by the day they were placed, or by id (hub.domain.order_search)."""

    def placed_on(
        self, day: date, *, before: str | None, status: str | None, channel: str | None, limit: int
    ) -> tuple[list[OrderRow], bool]:
        """Up to `limit` orders placed on `day` (UTC) with the given status and channel (None: any),
        newest first, starting after the position `before` (None: the day's newest); and whether
        the day holds more of them."""

    def rows(self, order_ids: Iterable[str]) -> list[OrderRow]:
        """The rows of these orders, those that exist and were placed, in no particular order."""


class ProfileStore(Protocol):
    """The read side of customer profiles: what marketing and reporting use."""

    def get(self, email: str) -> CustomerProfile | None:
        """The profile of a customer (the email in any case, with spaces around), or None."""


class MessageHistory(Protocol):
    """The marketing messages sent to a customer (named by their erasure key), as marketing records them."""

    def sent_messages(self, customer: str, limit: int) -> list[SentMessage]:
        """The newest `limit` messages, newest first."""


class CustomerStore(ProfileStore, Protocol):
    """Facts about customers and orders, the profiles derived from them, and erasures.

    An erasure subject is `customer:<erasure key>` or `shop:<channel>`; its mark says that every
    fact about it that occurred up to that time is gone and must never come back.
    """

    def salt(self) -> str:
        """The secret salt of erasure keys: the same for every function of the deployment."""

    def customer(self, email: str) -> StoredCustomer:
        """Everything kept under a customer, read at once, the profile's version before anything else:
        a read that sees a version written by a transaction sees every other item it wrote there."""

    def order(self, order_id: str) -> StoredOrder:
        """The facts kept under an order, read at once, their version before anything else."""

    def summary_version(self, email: str, order_id: str) -> int:
        """The version of the customer's summary of an order (0: none)."""

    def save_summary(
        self,
        email: str,
        order_id: str,
        summary: OrderSummary | None,
        version: int,
        marks: Mapping[str, datetime | None],
    ) -> None:
        """Store (or, with None, remove) the customer's summary of an order, read at `version`, under the
        same guard as `save_profile`; ProfileConflictError otherwise."""

    def save_fact(
        self,
        fact: Fact,
        order_version: int,
        derived: Sequence[Derived],
        marks: Mapping[str, datetime | None],
    ) -> None:
        """Keep a fact under its customer (when it names one) and its order (when it has one, moving
        the order's version on from `order_version`), with every derived summary and profile on its
        version (a customer with nothing to write has their profile's version checked), all on
        condition that the erasure marks are still the ones seen (None: no mark): all of it lands in
        one transaction, or none of it does (ProfileConflictError)."""

    def order_facts(self, order_id: str) -> list[Fact]:
        """The facts kept under an order."""

    def facts_of_channel(self, channel: str) -> list[Fact]:
        """Every fact from one channel (a scan: only for a shop's erasure)."""

    def delete_facts(self, facts: Iterable[Fact]) -> int:
        """Remove facts wherever they are kept; returns how many facts were given."""

    def erasure_marks(self, subjects: Iterable[str]) -> dict[str, datetime]:
        """subject -> the time up to which it was erased, for the subjects that were."""

    def mark_erased(self, subject: str, before: datetime) -> None:
        """Record that `subject` is erased up to `before` (a later mark is never moved back)."""

    def save_profile(
        self, email: str, profile: CustomerProfile | None, version: int, marks: Mapping[str, datetime | None]
    ) -> None:
        """Store (or, with None, remove) the profile read at `version`, provided the erasure marks are
        still the ones it was derived under; ProfileConflictError otherwise."""

    def record_privacy(self, subject: str, request: str, values: Mapping[str, str], counts: Mapping[str, int]) -> None:
        """Keep the record of a privacy request: `values` set once, `counts` added up over retries."""

    def forget(self, email: str) -> None:
        """Remove what the CRM sync keeps about a customer."""

    def acquire(self, email: str, owner: str, seconds: int) -> bool:
        """Take the customer's CRM lease for `seconds`; False when another holder has it."""

    def release(self, email: str, owner: str) -> None:
        """Give the lease back (only if `owner` still holds it)."""

    def pushed(self, email: str) -> str | None:
        """The digest of what was last pushed to the CRM for this customer."""

    def set_pushed(self, email: str, digest: str) -> None:
        """Remember the digest of what was pushed, unless the profile is gone (erased meanwhile)."""


class OrderPrivacy(Protocol):
    """Personal data on the orders of the ledger: erased in place, or exported."""

    def erase_order(self, order_id: str, personal: Iterable[str]) -> OrderErasure:
        """Remove the order's email and addresses, and the given personal values from every item of
        the order (timeline entries, payments kept for it); the order itself stays."""

    def export_order(self, order_id: str) -> dict[str, Any] | None:
        """The order as stored, as JSON values, or None."""

    def orders_of_channel(self, channel: str) -> list[str]:
        """The ids of every order (recorded or with payments kept for it) of one channel."""


class CrmClient(Protocol):
    system: str  # the name contacts are recorded under for erasure: hubspot, salesforce

    def upsert(self, contacts: Sequence[Contact]) -> dict[str, Exception | str | None]:
        """Create or update each contact by its email; email -> the error that stopped it, or on
        success the CRM's id of the record (None when the CRM did not say)."""

    def delete_contact(self, contact_id: str) -> bool:
        """Delete the record for good; True deleted, False already gone. Raises when it failed."""


@dataclass(frozen=True)
class ContactRecord:
    """A contact the hub created or updated in a downstream system, kept for erasure.

    Named by the customer's erasure key and the system's own id of the record: no email, name or
    hash of either, so the record itself reveals nothing about the person."""

    customer: str  # erasure key
    system: str  # hubspot, salesforce, klaviyo, mailchimp
    contact_id: str


class ContactRegistry(Protocol):
    """Which downstream records belong to which customer, and what erasure deleted there."""

    def record_contact(self, contact: ContactRecord) -> None:
        """Remember the record (once; recording it again changes nothing)."""

    def contacts(self, customer: str) -> list[ContactRecord]:
        """The records of the customer not deleted yet."""

    def record_deletion(self, contact: ContactRecord, outcome: str, at: datetime) -> None:
        """The record was deleted (`deleted`) or found gone (`gone`): forget it, keep the fact."""


@runtime_checkable
class ContactDeleter(Protocol):
    """One downstream system's deletion of a record by the id it gave it. Runtime-checkable: the
    marketing service asks each of its channels whether it is one."""

    system: str

    def delete_contact(self, contact_id: str) -> bool:
        """True deleted, False already gone; raises (an OutboundError) when the call failed."""


# ------------------------------------------------------------------ reconciliation (docs/reconciliation.md)
@dataclass(frozen=True)
class ReconcileTarget:
    """A channel or gateway whose reconciler runs every `every_minutes` (configuration `reconcile`)."""

    name: str  # the channel's or gateway's name in the configuration
    kind: str  # "channel" or "gateway"
    platform: str  # shopify, woocommerce, bigcommerce, magento; stripe, paypal, square
    every_minutes: int
    settings: Any  # its ChannelConfig or GatewayConfig


@dataclass(frozen=True)
class FoundChange:
    """One change a vendor's API lists, already made into the canonical events its webhook would
    have published (same event ids), with the reconciler's own delivery key for publish_once."""

    ref: str  # what changed, for logs and lineage: "order 5849162203412" (never personal data)
    changed_at: datetime  # the vendor's modification time; the cursor moves up to it
    dedupe_key: str
    events: Sequence[HubEvent] = ()
    ignored_reason: str | None = None  # nothing in it concerns the hub (as a webhook answered "ignored")
    problem: str | None = None  # the resource cannot be recorded (as a webhook answered 400)


@dataclass(frozen=True)
class ChangePage:
    changes: Sequence[FoundChange]
    next_page: str | None = None  # opaque token of the next page; None: this was the last


class ChangeFeed(Protocol):
    """What changed at one vendor, oldest first, a page at a time, within the vendor's rate limit."""

    def page(self, since: datetime, token: str | None) -> ChangePage:
        """The page `token` (None: the first) of the changes made after `since`; FeedError when the
        vendor could not answer it."""


class ChangeFeeds(Protocol):
    def feed(self, target: ReconcileTarget) -> ChangeFeed:
        """The target's feed; FeedNotConfiguredError when it has nothing to list from."""


@dataclass(frozen=True)
class ReconcileCursor:
    since: datetime | None  # every change up to here is in the hub; the next run lists from here less the overlap
    last_run: datetime | None


class ReconcileCursors(Protocol):
    def get(self, name: str) -> ReconcileCursor:
        """The cursor of one reconciler (both None before its first run)."""

    def claim(self, name: str, now: datetime, due_before: datetime) -> bool:
        """Start a run at `now` unless one started after `due_before` (not due, or running elsewhere)."""

    def advance(self, name: str, since: datetime) -> None:
        """Move `since` forward to `since`; never backwards."""


class AppliedEvents(Protocol):
    def applied(self, event: HubEvent) -> bool:
        """Whether the hub already applied this event (its order's timeline holds it), or, for a
        snapshot of an order, a state of the order at least as new (whichever topic delivered it)."""


# ------------------------------------------------------------------ marketing (docs/marketing.md)
class MarketingStore(Protocol):
    """Marketing's own state (co-purchases, checkouts, latest orders, schedules, markers, caps)."""

    # ------------------------------------------------------------------ one read, one write
    def look(self, customer: str, message_keys: Sequence[str], order_id: str | None = None) -> Look:
        """The customer's erasure mark and which of `message_keys` went out, with `order_id` also the
        customer's newest order and whether the order's co-purchases are counted: one read."""

    def record_placement(
        self,
        order_id: str,
        pairs: Sequence[tuple[str, str]],
        titles: Mapping[str, str],
        *,
        count: bool,
        customer: str | None = None,
        seen: LastOrder | None = None,
        newest: LastOrder | None = None,
        schedules: Sequence[tuple[str, datetime]] = (),
    ) -> None:
        """What a placement decided, in one write: the co-purchases counted once (`count`), the
        customer's newest order moved from `seen` (what the look found) to `newest`, and the
        schedules it creates remembered under the customer (name, due). MarketingConflictError,
        writing nothing, when the co-purchases were counted or the newest order moved meanwhile."""

    # ------------------------------------------------------------------ customers
    def note_order(self, customer: str, order_id: str, placed_at: datetime) -> tuple[bool, str | None]:
        """Record an order of the customer: (it is their newest, the order that was newest before)."""

    def last_order(self, customer: str) -> LastOrder | None: ...

    def opted_out(self, customer: str) -> bool: ...

    def opt_out(self, customer: str, at: datetime) -> None: ...

    def remember_schedule(self, customer: str, name: str, due_at: datetime) -> None: ...

    def forget_schedule(self, customer: str, name: str) -> None: ...

    def customer_schedules(self, customer: str) -> list[str]: ...

    def forget_customer(self, customer: str) -> int:
        """Remove everything kept for the customer (checkouts with their email included), except
        the opt-out; returns how many items went."""

    # ------------------------------------------------------------------ checkouts
    def save_checkout(self, state: CheckoutState, at: datetime) -> CheckoutState:
        """Keep the checkout as of `at` (a later statement wins; the start is the earliest seen);
        returns what is stored, conversion included."""

    def checkout(self, checkout_id: str) -> CheckoutState | None: ...

    def convert_checkout(self, checkout_id: str, by: str, customer: str | None = None) -> None:
        """Mark the checkout converted (even before its own events arrive); no longer open for `customer`."""

    def open_checkouts(self, customer: str) -> list[tuple[str, datetime]]:
        """(checkout id, started at) of the customer's checkouts not known to be converted."""

    # ------------------------------------------------------------------ co-purchases
    def count_order(self, order_id: str, pairs: Sequence[tuple[str, str]], titles: Mapping[str, str]) -> bool:
        """Count each pair once for the order and remember the titles; False when counted before."""

    def bought_with(self, skus: Sequence[str]) -> dict[str, dict[str, int]]:
        """sku -> {other sku: orders that had both}, for the given SKUs."""

    def titles(self, skus: Sequence[str]) -> dict[str, str]:
        """The product title last seen on an order for each SKU (when one was)."""

    # ------------------------------------------------------------------ back in stock
    def add_waiter(self, waiter: Waiter) -> None: ...

    def waiters(self, sku: str) -> list[Waiter]: ...

    def remove_waiter(self, sku: str, order_id: str) -> None: ...

    # ------------------------------------------------------------------ once-only, frequency cap
    def message_sent(self, message_key: str) -> bool: ...

    def claim(self, message_key: str, customer: str, now: datetime, lease_seconds: int) -> Claim: ...

    def admit(self, customer: str, message_key: str, now: datetime, max_messages: int, per_days: int) -> bool:
        """Count the message against the customer's cap (a conditional write); False when full."""

    def mark_admitted(self, message_key: str) -> None: ...

    def channel_done(self, message_key: str, channel: str) -> None: ...

    def release(self, message_key: str) -> None:
        """A send failed: let the next attempt resume at once (channels done stay done)."""

    def finish(
        self, message_key: str, status: Literal["sent", "capped"], at: datetime, record: SentMessage | None = None
    ) -> None:
        """The message went out (or the cap refused it). With `record` (a message of the rules, not
        activity), it is kept in its customer's history in the same write: one request either way."""

    def mark_published(self, message_key: str) -> None: ...


class Schedules(Protocol):
    """One-time schedules that deliver a Due to the marketing queue (EventBridge Scheduler)."""

    def create(self, due: Due, at: datetime) -> bool:
        """Create the schedule named `due.schedule_name` firing at `at`; False when it exists."""

    def delete(self, name: str) -> bool:
        """Delete a schedule; False when there was none."""


class SocialSchedules(Protocol):
    """One-time schedules that deliver a SocialDue to the marketing queue (quiet hours)."""

    def create_social(self, due: SocialDue, at: datetime) -> bool:
        """Create the schedule named `due.schedule_name` firing at `at`; False when it exists."""


class SocialStore(Protocol):
    """Each post's once-only marker and each network's count of posts per day (hub table)."""

    def claim_post(self, key: str, now: datetime, lease_seconds: int) -> PostClaim:
        """Claim the marker of post `key` (`attribute_not_exists`, or a lease run out)."""

    def keep_container(self, key: str, container: str) -> None:
        """Record the Instagram container made for post `key`, so a retry publishes that one."""

    def admit_post(self, key: str, network: str, day: str, max_posts: int) -> bool:
        """Count post `key` in the network's `day` if fewer than `max_posts` are; False when full."""

    def finish_post(self, key: str, status: str, post_id: str | None, at: datetime) -> None:
        """The post's outcome (posted with the vendor's id, capped or skipped), for good."""

    def release_post(self, key: str) -> None:
        """A failed attempt lets go of the marker (keeping its container and admission) for the retry."""


class SocialPublisher(Protocol):
    """One network's publishing API."""

    network: str

    def publish(self, post: SocialPost, container: str | None, keep: Callable[[str], None]) -> str:
        """Publish the post and return the network's id for it; `container` is a media container an
        earlier attempt made (Instagram), `keep` records one made now before it is published."""


class CustomerKeys(Protocol):
    """Erasure keys, as crm_upsert makes them, and the erasure marks privacy requests leave."""

    def key(self, email: str) -> str: ...

    def erased_before(self, customer: str) -> datetime | None: ...


class OrderReader(Protocol):
    def get_order(self, order_id: str) -> Order | None: ...


class MessageSender(Protocol):
    """One marketing channel. `channel` is what MarketingMessageSent records (email, klaviyo, mailchimp)."""

    channel: str

    def send(self, message: OutboundMessage) -> str | None:
        """Deliver the message or raise; a retry of the same message must be safe or is never made.

        Returns the recipient's id in the channel when the channel keeps a contact (Klaviyo's
        profile, Mailchimp's member), so an erasure can delete it; None otherwise."""


class ActivityTracker(Protocol):
    """Customer activity forwarded to a marketing platform (Klaviyo's Placed Order, Started Checkout)."""

    def track(
        self,
        metric: str,
        email: str,
        unique_id: str,
        time: datetime,
        properties: Mapping[str, Any],
        value: Decimal | None = None,
        currency: str | None = None,
    ) -> str | None:
        """Forward the activity; the customer's id in the platform, when it keeps one (as send)."""


# ---------------------------------------------------------------------------------------- privacy
class Profiles(Protocol):
    """What an erasure needs from profile building."""

    def key(self, email: str) -> str:
        """The erasure key of a customer."""

    def summarise(self, email: str, order_id: str) -> list[Fact]:
        """Derive and store the customer's summary of an order again (none once its facts are gone)."""

    def refresh(self, email: str) -> tuple[CustomerProfile | None, list[Fact]]:
        """Derive and store the customer's profile again (None: nothing left)."""


# -------------------------------------------------------------------------- reports and analytics
class ReportStore(Protocol):
    def load(self, kind: str, key: str) -> StoredFacts | None:
        """The facts kept for one order, checkout or customer, or None."""

    def load_many(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], StoredFacts]:
        """The facts kept for each (kind, key), in one read; the keys with none are left out."""

    def save(self, facts: Facts, contribution: Contribution, expected_version: int | None, delta: Contribution) -> None:
        """Store the facts with their contribution and add `delta` to the daily counters, atomically.

        Conditional on the version read (None: not stored yet); ReportConflictError otherwise.
        """

    def save_all(self, writes: Sequence[FactsWrite]) -> None:
        """Store several facts and add their deltas, atomically when they fit in one write, each on
        its version (ReportConflictError when one changed; nothing is written then). Otherwise one
        `save` after the other: a conflict may then leave the first written, which the caller's
        retry finds applied."""

    def day(self, day: str) -> list[BucketRow]:
        """Every channel and currency's counters for one UTC day."""

    def days(self, days: Sequence[str]) -> dict[str, list[BucketRow]]:
        """Every channel and currency's counters for each of several UTC days (a day without any:
        left out)."""


class TrafficStore(Protocol):
    """Website traffic per day and channel, beside the daily report (hub.domain.traffic)."""

    def replace(self, days: Iterable[TrafficDay]) -> None:
        """Store each day's traffic whole, over what an earlier read stored (never added to it)."""

    def read(self, days: Sequence[str]) -> dict[str, dict[str, TrafficDay]]:
        """Day -> channel -> traffic, for the days that have any."""


class TrafficSource(Protocol):
    """Where traffic is read from (the GA4 Data API)."""

    @property
    def quota_remaining(self) -> int | None:
        """What the API said is left of its hourly quota after the last call, if it said."""

    @property
    def time_zones(self) -> dict[str, str]:
        """Property id -> the reporting time zone the API said its days are in."""

    def read(
        self, property_id: str, channel: str, first: date, last: date, *, top: int, read_at: str
    ) -> list[TrafficDay]:
        """Each day from `first` to `last` of one property, a day without sessions included."""


# ------------------------------ resource fetch (BigCommerce; WooCommerce variations, Adobe Commerce products)
class ResourceCompleter(Protocol):
    def complete(self, request: ResourceFetchRequested, config: HubConfig) -> tuple[list[HubEvent], str | None]:
        """The canonical events, or none and why; raises while the resource cannot be read."""


class SentMarkers(Protocol):
    def sent(self, destination: str, order_id: str, what: str) -> SentMarker | None:
        """The marker of what was forwarded, or None."""

    def mark_sent(
        self, destination: str, order_id: str, what: str, *, previous: SentMarker | None, total: int, note: str | None
    ) -> bool:
        """Record what was forwarded, if the marker is still `previous`; False when it was not."""


class AnalyticsSink(Protocol):
    name: str

    def purchase(self, purchase: Purchase) -> str | None:
        """Forward a purchase; None when sent, else why it was not (the marker keeps the reason)."""

    def refund(self, refund: RefundMade) -> str | None:
        """Forward a refund (amount: what it adds); None when sent, else why not (`NotYet`: not yet)."""


# ------------------------------------------------------------------------------------- fulfilment
class LabelPort(Protocol):
    """A bought label, read only (the carriers' labels are frozen dataclasses)."""

    @property
    def shipment_id(self) -> str: ...
    @property
    def carrier(self) -> str | None: ...
    @property
    def service(self) -> str | None: ...
    @property
    def tracking_number(self) -> str: ...
    @property
    def tracking_url(self) -> str | None: ...
    @property
    def label_url(self) -> str | None: ...


class CarrierPort(Protocol):
    name: str

    def create_shipment(self, request: object) -> str: ...

    def buy(self, shipment_id: str, request: object, rebook: Callable[[str], str] | None = None) -> LabelPort:
        """Buy the shipment's label, or return the one already bought. A carrier that must re-rate
        (rates too old to buy) creates a new shipment and calls `rebook` with its id before buying on
        it; `rebook` keeps it as the fulfilment's booking and returns the booking kept."""
        ...


class ShipmentStore(Protocol):
    def booking(self, fulfilment_id: str) -> str | None: ...

    def record_booking(self, fulfilment_id: str, order_id: str, provider: str, shipment_id: str) -> str: ...

    def rebook(self, fulfilment_id: str, previous: str, shipment_id: str) -> str:
        """Replace the kept shipment `previous` by `shipment_id`, unless it changed; the one kept."""
        ...

    def index_tracking(self, tracking_number: str, order_id: str, fulfilment_id: str) -> None: ...

    def find_tracking(self, tracking_number: str) -> tuple[str, str] | None: ...


class WriteResultPort(Protocol):
    """What a storefront write did, read only (the writers' results are frozen dataclasses)."""

    @property
    def platform(self) -> str: ...
    @property
    def reference(self) -> str | None: ...
    @property
    def skipped(self) -> str | None: ...
    @property
    def known(self) -> bool: ...


class StorefrontWriter(Protocol):
    def write(self, order: Order, fulfilment: Fulfilment) -> WriteResultPort: ...


# ---------------------------------------------------------------------- claim checks, time budget
class PayloadStore(Protocol):
    def put(self, key: str, body: bytes) -> str:
        """Store the bytes; returns the location (bucket) they were written to."""

    def get(self, location: str, key: str) -> bytes:
        """The bytes stored under `key`."""

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object whose key starts with `prefix`; how many were deleted."""


class RemainingTime(Protocol):
    """What a Lambda context offers: its remaining time."""

    def get_remaining_time_in_millis(self) -> int: ...


# ----------------------------------------------------------------------------------------- intake
@dataclass(frozen=True)
class WebhookRequest:
    """A delivery as a source reads it: from intake's HTTP request, or rebuilt by a change feed."""

    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)
    source_ip: str | None = None  # the caller's address, as API Gateway saw it

    def header(self, name: str) -> str | None:
        value = self.headers.get(name.lower())
        return value.strip() if value is not None else None


@dataclass(frozen=True)
class Delivery:
    """One verified delivery: how to recognise its redeliveries, and what it means."""

    dedupe_key: str
    topic: str
    events: list[HubEvent]
    ignored_reason: str | None = None


class WebhookSource(Protocol):
    name: str

    def verify(self, request: WebhookRequest, secrets: SecretsProvider) -> None:
        """Raise SignatureError unless the raw bytes carry a valid signature."""

    def parse(self, request: WebhookRequest, config: HubConfig) -> Delivery:
        """Turn a verified delivery into canonical events; MalformedPayloadError if it is not one."""


@runtime_checkable
class EventTypeSource(WebhookSource, Protocol):
    """A source whose vendor sends every event type to one endpoint (Stripe): it makes events of
    `handled_types` only and acknowledges the rest, so its change feed asks for just these."""

    handled_types: frozenset[str]


@runtime_checkable
class StorefrontSource(WebhookSource, Protocol):
    """A source whose deliveries name their store in an unsigned header: the store chooses the
    channel, and the channel the one secret that may verify the delivery. Runtime-checkable: intake
    asks each source whether it is one."""

    def secret_key_for(self, request: WebhookRequest, config: HubConfig) -> str:
        """The key of the secret of the channel this delivery claims; SignatureError (401) when no
        configured channel is the store it names."""

    def verify(self, request: WebhookRequest, secrets: SecretsProvider, secret_key: str | None = None) -> None:
        """Raise SignatureError unless the raw bytes carry a valid signature by `secret_key`'s secret."""


class DeliveryLog(Protocol):
    def publish_once(self, dedupe_key: str, events: Sequence[HubEvent]) -> bool:
        """Publish unless this delivery was already published; True when published now.

        A failed publish leaves no trace, so the sender's retry publishes.
        """


class WebhookActivityLog(Protocol):
    """Deliveries per source and hour by outcome (hub.adapters.webhook_activity on the hub table)."""

    def count(self, source: str, hour: str, outcome: Outcome, refusal: Refusal | None = None) -> None:
        """Add one `outcome` to the source's bucket for `hour`; keep `refusal` as the hour's latest of its status."""

    def hours(self, source: str, since: str) -> list[HourCounts]:
        """The source's buckets from the hour `since` on."""


class MagentoProducts(Protocol):
    """An Adobe Commerce product read by SKU, by intake when a product event is thin (catalog sync)."""

    def product(self, channel: str, config: ChannelConfig, sku: str) -> dict[str, Any]:
        """The product as `GET /rest/V1/products/{sku}` answers it.

        Raises OutboundError (or SecretsError) when it cannot be read.
        """


class WooCommerceVariations(Protocol):
    """A WooCommerce variable product's variations, read by intake when catalog sync is on (its
    product webhook lists their ids only)."""

    def variations(self, channel: str, config: ChannelConfig, product_id: int) -> list[dict[str, Any]]:
        """Every variation of the product, as `GET /wp-json/wc/v3/products/{id}/variations` lists them.

        Raises OutboundError (or SecretsError) when they cannot be read.
        """


class BigCommerceApi(Protocol):
    def get_json(self, api_url: str, store_hash: str, path: str, *, deadline: float | None = None) -> Any:
        """GET {api_url}/stores/{store_hash}{path}: the JSON document, None for 204 No Content.

        Raises BigCommerceFetchError for anything else, before `deadline` (time.monotonic()) passes.
        """


class AudienceDestination(Protocol):
    """One vendor's audiences (Meta Custom Audiences, Google Ads Customer Match lists)."""

    def add(self, audience_id: str, members: Sequence[Identifiers]) -> str:
        """Add the members to the audience, batched at the vendor's limits; the vendor's answer in
        words without personal data. Raises OutboundError when the vendor refuses after retries."""

    def remove(self, audience_id: str, members: Sequence[Identifiers]) -> str:
        """Remove the members from the audience; as `add`."""


class AudienceRecords(Protocol):
    """What was sent to each audience about each customer (hub.domain.audiences.AudienceRecord)."""

    def records(self, keys: Iterable[str]) -> dict[str, AudienceRecord]:
        """The records of these erasure keys that exist."""

    def save(self, records: Sequence[AudienceRecord], previous: Mapping[str, AudienceRecord]) -> None:
        """Write the records, and move each one's place in the review schedule from `previous`'s."""

    def due(self, until: datetime, limit: int) -> list[str]:
        """Erasure keys whose review time is at or before `until`, oldest first, at most `limit`."""


class AudienceMemberships(Protocol):
    """What the hub last told each ad audience about a customer (named by erasure key): member or
    not and since when, never the identifiers sent (a data-request export lists it)."""

    def memberships(self, erasure_key: str) -> dict[Audience, Membership]:
        """Per audience the customer's last membership; empty when nothing was ever sent."""
