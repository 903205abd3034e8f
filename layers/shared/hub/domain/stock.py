"""Stock allocation: where each order line is reserved, decided from levels and preferences."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from hub.domain.orders import OrderLine, Reservation

__all__ = [
    "InsufficientStockError",
    "LocationRef",
    "StockChange",
    "StockLevel",
    "consume",
    "order_locations",
    "plan_reservations",
    "release",
]


@dataclass(frozen=True, slots=True)
class LocationRef:
    id: str
    country: str


@dataclass(frozen=True, slots=True)
class StockLevel:
    sku: str
    location: str
    available: int
    reserved: int = 0


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

    `available` maps sku -> location -> units available now.
    """
    remaining = {sku: dict(levels) for sku, levels in available.items()}
    wanted: dict[str, int] = {}
    for line in lines:
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
