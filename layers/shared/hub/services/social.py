"""Social posting (in marketing_triggers): a product published, or a SKU back in stock, becomes one
post on each configured network (Facebook Page, Instagram, Pinterest), once.

For each event the rules turn on (`marketing.social.rules`):
1. the product: the event's own details (ProductPublished), or the catalog's record of the SKU's
   product (StockLevelChanged whose SKU's units available rose from 0 or below to above 0);
2. quiet hours: an event that arrives inside them is held back by a one-time EventBridge Scheduler
   schedule firing when they end (the marketing schedule group, queue and DLQ; deterministic name,
   so a redelivered event schedules nothing more); the schedule's message posts whatever the clock
   says then;
3. per network: the post's marker is claimed (`attribute_not_exists`, or a lease that ran out); a
   post made before is never made again, whatever is redelivered or retried;
4. a network that needs an image (Instagram, Pinterest) skips a product without one;
5. the per-day cap: a conditional counter per network and local day; a post over it is dropped
   and recorded (`capped`), not deferred (docs/social.md says why);
6. the network's API posts; its id is recorded on the marker. A failure releases the marker
   (keeping Instagram's container) and, after the other networks had their turn, fails the record:
   SQS retries it and, after five receives, dead-letters it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from hub.config import HubConfig, SocialConfig
from hub.domain.social import IMAGE_NETWORKS, SocialDue, SocialProduct, SocialTrigger, back_in_stock, posting_day
from hub.domain.social import quiet_until as quiet_end
from hub.errors import PostBusyError, SocialPostError
from hub.events import RESERVED_TOPIC, HubEvent, ProductPublished, StockLevelChanged
from hub.ports import ProductRecords, SocialPublisher, SocialSchedules, SocialStore
from hub.services.marketing import Handled

__all__ = ["LEASE_SECONDS", "SocialService"]

# How long an attempt holds a post before another may take it over (above the function timeout).
LEASE_SECONDS = 900


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SocialService:
    def __init__(
        self,
        store: SocialStore,
        schedules: SocialSchedules,
        products: Callable[[], ProductRecords],
        publishers: Callable[[SocialConfig, str], SocialPublisher],
        config: Callable[[], HubConfig],
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        """`products()` gives the catalog's records (built on the first restock that needs them);
        `publishers(social, network)` builds a network's client (its token read then)."""
        self._store = store
        self._schedules = schedules
        self._products = products
        self._publishers = publishers
        self._config = config
        self._clock = clock

    def _social(self) -> SocialConfig | None:
        marketing = self._config().marketing
        return marketing.social if marketing is not None else None

    # ================================================================== events
    def handle(self, event: HubEvent) -> Handled | None:
        """None for an event social posting does not use, or when it is off: nothing read, nothing counted."""
        if not isinstance(event, ProductPublished | StockLevelChanged):
            return None
        social = self._social()
        if social is None:
            return None
        if isinstance(event, ProductPublished):
            return self._published(event, social)
        return self._level(event, social)

    def _published(self, event: ProductPublished, social: SocialConfig) -> Handled:
        data = event.data
        if not social.rules.active(SocialTrigger.NEW_PRODUCT):
            return Handled("rule_off", {"product": data.product_key})
        product = SocialProduct(data.product_key, data.title, data.url, data.image, data.price, data.currency)
        due = SocialDue.for_event(SocialTrigger.NEW_PRODUCT, product, event.channel, event.occurred_at, social.zone())
        return self.fire(due)

    def _level(self, event: StockLevelChanged, social: SocialConfig) -> Handled | None:
        data = event.data
        if event.provider.topic == RESERVED_TOPIC or not back_in_stock(
            data.available, data.previous, data.total_available
        ):
            return None  # not a restock: the common case, not worth a count
        if not social.rules.active(SocialTrigger.BACK_IN_STOCK):
            return Handled("rule_off", {"sku": data.sku})
        record = self._products().product_for_sku(data.sku)
        if record is None:
            return Handled("unknown_product", {"sku": data.sku})
        if record.status != "active":
            return Handled("product_not_active", {"product": record.key})
        variant = record.variant(data.sku)
        price = variant.price if variant is not None else record.variants[0].price
        product = SocialProduct(record.key, record.title, record.url, record.image, price, record.currency)
        due = SocialDue.for_event(SocialTrigger.BACK_IN_STOCK, product, event.channel, event.occurred_at, social.zone())
        return self.fire(due)

    # ================================================================== posting
    def fire(self, due: SocialDue) -> Handled:
        """Post now, or, inside quiet hours, schedule the posts for when they end."""
        social = self._social()
        detail = {"product": due.product.key, "trigger": due.trigger.value}
        if social is None:
            return Handled("social_off", detail)
        if social.quiet_hours is not None:
            quiet = social.quiet_hours
            until = quiet_end(self._clock(), quiet.start, quiet.end, social.zone())
            if until is not None:
                created = self._schedules.create_social(due, until)
                return Handled("deferred" if created else "already_deferred", {**detail, "until": until.isoformat()})
        return self._post_all(due, social, detail)

    def fire_scheduled(self, due: SocialDue) -> Handled:
        """A post quiet hours held back: its schedule fired when they ended, so it goes out now."""
        social = self._social()
        detail = {"product": due.product.key, "trigger": due.trigger.value}
        if social is None:
            return Handled("social_off", detail)
        return self._post_all(due, social, detail)

    def _post_all(self, due: SocialDue, social: SocialConfig, detail: dict[str, str]) -> Handled:
        if not social.rules.active(due.trigger):
            return Handled("rule_off", detail)
        outcomes: dict[str, str] = {}
        failed: list[tuple[str, Exception]] = []
        for network in social.networks():
            try:
                outcomes[network] = self._post(social, network, due)
            except Exception as exc:
                outcomes[network] = "failed"
                failed.append((network, exc))
        if failed:
            said = "; ".join(f"{network}: {exc}" for network, exc in failed)
            raise SocialPostError(f"social post of {due.product.key} failed on {said}") from failed[0][1]
        return Handled("posts", {**detail, **outcomes})

    def _post(self, social: SocialConfig, network: str, due: SocialDue) -> str:
        now = self._clock()
        post = due.post(network, social.template_for(due.trigger))
        claim = self._store.claim_post(post.key, now, LEASE_SECONDS)
        if claim.status == "busy":
            raise PostBusyError(f"another attempt is posting {post.key} now")
        if claim.status != "claimed":
            return "already_" + claim.status
        if network in IMAGE_NETWORKS and not post.image_url:
            self._store.finish_post(post.key, "skipped", None, now)
            return "no_image"
        day = posting_day(now, social.zone())
        if not claim.admitted and not self._store.admit_post(post.key, network, day, social.max_posts_per_day):
            self._store.finish_post(post.key, "capped", None, now)
            return "capped"
        try:
            publisher = self._publishers(social, network)
            post_id = publisher.publish(
                post, claim.container, lambda container: self._store.keep_container(post.key, container)
            )
        except Exception:
            self._store.release_post(post.key)
            raise
        self._store.finish_post(post.key, "posted", post_id, self._clock())
        return "posted"
