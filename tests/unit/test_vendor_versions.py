"""Every vendor API version the hub pins is in hub.vendor_versions, read from there, and not about to
lose support.

The ends of support follow each vendor's published rule:
- Shopify: "Shopify releases a new API version every three months at the beginning of the quarter ...
  Each stable version is supported for a minimum of 12 months" (shopify.dev/docs/api/usage/versioning);
- Klaviyo: "Each revision is supported for 2 years after its release" (developers.klaviyo.com, changelog
  and API versioning and deprecation policy);
- HubSpot: date versions each March and September, "a minimum support window time of 18 months", and
  legacy v1-v4 paths unsupported from September 2027 (developers.hubspot.com, API versioning guide and
  legacy migration guide);
- Meta: the "Available until" date of the Graph API changelog (v25.0: 18 February 2026 to 29 July 2028);
- Salesforce: "supporting each API version for a minimum of 3 years from the date of first release"
  (Salesforce API End-of-Life Policy).
"""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hub import vendor_versions
from hub.adapters.hubspot import GDPR_DELETE_PATH, UPSERT_PATH
from hub.adapters.storefront_stock import ShopifyStock
from hub.adapters.storefronts import ShopifyWriter
from hub.config import KlaviyoConfig, SalesforceCrmConfig, parse_config
from hub.vendor_versions import PINNED, add_months, pinned, retiring

ROOT = Path(__file__).resolve().parents[2]


def test_no_pinned_version_is_within_three_months_of_its_end_of_support():
    today = datetime.now(UTC).date()
    ending = [f"{p.vendor} {p.version} (supported until {p.end_of_support})" for p in retiring(today, months=3)]
    assert not ending, f"move to a newer version before support ends: {', '.join(ending)}"


def test_the_check_flags_a_version_three_months_before_its_end():
    shopify = pinned("shopify_admin")
    assert shopify.end_of_support is not None
    assert shopify not in retiring(add_months(shopify.end_of_support, -4))
    assert shopify in retiring(add_months(shopify.end_of_support, -3))
    assert shopify in retiring(shopify.end_of_support)


def test_ends_of_support_follow_each_vendors_published_rule():
    shopify = pinned("shopify_admin")
    assert (shopify.version, shopify.released, shopify.end_of_support) == (
        "2026-10",
        date(2026, 10, 1),
        date(2027, 10, 1),
    )
    klaviyo = pinned("klaviyo_revision")
    assert (klaviyo.version, klaviyo.end_of_support) == ("2026-10-15", date(2028, 10, 15))
    hubspot = pinned("hubspot_crm_objects")
    assert (hubspot.version, hubspot.end_of_support) == ("2026-03", date(2027, 9, 1))
    assert pinned("hubspot_legacy_v3").end_of_support == date(2027, 9, 1)
    assert pinned("meta_graph").end_of_support == date(2028, 7, 29)
    salesforce = pinned("salesforce_rest")
    assert salesforce.end_of_support == add_months(salesforce.released, 36)


def test_shopify_versions_must_be_quarterly():
    with pytest.raises(ValueError, match="quarterly"):
        vendor_versions._shopify("2026-11")


def test_every_entry_names_its_source_and_rule():
    keys = [p.key for p in PINNED]
    assert len(keys) == len(set(keys))
    for entry in PINNED:
        assert entry.source.startswith("https://"), entry.key
        assert entry.rule and entry.api, entry.key
        if entry.end_of_support and entry.released:
            assert entry.end_of_support > entry.released, entry.key


def test_adapters_and_configuration_defaults_read_the_pinned_versions():
    assert ShopifyStock(None)._path == "/admin/api/2026-10/graphql.json"  # type: ignore[arg-type]
    assert ShopifyWriter(None)._path == "/admin/api/2026-10/graphql.json"  # type: ignore[arg-type]
    assert KlaviyoConfig().revision == pinned("klaviyo_revision").version
    assert SalesforceCrmConfig(external_id_field="Hub_Email__c").api_version == pinned("salesforce_rest").version
    meta = parse_config("locations: [{id: a, country: US}]\nanalytics: {meta: {pixel_id: 1}}").analytics.meta
    assert meta is not None and meta.api_version == pinned("meta_graph").version
    assert UPSERT_PATH == "/crm/objects/2026-03/contacts/batch/upsert"
    assert GDPR_DELETE_PATH == "/crm/v3/objects/contacts/gdpr-delete"


_VERSION_LITERAL = re.compile(r"^(\d{4}-\d{2}(-\d{2})?|v\d+\.\d+)$|/admin/api/\d|/crm/v\d|/services/data/v\d")


def test_no_deployed_module_hard_codes_a_vendor_version():
    found = []
    for folder in (ROOT / "layers" / "shared" / "hub", ROOT / "functions"):
        for path in folder.rglob("*.py"):
            if path.name == "vendor_versions.py":
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            # Docstrings and comments may name versions; values the code sends may not.
            prose = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
            for node in ast.walk(tree):
                if id(node) in prose or not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                    continue
                if _VERSION_LITERAL.search(node.value):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert not found, "read these from hub.vendor_versions: " + "; ".join(found)


def test_the_docs_list_every_pinned_version():
    listed = (ROOT / "docs" / "vendor-versions.md").read_text(encoding="utf-8")
    for entry in PINNED:
        assert f"`{entry.version}`" in listed, entry.key
        if entry.end_of_support:
            assert entry.end_of_support.isoformat() in listed, entry.key
