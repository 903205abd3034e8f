"""traffic_import with moto: the scheduled handler reads the fake GA4 Data API (httpx.MockTransport,
tests/ga4_data_api.py) with the service account in the hub's traffic secret, stores each day's
traffic, and GET /reports/daily (admin_api) divides the day's orders by its sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from hub.adapters.ga4_data import ServiceAccountTokens
from hub.bootstrap import Sandbox
from hub.errors import TrafficImportError

from tests.functional.conftest import CONFIG_PARAMETER, ROOT, event
from tests.functional.test_reporting import get_report, record
from tests.ga4_data_api import FakeGa4Data, service_account_json
from tests.unit.test_reporting import placed

SHOP_PROPERTY, WOO_PROPERTY = "123456789", "987654321"


@pytest.fixture
def fake() -> FakeGa4Data:
    ServiceAccountTokens.forget_all()
    return FakeGa4Data()


def configure(aws, *, traffic: bool = True) -> None:
    from aws_lambda_powertools.utilities import parameters
    from hub.config import forget_config

    document = (ROOT / "config" / "local.yaml").read_text()
    if traffic:
        document += (
            "analytics:\n  traffic:\n    ga4:\n"
            f"      properties: {{shopify: '{SHOP_PROPERTY}', woocommerce: '{WOO_PROPERTY}'}}\n"
            "      lookback_days: 2\n"
        )
    boto3.client("ssm").put_parameter(Name=CONFIG_PARAMETER, Type="String", Value=document, Overwrite=True)
    aws.put_secrets({**aws.secrets, "GA4_SERVICE_ACCOUNT_JSON": service_account_json()})
    parameters.clear_caches()
    forget_config()


def importer(load_function, fake: FakeGa4Data):
    app = load_function("traffic_import")
    app.sandbox = Sandbox(http_transport=fake.transport())  # the fake instead of Google, all else as in AWS
    return app


def test_the_schedule_stores_the_traffic_and_the_report_divides_orders_by_sessions(aws, load_function, context, fake):
    configure(aws)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    fake.set_day(
        SHOP_PROPERTY, today.date(), {("google", "organic"): (150, 120), ("(direct)", "(none)"): (50, 45)}, 150
    )
    fake.set_day(SHOP_PROPERTY, (today - timedelta(days=1)).date(), {("google", "organic"): (90, 80)}, 80)
    reporting = load_function("reporting")
    at = today + timedelta(minutes=5)
    records = [record(placed(f"shopify:{n}", at, event_id=f"p{n}"), f"m{n}") for n in range(3)]
    assert reporting.lambda_handler({"Records": records}, context) == {"batchItemFailures": []}

    result = importer(load_function, fake).lambda_handler(event("traffic_import_scheduled.json"), context)
    assert result["configured"] is True and result["sessions"] == {"shopify": 290, "woocommerce": 0}
    assert len(fake.token_calls()) == 1 and len(fake.report_calls()) == 4  # two reports per property

    admin = load_function("admin_api")
    status, body = get_report(admin, context, f"date={today.date().isoformat()}")
    assert status == 200, body
    channels = {c["channel"]: c for c in body["channels"]}
    shop = channels["shopify"]
    assert (shop["orders"], shop["sessions"], shop["users"], shop["session_conversion_rate"]) == (3, 200, 150, "0.0150")
    assert shop["top_sources"][0] == {"source": "google", "medium": "organic", "sessions": 150, "users": 120}
    assert "woocommerce" not in channels  # read, and no sessions nor orders: nothing to list
    assert body["totals"]["session_conversion_rate"] == "0.0150"

    # Read again after GA4 revised the day: replaced, never added.
    fake.set_day(SHOP_PROPERTY, today.date(), {("google", "organic"): (240, 200)}, 200)
    importer(load_function, fake).lambda_handler(event("traffic_import_scheduled.json"), context)
    _status, body = get_report(admin, context, f"date={today.date().isoformat()}")
    assert body["channels"][0]["sessions"] == 240 and body["channels"][0]["session_conversion_rate"] == "0.0125"


def test_a_property_refused_fails_the_run_after_storing_the_others(aws, load_function, context, fake):
    configure(aws)
    today = datetime.now(UTC).date()
    fake.set_day(SHOP_PROPERTY, today, {("google", "organic"): (10, 9)}, 9)
    fake.readable = {SHOP_PROPERTY}
    app = importer(load_function, fake)
    with pytest.raises(TrafficImportError, match="woocommerce"):
        app.lambda_handler(event("traffic_import_scheduled.json"), context)
    _status, body = get_report(load_function("admin_api"), context, f"date={today.isoformat()}")
    assert body["channels"][0]["sessions"] == 10


def test_without_traffic_configured_nothing_is_read_and_the_report_says_unavailable(aws, load_function, context, fake):
    configure(aws, traffic=False)
    result = importer(load_function, fake).lambda_handler(event("traffic_import_scheduled.json"), context)
    assert result == {"configured": False} and fake.requests == []
    status, body = get_report(load_function("admin_api"), context, "date=2026-11-20")
    assert status == 200
    assert body["totals"]["sessions"] is None
    assert body["totals"]["sessions_unavailable"] == "GA4 traffic is not configured"


# ------------------------------------------------------------------ the console's Reports page
from tests.functional import test_console  # noqa: E402
from tests.functional.test_console import http, set_cookies, sign_in  # noqa: E402

console = pytest.fixture(test_console.console.__wrapped__)


def _traffic_cell(body: str, day: str, channel: str, css: str) -> str:
    table = body[body.index('id="traffic-per-day"') :]
    row = table[table.index(f'<tr data-day="{day}" data-channel="{channel}">') :]
    row = row[: row.index("</tr>")]
    cell = row[row.index(f'class="num {css}">') + len(f'class="num {css}">') :]
    return cell[: cell.index("<")]


def test_the_reports_page_shows_sessions_and_session_conversion(aws, load_function, console, context, fake):
    configure(aws)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    fake.set_day(SHOP_PROPERTY, today.date(), {("google", "organic"): (400, 300)}, 300)
    at = today + timedelta(minutes=1)
    records = [record(placed(f"shopify:{n}", at, event_id=f"q{n}"), f"n{n}") for n in range(2)]
    assert load_function("reporting").lambda_handler({"Records": records}, context) == {"batchItemFailures": []}
    importer(load_function, fake).lambda_handler(event("traffic_import_scheduled.json"), context)

    cookies = set_cookies(sign_in(console, context))
    day = today.date().isoformat()
    query = {"from": (today - timedelta(days=1)).date().isoformat(), "to": day}
    page = console.lambda_handler(http("GET", "/console/reports", query=query, cookies=cookies), context)
    assert page["statusCode"] == 200
    body = page["body"]
    assert _traffic_cell(body, day, "shopify", "sessions") == "400"
    assert _traffic_cell(body, day, "shopify", "users") == "300"
    assert _traffic_cell(body, day, "shopify", "session-conversion") == "0.0050"  # 2 / 400

    csv_text = console.lambda_handler(http("GET", "/console/reports.csv", query=query, cookies=cookies), context)[
        "body"
    ]
    header, *rows = csv_text.splitlines()
    assert header.endswith("sessions,users,session_conversion_rate,sessions_unavailable")
    assert any(r.startswith(f"{day},shopify,USD,") and r.endswith(",400,300,0.0050,") for r in rows)


def test_without_traffic_the_reports_page_says_unavailable(aws, load_function, console, context):
    configure(aws, traffic=False)
    cookies = set_cookies(sign_in(console, context))
    page = console.lambda_handler(http("GET", "/console/reports", cookies=cookies), context)
    assert page["statusCode"] == 200
    assert 'id="traffic-unavailable"' in page["body"] and "GA4 traffic is not configured" in page["body"]
    assert 'id="traffic-per-day"' not in page["body"]
