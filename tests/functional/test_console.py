"""The console function and GET /orders with moto: sign-in, the orders list and an order's page.

The orders come from events/stock_updates_order_placed.json (a Shopify orders/create, whose
payload is Shopify's own example in events/payloads) and copies of it under other ids and times.
"""

from __future__ import annotations

import copy
import json
import re
from urllib.parse import urlencode

import boto3
import pytest

from tests.functional.conftest import SECRETS_PREFIX, event
from tests.functional.test_stock_updates import set_level

TOKEN = "functional-console-token-0123456789"


@pytest.fixture
def console(aws, load_function, monkeypatch):
    boto3.client("secretsmanager").create_secret(
        Name=f"{SECRETS_PREFIX}/console", SecretString=json.dumps({"CONSOLE_TOKEN": TOKEN})
    )
    monkeypatch.setenv("HUB_SECRET_CONSOLE", f"{SECRETS_PREFIX}/console")
    return load_function("console")


@pytest.fixture
def admin(aws, load_function):
    return load_function("admin_api")


def http(method, path, *, query=None, form=None, cookies=None, proto="http", source_ip="127.0.0.1"):
    """An API Gateway payload 2.0 event as the HTTP API sends one (see events/admin_api_get_order.json)."""
    ev = copy.deepcopy(event("admin_api_get_order.json"))
    ev["routeKey"] = ev["requestContext"]["routeKey"] = "ANY /console/{proxy+}"
    ev["rawPath"] = ev["requestContext"]["http"]["path"] = path
    ev["requestContext"]["http"]["method"] = method
    ev["requestContext"]["http"]["sourceIp"] = source_ip
    ev["headers"] = {"host": "127.0.0.1:3000", "x-forwarded-proto": proto}
    ev.pop("pathParameters", None)
    if query:
        ev["queryStringParameters"] = query
        ev["rawQueryString"] = urlencode(query)
    if cookies:
        ev["cookies"] = [f"{k}={v}" for k, v in cookies.items()]
    if form is not None:
        ev["headers"]["content-type"] = "application/x-www-form-urlencoded"
        ev["body"] = urlencode(form)
    return ev


def set_cookies(response):
    return {c.split("=", 1)[0]: c.split("=", 1)[1].split(";", 1)[0] for c in response.get("cookies", [])}


def sign_in(console, context, token=TOKEN, **kw):
    form = console.lambda_handler(http("GET", "/console/login", **kw), context)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form["body"]).group(1)
    return console.lambda_handler(
        http("POST", "/console/login", form={"csrf": csrf, "token": token}, cookies=set_cookies(form), **kw), context
    )


def place(load_function, context, order_id, created_at, email=None, total=None):
    ev = copy.deepcopy(event("stock_updates_order_placed.json"))
    record = ev["Records"][0]
    detail_text = record["body"]
    envelope = json.loads(detail_text)
    detail = envelope["detail"]
    detail["event_id"] = f"evt-{order_id}"
    detail["occurred_at"] = created_at
    detail["data"]["order_id"] = order_id
    if email is not None:
        detail["data"]["customer_email"] = email
    record["body"] = json.dumps(envelope)
    record["messageId"] = f"msg-{order_id}"
    load_function("stock_updates").lambda_handler(ev, context)


def test_the_sample_event_shows_the_login_form(console, context):
    page = console.lambda_handler(event("console_get_login.json"), context)
    assert page["statusCode"] == 200 and '<label for="token">Console token</label>' in page["body"]
    assert any(c.startswith("hub_console_login=") for c in page["cookies"])


def test_pages_need_a_session_and_a_wrong_token_is_refused(console, context):
    page = console.lambda_handler(http("GET", "/console/orders"), context)
    assert (page["statusCode"], page["headers"]["Location"]) == (303, "/console/login")
    css = console.lambda_handler(http("GET", "/console/static/console.css"), context)
    assert css["statusCode"] == 401

    refused = sign_in(console, context, token="not-the-token")
    assert refused["statusCode"] == 401
    assert "That is not the console token" in refused["body"]
    assert "hub_console" not in set_cookies(refused)


def test_a_session_cookie_is_strict_and_secure_except_on_local_http(console, context):
    local = sign_in(console, context)
    assert local["statusCode"] == 303 and local["headers"]["Location"] == "/console/orders"
    session = next(c for c in local["cookies"] if c.startswith("hub_console="))
    assert all(part in session for part in ("HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age=28800"))
    assert "Secure" not in session
    deployed = sign_in(console, context, proto="https", source_ip="203.0.113.9")
    assert "Secure" in next(c for c in deployed["cookies"] if c.startswith("hub_console="))


def test_a_post_without_the_csrf_token_is_refused(console, context):
    cookies = set_cookies(sign_in(console, context))
    refused = console.lambda_handler(http("POST", "/console/logout", form={}, cookies=cookies), context)
    assert refused["statusCode"] == 403
    page = console.lambda_handler(http("GET", "/console/orders", cookies=cookies), context)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page["body"]).group(1)
    out = console.lambda_handler(http("POST", "/console/logout", form={"csrf": csrf}, cookies=cookies), context)
    assert out["statusCode"] == 303 and any(c.startswith("hub_console=;") for c in out["cookies"])


def test_orders_list_by_day_status_and_page_through_the_index(console, admin, load_function, context):
    set_level(admin, context, "MUG-ENAMEL-WHT", "wh-east", 500)
    set_level(admin, context, "TEE-ORGANIC-L", "wh-east", 500)
    for n in range(5):
        place(load_function, context, f"shopify:{9000 + n}", f"2026-11-20T10:0{n}:00+00:00")
    place(load_function, context, "shopify:8999", "2026-11-19T23:59:00+00:00")

    def get(query):
        ev = event("admin_api_list_orders.json")
        ev["queryStringParameters"], ev["rawQueryString"] = query, urlencode(query)
        response = admin.lambda_handler(ev, context)
        return response["statusCode"], json.loads(response["body"])

    status, page = get({"date": "2026-11-19..2026-11-20"})
    assert status == 200
    assert [o["order_id"] for o in page["orders"]] == [f"shopify:{9000 + n}" for n in (4, 3, 2, 1, 0)] + [
        "shopify:8999"
    ]
    assert page["orders"][0] | {"placed_at": None} == {
        "order_id": "shopify:9004",
        "channel": "shopify",
        "status": "paid",
        "hold_reason": None,
        "currency": "USD",
        "total": "85.92",
        "placed_at": None,
    }
    assert page["next_cursor"] is None

    # The same list in pages of two through the index, continued by the cursor across the day boundary.
    from dataclasses import replace

    from hub.api import admin as admin_routes

    query = admin_routes.order_query({"date": "2026-11-19..2026-11-20"})
    pages, cursor = [], None
    while True:
        found = admin.sandbox.order_search.search(replace(query, cursor=cursor, limit=2))
        pages.append([o.order_id for o in found.orders])
        if found.next_cursor is None:
            break
        cursor = found.next_cursor
    assert pages == [
        ["shopify:9004", "shopify:9003"],
        ["shopify:9002", "shopify:9001"],
        ["shopify:9000", "shopify:8999"],  # a page fills from the day before
    ]

    status, page = get({"date": "2026-11-20", "status": "on_hold"})
    assert (status, page["orders"]) == (200, [])
    status, page = get({"date": "2026-11-20", "channel": "woocommerce"})
    assert (status, page["orders"]) == (200, [])
    status, page = get({"status": "lost"})
    assert status == 400 and "status must be one of" in page["error"]


def test_the_orders_page_and_an_orders_page_show_what_the_api_serves(console, admin, load_function, context):
    set_level(admin, context, "MUG-ENAMEL-WHT", "wh-east", 5)
    set_level(admin, context, "TEE-ORGANIC-L", "wh-east", 5)
    load_function("stock_updates").lambda_handler(event("stock_updates_order_placed.json"), context)
    cookies = set_cookies(sign_in(console, context))

    listed = console.lambda_handler(
        http("GET", "/console/orders", query={"from": "2026-11-01", "to": "2026-11-30"}, cookies=cookies), context
    )
    assert listed["statusCode"] == 200
    assert 'data-order-id="shopify:820982911946154508"' in listed["body"]
    assert "default-src 'none'" in listed["headers"]["Content-Security-Policy"]

    # By the customer's email: through the profile crm_upsert derives (events/crm_upsert_order_placed.json).
    load_function("crm_upsert").lambda_handler(event("crm_upsert_order_placed.json"), context)
    for email, shown in (("Ada.Lovelace@example.com", True), ("someone.else@example.com", False)):
        found = console.lambda_handler(http("GET", "/console/orders", query={"email": email}, cookies=cookies), context)
        assert found["statusCode"] == 200
        assert ('data-order-id="shopify:820982911946154508"' in found["body"]) is shown, email

    page = console.lambda_handler(http("GET", "/console/orders/shopify%3A820982911946154508", cookies=cookies), context)
    assert page["statusCode"] == 200
    body = page["body"]
    assert '<span id="order-id">shopify:820982911946154508</span>' in body
    assert "OrderPlaced" in body and "ada.lovelace@example.com" in body
    assert re.search(r"<td>MUG-ENAMEL-WHT</td><td>wh-east</td><td class=\"num\">2</td>", body)

    missing = console.lambda_handler(http("GET", "/console/orders/shopify%3A1", cookies=cookies), context)
    assert missing["statusCode"] == 404 and "no order" in missing["body"]
    css = console.lambda_handler(http("GET", "/console/static/console.css", cookies=cookies), context)
    assert css["statusCode"] == 200 and css["headers"]["Content-Type"].startswith("text/css")
