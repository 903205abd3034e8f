"""The report over a range on moto: GET /reports/daily?from=&to= (JSON), and the console's Reports
page, its SVG charts and its CSV download, with their refusals of a bad range.

The report's counters are made by the reporting function from bus records built as in
tests/functional/test_reporting.py (the sample order is events/reporting_order_placed.json, a
Shopify orders/create whose payload is Shopify's own example in events/payloads).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.functional import test_console
from tests.functional.test_console import http, set_cookies, sign_in
from tests.functional.test_reporting import get_report, record
from tests.unit.test_reporting import checkout, placed

console = pytest.fixture(test_console.console.__wrapped__)
admin = pytest.fixture(test_console.admin.__wrapped__)

DAY1 = datetime(2026, 11, 19, 10, 0, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)
RANGE = {"from": "2026-11-18", "to": "2026-11-21"}


@pytest.fixture
def reported(aws, load_function, context):
    """Orders on two days, two channels and two currencies, and two checkouts (one completed)."""
    records = [
        record(placed("shopify:1", DAY1, total=5000, lines=(("MUG", 2, 2000), ("TEE", 1, 1000))), "a"),
        record(
            placed(
                "shopify:2", DAY2, total=2910, email="grace@example.com", lines=(("MUG", 1, 2910),), checkout_id="c1"
            ),
            "b",
        ),
        record(placed("shopify:3", DAY2, total=1201, email="ada@example.com", lines=(("TEE", 1, 1201),)), "c"),
        record(placed("woocommerce:4", DAY2, total=1200, currency="JPY", lines=(("CAP", 3, 400),)), "d"),
        record(checkout("c1", DAY2), "c1"),
        record(checkout("c2", DAY2), "c2"),
    ]
    assert load_function("reporting").lambda_handler({"Records": records}, context) == {"batchItemFailures": []}


def query(params: dict[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in params.items())


def test_the_range_answers_each_day_as_the_day_route_does_and_the_range_as_a_whole(reported, admin, context):
    status, body = get_report(admin, context, query(RANGE))
    assert status == 200
    assert [d["date"] for d in body["days"]] == ["2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21"]
    for day in body["days"]:
        assert (200, day) == get_report(admin, context, f"date={day['date']}")  # the same figures, day by day
    assert body["days"][0]["channels"] == [] and body["days"][0]["totals"]["orders"] == 0

    assert (body["from"], body["to"], body["timezone"], body["channel"]) == ("2026-11-18", "2026-11-21", "UTC", None)
    usd = next(c for c in body["totals"]["currencies"] if c["currency"] == "USD")
    # The range's own AOV (91.11 / 3, half to even), not an average of the days' AOVs (50.00 and 20.555).
    assert (usd["orders"], usd["revenue"], usd["average_order_value"]) == (3, "91.11", "30.37")
    assert usd["top_skus"] == [
        {"sku": "MUG", "units": 3, "revenue": "69.10"},
        {"sku": "TEE", "units": 2, "revenue": "22.01"},
    ]
    shopify = next(c for c in body["channels"] if c["channel"] == "shopify")
    assert (shopify["checkouts_started"], shopify["checkouts_completed"], shopify["conversion_rate"]) == (
        2,
        1,
        "0.5000",
    )
    jpy = next(c for c in body["totals"]["currencies"] if c["currency"] == "JPY")
    assert (jpy["orders"], jpy["revenue"]) == (1, "1200")

    status, only = get_report(admin, context, query({**RANGE, "channel": "woocommerce"}))
    assert status == 200 and [c["channel"] for c in only["channels"]] == ["woocommerce"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-11-18"}, "a range needs both ends: to must be a UTC day written YYYY-MM-DD"),
        ({"to": "2026-11-18"}, "a range needs both ends: from must be"),
        ({"from": "18/11/2026", "to": "2026-11-20"}, "from must be a UTC day written YYYY-MM-DD"),
        ({"from": "2026-11-18", "to": "2026-11-31"}, "to: 2026-11-31 is not a day of the calendar"),
        ({"from": "2026-11-20", "to": "2026-11-18"}, "the range of days ends before it starts"),
        ({"from": "2026-01-01", "to": "2026-04-02"}, "a report spans at most 92 days; this range has 92"),
        ({"from": "2026-01-01", "to": "2026-04-03"}, "a report spans at most 92 days; this range has 93"),
        ({"date": "2026-11-18", "from": "2026-11-18", "to": "2026-11-20"}, "not both"),
    ],
)
def test_a_bad_range_is_400_saying_what_to_send(aws, admin, context, params, message):
    status, body = get_report(admin, context, query(params))
    if message.endswith("has 92"):  # 1 January to 2 April is 92 days: allowed
        assert status == 200 and len(body["days"]) == 92
        return
    assert status == 400 and message in body["error"]


def _cell(body: str, table: str, day: str, channel: str, name: str) -> str:
    found = re.search(rf'<table id="{table}".*?</table>', body, re.S)
    assert found, f"no table {table}"
    row = re.search(rf'<tr data-day="{day}" data-channel="{channel}">(.*?)</tr>', found.group(0), re.S)
    assert row, f"no row {day} {channel} in {table}"
    return re.search(rf'<td class="num {name}">([^<]*)</td>', row.group(1)).group(1)


def test_the_reports_page_shows_the_range_in_tables_beside_its_charts(reported, admin, console, context):
    cookies = set_cookies(sign_in(console, context))
    page = console.lambda_handler(http("GET", "/console/reports", query=RANGE, cookies=cookies), context)
    assert page["statusCode"] == 200
    body = page["body"]
    _status, report = get_report(admin, context, f"date={DAY2.date()}")
    shopify_usd = report["channels"][0]["currencies"][0]
    assert _cell(body, "revenue-USD", "2026-11-20", "shopify", "revenue") == shopify_usd["revenue"] == "41.11"
    assert _cell(body, "revenue-USD", "2026-11-20", "shopify", "aov") == "20.56"  # 41.11 / 2, half to even
    assert _cell(body, "revenue-JPY", "2026-11-20", "woocommerce", "revenue") == "1200"
    assert _cell(body, "orders-per-day", "2026-11-19", "shopify", "orders") == "1"
    assert "<caption>Revenue per day and channel, USD</caption>" in body and 'th scope="col"' in body
    assert 'src="/console/reports/chart/revenue.svg?from=2026-11-18&amp;to=2026-11-21&amp;currency=USD"' in body
    assert 'alt="Bar chart of revenue per day in USD' in body
    assert 'href="/console/reports.csv?from=2026-11-18&amp;to=2026-11-21"' in body
    assert '<tr data-sku="MUG"><th scope="row">MUG</th><td class="num">3</td><td class="num">69.10</td></tr>' in body
    assert 'id="attribution-figures"' in body and 'aria-current="page">Reports</a>' in body
    # The page keeps the console's policy: no script, images only from the console itself.
    policy = page["headers"]["Content-Security-Policy"]
    assert policy.startswith("default-src 'none';") and "img-src 'self'" in policy and "script-src" not in policy


def test_the_page_defaults_to_the_last_seven_days_and_refuses_a_bad_range_with_the_form(aws, console, context):
    cookies = set_cookies(sign_in(console, context))
    page = console.lambda_handler(http("GET", "/console/reports", cookies=cookies), context)
    today = datetime.now(UTC).date()
    assert page["statusCode"] == 200
    assert f'name="from" type="date" value="{today - timedelta(days=6)}"' in page["body"]
    assert f'name="to" type="date" value="{today}"' in page["body"]
    assert "No orders or refunds from" in page["body"]

    bad = console.lambda_handler(
        http("GET", "/console/reports", query={"from": "2026-11-20", "to": "2026-11-01"}, cookies=cookies), context
    )
    assert bad["statusCode"] == 400
    assert 'role="alert">the range of days ends before it starts' in bad["body"]
    assert 'value="2026-11-20"' in bad["body"] and "Download CSV" not in bad["body"]

    # Only `to`, and not a day: refused naming it, not the `from` the page would have filled in.
    no_day = console.lambda_handler(
        http("GET", "/console/reports", query={"to": "01/12/2026"}, cookies=cookies), context
    )
    assert no_day["statusCode"] == 400 and 'role="alert">to must be a UTC day written YYYY-MM-DD' in no_day["body"]
    assert 'name="to" type="date" value="01/12/2026"' in no_day["body"]


def test_a_chart_is_an_svg_of_its_own_with_the_figures_and_nothing_to_run(reported, console, context):
    cookies = set_cookies(sign_in(console, context))
    chart = console.lambda_handler(
        http("GET", "/console/reports/chart/revenue.svg", query={**RANGE, "currency": "USD"}, cookies=cookies), context
    )
    assert chart["statusCode"] == 200
    assert chart["headers"]["Content-Type"] == "image/svg+xml; charset=utf-8"
    policy = chart["headers"]["Content-Security-Policy"]
    assert re.fullmatch(r"default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]{44}'; frame-ancestors 'self'", policy)
    svg = chart["body"]
    assert svg.startswith("<svg") and ">41.11<" in svg and ">50.00<" in svg and ">1200<" not in svg
    assert "<script" not in svg and "<!--" not in svg
    assert re.findall(r"https?://[^\"'\s<]+", svg) == ["http://www.w3.org/2000/svg"]  # its namespace only

    orders = console.lambda_handler(
        http("GET", "/console/reports/chart/orders.svg", query=RANGE, cookies=cookies), context
    )
    assert orders["statusCode"] == 200 and "Orders per day" in orders["body"]

    for path, params, status in (
        ("/console/reports/chart/pie.svg", RANGE, 404),
        ("/console/reports/chart/revenue.svg", {**RANGE, "currency": "dollars"}, 400),
        ("/console/reports/chart/orders.svg", {"from": "2026-11-21", "to": "2026-11-18"}, 400),
    ):
        assert console.lambda_handler(http("GET", path, query=params, cookies=cookies), context)["statusCode"] == status
    # Without a session, no chart: the way to the login instead.
    unsigned = console.lambda_handler(http("GET", "/console/reports/chart/orders.svg", query=RANGE), context)
    assert (unsigned["statusCode"], unsigned["headers"]["Location"]) == (303, "/console/login")


def test_the_csv_has_a_row_per_day_channel_and_currency_with_the_reports_figures(reported, admin, console, context):
    cookies = set_cookies(sign_in(console, context))
    download = console.lambda_handler(http("GET", "/console/reports.csv", query=RANGE, cookies=cookies), context)
    assert download["statusCode"] == 200
    assert download["headers"]["Content-Type"] == "text/csv; charset=utf-8"
    assert download["headers"]["Content-Disposition"] == 'attachment; filename="report-2026-11-18-to-2026-11-21.csv"'
    rows = list(csv.DictReader(io.StringIO(download["body"])))
    assert [(r["date"], r["channel"], r["currency"]) for r in rows] == [
        ("2026-11-19", "shopify", "USD"),
        ("2026-11-20", "shopify", "USD"),
        ("2026-11-20", "woocommerce", "JPY"),
    ]
    _status, day = get_report(admin, context, "date=2026-11-20")
    figures = day["channels"][0]["currencies"][0]
    row = rows[1]
    for name in ("orders", "revenue", "refunds", "net_revenue", "average_order_value", "attributed_revenue"):
        assert row[name] == str(figures[name]), name
    assert (row["checkouts_started"], row["checkouts_completed"], row["conversion_rate"]) == ("2", "1", "0.5000")
    assert row["top_skus"] == "MUG:1:29.10; TEE:1:12.01"

    bad = console.lambda_handler(
        http("GET", "/console/reports.csv", query={"from": "2026-01-01", "to": "2026-12-31"}, cookies=cookies), context
    )
    assert bad["statusCode"] == 400 and "at most 92 days" in bad["body"]
