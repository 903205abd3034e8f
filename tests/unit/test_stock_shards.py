"""Sharded stock in the domain: how units are split, which shard an order draws from and where it
falls over to, what a rebalance moves, and the placement of an order at a sharded location."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hub.config import parse_config
from hub.domain.orders import OrderLine, Reservation
from hub.domain.stock import (
    HEAD,
    MAX_SHARDS,
    Draw,
    Move,
    StockLevel,
    draw_from_shards,
    home_shard,
    plan_placement,
    rebalance_moves,
    split_units,
    taken_from,
)
from hub.errors import ConfigError, InsufficientStockError

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def apply(shards: list[int], spare: int, moves: list[Move]) -> tuple[list[int], int]:
    """The shards and row after the moves, as the ledger applies them (refusing a move the source
    cannot cover)."""
    levels = {HEAD: spare, **dict(enumerate(shards))}
    for move in moves:
        assert levels[move.source] >= move.units > 0
        levels[move.source] -= move.units
        levels[move.target] += move.units
    return [levels[i] for i in range(len(shards))], levels[HEAD]


# ------------------------------------------------------------------------------------------ split
@pytest.mark.parametrize(
    ("total", "shards", "expected"),
    [(10, 4, (3, 3, 2, 2)), (8, 4, (2, 2, 2, 2)), (3, 8, (1, 1, 1, 0, 0, 0, 0, 0)), (0, 2, (0, 0)), (7, 1, (7,))],
)
def test_units_are_split_as_evenly_as_whole_units_go(total, shards, expected):
    assert split_units(total, shards) == expected
    assert sum(split_units(total, shards)) == total


def test_a_split_needs_a_shard():
    with pytest.raises(ValueError):
        split_units(5, 0)


# ------------------------------------------------------------------------------------------ draws
def test_the_home_shard_is_a_stable_hash_of_the_order_spread_over_every_shard():
    # crc32, not hash(): the same shard in every process and on every redelivery.
    assert home_shard("shopify:5849162203412", 8) == home_shard("shopify:5849162203412", 8)
    homes = {home_shard(f"shopify:{n}", 8) for n in range(200)}
    assert homes == set(range(8))
    counts = [sum(1 for n in range(8000) if home_shard(f"shopify:{n}", 8) == s) for s in range(8)]
    assert min(counts) > 800  # about 1,000 each: even enough to spread the writes


def test_an_order_draws_from_its_home_shard_when_it_holds_enough():
    key = "shopify:1001"
    home = home_shard(key, 4)
    assert draw_from_shards(key, 2, [5, 5, 5, 5]) == [Draw(home, 2)]


def test_an_order_falls_over_to_the_next_shards_in_turn_when_its_own_is_short():
    key = "shopify:1001"
    home = home_shard(key, 4)
    shards = [0, 0, 0, 0]
    shards[home] = 1
    shards[(home + 1) % 4] = 0
    shards[(home + 2) % 4] = 5
    assert draw_from_shards(key, 3, shards) == [Draw(home, 1), Draw((home + 2) % 4, 2)]


def test_released_units_on_the_row_are_drawn_last():
    key = "shopify:1001"
    assert draw_from_shards(key, 3, [1, 0, 0, 0], spare=4) == [Draw(0, 1), Draw(HEAD, 2)]


def test_more_than_the_shards_and_the_row_hold_is_refused():
    with pytest.raises(InsufficientStockError):
        draw_from_shards("shopify:1", 5, [1, 1, 1, 1], spare=0)


def test_a_negative_shard_is_never_drawn_from():
    for key in ("a", "b", "c", "d"):  # whichever shard is home
        assert draw_from_shards(key, 2, [-3, 2]) == [Draw(1, 2)]


# ------------------------------------------------------------------------------------------ rebalance
def test_even_shards_need_no_move():
    assert rebalance_moves([3, 3, 2, 2]) == []
    assert rebalance_moves([3, 2, 2, 2]) == []  # skewed a little: not worth a transaction


def test_a_drained_shard_is_topped_up_from_the_fullest_and_the_total_is_unchanged():
    moves = rebalance_moves([0, 6, 3, 3])
    assert moves == [Move(1, 0, 3)]
    shards, spare = apply([0, 6, 3, 3], 0, moves)
    assert shards == [3, 3, 3, 3] and spare == 0


def test_units_released_to_the_row_go_to_the_emptiest_shards_first():
    moves = rebalance_moves([0, 2, 2, 1], spare=3)
    assert moves[0] == Move(HEAD, 0, 2)
    shards, spare = apply([0, 2, 2, 1], 3, moves)
    assert spare == 0 and sum(shards) == 8 and max(shards) - min(shards) <= 1


def test_a_rebalance_makes_at_most_its_limit_of_moves_each_between_two_rows():
    moves = rebalance_moves([40, 0, 0, 0, 0, 0, 0, 0], limit=3)
    assert len(moves) == 3 and all(m.source == 0 for m in moves)
    shards, _ = apply([40, 0, 0, 0, 0, 0, 0, 0], 0, moves)
    assert sum(shards) == 40 and shards[:4] == [25, 5, 5, 5]


def test_a_few_units_over_many_shards_go_to_the_first_shards_and_then_stay():
    # 3 units over 8 shards: shares of 1 or 0; a shard at 0 whose share is 0 wants nothing.
    assert rebalance_moves([0, 0, 0, 0, 0, 0, 0, 3]) == [Move(7, 0, 1), Move(7, 1, 1), Move(7, 2, 1)]
    assert rebalance_moves([1, 1, 1, 0, 0, 0, 0, 0]) == []


def test_no_shards_no_moves():
    assert rebalance_moves([]) == []


# ------------------------------------------------------------------------------------------ placement
def level(available: int, shards: tuple[int, ...] = (), **kw) -> StockLevel:
    return StockLevel("FLASH-1", kw.pop("location", "wh-east"), available, shards=shards, **kw)


def test_a_placement_at_a_sharded_location_says_which_shards_it_draws_from():
    levels = {"FLASH-1": {"wh-east": level(9, (2, 3, 2, 2))}}
    placement = plan_placement(
        [OrderLine("FLASH-1", 4, 100)],
        levels,
        ["wh-east"],
        channel="shopify",
        placed_at=NOW,
        counts_own_orders=False,
        key="shopify:77",
    )
    assert placement.reservations == [Reservation("FLASH-1", "wh-east", 4)]
    draws = placement.draws[("FLASH-1", "wh-east")]
    assert sum(d.units for d in draws) == 4
    assert draws[0].shard == home_shard("shopify:77", 4)


def test_an_unsharded_location_draws_nothing_and_the_level_row_is_as_before():
    levels = {"MUG": {"wh-east": StockLevel("MUG", "wh-east", 5)}}
    placement = plan_placement(
        [OrderLine("MUG", 2, 100)], levels, ["wh-east"], channel="shopify", placed_at=NOW, counts_own_orders=False
    )
    assert placement.draws == {}
    assert levels["MUG"]["wh-east"].spare == 5


def test_a_sharded_location_short_of_the_order_puts_it_on_hold_as_any_other():
    levels = {"FLASH-1": {"wh-east": level(3, (1, 1, 1, 0))}}
    with pytest.raises(InsufficientStockError) as short:
        plan_placement(
            [OrderLine("FLASH-1", 4, 100)],
            levels,
            ["wh-east"],
            channel="shopify",
            placed_at=NOW,
            counts_own_orders=False,
            key="shopify:1",
        )
    assert short.value.shortages == {"FLASH-1": 1}


def test_a_counted_reservation_at_a_sharded_location_is_held_on_the_row_without_draws():
    report = level(5, (2, 1, 1, 1), set_by="shopify", set_at=NOW)
    placement = plan_placement(
        [OrderLine("FLASH-1", 1, 100)],
        {"FLASH-1": {"wh-east": report}},
        ["wh-east"],
        channel="shopify",
        placed_at=NOW,
        counts_own_orders=True,
        key="shopify:9",
    )
    assert placement.counted and placement.draws == {}


# ------------------------------------------------------------------------------------------ configuration
def test_shards_are_configured_per_sku_with_a_default():
    config = parse_config("locations: [{id: wh-east, country: US}]\nstock: {shards: {FLASH-1: 8}, default_shards: 2}\n")
    assert config.stock.shards_for("FLASH-1") == 8
    assert config.stock.shards_for("MUG") == 2
    assert parse_config("locations: [{id: wh-east, country: US}]\n").stock.shards_for("MUG") == 1


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ("stock: {shard: {FLASH-1: 8}}", "unknown key 'stock.shard'"),
        (f"stock: {{shards: {{FLASH-1: {MAX_SHARDS + 1}}}}}", "'FLASH-1'"),
        ("stock: {shards: {FLASH-1: 0}}", "'FLASH-1'"),
        ("stock: {default_shards: 0}", "stock.default_shards"),
    ],
)
def test_wrong_shard_settings_are_errors_naming_the_key(document, named):
    with pytest.raises(ConfigError) as error:
        parse_config(f"locations: [{{id: wh-east, country: US}}]\n{document}\n")
    assert named in str(error.value)


def test_the_levels_after_a_placement_are_the_read_less_what_it_took():
    levels = {"FLASH-1": {"wh-east": level(9, (2, 3, 2, 2), reserved=1, version=10)}}
    placement = plan_placement(
        [OrderLine("FLASH-1", 4, 100)],
        levels,
        ["wh-east"],
        channel="shopify",
        placed_at=NOW,
        counts_own_orders=False,
        key="shopify:77",
    )
    after = taken_from(levels, placement)["FLASH-1"]["wh-east"]
    draws = placement.draws[("FLASH-1", "wh-east")]
    assert (after.available, after.reserved, sum(after.shards)) == (5, 5, 5)
    assert after.version == 10 + len(draws)
    assert levels["FLASH-1"]["wh-east"].available == 9  # the read itself is left as it was
