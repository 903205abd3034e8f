"""Every vendor API version the hub pins, in one place, with when it stops being supported.

Adapters and configuration defaults read their version from here; `docs/vendor-versions.md` lists
the same table for people, and `tests/unit/test_vendor_versions.py` fails once any pinned version is
within three months of its end of support (today's date from the clock), so a release made then
moves to a newer version before the vendor falls forward or refuses.

End of support is computed from each vendor's published rule where the version names its release
(Shopify: quarterly, supported at least 12 months; Klaviyo: revisions supported 2 years; HubSpot
date versions: at least 18 months), else it is the vendor's published date. `None`: the vendor
publishes no end for that version (its path carries a major version that has no retirement
announced); the table says so rather than inventing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = [
    "GOOGLE_ADS_API_VERSION",
    "HUBSPOT_CRM_OBJECTS",
    "HUBSPOT_LEGACY_V3",
    "KLAVIYO_REVISION",
    "META_GRAPH_VERSION",
    "PINNED",
    "PINTEREST_API_VERSION",
    "SALESFORCE_API_VERSION",
    "SHOPIFY_ADMIN_API_VERSION",
    "SQUARE_API_VERSION",
    "PinnedVersion",
    "add_months",
    "pinned",
    "retiring",
]


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months (the day of month clamped to the target month's length)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    raise ValueError(f"no day {day.day} in {year}-{month:02d}")


def _year_month(version: str) -> date:
    year, month = version.split("-")[:2]
    return date(int(year), int(month), 1)


@dataclass(frozen=True)
class PinnedVersion:
    """One API version the hub calls, and until when the vendor supports it."""

    key: str
    vendor: str
    api: str
    version: str
    released: date | None  # None: the vendor does not date it
    end_of_support: date | None
    rule: str
    source: str


def _shopify(version: str) -> PinnedVersion:
    # "Shopify releases a new API version every three months at the beginning of the quarter ...
    # Each stable version is supported for a minimum of 12 months."
    released = _year_month(version)
    if released.month not in (1, 4, 7, 10):
        raise ValueError(f"Shopify versions are quarterly (YYYY-01/04/07/10), not {version}")
    return PinnedVersion(
        key="shopify_admin",
        vendor="Shopify",
        api="GraphQL Admin API (stock pushes, fulfilment write-back, reconciliation)",
        version=version,
        released=released,
        end_of_support=add_months(released, 12),
        rule="quarterly releases, each supported at least 12 months; then calls fall forward to the oldest supported",
        source="https://shopify.dev/docs/api/usage/versioning",
    )


def _klaviyo(revision: str) -> PinnedVersion:
    released = date.fromisoformat(revision)
    return PinnedVersion(
        key="klaviyo_revision",
        vendor="Klaviyo",
        api="`revision` header (events, profile import, data privacy deletion jobs)",
        version=revision,
        released=released,
        end_of_support=add_months(released, 24),
        rule="each revision stable 1 year, deprecated the next, retired 2 years after release",
        source="https://developers.klaviyo.com/en/docs/api_versioning_and_deprecation_policy",
    )


def _hubspot_dated(version: str) -> PinnedVersion:
    released = _year_month(version)
    return PinnedVersion(
        key="hubspot_crm_objects",
        vendor="HubSpot",
        api="CRM objects, date-versioned path (contacts batch upsert)",
        version=version,
        released=released,
        end_of_support=add_months(released, 18),
        rule="date versions every March and September, each supported at least 18 months",
        source="https://developers.hubspot.com/docs/api-reference/latest/overview",
    )


SHOPIFY = _shopify("2026-10")
KLAVIYO = _klaviyo("2026-10-15")
HUBSPOT_DATED = _hubspot_dated("2026-03")
HUBSPOT_LEGACY = PinnedVersion(
    key="hubspot_legacy_v3",
    vendor="HubSpot",
    api="legacy v3 path (contacts GDPR delete, which has no date-versioned equivalent documented)",
    version="v3",
    released=None,
    end_of_support=date(2027, 9, 1),
    rule="legacy numeric versions (v1-v4) unsupported from September 2027",
    source="https://developers.hubspot.com/docs/api-reference/legacy/migration-guide",
)
META = PinnedVersion(
    key="meta_graph",
    vendor="Meta",
    api="Graph API (Conversions API events; Page feed and Instagram content publishing), default of "
    "analytics.meta.api_version and marketing.social.facebook/instagram.api_version",
    version="v25.0",
    released=date(2026, 2, 18),
    end_of_support=date(2028, 7, 29),
    rule="published per version in the Graph API changelog (about 2 years after the next version)",
    source="https://developers.facebook.com/docs/graph-api/changelog/versions/",
)
GOOGLE_ADS = PinnedVersion(
    key="google_ads",
    vendor="Google",
    api="Google Ads API REST (Customer Match: OfflineUserDataJobService), default of audiences.google_ads.api_version",
    version="v26",
    released=date(2026, 10, 15),
    end_of_support=date(2027, 11, 1),
    rule="each major version available about a year after its release (projected sunset November 2027)",
    source="https://developers.google.com/google-ads/api/docs/sunset-dates",
)
SALESFORCE = PinnedVersion(
    key="salesforce_rest",
    vendor="Salesforce",
    api="REST API, default of crm.salesforce.api_version",
    version="v66.0",
    released=date(2026, 2, 1),  # Spring '26
    end_of_support=add_months(date(2026, 2, 1), 36),
    rule="each version supported at least 3 years from first release, retirement announced a year ahead",
    source="https://developer.salesforce.com/docs/platform/connect-rest-api/guide/intro_api_eol",
)

SQUARE = PinnedVersion(
    key="square",
    vendor="Square",
    api="`Square-Version` header (List payments by updated_at, Get payment refund: reconciliation)",
    version="2026-09-16",
    released=date(2026, 9, 16),
    end_of_support=None,
    rule="a dated version per release; no end of support is published per version (deprecated features "
    "are retired, typically at least 12 months after deprecation, whatever the version)",
    source="https://developer.squareup.com/docs/build-basics/versioning",
)

PINTEREST = PinnedVersion(
    key="pinterest",
    vendor="Pinterest",
    api="API v5 (create pin: social posting)",
    version="v5",
    released=None,
    end_of_support=None,
    rule="one version in the path; no end of support published",
    source="https://developers.pinterest.com/docs/api/v5/pins-create",
)

PINNED: tuple[PinnedVersion, ...] = (
    SHOPIFY,
    SQUARE,
    KLAVIYO,
    HUBSPOT_DATED,
    HUBSPOT_LEGACY,
    META,
    GOOGLE_ADS,
    SALESFORCE,
    PINTEREST,
    PinnedVersion(
        key="mailchimp_marketing",
        vendor="Mailchimp",
        api="Marketing API (members, tags, delete-permanent)",
        version="3.0",
        released=None,
        end_of_support=None,
        rule="one version in the path; no end of support published",
        source="https://mailchimp.com/developer/marketing/docs/fundamentals/",
    ),
    PinnedVersion(
        key="woocommerce_rest",
        vendor="WooCommerce",
        api="REST API wc/v3 (stock, notes, order status)",
        version="wc/v3",
        released=None,
        end_of_support=None,
        rule="ships with the plugin; no end of support published",
        source="https://woocommerce.github.io/woocommerce-rest-api-docs/",
    ),
    PinnedVersion(
        key="bigcommerce_rest",
        vendor="BigCommerce",
        api="REST v2 (orders) and v3 (catalog, customers)",
        version="v2/v3",
        released=None,
        end_of_support=None,
        rule="v2 orders have no v3 replacement yet; no end of support published",
        source="https://developer.bigcommerce.com/docs/rest-management/orders",
    ),
    PinnedVersion(
        key="magento_rest",
        vendor="Adobe Commerce / Magento",
        api="REST V1 (source items, shipments)",
        version="V1",
        released=None,
        end_of_support=None,
        rule="follows the merchant's Adobe Commerce release; the V1 path has no end announced",
        source="https://developer.adobe.com/commerce/webapi/rest/",
    ),
    PinnedVersion(
        key="easypost",
        vendor="EasyPost",
        api="API v2 (shipments, buy)",
        version="v2",
        released=None,
        end_of_support=None,
        rule="one version in the path; no end of support published",
        source="https://docs.easypost.com/docs/shipments",
    ),
)

SHOPIFY_ADMIN_API_VERSION = SHOPIFY.version
KLAVIYO_REVISION = KLAVIYO.version
HUBSPOT_CRM_OBJECTS = HUBSPOT_DATED.version
HUBSPOT_LEGACY_V3 = HUBSPOT_LEGACY.version
META_GRAPH_VERSION = META.version
GOOGLE_ADS_API_VERSION = GOOGLE_ADS.version
PINTEREST_API_VERSION = PINTEREST.version
SALESFORCE_API_VERSION = SALESFORCE.version
SQUARE_API_VERSION = SQUARE.version


def pinned(key: str) -> PinnedVersion:
    for entry in PINNED:
        if entry.key == key:
            return entry
    raise KeyError(key)


def retiring(today: date, months: int = 3) -> list[PinnedVersion]:
    """The pinned versions whose support ends within `months` of `today` (or has ended)."""
    horizon = add_months(today, months)
    return [entry for entry in PINNED if entry.end_of_support is not None and entry.end_of_support <= horizon]
