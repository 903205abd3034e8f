"""The stock list on moto: GET /inventory (JSON, a page at a time through the index
stock-by-location), the console's stock pages with low stock marked, and the correction form,
which does what PUT /inventory/{sku} does.

The levels are set through PUT /inventory/{sku} (events/admin_api_put_inventory.json); the list
request is events/admin_api_list_inventory.json (an HTTP API payload 2.0 event, IAM-signed, as
events/admin_api_list_orders.json).
"""

from __future__ import annotations

import copy
import json
import re

import pytest

from tests.functional import test_console
from tests.functional.conftest import event
from tests.functional.test_console import http, set_cookies, sign_in
from tests.functional.test_stock_updates import level, set_level

console = pytest.fixture(test_console.console.__wrapped__)
admin = pytest.fixture(test_console.admin.__wrapped__)


def list_inventory(admin, context, cursor=None):
    ev = copy.deepcopy(event("admin_api_list_inventory.json"))
    if cursor is not None:
        ev["queryStringParameters"], ev["rawQueryString"] = {"cursor": cursor}, f"cursor={cursor}"
    response = admin.lambda_handler(ev, context)
    return response["statusCode"], json.loads(response["body"])


def _row(body, attribute, value):
    found = re.search(rf'<tr {attribute}="{re.escape(value)}"[^>]*>(.*?)</tr>', body, re.S)
    assert found, f"no row {attribute}={value}"
    return re.sub(r"\s+", " ", found.group(0))


def test_get_inventory_lists_every_sku_in_pages_with_low_stock(aws, admin, context):
    set_level(admin, context, "MUG-ENAMEL-WHT", "wh-east", 40)
    set_level(admin, context, "MUG-ENAMEL-WHT", "wh-west", 2)
    set_level(admin, context, "TEE-ORGANIC-L", "wh-west", 5)  # at the threshold (5): low
    set_level(admin, context, "CAP-WOOL-GRY", "wh-eu", 0)

    status, body = list_inventory(admin, context)
    assert status == 200
    assert body == {
        "inventory": [
            {
                "sku": "CAP-WOOL-GRY",
                "available": 0,
                "reserved": 0,
                "locations": {"wh-eu": {"available": 0, "reserved": 0}},
                "low_stock": True,
            },
            {
                "sku": "MUG-ENAMEL-WHT",
                "available": 42,
                "reserved": 0,
                "locations": {"wh-east": {"available": 40, "reserved": 0}, "wh-west": {"available": 2, "reserved": 0}},
                "low_stock": False,
            },
            {
                "sku": "TEE-ORGANIC-L",
                "available": 5,
                "reserved": 0,
                "locations": {"wh-west": {"available": 5, "reserved": 0}},
                "low_stock": True,
            },
        ],
        "low_stock_threshold": 5,
        "next_cursor": None,
    }

    # Pages of two, continued by the cursor; a SKU at two locations is one row.
    page = admin.sandbox.stock_list.page(None, limit=2)
    assert [r.sku for r in page.skus] == ["CAP-WOOL-GRY", "MUG-ENAMEL-WHT"] and page.next_after == "MUG-ENAMEL-WHT"
    rest = admin.sandbox.stock_list.page(page.next_after, limit=2)
    assert [r.sku for r in rest.skus] == ["TEE-ORGANIC-L"] and rest.next_after is None

    status, body = list_inventory(admin, context, cursor="!!not-ours")
    assert status == 400 and "cursor" in body["error"]


def test_the_stock_pages_show_levels_and_the_form_corrects_one(aws, admin, console, context):
    set_level(admin, context, "MUG-ENAMEL-WHT", "wh-east", 40)
    set_level(admin, context, "TEE-ORGANIC-L", "wh-west", 3)
    cookies = set_cookies(sign_in(console, context))

    listed = console.lambda_handler(http("GET", "/console/stock", cookies=cookies), context)
    assert listed["statusCode"] == 200
    tee = _row(listed["body"], "data-sku", "TEE-ORGANIC-L")
    assert 'class="hold"' in tee and "low stock" in tee and '<td class="num" data-location="wh-west">3 / 0</td>' in tee
    mug = _row(listed["body"], "data-sku", "MUG-ENAMEL-WHT")
    assert "low stock" not in mug and '<td class="num available">40</td>' in mug

    page = console.lambda_handler(http("GET", "/console/stock/MUG-ENAMEL-WHT", cookies=cookies), context)
    assert page["statusCode"] == 200
    east = _row(page["body"], "data-location", "wh-east")
    assert '<td class="num available">40</td>' in east and "<td>admin</td>" in east
    csrf = re.search(r'name="csrf" value="([^"]+)"', page["body"]).group(1)

    def post(form):
        return console.lambda_handler(
            http("POST", "/console/stock/MUG-ENAMEL-WHT", form=form, cookies=cookies), context
        )

    assert post({"location": "wh-east", "available": "7"})["statusCode"] == 403  # no CSRF token
    for bad, message in (
        ({"location": "wh-east", "available": "-1"}, "Available must be a whole number"),
        ({"location": "wh-east", "available": "seven"}, "Available must be a whole number"),
        (
            {"location": "wh-mars", "available": "7"},
            "unknown location &#39;wh-mars&#39;; configured locations: wh-east",
        ),
    ):
        refused = post({**bad, "csrf": csrf})
        assert refused["statusCode"] == 400 and message in refused["body"], bad
    assert level(aws, "MUG-ENAMEL-WHT", "wh-east") == (40, 0)

    done = post({"location": "wh-east", "available": "7", "csrf": csrf})
    assert done["statusCode"] == 303 and done["headers"]["Location"] == "/console/stock/MUG-ENAMEL-WHT?set=wh-east"
    assert level(aws, "MUG-ENAMEL-WHT", "wh-east") == (7, 0)
    after = console.lambda_handler(
        http("GET", "/console/stock/MUG-ENAMEL-WHT", query={"set": "wh-east"}, cookies=cookies), context
    )
    assert '<td class="num available">7</td>' in _row(after["body"], "data-location", "wh-east")
    assert "The level at wh-east is set." in after["body"]

    missing = console.lambda_handler(http("GET", "/console/stock/NO-SUCH-SKU", cookies=cookies), context)
    assert missing["statusCode"] == 404


def test_a_skus_page_shows_its_latest_changes_and_where_each_came_from(aws, admin, console, context, load_function):
    """A correction, then an order's reservation (events/stock_updates_order_placed.json, Shopify's
    orders/create sample as the hub records it), recorded by channel_sync from their events."""
    from tests.functional.test_stock_sync import run

    set_level(admin, context, "MUG-ENAMEL-WHT", "wh-east", 40)
    set_level(admin, context, "TEE-ORGANIC-L", "wh-east", 40)
    cookies = set_cookies(sign_in(console, context))
    page = console.lambda_handler(http("GET", "/console/stock/MUG-ENAMEL-WHT", cookies=cookies), context)
    assert "No change recorded in the last 30 days" in page["body"]  # not recorded yet: channel_sync has not run

    stock_updates = load_function("stock_updates")
    assert stock_updates.lambda_handler(event("stock_updates_order_placed.json"), context) == {"batchItemFailures": []}
    assert run(aws, load_function("channel_sync"), "ChannelSyncQueue") == []

    page = console.lambda_handler(http("GET", "/console/stock/MUG-ENAMEL-WHT", cookies=cookies), context)
    assert page["statusCode"] == 200
    rows = [re.sub(r"\s+", " ", row) for row in re.findall(r'<tr data-cause="[^"]+">(.*?)</tr>', page["body"], re.S)]
    assert len(rows) == 2, rows
    reserved, corrected = rows  # newest first
    assert '<td class="cause">reserved by an order</td>' in reserved
    assert (
        '<a href="/console/orders/shopify%3A820982911946154508">shopify:820982911946154508</a>' in reserved
    )  # the order, linked to its page
    assert '<td class="num before">40</td>' in reserved and '<td class="num after">38</td>' in reserved
    assert '<td class="cause">correction</td>' in corrected and '<td class="origin">admin</td>' in corrected
    assert '<td class="num before">-</td>' in corrected and '<td class="num after">40</td>' in corrected
