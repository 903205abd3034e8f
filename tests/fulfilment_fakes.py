"""In-memory fakes for order_routing: the shipment store, a carrier and the storefront writers."""

from __future__ import annotations

from dataclasses import dataclass, field

from hub.errors import OutboundError


class FakeShipmentStore:
    def __init__(self) -> None:
        self.bookings: dict[str, str] = {}
        self.tracking: dict[str, tuple[str, str]] = {}

    def booking(self, fulfilment_id: str) -> str | None:
        return self.bookings.get(fulfilment_id)

    def record_booking(self, fulfilment_id: str, order_id: str, provider: str, shipment_id: str) -> str:
        return self.bookings.setdefault(fulfilment_id, shipment_id)

    def rebook(self, fulfilment_id: str, previous: str, shipment_id: str) -> str:
        if self.bookings.get(fulfilment_id) == previous:
            self.bookings[fulfilment_id] = shipment_id
        return self.bookings.get(fulfilment_id, shipment_id)

    def index_tracking(self, tracking_number: str, order_id: str, fulfilment_id: str) -> None:
        self.tracking[tracking_number.upper()] = (order_id, fulfilment_id)

    def find_tracking(self, tracking_number: str) -> tuple[str, str] | None:
        return self.tracking.get(tracking_number.upper())


@dataclass
class FakeLabel:
    shipment_id: str
    carrier: str | None
    service: str | None
    tracking_number: str
    tracking_url: str | None
    label_url: str | None


@dataclass
class FakeCarrier:
    """Creates shipments and sells labels; `fail_buys` makes the next n purchases fail."""

    name: str = "easypost"
    created: list[str] = field(default_factory=list)
    bought: list[str] = field(default_factory=list)
    fail_buys: int = 0

    def create_shipment(self, request) -> str:  # type: ignore[no-untyped-def]
        shipment_id = f"shp_{len(self.created) + 1}"
        self.created.append(request.reference)
        return shipment_id

    def buy(self, shipment_id: str, request, rebook=None) -> FakeLabel:  # type: ignore[no-untyped-def]
        if self.fail_buys:
            self.fail_buys -= 1
            raise OutboundError("EasyPost buy failed with HTTP 503", 503)
        self.bought.append(shipment_id)
        return FakeLabel(
            shipment_id,
            "USPS",
            "Priority",
            f"TRACK-{request.reference[-6:].upper()}",
            "https://track.example/1",
            f"https://labels.example/{shipment_id}.pdf",
        )


@dataclass
class FakeWriteResult:
    platform: str
    reference: str | None = None
    skipped: str | None = None
    known: bool = True


@dataclass
class FakeStorefrontWriter:
    """The fulfilment service's StorefrontWriter: records each write-back, can fail the next ones
    (502) or answer for a channel it does not know (skipped). The storefronts' HTTP APIs themselves
    are FakeStorefronts (tests/stock_fakes.py)."""

    writes: list[tuple[str, str]] = field(default_factory=list)
    fail_next: int = 0
    known: bool = True

    def write(self, order, fulfilment) -> FakeWriteResult:  # type: ignore[no-untyped-def]
        if self.fail_next:
            self.fail_next -= 1
            raise OutboundError("Shopify fulfillmentCreate failed with HTTP 502", 502)
        self.writes.append((order.order_id, fulfilment.fulfilment_id))
        if not self.known:
            return FakeWriteResult("shopify", skipped="channel shopify has no shop_domain configured", known=False)
        return FakeWriteResult("shopify", f"gid://shopify/Fulfillment/{len(self.writes)}")
