"""The product records on moto's DynamoDB: a product saved without a master time (as_of None, as the
admin API sets one) is written, and a later save with a time, then without one again, keeps the
record's as_of in step (it is removed, not left stale)."""

from __future__ import annotations

import boto3
from hub.adapters.catalog_store import DynamoProductRecords
from hub.domain.catalog import CatalogProduct, CatalogVariant


def scarf(price: int) -> CatalogProduct:
    return CatalogProduct(
        key="hub:SCARF-WOOL-GRY",
        title="Wool Scarf",
        status="active",
        variants=(CatalogVariant(sku="SCARF-WOOL-GRY", price=price, currency="USD"),),
    )


def test_a_product_saved_without_a_master_time_is_recorded(aws):
    records = DynamoProductRecords(boto3.client("dynamodb"), aws.resources["HubTable"])
    assert records.save(scarf(4000), 0) == 1
    stored = records.product("hub:SCARF-WOOL-GRY")
    assert stored is not None and (stored.version, stored.as_of) == (1, None)
    assert stored.product.variants[0].price == 4000

    assert records.save(scarf(4200), 1, scarf(4000), as_of="2026-11-20T21:40:03+00:00") == 2
    stored = records.product("hub:SCARF-WOOL-GRY")
    assert stored is not None and stored.as_of == "2026-11-20T21:40:03+00:00"

    assert records.save(scarf(4400), 2, scarf(4200)) == 3
    stored = records.product("hub:SCARF-WOOL-GRY")
    assert stored is not None and (stored.version, stored.as_of, stored.product.variants[0].price) == (3, None, 4400)
    assert records.product_for_sku("SCARF-WOOL-GRY") == scarf(4400)
