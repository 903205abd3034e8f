"""Stock allocation: where each order line is reserved, decided from levels and preferences."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from hub.domain.orders import OrderLine, Reservation

__all__ = [
    "COUNTS_OWN_ORDERS",
    "Crossing",
    "InsufficientStockError",
    "LocationRef",
    "LowStockState",
    "Placement",
    "StockChange",
    "StockLevel",
    "consume",
    "low_stock_crossing",
    "order_locations",
    "plan_placement",
    "plan_reservations",
    "release",
]


@dataclass(frozen=True, slots=True)
class LocationRef:
    id: str
    country: str


@dataclass(frozen=True, slots=True)
class StockLevel:
    """One SKU at one location.

    `version` counts every change to the row. `set_by` and `set_at` say who last set `available`
    as an absolute value (a storefront's channel, or "admin") and the time of that value: a level
    older than `set_at` is refused, and an order that channel reports after `set_at` is already
    out of the count (see plan_placement).
    """

    sku: str
    location: str
    available: int
    reserved: int = 0
    version: int = 0
    set_by: str | None = None
    set_at: datetime | None = None


class InsufficientStockError(Exception):
    """Not every line can be reserved; `shortages` maps sku -> units missing."""

    def __init__(self, shortages: Mapping[str, int]) -> None:
        self.shortages = dict(shortages)
        listed = ", ".join(f"{sku} short by {n}" for sku, n in sorted(self.shortages.items()))
        super().__init__(f"insufficient stock: {listed}")


def order_locations(locations: Sequence[LocationRef], ship_country: str | None) -> list[str]:
    """Configured order, with locations in the shipping country first (stable within each group)."""
    if not ship_country:
        return [loc.id for loc in locations]
    country = ship_country.upper()
    same = [loc.id for loc in locations if loc.country.upper() == country]
    return same + [loc.id for loc in locations if loc.country.upper() != country]


def plan_reservations(
    lines: Iterable[OrderLine],
    available: Mapping[str, Mapping[str, int]],
    preference: Sequence[str],
) -> list[Reservation]:
    """Reserve each line at the first preferred location that holds all of it, else split it
    across locations in order of preference. Raises InsufficientStockError when any line cannot
    be covered: an order is reserved whole or not at all.

    `available` maps sku -> location -> units available now. Lines that hold no stock
    (`stocked` False) are not reserved.
    """
    remaining = {sku: dict(levels) for sku, levels in available.items()}
    wanted: dict[str, int] = {}
    for line in lines:
        if line.stocked:
            wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity

    plan: list[Reservation] = []
    shortages: dict[str, int] = {}
    for sku, quantity in wanted.items():
        levels = remaining.get(sku, {})
        whole = next((loc for loc in preference if levels.get(loc, 0) >= quantity), None)
        if whole is not None:
            plan.append(Reservation(sku, whole, quantity))
            levels[whole] -= quantity
            continue
        still = quantity
        for loc in preference:
            take = min(still, max(levels.get(loc, 0), 0))
            if take:
                plan.append(Reservation(sku, loc, take))
                levels[loc] -= take
                still -= take
            if not still:
                break
        if still:
            shortages[sku] = still
    if shortages:
        raise InsufficientStockError(shortages)
    return plan


StockChange = tuple[str, str, int, int]  # sku, location, available delta, reserved delta


def _take(
    reservations: tuple[Reservation, ...], lines: Iterable[OrderLine], field: str
) -> tuple[tuple[Reservation, ...], list[StockChange]]:
    wanted: dict[str, int] = {}
    for line in lines:
        wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity
    updated: list[Reservation] = []
    changes: list[StockChange] = []
    for res in reservations:
        units = min(wanted.get(res.sku, 0), res.held)
        if units <= 0:
            updated.append(res)
            continue
        wanted[res.sku] -= units
        if field == "released":
            updated.append(Reservation(res.sku, res.location, res.quantity, res.released + units, res.consumed))
            changes.append((res.sku, res.location, units, -units))
        else:
            updated.append(Reservation(res.sku, res.location, res.quantity, res.released, res.consumed + units))
            changes.append((res.sku, res.location, 0, -units))
    return tuple(updated), changes


def release(
    reservations: tuple[Reservation, ...], lines: Iterable[OrderLine]
) -> tuple[tuple[Reservation, ...], list[StockChange]]:
    """Units going back to available (cancel, refund before shipment), never more than is held."""
    return _take(reservations, lines, "released")


def consume(
    reservations: tuple[Reservation, ...], lines: Iterable[OrderLine]
) -> tuple[tuple[Reservation, ...], list[StockChange]]:
    """Units leaving with a shipment: no longer reserved, and not available again."""
    return _take(reservations, lines, "consumed")


# When a storefront takes an order's units out of the count it reports: Shopify and BigCommerce when
# the order is placed, WooCommerce when it is paid (processing). Adobe Commerce (MSI) keeps the source
# quantity until shipment and deducts open orders as reservations, so its count never excludes them.
COUNTS_OWN_ORDERS: Mapping[str, str] = {"shopify": "placed", "bigcommerce": "placed", "woocommerce": "paid"}


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an order's units are held. `counted` lists the (sku, location) reservations whose units
    the order's own storefront had already taken out of the level it reported, with the report
    (set_by, set_at) that did: they are held without being taken from `available` a second time."""

    reservations: list[Reservation]
    counted: dict[tuple[str, str], tuple[str, datetime]]


def _already_counted(level: StockLevel, channel: str, placed_at: datetime) -> bool:
    return level.set_by == channel and level.set_at is not None and level.set_at >= placed_at


def plan_placement(
    lines: Iterable[OrderLine],
    levels: Mapping[str, Mapping[str, StockLevel]],
    preference: Sequence[str],
    *,
    channel: str,
    placed_at: datetime,
    counts_own_orders: bool,
) -> Placement:
    """plan_reservations, aware of the order's own storefront.

    A storefront's reported level already excludes its own orders (COUNTS_OWN_ORDERS). When the
    level a location holds was set by the order's channel at or after the order was placed, that
    report arrived before the order and already left the order's units out: the whole SKU is held
    there without taking from `available` again. Every other SKU is planned from `available`.
    Raises InsufficientStockError as plan_reservations does. Lines that hold no stock are skipped.
    """
    lines = [line for line in lines if line.stocked]
    counted: dict[tuple[str, str], tuple[str, datetime]] = {}
    reservations: list[Reservation] = []
    if counts_own_orders:
        wanted: dict[str, int] = {}
        for line in lines:
            wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity
        for sku, quantity in wanted.items():
            by_location = levels.get(sku, {})
            where = next(
                (
                    loc
                    for loc in preference
                    if loc in by_location and _already_counted(by_location[loc], channel, placed_at)
                ),
                None,
            )
            if where is None:
                continue
            level = by_location[where]
            assert level.set_by is not None and level.set_at is not None
            counted[(sku, where)] = (level.set_by, level.set_at)
            reservations.append(Reservation(sku, where, quantity))
    rest = [line for line in lines if not any(sku == line.sku for sku, _ in counted)]
    available = {sku: {loc: lvl.available for loc, lvl in by_loc.items()} for sku, by_loc in levels.items()}
    reservations.extend(plan_reservations(rest, available, preference))
    return Placement(reservations, counted)


class Crossing(StrEnum):
    """How a SKU's total available moved against the low-stock threshold."""

    ENTERED = "entered"  # at or below the threshold, and it was not before: announce once
    LEFT = "left"  # back above the threshold: the next fall is a new crossing
    NONE = "none"


def low_stock_crossing(available: int, threshold: int, *, was_low: bool) -> Crossing:
    low = available <= threshold
    if low and not was_low:
        return Crossing.ENTERED
    if was_low and not low:
        return Crossing.LEFT
    return Crossing.NONE


@dataclass(frozen=True, slots=True)
class LowStockState:
    """A SKU's low-stock crossing: `crossings` counts falls to the threshold; `announced` says the
    LowStock event of the current one is on the bus."""

    low: bool = False
    crossings: int = 0
    announced: bool = True
