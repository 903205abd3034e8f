"""In-memory fakes of social posting's ports, with the DynamoDB adapter's guarantees (a claimed
marker with a lease, a conditional per-day count), Scheduler's (a name is created once), the
catalog's records, and builders of the events social posting reads."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.domain.catalog import CatalogProduct, CatalogVariant
from hub.domain.social import PostClaim, SocialDue
from hub.events import (
    ProductPublished,
    ProductPublishedData,
    ProviderRef,
    StockLevelChanged,
    StockLevelData,
    event_id_for,
)

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # 11:00 in Paris: outside the quiet hours tests use
MUG_URL = "https://shop.example/products/enamel-mug"
MUG_IMAGE = "https://cdn.example/files/enamel-mug.jpg"


@dataclasses.dataclass
class FakeSocialStore:
    posts: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    days: dict[tuple[str, str], int] = dataclasses.field(default_factory=dict)

    def claim_post(self, key: str, now: datetime, lease_seconds: int) -> PostClaim:
        item = self.posts.get(key)
        if item is None or (item["state"] == "posting" and item["lease_until"] < now):
            old = dict(item or {})
            self.posts[key] = {**old, "state": "posting", "lease_until": now + timedelta(seconds=lease_seconds)}
            return PostClaim("claimed", container=old.get("container"), admitted=bool(old.get("admitted")))
        if item["state"] in ("posted", "capped", "skipped"):
            return PostClaim(item["state"], container=item.get("container"), post_id=item.get("post_id"))
        return PostClaim("busy", container=item.get("container"))

    def keep_container(self, key: str, container: str) -> None:
        self.posts[key]["container"] = container

    def admit_post(self, key: str, network: str, day: str, max_posts: int) -> bool:
        if self.days.get((network, day), 0) >= max_posts:
            return False
        self.days[(network, day)] = self.days.get((network, day), 0) + 1
        self.posts[key]["admitted"] = True
        return True

    def finish_post(self, key: str, status: str, post_id: str | None, at: datetime) -> None:
        self.posts[key].update(state=status, post_id=post_id, finished_at=at)
        self.posts[key].pop("lease_until", None)

    def release_post(self, key: str) -> None:
        if self.posts[key]["state"] == "posting":
            self.posts[key]["lease_until"] = datetime.min.replace(tzinfo=UTC)

    def states(self) -> dict[str, str]:
        return {key: item["state"] for key, item in self.posts.items()}


@dataclasses.dataclass
class FakeSocialSchedules:
    created: dict[str, tuple[SocialDue, datetime]] = dataclasses.field(default_factory=dict)

    def create_social(self, due: SocialDue, at: datetime) -> bool:
        if due.schedule_name in self.created:
            return False
        self.created[due.schedule_name] = (due, at)
        return True


@dataclasses.dataclass
class FakeProductRecords:
    products: dict[str, CatalogProduct] = dataclasses.field(default_factory=dict)

    def add(self, product: CatalogProduct) -> None:
        self.products[product.key] = product

    def product_for_sku(self, sku: str) -> CatalogProduct | None:
        return next((p for p in self.products.values() if sku in p.skus), None)


def mug(status: str = "active", image: bool = True) -> CatalogProduct:
    return CatalogProduct(
        key="shopify:8123",
        title="Enamel Mug",
        status=status,  # type: ignore[arg-type]
        variants=(CatalogVariant("MUG-BLUE", 1250, "EUR"), CatalogVariant("MUG-RED", 1350, "EUR")),
        url=MUG_URL,
        images=(MUG_IMAGE,) if image else (),
    )


def product_published(
    key: str = "shopify:8123", title: str = "Enamel Mug", image: str | None = MUG_IMAGE, at: datetime = T0
) -> ProductPublished:
    return ProductPublished(
        event_id=event_id_for("hub", key, "published"),
        source="hub",
        channel="shopify",
        occurred_at=at,
        provider=ProviderRef(topic="product/published"),
        data=ProductPublishedData(
            product_key=key,
            title=title,
            url=MUG_URL,
            image=image,
            currency="EUR",
            price=1250,
            skus=["MUG-BLUE", "MUG-RED"],
            channel="shopify",
        ),
    )


def level_changed(
    sku: str = "MUG-RED", available: int = 6, previous: int = 0, total: int | None = 6, at: datetime = T0
) -> StockLevelChanged:
    return StockLevelChanged(
        event_id=event_id_for("hub", sku, "level", str(available), at.isoformat()),
        source="hub",
        channel="admin",
        occurred_at=at,
        provider=ProviderRef(topic="inventory/set"),
        data=StockLevelData(
            sku=sku, location="wh-east", available=available, previous=previous, origin="admin", total_available=total
        ),
    )
