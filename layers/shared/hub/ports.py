"""The small interfaces the core owns; adapters (DynamoDB, EventBridge, fakes) implement them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from hub.config import ChannelConfig
from hub.domain.customers import Contact, CustomerProfile, Fact, OrderSummary
from hub.domain.lineage import LineageEntry
from hub.domain.orders import Order, Reservation, TimelineEntry
from hub.domain.privacy import OrderErasure
from hub.domain.stock import Draw, LowStockState, Move, StockLevel
from hub.domain.sync import PlatformIds, StockPush, SyncState
from hub.events import HubEvent
from hub.failures import RecordFailure

__all__ = [
    "AppliedEvents",
    "Catalog",
    "ChangeFeed",
    "ChangeFeeds",
    "ChangePage",
    "ContactDeleter",
    "ContactRecord",
    "ContactRegistry",
    "CrmClient",
    "CustomerStore",
    "DataKeys",
    "Derived",
    "EventPublisher",
    "FailureLog",
    "FoundChange",
    "Ledger",
    "LevelWritten",
    "LineageLog",
    "OrderPrivacy",
    "ProfileStore",
    "ReconcileCursor",
    "ReconcileCursors",
    "ReconcileTarget",
    "StockLedger",
    "StockPusher",
    "StockPushers",
    "StoredCustomer",
    "StoredOrder",
    "SyncLog",
]


class FailureLog(Protocol):
    """Where a queue record's failures are kept, by SQS message id (hub.failures)."""

    def record(self, failure: RecordFailure) -> None: ...


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

    def append(self, entries: Sequence[LineageEntry]) -> None:
        """Keep the entries (one write for all of them); StoreError when they could not be kept."""

    def entries(self, order_id: str) -> list[LineageEntry]:
        """The order's recorded entries, oldest first (empty when none)."""


# ---------------------------------------------------------------------------------------------- stock
@dataclass(frozen=True, slots=True)
class LevelWritten:
    previous: StockLevel | None  # the row before the write (None: the first level of that location)
    version: int  # the row's version after the write


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


class ProfileStore(Protocol):
    """The read side of customer profiles: what marketing and reporting use."""

    def get(self, email: str) -> CustomerProfile | None:
        """The profile of a customer (the email in any case, with spaces around), or None."""


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


class ContactDeleter(Protocol):
    """One downstream system's deletion of a record by the id it gave it."""

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
