"""Stock allocation: where each order line is reserved, decided from levels and preferences."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from zlib import crc32

from hub.domain.orders import OrderLine, Reservation
from hub.errors import InsufficientStockError

__all__ = [
    "HEAD",
    "MAX_SHARDS",
    "Crossing",
    "Draw",
    "LocationRef",
    "LowStockState",
    "Move",
    "Placement",
    "SkuStock",
    "StockChange",
    "StockLevel",
    "StockPage",
    "consume",
    "draw_from_shards",
    "home_shard",
    "is_low",
    "low_stock_crossing",
    "order_locations",
    "plan_placement",
    "plan_reservations",
    "rebalance_moves",
    "release",
    "split_units",
    "taken_from",
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
    # A sharded location (a hot SKU, docs/stock.md#hot-skus-sharded-stock): the available units of
    # each shard. `available` and `reserved` are then the sums over the location's row and its
    # shards, and `version` the sum of their versions (it grows with every change to any of them).
    shards: tuple[int, ...] = ()

    @property
    def spare(self) -> int:
        """Available units on the location's own row, outside its shards (released units land there)."""
        return self.available - sum(self.shards)


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


def taken_from(
    levels: Mapping[str, Mapping[str, StockLevel]], placement: Placement
) -> dict[str, dict[str, StockLevel]]:
    """The levels once a placement's reservations are held: its units out of `available` (and out
    of the shards it drew from), into `reserved`, one more version per row written. For the levels
    a placement read, without reading them again."""
    after = {sku: dict(by_loc) for sku, by_loc in levels.items()}
    for res in placement.reservations:
        level = after.get(res.sku, {}).get(res.location)
        if level is None:
            continue
        draws = placement.draws.get((res.sku, res.location), ())
        counted = (res.sku, res.location) in placement.counted
        shards = list(level.shards)
        for draw in draws:
            if draw.shard != HEAD:
                shards[draw.shard] -= draw.units
        after[res.sku][res.location] = replace(
            level,
            available=level.available - (0 if counted else res.quantity),
            reserved=level.reserved + res.quantity,
            version=level.version + max(len(draws), 1),
            shards=tuple(shards),
        )
    return after


# ------------------------------------------------------------------------------------ sharded stock
# A hot SKU's units at a location are split over N shard rows, so that concurrent orders write to
# different items (DynamoDB holds one item to about 1,000 write units a second, and two transactions
# touching one item at once conflict). See docs/stock.md and bench/flash_sale.py for the model.

MAX_SHARDS = 64  # a level set writes the row and every shard in one transaction (100 items at most)
HEAD = -1  # the location's own row: released units land there, and rebalancing moves them out


@dataclass(frozen=True, slots=True)
class Draw:
    """Units a reservation takes from one shard (or from the location's own row, HEAD)."""

    shard: int
    units: int


@dataclass(frozen=True, slots=True)
class Move:
    """Units moved from one shard (or HEAD) to another, in one transaction."""

    source: int
    target: int
    units: int


def split_units(total: int, shards: int) -> tuple[int, ...]:
    """`total` units over `shards` shards as evenly as whole units go (the first ones get the rest)."""
    if shards < 1:
        raise ValueError("at least one shard")
    base, rest = divmod(max(total, 0), shards)
    return tuple(base + (1 if i < rest else 0) for i in range(shards))


def home_shard(key: str, shards: int) -> int:
    """The shard an order draws from first: a stable hash of its id (the same in every process)."""
    return crc32(key.encode()) % shards


def draw_from_shards(key: str, quantity: int, shards: Sequence[int], spare: int = 0) -> list[Draw]:
    """Where `quantity` units are taken: the order's home shard first, falling over to the next
    shards in turn while one is short, then the location's own row (`spare`, released units).
    Raises InsufficientStockError when all of them together hold fewer than `quantity`.

    Each draw is guarded in the ledger by `available >= units` on its shard, so a plan made from a
    stale read can fail but never oversell."""
    if not shards:
        raise ValueError("a sharded level has at least one shard")
    start = home_shard(key, len(shards))
    order = [(start + i) % len(shards) for i in range(len(shards))]
    draws: list[Draw] = []
    still = quantity
    for shard in order:
        take = min(still, max(shards[shard], 0))
        if take:
            draws.append(Draw(shard, take))
            still -= take
        if not still:
            return draws
    take = min(still, max(spare, 0))
    if take:
        draws.append(Draw(HEAD, take))
        still -= take
    if still:
        raise InsufficientStockError({"": still})
    return draws


def rebalance_moves(shards: Sequence[int], spare: int = 0, *, limit: int = 4) -> list[Move]:
    """Moves that bring the shards back to an even split of what they and the row hold: units on the
    row (released there) go to the emptiest shards; a shard below half its share is topped up from
    the fullest. At most `limit` moves, each between two items only, so that each is a small
    transaction that rarely meets a reservation. Nothing when the shards are even enough.

    Units are only moved, never made: the total is unchanged by every move."""
    if not shards:
        return []
    levels = {i: max(units, 0) for i, units in enumerate(shards)}
    target = split_units(sum(levels.values()) + max(spare, 0), len(shards))
    moves: list[Move] = []
    row = max(spare, 0)
    # Released units first: they are on no shard, so no order draws them until they are moved
    # (except as a last resort).
    while row and len(moves) < limit:
        emptiest = min(levels, key=lambda i: (levels[i] - target[i], i))
        room = target[emptiest] - levels[emptiest]
        units = min(row, room) if room > 0 else row
        moves.append(Move(HEAD, emptiest, units))
        levels[emptiest] += units
        row -= units
    while len(moves) < limit:
        low = min(levels, key=lambda i: (levels[i] - target[i], i))
        high = max(levels, key=lambda i: (levels[i] - target[i], -i))
        need = target[low] - levels[low]
        extra = levels[high] - target[high]
        # Only a shard below half its share is worth a transaction; small skews are left alone.
        if need <= 0 or extra <= 0 or levels[low] * 2 >= target[low]:
            break
        units = min(need, extra)
        moves.append(Move(high, low, units))
        levels[low] += units
        levels[high] -= units
    return moves


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an order's units are held. `counted` lists the (sku, location) reservations whose units
    the order's own storefront had already taken out of the level it reported, with the report
    (set_by, set_at) that did: they are held without being taken from `available` a second time.
    `draws` says, for each reservation at a sharded location, which shards its units come from."""

    reservations: list[Reservation]
    counted: dict[tuple[str, str], tuple[str, datetime]]
    draws: dict[tuple[str, str], tuple[Draw, ...]] = field(default_factory=dict)


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
    key: str = "",
) -> Placement:
    """plan_reservations, aware of the order's own storefront.

    A storefront's reported level already excludes its own orders (hub.domain.platforms.COUNTS_OWN_ORDERS). When the
    level a location holds was set by the order's channel at or after the order was placed, that
    report arrived before the order and already left the order's units out: the whole SKU is held
    there without taking from `available` again. Every other SKU is planned from `available`.
    Raises InsufficientStockError as plan_reservations does. Lines that hold no stock are skipped.

    A reservation at a sharded location draws from the shards as draw_from_shards says, the order's
    `key` (its id) choosing the shard it starts from.
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
    draws: dict[tuple[str, str], tuple[Draw, ...]] = {}
    for res in reservations:
        held = levels.get(res.sku, {}).get(res.location)
        if held is not None and held.shards and (res.sku, res.location) not in counted:
            try:
                draws[(res.sku, res.location)] = tuple(draw_from_shards(key, res.quantity, held.shards, held.spare))
            except InsufficientStockError as short:
                # The row and its shards read apart (negative units): the ledger refuses the rest.
                raise InsufficientStockError({res.sku: short.shortages[""]}) from short
    return Placement(reservations, counted, draws)


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


def is_low(available: int, threshold: int) -> bool:
    """A SKU is low on stock when its total available is at the threshold or below (as LowStock)."""
    return available <= threshold


@dataclass(frozen=True, slots=True)
class SkuStock:
    """One SKU's levels at each of its locations, as the stock list shows it."""

    sku: str
    levels: Mapping[str, StockLevel]
    threshold: int

    @property
    def available(self) -> int:
        return sum(level.available for level in self.levels.values())

    @property
    def reserved(self) -> int:
        return sum(level.reserved for level in self.levels.values())

    @property
    def low(self) -> bool:
        return is_low(self.available, self.threshold)


@dataclass(frozen=True, slots=True)
class StockPage:
    skus: tuple[SkuStock, ...]
    next_after: str | None  # the last SKU of this page when more follow
