"""The console's stock and dead-letters pages in a real browser (Playwright, Debian's headless
Chromium) over a local stack of this module's own, whose configuration buys labels from EasyPost,
played by the fake of tests/fulfilment_apis.py on 127.0.0.1, told here to refuse every shipment.

A stock level is corrected in the form and read back from the page; a paid order is routed, its
label refused by the "broken" carrier until the record dead-letters, which is found on the
dead-letters page with its reason and its order; the carrier is "fixed", the queue is redriven with
the page's button, and the order's page shows it shipped with its tracking link. Every page is
checked with axe-core and screenshotted under build/test-artifacts/console/. The order is
events/payloads/shopify_orders_create.json (Shopify's orders/create sample), renumbered, as in
tests/e2e/test_recovery.py; the refusal is EasyPost's error body (422 with `error.code`, "Errors"
in EasyPost's API reference).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from commerce_hub.local import LocalStack
from tests.e2e.console_browser import accessible, cells, sign_in
from tests.e2e.test_customers import shopify_order
from tests.e2e.test_recovery import settled
from tests.e2e.test_storefront_intake import post
from tests.e2e.waiting import wait_for
from tests.fulfilment_apis import EASYPOST_KEY, FakeApis, easypost_carrier

from .conftest import AUTH, ROOT, _environment

pytestmark = pytest.mark.e2e


class RefusingCarrier(FakeApis):
    """The EasyPost fake, answering 422 to every shipment it is asked to create while `refusing`."""

    refusing = False

    def _easypost(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if self.refusing and method == "POST" and path.rstrip("/") == "/v2/shipments":
            return 422, {"error": {"code": "SHIPMENT.INVALID_PARAMS", "message": "Unable to create shipment.",
                                   "errors": []}}  # fmt: skip
        return super()._easypost(method, path, body)


@pytest.fixture(scope="module")
def carrier() -> RefusingCarrier:
    return RefusingCarrier()


@pytest.fixture(scope="module")
def ops_stack(carrier: RefusingCarrier, tmp_path_factory) -> Iterator[LocalStack]:
    with carrier.serve() as api_url:
        document = yaml.safe_load((ROOT / "config" / "local.yaml").read_text())
        document["carrier"] = easypost_carrier(api_url)
        config = tmp_path_factory.mktemp("config") / "console-operations.yaml"
        config.write_text(yaml.safe_dump(document, sort_keys=False))
        with LocalStack(ROOT, http_port=0, aws_port=0, env=_environment(HUB_CONFIG=str(config))) as running:
            running.put_secrets({**running.secrets, "EASYPOST_API_KEY": EASYPOST_KEY})
            yield running


@pytest.fixture
def http(ops_stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ops_stack.url, timeout=30) as client:
        yield client


def test_correct_a_stock_level_in_the_form_and_see_it_change(page, ops_stack, http):
    sku = f"MUG-{uuid.uuid4().hex[:6].upper()}"
    assert http.put(f"/inventory/{sku}", json={"location": "wh-east", "available": 10}, headers=AUTH).status_code == 200
    sign_in(page, ops_stack)
    page.get_by_role("link", name="Stock", exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Stock"
    row = page.locator(f'#stock tr[data-sku="{sku}"]')
    assert row.locator("td.available").inner_text() == "10" and row.locator("td.state").inner_text() == "ok"
    accessible(page, "stock")

    row.get_by_role("link", name=sku).click()
    assert page.get_by_role("heading", level=1).inner_text() == f"Stock: {sku}"
    east = page.locator('#levels tr[data-location="wh-east"]')
    assert east.locator("td.available").inner_text() == "10"
    assert cells(page, '#levels tr[data-location="wh-east"]')[0][3] == "admin"  # who last set it

    # Bad input is refused, saying why, and changes nothing.
    page.get_by_label("Location").select_option("wh-east")
    page.get_by_label("Available units").fill("ten")
    page.get_by_role("button", name="Set level").click()
    assert "whole number" in page.get_by_role("alert").inner_text()
    assert east.locator("td.available").inner_text() == "10"
    accessible(page, "stock-sku-refused")

    page.get_by_label("Available units").fill("3")
    page.get_by_role("button", name="Set level").click()
    assert page.get_by_role("status").inner_text() == "The level at wh-east is set."
    assert page.locator('#levels tr[data-location="wh-east"] td.available').inner_text() == "3"
    assert "low stock" in page.locator("#totals").inner_text()  # 3 is at or below the threshold (5)
    accessible(page, "stock-sku")
    # The JSON the admin API serves says the same.
    assert http.get(f"/inventory/{sku}", headers=AUTH).json()["locations"]["wh-east"]["available"] == 3

    # The correction in the SKU's history, read back from the page: channel_sync records each change
    # from its StockLevelChanged, a moment after it is made.
    def corrections() -> list[list[str]]:
        page.reload()
        return [row for row in cells(page, "#changes tbody tr[data-cause]") if row[2] == "correction"]

    history = wait_for(lambda: len(rows := corrections()) == 2 and rows, what="both corrections in the history")
    assert [row[1:] for row in history] == [
        ["wh-east", "correction", "admin", "10", "3"],  # newest first: the form's
        ["wh-east", "correction", "admin", "-", "10"],  # the first level, set through the API
    ]
    assert [
        (c["cause"], c["before"], c["after"]) for c in http.get(f"/inventory/{sku}", headers=AUTH).json()["changes"]
    ] == [
        ("correction", 10, 3),
        ("correction", None, 10),
    ]
    accessible(page, "stock-sku-history")

    page.get_by_role("link", name="All stock").click()
    row = page.locator(f'#stock tr[data-sku="{sku}"]')
    assert row.locator("td.available").inner_text() == "3" and row.locator("td.state").inner_text() == "low stock"


def test_a_dead_letter_is_seen_with_its_reason_redriven_and_its_order_completes(page, ops_stack, http, carrier):
    order_number = int(time.time() * 1000) % 10**12
    order_id = f"shopify:{order_number}"
    email = f"console.dead.letter.{uuid.uuid4().hex[:8]}@example.com"
    for sku in ("MUG-ENAMEL-WHT", "TEE-ORGANIC-L"):  # the sample's lines, so the order is paid, not held
        response = http.put(f"/inventory/{sku}", json={"location": "wh-east", "available": 50}, headers=AUTH)
        assert response.status_code == 200, response.text
    carrier.refusing = True  # the carrier is broken: no shipment, so no label
    placed = post(http, ops_stack, "shopify", shopify_order(order_number, email), topic="orders/create")
    assert placed.status_code == 200 and placed.json()["status"] == "accepted", placed.text

    sign_in(page, ops_stack)
    page.get_by_role("link", name="Dead letters").click()

    def routing_waiting() -> bool:
        page.reload()
        return page.locator('#queues tr[data-queue="routing"] td.messages').inner_text() != "0"

    wait_for(routing_waiting, seconds=120, what="the refused label in the routing dead-letter queue")
    routing = page.locator('#queues tr[data-queue="routing"]')
    assert "EasyPost create shipment" in routing.locator("td.reason").inner_text()
    accessible(page, "dead-letters")

    # Routed but not labelled: the order stops at fulfilling, its fulfilment waiting for a label.
    assert http.get(f"/orders/{order_id}", headers=AUTH).json()["status"] == "fulfilling"

    routing.get_by_role("link", name="routing").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Dead letters: routing"
    rows = [r for r in cells(page, "#messages tbody tr") if r[1] == order_id]
    assert rows, "the order's label work is listed with its order"
    for _message, _order, _event, _age, attempts, reason in rows:
        assert attempts == "5" and "EasyPost create shipment" in reason and "422" in reason, reason
    assert email not in page.content()  # reasons name fields and statuses, never a customer's values
    accessible(page, "dead-letter-queue")
    assert carrier.seen("POST", "/v2/shipments/") == []  # nothing was bought

    carrier.refusing = False  # the carrier is fixed
    page.get_by_role("button", name="Redrive every message of routing").click()
    status = page.get_by_role("status").inner_text()
    assert status.startswith("Moved ") and "of routing back" in status, status
    assert int(status.split()[1]) >= 1

    shipped = wait_for(
        lambda: (o := http.get(f"/orders/{order_id}", headers=AUTH).json()).get("status") == "shipped" and o,
        seconds=60,
        what="the redriven order shipped",
    )
    wait_for(lambda: settled(ops_stack), what="the queues to settle")
    page.reload()
    assert page.locator('#queues tr[data-queue="routing"] td.messages').inner_text() == "0"

    # The order, on its page: complete, as far as the hub takes it: shipped with its label's tracking.
    page.goto(f"{ops_stack.url}/console/orders/{order_id.replace(':', '%3A')}")
    assert page.locator("#order-id").inner_text() == order_id
    assert page.locator("#order-status").inner_text() == "shipped"
    (fulfilment,) = shipped["fulfilments"]
    fulfilments = page.get_by_role("table", name="Fulfilments")
    ((location, state, carrier_service, tracking, _shipped_at),) = cells(
        page, "table[aria-labelledby=fulfilments-h] tbody tr"
    )
    assert (location, state, carrier_service) == ("wh-east", "shipped", "USPS Priority")
    assert tracking == fulfilment["tracking_number"] and tracking.startswith("9400E2E")
    link = fulfilments.get_by_role("link", name=tracking)
    assert link.get_attribute("href") == fulfilment["tracking_url"]
    accessible(page, "dead-letter-order")
