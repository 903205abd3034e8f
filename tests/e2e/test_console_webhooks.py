"""The webhooks page in a real browser over the local stack (the session's, as test_console.py's).

One Shopify orders/create (the demo's shape: commerce_hub.demo.order_payload, after Shopify's own
example in events/payloads/shopify_orders_create.json) signed with the stack's secret is posted,
then the very same delivery again (a duplicate), then one whose signature is wrong; the page must
show them, read from its table, with the reason intake answered. axe-core and a screenshot.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from commerce_hub.client import sign_delivery
from commerce_hub.demo import Scenario, order_payload

from .console_browser import accessible, sign_in

pytestmark = pytest.mark.e2e


def shopify_row(opened) -> dict[str, object]:
    return opened.eval_on_selector(
        '#webhooks tbody tr[data-source="shopify"]',
        """r => ({accepted: +r.querySelector('td.accepted').innerText, duplicate: +r.querySelector('td.duplicate').innerText,
                 refused: +r.querySelector('td.refused').innerText, state: r.querySelector('td.state').innerText.trim()})""",
    )


def test_a_good_a_duplicate_and_a_forged_delivery_show_on_the_webhooks_page(page, stack):
    sign_in(page, stack)
    page.get_by_role("link", name="Webhooks").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Webhooks"
    before = shopify_row(page)  # the session's stack may have counted other deliveries already

    number = uuid.uuid4().int % 10**9
    body = order_payload(7000, number, Scenario("webhooks page", [("MUG-ENAMEL-WHT", 1)], financial_status="pending"))
    delivery = sign_delivery("shopify", body, topic="orders/create", secrets=stack.secrets)
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        first = client.post("/webhooks/shopify", content=delivery.body, headers=delivery.headers)
        again = client.post("/webhooks/shopify", content=delivery.body, headers=delivery.headers)
        forged_headers = {**delivery.headers, "X-Shopify-Hmac-Sha256": "bm90IHRoZSBzaWduYXR1cmU="}
        forged = client.post("/webhooks/shopify", content=delivery.body, headers=forged_headers)
    assert (first.json()["status"], again.json()["status"]) == ("accepted", "duplicate")
    assert forged.status_code == 401
    reason = forged.json()["error"]
    assert "signature does not match" in reason

    page.reload()
    after = shopify_row(page)
    assert after["accepted"] >= max(1, before["accepted"] + 1)
    assert after["duplicate"] >= max(1, before["duplicate"] + 1)
    assert after["refused"] == before["refused"] + 1 and after["refused"] >= 1
    assert after["state"] == "refusals"  # marked by text, not colour alone
    assert "shopify" in page.locator("#summary").inner_text()
    latest = page.locator('section.refusals[data-source="shopify"] tbody tr').first
    assert latest.locator("td.status").inner_text() == "401"
    assert latest.locator("td.reason").inner_text() == reason
    accessible(page, "webhooks")
