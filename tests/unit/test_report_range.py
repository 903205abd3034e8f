"""The report over a range of days (ReportingService.between, hub.domain.reporting.range_report), the
Reports page's CSV (hub.console.report_export) and its charts (hub.console.report_charts), on the
in-memory report store."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
from datetime import date, timedelta

import pytest
from hub.console.report_charts import orders_chart, revenue_chart
from hub.console.report_export import CSV_COLUMNS, report_csv
from hub.domain.reporting import MAX_REPORT_DAYS, BucketRow, range_report, report_days
from hub.errors import BadRequestError

from tests.reporting_fakes import FakeReportStore
from tests.unit.test_reporting import BASE, DAY, checkout, placed, service

NEXT = BASE + timedelta(days=1)


def _store_with_two_days() -> FakeReportStore:
    store = FakeReportStore()
    svc = service(store)
    svc.handle(placed("shopify:1", BASE, total=5000, lines=(("MUG", 2, 2000), ("TEE", 1, 1000))))
    svc.handle(placed("shopify:2", NEXT, total=2910, email="grace@example.com", lines=(("MUG", 1, 2910),)))
    svc.handle(placed("shopify:3", NEXT, total=1201, email="lin@example.com", lines=(("TEE", 1, 1201),)))
    svc.handle(placed("woocommerce:4", NEXT, total=1200, currency="JPY", lines=(("CAP", 3, 400),)))
    svc.handle(checkout("c1", NEXT))
    return store


def test_the_range_reads_every_day_at_once_and_each_day_is_the_days_own_report():
    store = _store_with_two_days()
    svc = service(store)
    body = svc.between(DAY - timedelta(days=1), DAY + timedelta(days=2))

    assert store.range_reads == 1
    assert [d["date"] for d in body["days"]] == ["2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22"]
    for day in body["days"]:
        assert day == svc.daily(date.fromisoformat(day["date"]))
    assert body["days"][0]["channels"] == [] and body["days"][-1]["totals"]["orders"] == 0


def test_the_ranges_own_figures_are_figured_from_its_summed_counters_not_from_the_days():
    body = service(_store_with_two_days()).between(DAY, DAY + timedelta(days=1))
    usd = next(c for c in body["totals"]["currencies"] if c["currency"] == "USD")
    # 91.11 / 3 = 30.37; the mean of the days' AOVs (50.00 and 20.555) would be 35.28.
    assert (usd["orders"], usd["revenue"], usd["average_order_value"], usd["units"]) == (3, "91.11", "30.37", 5)
    assert [(s["sku"], s["units"], s["revenue"]) for s in usd["top_skus"]] == [("MUG", 3, "69.10"), ("TEE", 2, "22.01")]
    assert usd["new_customer_orders"] == 3  # three customers, each their first order
    shopify = next(c for c in body["channels"] if c["channel"] == "shopify")
    assert (shopify["checkouts_started"], shopify["conversion_rate"]) == (1, "0.0000")
    assert [c["currency"] for c in body["totals"]["currencies"]] == ["JPY", "USD"]  # never added together


def test_a_channel_filter_keeps_only_that_channel_in_the_days_and_the_range():
    body = service(_store_with_two_days()).between(DAY, DAY + timedelta(days=1), "woocommerce")
    assert body["channel"] == "woocommerce"
    assert [c["channel"] for c in body["channels"]] == ["woocommerce"]
    assert [[c["channel"] for c in d["channels"]] for d in body["days"]] == [[], ["woocommerce"]]


def test_a_range_backwards_or_longer_than_92_days_is_refused_before_anything_is_read():
    store = FakeReportStore()
    with pytest.raises(BadRequestError, match="ends before it starts"):
        service(store).between(DAY, DAY - timedelta(days=1))
    with pytest.raises(BadRequestError, match="at most 92 days; this range has 93"):
        service(store).between(DAY, DAY + timedelta(days=MAX_REPORT_DAYS))
    assert store.range_reads == 0
    assert len(report_days(DAY, DAY + timedelta(days=MAX_REPORT_DAYS - 1))) == 92
    assert report_days(DAY, DAY) == [DAY]


def test_the_csv_has_one_row_per_day_channel_and_currency_with_the_reports_own_strings():
    body = service(_store_with_two_days()).between(DAY, DAY + timedelta(days=1))
    text = report_csv(body)
    assert text.startswith(",".join(CSV_COLUMNS) + "\r\n")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["date"], r["channel"], r["currency"]) for r in rows] == [
        ("2026-11-20", "shopify", "USD"),
        ("2026-11-21", "shopify", "USD"),
        ("2026-11-21", "woocommerce", "JPY"),
    ]
    usd = rows[1]
    assert (usd["orders"], usd["revenue"], usd["average_order_value"], usd["refunds"]) == (
        "2",
        "41.11",
        "20.56",
        "0.00",
    )
    assert usd["top_skus"] == "MUG:1:29.10; TEE:1:12.01"
    assert (usd["checkouts_started"], usd["checkouts_completed"], usd["conversion_rate"]) == ("1", "0", "0.0000")
    assert (rows[2]["revenue"], rows[2]["conversion_rate"]) == ("1200", "")  # JPY has no minor unit; no checkouts


def test_a_channel_with_only_checkouts_has_a_row_without_currency_and_formula_cells_are_defused():
    rows_by_day = {
        "2026-11-20": [
            BucketRow("=cmd|'/c calc'!A1", None, {"checkouts": 2, "checkouts_completed": 1}),
            BucketRow("shop", "USD", {"orders": 1, "revenue": -1, "sku_units#@SUM(A1)": 1, "sku_revenue#@SUM(A1)": 5}),
        ]
    }
    body = range_report(DAY, DAY, rows_by_day, window_days=7)
    rows = list(csv.DictReader(io.StringIO(report_csv(body))))
    odd, shop = sorted(rows, key=lambda r: r["channel"])
    assert odd["channel"] == "'=cmd|'/c calc'!A1" and odd["currency"] == "" and odd["revenue"] == ""
    assert (odd["checkouts_started"], odd["conversion_rate"]) == ("2", "0.5000")
    assert shop["top_skus"] == "'@SUM(A1):1:0.05"
    assert shop["revenue"] == "-0.01"  # a figure keeps its sign: only text cells are defused


def test_a_revenue_chart_prints_the_reports_strings_and_runs_nothing():
    body = service(_store_with_two_days()).between(DAY, DAY + timedelta(days=1))
    chart = revenue_chart(body, "USD")
    assert chart.svg.startswith("<svg") and 'width="760"' in chart.svg
    assert ">50.00<" in chart.svg and ">41.11<" in chart.svg and "Revenue per day, USD" in chart.svg
    assert ">1200<" not in chart.svg  # JPY is a chart of its own
    assert "<script" not in chart.svg and "<!--" not in chart.svg and "tooltip-overlay" not in chart.svg
    assert re.findall(r"https?://[^\"'\s<]+", chart.svg) == ["http://www.w3.org/2000/svg"]
    # The policy allows exactly the document's style element, by its hash.
    style = re.search(r"<style[^>]*>(.*?)</style>", chart.svg, re.S).group(1)
    unescaped = style.replace("&gt;", ">").replace("&lt;", "<").replace("&amp;", "&")
    digest = base64.b64encode(hashlib.sha256(unescaped.encode()).digest()).decode()
    assert chart.policy() == f"default-src 'none'; style-src 'sha256-{digest}'; frame-ancestors 'self'"

    jpy = revenue_chart(body, "JPY")
    assert ">1200<" in jpy.svg and "woocommerce" in jpy.svg


def test_the_orders_chart_has_a_bar_per_channel_and_an_empty_range_draws_no_bars():
    body = service(_store_with_two_days()).between(DAY, DAY + timedelta(days=1))
    svg = orders_chart(body).svg
    assert "shopify" in svg and "woocommerce" in svg and ">2<" in svg
    empty = orders_chart(service(FakeReportStore()).between(DAY, DAY)).svg
    assert "No data" in empty
