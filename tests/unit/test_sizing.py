"""The memory sizing arithmetic of bench/sizing.py: Lambda's CPU share, billing, the choice per function."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bench import sizing
from bench.sizing import choose, duration_ms, invocation_usd, model, percentile, size_functions


def test_below_one_vcpu_the_cpu_time_stretches_in_proportion_and_the_wait_does_not() -> None:
    # 10 ms of CPU and 40 ms of waiting, measured on one local core.
    assert duration_ms(10, 50, 1769) == pytest.approx(50)
    assert duration_ms(10, 50, 128) == pytest.approx(10 * 1769 / 128 + 40)
    assert duration_ms(10, 50, 512) == pytest.approx(10 * 1769 / 512 + 40)
    # Above 1,769 MB a single-threaded handler gains nothing.
    assert duration_ms(10, 50, 3538) == pytest.approx(50)
    # Wall below CPU (a clock's granularity) is no negative wait.
    assert duration_ms(10, 9, 1769) == pytest.approx(10)


def test_an_invocation_is_billed_per_started_millisecond_at_the_arm64_price_plus_the_request() -> None:
    # 100.2 ms at 512 MB: 101 ms billed, 0.101 s x 0.5 GB = 0.0505 GB-s.
    expected = Decimal("0.0505") * Decimal("0.0000133334") + Decimal("0.0000002")
    assert invocation_usd(100.2, 512) == expected
    assert invocation_usd(100.0, 1024) == Decimal("0.1") * Decimal("0.0000133334") + Decimal("0.0000002")


def test_percentile_is_nearest_rank() -> None:
    values = list(range(1, 101))  # 1..100
    assert percentile(values, 95) == 95
    assert percentile(values, 50) == 50
    assert percentile([7.0], 95) == 7.0
    assert percentile([3, 1, 2], 100) == 3


def test_the_model_gives_p95_mean_billed_ms_and_cost_per_million_for_each_size() -> None:
    cpu, wall = [10.0] * 19 + [100.0], [20.0] * 19 + [200.0]
    table = model(cpu, wall, sizes=(128, 1024))
    # p95 of 20 samples is the 19th: one of the light ones.
    assert table[1024]["p95_ms"] == round(10 * 1769 / 1024 + 10, 1)
    assert table[128]["p95_ms"] == round(10 * 1769 / 128 + 10, 1)
    assert table[128]["cpu_p95_ms"] == round(10 * 1769 / 128, 1)  # the CPU part alone
    light, heavy = 10 * 1769 / 1024 + 10, 100 * 1769 / 1024 + 100
    assert table[1024]["mean_ms"] == round((19 * light + heavy) / 20, 1)
    assert table[1024]["billed_ms"] == (19 * 28 + 273) / 20  # 27.27 -> 28, 272.75 -> 273
    per_invocation = (19 * invocation_usd(light, 1024) + invocation_usd(heavy, 1024)) / 20
    assert table[1024]["usd_per_million"] == (per_invocation * 1_000_000).quantize(Decimal("0.0001"))


def test_a_batch_is_judged_per_message_and_billed_per_invocation() -> None:
    table = model([100.0], [300.0], sizes=(1769,), records=[10])
    assert table[1769]["cpu_p95_ms"] == 10.0
    assert table[1769]["p95_ms"] == 300.0


def _table(cpu_p95: dict[int, float], usd: dict[int, str]) -> dict[int, dict]:
    return {
        m: {"cpu_p95_ms": cpu_p95[m], "p95_ms": cpu_p95[m] + 500, "usd_per_million": Decimal(usd[m])} for m in cpu_p95
    }


def test_the_cheapest_size_whose_cpu_takes_at_most_half_the_budget_wins() -> None:
    table = _table({128: 900, 256: 450, 512: 150, 1024: 75}, {128: "1.0", 256: "1.2", 512: "1.5", 1024: "2.5"})
    chosen, why = choose(table, peak_rss_mb=60, budget_ms=300)
    assert chosen == 512 and "CPU p95 <= 150 ms" in why
    assert choose(table, peak_rss_mb=60, budget_ms=1000)[0] == 256
    assert choose(table, peak_rss_mb=60, budget_ms=2000)[0] == 128


def test_a_size_must_hold_the_peak_rss_with_headroom() -> None:
    table = _table({128: 100, 256: 100, 512: 100}, {128: "1.0", 256: "1.2", 512: "1.5"})
    chosen, why = choose(table, peak_rss_mb=100, budget_ms=300)  # 150 MB needed
    assert chosen == 256 and "100 MB x 1.5" in why
    assert choose(table, peak_rss_mb=85, budget_ms=300)[0] == 128  # 127.5 MB fits in 128
    chosen, why = choose(table, peak_rss_mb=400, budget_ms=300)
    assert chosen == 512 and "needs more than 512 MB" in why


def test_a_cold_start_must_take_at_most_half_the_timeout() -> None:
    table = _table({128: 100, 256: 100, 512: 100}, {128: "1.0", 256: "1.2", 512: "1.5"})
    # 400 ms of CPU on the first event: 5.5 s at 128 MB, 2.8 s at 256 MB; a 10 s timeout allows 5 s.
    chosen, why = choose(table, peak_rss_mb=60, budget_ms=300, cold_cpu_ms=400, timeout_ms=10_000)
    assert chosen == 256 and "400 ms CPU cold start" in why
    assert choose(table, peak_rss_mb=60, budget_ms=300, cold_cpu_ms=400, timeout_ms=12_000)[0] == 128


def test_a_budget_no_size_meets_takes_the_largest_size() -> None:
    table = _table({128: 1500, 256: 750, 512: 375, 1024: 190}, {128: "1", 256: "2", 512: "3", 1024: "5"})
    chosen, why = choose(table, peak_rss_mb=60, budget_ms=300)
    assert chosen == 1024 and "the largest tested" in why


def test_equal_costs_take_the_smaller_size() -> None:
    table = _table({128: 10, 256: 5}, {128: "0.21", 256: "0.21"})
    assert choose(table, peak_rss_mb=10, budget_ms=300)[0] == 128


def test_functions_are_sized_from_the_stack_usage_and_the_benchmarks_own_calls_are_left_out() -> None:
    usage = {
        "WebhookIntakeFunction": {
            "invocations": 20,
            "cpu_ms": [5.0] * 20,
            "wall_ms": [30.0] * 20,
            "peak_rss_kb": 102400,
        },
        "AdminApiFunction": {"invocations": 50, "cpu_ms": [2.0] * 50, "wall_ms": [10.0] * 50, "peak_rss_kb": 90000},
        "ReconcilerFunction": {"invocations": 0, "cpu_ms": [], "wall_ms": [], "peak_rss_kb": 0},
    }
    out = size_functions(
        usage,
        orders=10,
        configured={"WebhookIntakeFunction": 256, "AdminApiFunction": 512, "ReconcilerFunction": 256},
        scheduled={"ReconcilerFunction"},
        not_per_order={"AdminApiFunction": 40},
        cold_cpu_ms={"WebhookIntakeFunction": 300.0},
        timeouts={"WebhookIntakeFunction": 5},
    )
    assert out["WebhookIntakeFunction"]["per_order"] == 2.0
    assert out["AdminApiFunction"]["per_order"] == 1.0  # 50 invocations, 40 of them the benchmark's polls
    intake = out["WebhookIntakeFunction"]
    assert intake["budget_ms"] == 300 and intake["peak_rss_mb"] == 100.0 and intake["batch"] == 1.0
    assert intake["cpu_ms"] == {"p50": 5.0, "p95": 5.0} and intake["wait_ms"] == {"p50": 25.0, "p95": 25.0}
    assert intake["cold_cpu_ms"] == 300.0
    # 150 MB needed, a cold start of 300 ms x 1769 / M within 2.5 s, 5 ms x 6.9 CPU within 150 ms: 256 MB.
    assert intake["chosen_mb"] == 256
    reconciler = out["ReconcilerFunction"]
    assert reconciler["budget_ms"] == sizing.SCHEDULED_BUDGET_MS and "sizes" not in reconciler


def test_the_template_sets_a_measured_size_on_every_function() -> None:
    memory, scheduled = sizing.configured_memory()
    assert memory, "no functions in the template"
    assert all(memory[name] in sizing.MEMORY_SIZES for name in memory), memory
    assert {"QueueHealthFunction", "ReconcilerFunction"} <= scheduled
