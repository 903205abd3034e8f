"""No bare SHA-256 of an email is kept or published: every call of hashlib.sha256 in the deployed code
is one of the reviewed uses below, none of which hashes an email into something the hub stores or
publishes. A new call fails here until it is reviewed and listed with its reason.

Customers are named by the salted erasure key (hub.domain.customers.erasure_key, an HMAC), which
nobody can recompute from a list of addresses without the deployment's salt.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOYED = [ROOT / "layers" / "shared" / "hub", ROOT / "functions"]

REVIEWED = {
    # Meta's Conversions API and Custom Audiences require contact details as SHA-256 of their
    # normalised form; made while a request to Meta is built (hub.adapters.analytics, never stored;
    # ad audiences keep them only sealed, as below).
    ("layers/shared/hub/domain/pii.py", "hashed"): "Meta's required hashing, request bodies (audiences: sealed)",
    # Google Customer Match requires the normalised email and phone as SHA-256; made while a request is
    # built, and kept (with Meta's) only sealed under the customer's audience data key, which is
    # deleted when no identifier is kept (hub.adapters.audience_store).
    ("layers/shared/hub/domain/audiences.py", "_sha256"): "Google's required hashing, stored only sealed",
    # The salted customer key, hashed again for Meta's external_id, and a seed from an order id.
    ("layers/shared/hub/adapters/analytics.py", "ga4_client_id"): "order id, when there is no customer",
    ("layers/shared/hub/adapters/analytics.py", "_customer_ids"): "the salted key, hashed as Meta asks",
    # Change detection of a CRM contact, kept on the customer's own item beside the email itself
    # and erased with it.
    ("layers/shared/hub/services/crm.py", "contact_digest"): "kept with the email it covers",
    # Names and ids derived from ids that are not personal.
    ("layers/shared/hub/domain/marketing_rules.py", "schedule_name"): "message key (trigger, order or checkout id)",
    ("layers/shared/hub/domain/social.py", "schedule_name"): "a social post's key (trigger, product key, day)",
    ("layers/shared/hub/events.py", "event_id_for"): "provider ids",
    ("layers/shared/hub/intake/shippo.py", "parse"): "a whole body, the dedupe key of an event the hub ignores",
    ("layers/shared/hub/domain/fulfilment.py", "fulfilment_id_for"): "order id and location",
    ("layers/shared/hub/adapters/order_codec.py", "_digest"): "an order's lines or reservations, kept with them",
    ("layers/shared/hub/adapters/report_store.py", "_counter_key"): "a SKU, to pick a counter shard",
    # A lineage entry's sort key: ids, vendor names and reasons, which never hold personal data.
    ("layers/shared/hub/domain/lineage.py", "key"): "what a lineage entry says (ids and reasons)",
    # A stock change's sort key: a hub event id and a location id, never personal data.
    ("layers/shared/hub/adapters/stock_history.py", "change_key"): "a stock change's event id and location",
    ("layers/shared/hub/adapters/webhook_activity.py", "delivery_count_values"): (
        "a delivery's dedupe key (the provider's delivery or event id), to key its count"
    ),
    # A catalog product's content (title, description, prices, options), to know a store's echo.
    ("layers/shared/hub/domain/catalog.py", "content_hash"): "a product's catalog content, no personal data",
    # The console's own stylesheet, hashed for its Content-Security-Policy.
    ("layers/shared/hub/console/frame.py", "_css_hash"): "the console's stylesheet (a CSP hash)",
    # A report chart's style element, hashed for the chart's own Content-Security-Policy.
    ("layers/shared/hub/console/report_charts.py", "_finish"): "a chart's stylesheet (a CSP hash)",
}


def _sha256_calls() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for folder in DEPLOYED:
        for path in folder.rglob("*.py"):
            tree = ast.parse(path.read_text(), str(path))
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(function):
                    if (
                        isinstance(node, ast.Call)
                        and isinstance(node.func, ast.Attribute)
                        and node.func.attr == "sha256"
                    ):
                        found.add((path.relative_to(ROOT).as_posix(), function.name))
    return found


def test_every_sha256_in_the_deployed_code_is_a_reviewed_use():
    unreviewed = _sha256_calls() - set(REVIEWED)
    assert not unreviewed, f"review these for hashed personal data and list them: {sorted(unreviewed)}"


def test_the_reviewed_list_has_no_stale_entries():
    assert set(REVIEWED) <= _sha256_calls()


def test_the_scan_finds_a_sha256_call(tmp_path):
    # The scan itself must be able to fail: it sees a call written the way the old customer key was.
    tree = ast.parse(
        "import hashlib\ndef customer_key(email):\n    return hashlib.sha256(email.encode()).hexdigest()\n"
    )
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "sha256"]
    assert len(calls) == 1
