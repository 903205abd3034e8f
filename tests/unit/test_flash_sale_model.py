"""The flash-sale model and simulation of bench/flash_sale.py, with small numbers: deterministic
(seeded), so the counts that matter are pinned; timings are never asserted."""

from __future__ import annotations

from bench.flash_sale import Sale, conflict_probability, model, render, run


def test_the_model_finds_one_row_at_its_write_limit_and_calls_for_32_shards():
    paper = model()
    today = paper["rows"][0]
    assert today["shards"] == 1 and today["wcu_per_item"] == 1000 and today["wcu_share"] == 1.0
    assert today["conflict"]["15"] > 0.8
    assert paper["chosen"] == 32
    chosen = next(r for r in paper["rows"] if r["shards"] == 32)
    assert chosen["conflict"]["15"] <= 0.2 and chosen["table_rcu"] <= 40_000
    assert chosen["shard_partition_rcu"] <= 3_000 and chosen["row_partition_rcu"] <= 3_000


def test_conflicts_follow_the_loss_formula():
    assert conflict_probability(0, 15) == 0
    assert round(conflict_probability(100, 10), 3) == 0.5  # load 1: one in two turned away


def test_a_sharded_sale_never_oversells_and_decides_every_order():
    result = Sale(shards=8, seconds=1.0, stock=300, seed=3).run()
    assert result["oversold_units"] == 0 and result["lowest_available"] == 0
    assert result["failed_orders"] == 0 and result["decided_share"] == 1.0
    # Every unit was sold (released units sold again), the rest of the orders are on hold.
    assert result["reserved_units"] + result["left_available"] == 300 + result["released"]
    assert result["held_orders"] > 0


def test_one_row_cannot_keep_up_where_shards_can():
    one = Sale(shards=1, seconds=1.0, stock=300, seed=3).run()
    many = Sale(shards=32, seconds=1.0, stock=300, seed=3).run()
    assert one["oversold_units"] == many["oversold_units"] == 0
    assert one["conflicts"] > 10 * many["conflicts"]
    assert one["attempts_mean"] > 5 * many["attempts_mean"]


def test_the_same_seed_gives_the_same_sale():
    assert Sale(shards=4, seconds=0.5, stock=100, seed=9).run() == Sale(shards=4, seconds=0.5, stock=100, seed=9).run()


def test_the_quick_run_renders_its_section():
    text = render(run(quick=True))
    assert "## (f) A flash sale" in text and '`stock.shards: {"SKU": 32}`' in text
    assert "docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html" in text
    assert "eb-quota.html" in text and "services-sqs-scaling.html" in text
