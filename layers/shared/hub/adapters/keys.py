"""Every partition key prefix of the hub's single table, in one list.

Each adapter builds its partition keys from these (`ORDER("shopify:1") == "ORDER#shopify:1"`), the
least-privilege test checks every `dynamodb:LeadingKeys` condition of template.yaml against them,
and the state table of docs/architecture.md lists exactly these (tests/unit/test_table_keys.py).
"""

from __future__ import annotations

__all__ = [
    "AUDIENCE",
    "AUDREVIEW",
    "CATDRIFT",
    "CATSYNC",
    "CHANNEL",
    "CUSTOMER",
    "CUSTORDER",
    "DEK",
    "FAILURE",
    "FIXED_KEYS",
    "LINEAGE",
    "MKTCHECKOUT",
    "MKTCUST",
    "MKTMSG",
    "MKTOPTOUT",
    "MKTORDER",
    "MKTPAIR",
    "MKTSKU",
    "MKTSOCIAL",
    "MKTSTOCK",
    "ORDER",
    "ORDERDAY",
    "PARTITIONS",
    "PRIVACY",
    "PRODSKU",
    "PRODUCT",
    "RECONCILE",
    "REPORT",
    "SHIPMENT",
    "SKU",
    "STOCKLOG",
    "SYNC",
    "TRACKING",
    "WEBHOOKS",
    "Prefix",
]


class Prefix(str):
    """A partition key prefix ("ORDER#"); called with the rest, the whole key."""

    __slots__ = ()

    def __call__(self, *parts: str) -> str:
        return self + "#".join(parts)


# Orders and stock (hub.adapters.dynamodb, stock_tables, order_privacy, reconcile_store)
ORDER = Prefix("ORDER#")
SKU = Prefix("SKU#")
CHANNEL = Prefix("CHANNEL#")
SYNC = Prefix("SYNC#")
# Each SKU's stock changes (stock_history), apart from its levels so reading levels never reads them.
STOCKLOG = Prefix("STOCKLOG#")
# The orders-by-day index's partitions (order_index): written on the order item, never a table pk.
ORDERDAY = Prefix("ORDERDAY#")
# The product catalog (catalog_store): products, their SKU index, what was pushed where, drift seen
PRODUCT = Prefix("PRODUCT#")
PRODSKU = Prefix("PRODSKU#")
CATSYNC = Prefix("CATSYNC#")
CATDRIFT = Prefix("CATDRIFT#")
# Customers and privacy (customers, contacts, data_keys)
CUSTOMER = Prefix("CUSTOMER#")
CUSTORDER = Prefix("CUSTORDER#")
PRIVACY = Prefix("PRIVACY#")
DEK = Prefix("DEK#")
# Operations (lineage, failures, reconcile_store)
LINEAGE = Prefix("LINEAGE#")
FAILURE = Prefix("FAILURE#")
RECONCILE = Prefix("RECONCILE#")
# Webhook deliveries per source and hour, by outcome (webhook_activity)
WEBHOOKS = Prefix("WEBHOOKS#")
# Shipping (shipments)
SHIPMENT = Prefix("SHIPMENT#")
TRACKING = Prefix("TRACKING#")
# Reporting (report_store)
REPORT = Prefix("REPORT#")
# Marketing (marketing_store)
MKTMSG = Prefix("MKTMSG#")
MKTCUST = Prefix("MKTCUST#")
MKTCHECKOUT = Prefix("MKTCHECKOUT#")
MKTORDER = Prefix("MKTORDER#")
MKTPAIR = Prefix("MKTPAIR#")
MKTSKU = Prefix("MKTSKU#")
MKTSTOCK = Prefix("MKTSTOCK#")
MKTOPTOUT = Prefix("MKTOPTOUT#")
# Ad audiences (ad_audiences): what was sent per customer, and when time alone changes it next
AUDIENCE = Prefix("AUDIENCE#")
AUDREVIEW = Prefix("AUDREVIEW#")
# Social posting (marketing_store.social): each post's marker and each network's posts per day.
MKTSOCIAL = Prefix("MKTSOCIAL#")

PARTITIONS: tuple[Prefix, ...] = (
    ORDER,
    SKU,
    CHANNEL,
    SYNC,
    STOCKLOG,
    ORDERDAY,
    PRODUCT,
    PRODSKU,
    CATSYNC,
    CATDRIFT,
    CUSTOMER,
    CUSTORDER,
    PRIVACY,
    DEK,
    LINEAGE,
    FAILURE,
    RECONCILE,
    WEBHOOKS,
    SHIPMENT,
    TRACKING,
    REPORT,
    MKTMSG,
    MKTCUST,
    MKTCHECKOUT,
    MKTORDER,
    MKTPAIR,
    MKTSKU,
    MKTSTOCK,
    MKTOPTOUT,
    AUDIENCE,
    AUDREVIEW,
    MKTSOCIAL,
)

# Partitions template.yaml grants by their exact key rather than by prefix: the erasure key salt,
# which crm_upsert may create and the marketing functions may only read.
FIXED_KEYS: frozenset[str] = frozenset({PRIVACY("salt")})
