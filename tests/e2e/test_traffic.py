"""Website traffic and session conversion end to end, through a local stack of this module's own with
`analytics.traffic` configured against a fake GA4 Data API and token endpoint served here on
127.0.0.1 (tests/ga4_data_api.py; the token endpoint checks the JWT's RS256 signature with the test
key). Signed Shopify orders go in over HTTP, the traffic_import schedule is fired, and GET
/reports/daily and the console's Reports page must show the fake's sessions and users and the
orders divided by them. The session stack, configured without traffic, says it is unavailable."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import yaml

from commerce_hub.local import LocalStack
from tests.ga4_data_api import FakeGa4Data, service_account_json

from .conftest import AUTH, ROOT, _environment
from .console_browser import accessible, cells, sign_in
from .test_storefront_intake import payload, post
from .waiting import wait_for

pytestmark = pytest.mark.e2e

NOW = datetime.now(UTC).replace(microsecond=0)
TODAY = NOW.date()
DAY = TODAY.isoformat()
SHOP_PROPERTY = "314159265"
SCHEDULE = "TrafficImportFunctionHourly"


@pytest.fixture(scope="module")
def ga4() -> Iterator[tuple[FakeGa4Data, str]]:
    fake = FakeGa4Data()
    fake.set_day(
        SHOP_PROPERTY, TODAY, {("google", "organic"): (300, 240), ("(direct)", "(none)"): (100, 90)}, users=310
    )
    fake.set_day(SHOP_PROPERTY, TODAY - timedelta(days=1), {("newsletter", "email"): (80, 70)}, users=70)
    with fake.serve() as url:
        yield fake, url


@pytest.fixture(scope="module")
def traffic_stack(ga4, tmp_path_factory) -> Iterator[LocalStack]:
    _fake, url = ga4
    document = yaml.safe_load((ROOT / "config" / "local.yaml").read_text())
    document["analytics"] = {
        "traffic": {
            "ga4": {
                "properties": {"shopify": SHOP_PROPERTY},
                "lookback_days": 2,
                "api_url": url,
                "token_url": f"{url}/token",
            }
        }
    }
    config = tmp_path_factory.mktemp("config") / "traffic.yaml"
    config.write_text(yaml.safe_dump(document, sort_keys=False))
    with LocalStack(ROOT, http_port=0, aws_port=0, env=_environment(HUB_CONFIG=str(config))) as running:
        running.put_secrets({**running.secrets, "GA4_SERVICE_ACCOUNT_JSON": service_account_json(f"{url}/token")})
        yield running


@pytest.fixture
def traffic_http(traffic_stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=traffic_stack.url, timeout=60) as client:
        yield client


def shopify_order(order_id: int) -> bytes:
    body = payload("shopify_orders_create")
    body.update(id=order_id, name=f"#{order_id}", order_number=order_id, created_at=NOW.isoformat())
    return json.dumps(body).encode()


def report(http: httpx.Client) -> dict:
    response = http.get("/reports/daily", params={"date": DAY}, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def test_sessions_users_and_session_conversion_match_the_fake_and_the_orders(traffic_stack, traffic_http, ga4, page):
    fake, _url = ga4
    base = int(uuid.uuid4().int % 10**9)
    for n in range(6):
        response = post(traffic_http, traffic_stack, "shopify", shopify_order(base + n), topic="orders/create")
        assert response.status_code == 200 and response.json()["status"] == "accepted", response.text
    wait_for(lambda: report(traffic_http)["totals"]["orders"] == 6, what="six orders in the report")

    before = report(traffic_http)
    assert before["channels"][0]["sessions"] is None
    assert before["channels"][0]["sessions_unavailable"] == "GA4 traffic for this day has not been read yet"

    fired = traffic_http.post(f"/_local/schedules/{SCHEDULE}", headers=AUTH)
    assert fired.status_code == 200, fired.text
    assert fired.json()["status"] == "ok", fired.json()
    assert fired.json()["result"]["sessions"] == {"shopify": 480}
    assert len(fake.token_calls()) == 1 and fake.assertions[0]["aud"].endswith("/token")

    body = report(traffic_http)
    (shop,) = body["channels"]
    assert (shop["orders"], shop["sessions"], shop["users"]) == (6, 400, 310)
    assert shop["session_conversion_rate"] == "0.0150"  # 6 orders / 400 sessions
    assert shop["sessions_unavailable"] is None
    assert shop["top_sources"][0] == {"source": "google", "medium": "organic", "sessions": 300, "users": 240}
    assert "conversion_rate" in shop  # the checkout conversion, beside it
    assert body["totals"]["session_conversion_rate"] == "0.0150"

    # The range: yesterday's 80 sessions had no orders.
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    ranged = traffic_http.get("/reports/daily", params={"from": yesterday, "to": DAY}, headers=AUTH).json()
    (shop_range,) = ranged["channels"]
    assert (shop_range["sessions"], shop_range["session_conversion_rate"]) == (480, "0.0125")

    # The schedule again: the same days read again replace what was there.
    assert traffic_http.post(f"/_local/schedules/{SCHEDULE}", headers=AUTH).json()["status"] == "ok"
    assert report(traffic_http)["channels"][0]["sessions"] == 400

    # The console's Reports page shows the same figures.
    sign_in(page, traffic_stack)
    page.goto(f"{traffic_stack.url}/console/reports?from={yesterday}&to={DAY}")
    rows = cells(page, f'#traffic-per-day tr[data-day="{DAY}"][data-channel="shopify"]')
    assert rows == [
        [f"{DAY} shopify", "6", "400", "310", "0.0150", shop["conversion_rate"] or "\u2013", ""]
    ]  # an en dash: no checkout
    accessible(page, "reports-traffic")


def test_without_ga4_configured_the_report_says_unavailable_never_zero(http, page, stack):
    body = http.get("/reports/daily", params={"date": DAY}, headers=AUTH).json()
    assert body["totals"]["sessions"] is None and body["totals"]["session_conversion_rate"] is None
    assert body["totals"]["sessions_unavailable"] == "GA4 traffic is not configured"
    for channel in body["channels"]:
        assert channel["sessions"] is None and channel["sessions_unavailable"] == "GA4 traffic is not configured"
    fired = http.post(f"/_local/schedules/{SCHEDULE}", headers=AUTH)
    assert fired.status_code == 200 and fired.json()["result"] == {"configured": False}

    sign_in(page, stack)
    page.goto(f"{stack.url}/console/reports")
    assert "unavailable: GA4 traffic is not configured" in page.locator("#traffic-unavailable").inner_text()
