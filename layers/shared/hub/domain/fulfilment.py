"""Fulfilment: where a paid order ships from, when it counts as shipped and delivered. No I/O.

Rules:
- A paid order with every unit reserved is routed: one fulfilment from one location when all its
  reservations are there, else one fulfilment per reservation location (in order of preference).
  The order becomes `fulfilling`.
- A fulfilment is `shipped` when it is handed to the carrier: a label bought through the carrier
  API (as Shopify treats a fulfilment with tracking), a tracking number given through the admin
  API or `commerce-hub ship`, or the storefront's own fulfilment. Its units leave the reservations.
- What the storefront shipped itself is never routed: an order recorded from a snapshot that
  names storefront fulfilments is not routed until each one's OrderFulfilled is on its timeline.
- The order becomes `shipped` when every fulfilment is shipped and they cover every unit, and
  `delivered` when every fulfilment is delivered. Delivered never comes before shipped, and nothing
  moves an order backwards: a late or repeated fact is recorded and changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation

from hub.domain.orders import Fulfilment, Order, OrderLine, OrderStatus, can_transition
from hub.errors import NotShippedYetError, StorefrontShipmentPendingError

__all__ = [
    "OPEN",
    "SHIPPED",
    "Decision",
    "Rate",
    "Shipment",
    "choose_rate",
    "fulfilment_id_for",
    "mark_written_back",
    "plan_fulfilments",
    "route",
    "ship",
    "storefront_shipped",
    "track",
]

S = OrderStatus
OPEN = frozenset({"pending", "label_purchased"})
SHIPPED = frozenset({"shipped", "delivered"})
_CLOSED_ORDER = frozenset({S.CANCELLED, S.REFUNDED})


@dataclass
class Decision:
    """What applying one fact did to the order's fulfilments."""

    summary: str
    applied: bool = True
    consume: list[OrderLine] = field(default_factory=list)
    routed: list[Fulfilment] = field(default_factory=list)
    shipped: list[Fulfilment] = field(default_factory=list)


@dataclass(frozen=True)
class Shipment:
    """How a fulfilment left: who shipped it and its tracking."""

    origin: str  # carrier | admin | the storefront's channel
    carrier: str | None = None
    service: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    label_url: str | None = None
    external_id: str | None = None


def fulfilment_id_for(order_id: str, location: str | None) -> str:
    """The same order and location always give the same fulfilment id (and so the same carrier keys)."""
    digest = hashlib.sha256(f"{order_id}\x1f{location or ''}".encode()).hexdigest()
    return f"ful_{digest[:20]}"


# ------------------------------------------------------------------------------------ units
def _units(lines: Iterable[OrderLine]) -> dict[str, int]:
    units: dict[str, int] = {}
    for line in lines:
        units[line.sku] = units.get(line.sku, 0) + line.quantity
    return units


def _shipped_units(order: Order) -> dict[str, int]:
    return _units(line for f in order.fulfilments if f.status in SHIPPED for line in f.lines)


def _line_for(order: Order, sku: str, quantity: int) -> OrderLine:
    source = next((ln for ln in order.lines if ln.sku == sku), None)
    return OrderLine(sku, quantity, source.unit_price if source else 0, source.platform_line_id if source else None)


def _to_ship(order: Order) -> dict[str, int]:
    """The units the order ships: lines that hold no stock (digital, gift cards) never ship."""
    return _units(ln for ln in order.lines if ln.stocked)


def _lines(order: Order, units: dict[str, int]) -> tuple[OrderLine, ...]:
    return tuple(_line_for(order, sku, qty) for sku, qty in units.items() if qty > 0)


def _covers_order(order: Order) -> bool:
    shipped = _shipped_units(order)
    return all(shipped.get(sku, 0) >= qty for sku, qty in _to_ship(order).items())


def _active(order: Order) -> list[Fulfilment]:
    return [f for f in order.fulfilments if f.status != "cancelled"]


def _replace(order: Order, updated: Fulfilment) -> None:
    order.fulfilments = [updated if f.fulfilment_id == updated.fulfilment_id else f for f in order.fulfilments]


def _advance(order: Order) -> str:
    """Move the order on when its fulfilments say so; returns what happened, for the summary."""
    active = _active(order)
    if not active:
        return ""
    if all(f.status == "delivered" for f in active) and _covers_order(order):
        target = S.DELIVERED
    elif all(f.status in SHIPPED for f in active) and _covers_order(order):
        target = S.SHIPPED
    else:
        return ""
    if order.status is target:
        return ""
    if order.status is S.ON_HOLD:
        # A dispute's resolution restores the status the order would have now.
        if order.previous_status in (S.PAID, S.FULFILLING, S.SHIPPED) and order.previous_status is not target:
            order.previous_status = target
        return f"; the order stays on hold ({target} once released)"
    if target is S.DELIVERED and order.status in (S.PAID, S.FULFILLING):
        order.move_to(S.SHIPPED)  # delivered is only ever reached through shipped
    if can_transition(order.status, target):
        order.move_to(target)
        return f"; the order is {target}"
    return ""


# ------------------------------------------------------------------------------------ routing
def plan_fulfilments(order: Order, preference: Sequence[str]) -> list[Fulfilment]:
    """One fulfilment per location holding the order's units; one in all when one location holds them all."""
    held: dict[str, dict[str, int]] = {}
    for res in order.reservations:
        if res.held > 0:
            by_sku = held.setdefault(res.location, {})
            by_sku[res.sku] = by_sku.get(res.sku, 0) + res.held
    rank = {loc: i for i, loc in enumerate(preference)}
    locations = sorted(held, key=lambda loc: (rank.get(loc, len(rank)), loc))
    return [
        Fulfilment(fulfilment_id_for(order.order_id, loc), loc, _lines(order, held[loc]), origin=None)
        for loc in locations
    ]


def route(order: Order, preference: Sequence[str]) -> Decision:
    if any(f.status in OPEN for f in order.fulfilments):
        return Decision("already routed", applied=False)
    if order.status is not S.PAID:
        return Decision(f"not routed: the order is {order.status}", applied=False)
    if not order.reserved:
        return Decision("not routed: its stock is not reserved", applied=False)
    waiting = [f for f in order.storefront_fulfilments if not order.applied(f.event_id)]
    if waiting:
        names = ", ".join(f.fulfilment_id or f.event_id for f in waiting)
        raise StorefrontShipmentPendingError(
            f"{order.order_id}: the storefront's fulfilment {names} is not applied yet; routing waits for it"
        )
    plan = plan_fulfilments(order, preference)
    if not plan:
        return Decision("not routed: no reserved units are left to ship", applied=False)
    order.fulfilments = [*order.fulfilments, *plan]
    order.move_to(S.FULFILLING)
    where = ", ".join(f.location or "?" for f in plan)
    summary = f"routed from {where}" if len(plan) == 1 else f"split across {where}"
    return Decision(summary, routed=plan)


# ------------------------------------------------------------------------------------ shipping
def ship(order: Order, fulfilment_id: str, shipment: Shipment, at: datetime) -> Decision:
    """A fulfilment handed to the carrier by the hub (carrier label or admin)."""
    current = next((f for f in order.fulfilments if f.fulfilment_id == fulfilment_id), None)
    if current is None:
        return Decision(f"no fulfilment {fulfilment_id}", applied=False)
    if current.status in SHIPPED:
        return Decision(f"{fulfilment_id} was already shipped ({current.tracking_number or 'no tracking'})", False)
    if current.status == "cancelled":
        return Decision(f"{fulfilment_id} was shipped by the storefront", applied=False)
    if order.status in _CLOSED_ORDER:
        return Decision(f"not shipped: the order is {order.status}", applied=False)
    shipped = replace(
        current,
        status="shipped",
        carrier=shipment.carrier,
        service=shipment.service,
        tracking_number=shipment.tracking_number,
        tracking_url=shipment.tracking_url,
        label_url=shipment.label_url,
        origin=shipment.origin,
        shipped_at=at,
        external_id=shipment.external_id or current.external_id,
        written_back=False,
    )
    _replace(order, shipped)
    moved = _advance(order)
    summary = f"{fulfilment_id} shipped from {current.location} with {shipment.carrier or 'a carrier'}"
    return Decision(summary + moved, consume=list(current.lines), shipped=[shipped])


def storefront_shipped(
    order: Order,
    shipment: Shipment,
    lines: Sequence[tuple[str | None, int]],
    at: datetime,
) -> Decision:
    """The storefront shipped (some of) the order itself: its units are not the hub's to ship again.

    `lines` (sku, quantity) may be empty, meaning every unit not shipped yet.
    """
    if order.status in _CLOSED_ORDER:
        return Decision(f"the storefront shipped it, but the order is {order.status}", applied=False)
    known = [f for f in order.fulfilments if f.status in SHIPPED]
    if shipment.external_id and any(f.external_id == shipment.external_id for f in known):
        return Decision(f"storefront fulfilment {shipment.external_id} already recorded", applied=False)
    if shipment.tracking_number and any(f.tracking_number == shipment.tracking_number for f in known):
        return Decision(f"tracking {shipment.tracking_number} already recorded", applied=False)

    shipped_now = _shipped_units(order)
    unshipped = {sku: qty - shipped_now.get(sku, 0) for sku, qty in _to_ship(order).items()}
    wanted: dict[str, int] = {}
    for sku, quantity in lines:
        if sku:
            wanted[sku] = wanted.get(sku, 0) + quantity
    if not wanted:
        wanted = {sku: qty for sku, qty in unshipped.items() if qty > 0}
    wanted = {sku: min(qty, unshipped.get(sku, 0)) for sku, qty in wanted.items()}
    wanted = {sku: qty for sku, qty in wanted.items() if qty > 0}
    if not wanted:
        return Decision("the storefront shipped it; every unit was already shipped", applied=False)

    consumed = dict(wanted)
    shipped: list[Fulfilment] = []

    def shipped_by_storefront(f: Fulfilment) -> Fulfilment:
        return replace(
            f,
            status="shipped",
            carrier=shipment.carrier,
            tracking_number=shipment.tracking_number,
            tracking_url=shipment.tracking_url,
            origin=shipment.origin,
            shipped_at=at,
            external_id=shipment.external_id,
            written_back=True,  # the storefront is where it comes from
        )

    for f in list(order.fulfilments):
        if f.status not in OPEN:
            continue
        need = _units(f.lines)
        if all(wanted.get(sku, 0) >= qty for sku, qty in need.items()):
            updated = shipped_by_storefront(f)
            _replace(order, updated)
            shipped.append(updated)
            for sku, qty in need.items():
                wanted[sku] -= qty
    rest = {sku: qty for sku, qty in wanted.items() if qty > 0}
    if rest:
        ref = shipment.external_id or shipment.tracking_number or at.isoformat()
        extra = shipped_by_storefront(
            Fulfilment(fulfilment_id_for(order.order_id, f"{shipment.origin}:{ref}"), None, _lines(order, rest))
        )
        order.fulfilments = [*order.fulfilments, extra]
        shipped.append(extra)
    if _covers_order(order):
        # Whatever the hub still meant to ship has left with the storefront's shipments.
        order.fulfilments = [replace(f, status="cancelled") if f.status in OPEN else f for f in order.fulfilments]
    moved = _advance(order)
    units = sum(consumed.values())
    summary = f"the storefront shipped {units} units with {shipment.carrier or 'a carrier'}"
    return Decision(summary + moved, consume=list(_lines(order, consumed)), shipped=shipped)


_TRACKING_WORDS = {
    "pre_transit": "label created, not yet with the carrier",
    "in_transit": "in transit",
    "out_for_delivery": "out for delivery",
    "returned": "returned to sender",
    "failure": "delivery failed",
    "cancelled": "cancelled by the carrier",
    "unknown": "status unknown",
}


def track(order: Order, fulfilment_id: str, status: str, at: datetime) -> Decision:
    """A carrier's tracking update for one fulfilment. Only `delivered` changes anything."""
    current = next((f for f in order.fulfilments if f.fulfilment_id == fulfilment_id), None)
    if current is None:
        return Decision(f"tracking for unknown fulfilment {fulfilment_id}", applied=False)
    if status != "delivered":
        return Decision(f"{fulfilment_id}: {_TRACKING_WORDS.get(status, status)}", applied=False)
    if current.status == "delivered":
        return Decision(f"{fulfilment_id} was already delivered", applied=False)
    if current.status != "shipped":
        if current.status == "cancelled" or order.status in _CLOSED_ORDER:
            return Decision(f"{fulfilment_id} reported delivered, but it is {current.status}", applied=False)
        raise NotShippedYetError(f"{order.order_id}: {fulfilment_id} is {current.status}, not shipped yet")
    delivered = replace(current, status="delivered", delivered_at=at)
    _replace(order, delivered)
    moved = _advance(order)
    return Decision(f"{fulfilment_id} delivered" + moved)


def mark_written_back(order: Order, fulfilment_id: str, what: str) -> Decision:
    current = next((f for f in order.fulfilments if f.fulfilment_id == fulfilment_id), None)
    if current is None:
        return Decision(f"no fulfilment {fulfilment_id}", applied=False)
    if current.written_back:
        return Decision(f"{fulfilment_id} was already written back", applied=False)
    _replace(order, replace(current, written_back=True))
    return Decision(f"{fulfilment_id} {what}")


# ------------------------------------------------------------------------------------ rates
@dataclass(frozen=True)
class Rate:
    """One carrier rate offered for a shipment."""

    rate_id: str
    carrier: str
    service: str
    amount: str  # decimal string, as the carrier API sends it
    currency: str
    days: int | None = None


def _price(rate: Rate) -> Decimal:
    try:
        return Decimal(rate.amount)
    except InvalidOperation:
        return Decimal("Infinity")


def choose_rate(
    rates: Sequence[Rate], *, max_days: int | None, services: Sequence[str], carriers: Sequence[str]
) -> Rate | None:
    """The cheapest rate that meets the service level (allowed carriers and services, at most
    `max_days` delivery days when given); ties go to the faster, then by name. None if none qualifies."""
    allowed_services = {s.lower() for s in services}
    allowed_carriers = {c.lower() for c in carriers}
    qualifying = [
        r
        for r in rates
        if (not allowed_services or r.service.lower() in allowed_services)
        and (not allowed_carriers or r.carrier.lower() in allowed_carriers)
        and (max_days is None or (r.days is not None and r.days <= max_days))
        and _price(r).is_finite()
    ]
    if not qualifying:
        return None
    return min(qualifying, key=lambda r: (_price(r), r.days if r.days is not None else 999, r.carrier, r.service))
