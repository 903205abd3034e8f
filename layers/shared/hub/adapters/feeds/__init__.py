"""Change feeds: one per vendor, listing what changed through its API (hub.ports.ChangeFeed).

A feed reads the vendor's resources and makes each into the delivery its webhook would have been
(the same topic, body fields and store headers), then runs it through that source's own parser
(hub.intake.<source>): so a change found here becomes the very events, with the very event ids,
that its webhook makes, and the two paths cannot drift apart. Only the delivery id differs: the
reconciler's (`reconcile:<resource>:<modified time>`), so its publish-once key never collides with
a webhook's, and lineage can tell which path found the change.

A feed module exposes `build(target, context) -> ChangeFeed` and is listed in `_WHERE` below;
it is imported the first time its platform is reconciled.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from httpx_retries import Retry
from pydantic import ValidationError

from hub.config import HubConfig
from hub.errors import FeedError, FeedNotConfiguredError, IntakeError, MoneyError, OutboundError
from hub.ports import ChangeFeed, FoundChange, ReconcileTarget, WebhookRequest, WebhookSource
from hub.secrets import SecretsProvider

__all__ = ["FeedContext", "TimeKeyset", "VendorFeeds", "as_change", "feed_error"]

# Platform or gateway -> "module:function" building its feed.
_WHERE: dict[str, str] = {
    "shopify": "hub.adapters.feeds.shopify:build",
    "woocommerce": "hub.adapters.feeds.woocommerce:build",
    "bigcommerce": "hub.adapters.feeds.bigcommerce:build",
    "magento": "hub.adapters.feeds.magento:build",
    "stripe": "hub.adapters.feeds.stripe:build",
    "square": "hub.adapters.feeds.square:build",
    "paypal": "hub.adapters.feeds.paypal:build",
}


@dataclass(frozen=True)
class FeedContext:
    """What every feed may use: the hub secret, the configuration, the webhook sources whose parsers
    make a found change into its events (the sandbox's, hub.bootstrap), and (for tests) the HTTP
    transport, retry policy and sleep."""

    secrets: SecretsProvider
    config: Callable[[], HubConfig]
    sources: Mapping[str, WebhookSource]
    transport: httpx.BaseTransport | None = None
    retry: Retry | None = None
    sleep: Callable[[float], None] = time.sleep


class VendorFeeds:
    """hub.ports.ChangeFeeds: the feed of each reconciled channel or gateway, built once per target."""

    def __init__(self, context: FeedContext, where: Mapping[str, str] | None = None) -> None:
        self._context = context
        self._where = dict(_WHERE if where is None else where)
        self._built: dict[str, ChangeFeed] = {}

    def feed(self, target: ReconcileTarget) -> ChangeFeed:
        if target.name in self._built:
            return self._built[target.name]
        location = self._where.get(target.platform)
        if location is None:
            raise FeedNotConfiguredError(f"the hub has no reconciler for {target.platform} yet")
        module_name, _, function = location.partition(":")
        build = getattr(importlib.import_module(module_name), function)
        feed = build(target, self._context)
        self._built[target.name] = feed
        return feed


def as_change(
    parser: WebhookSource,
    headers: Mapping[str, str],
    body: Mapping[str, Any],
    config: HubConfig,
    *,
    ref: str,
    changed_at: datetime,
) -> FoundChange:
    """The webhook-shaped delivery (`headers`, `body`) through its source's own parser, as intake
    parses a verified delivery; what the parser refuses is the change's `problem` (a webhook would
    have been answered 400), never an exception that would stop the run."""
    # Amounts a vendor wrote as JSON numbers were read as Decimals; they travel on as exact strings.
    raw = json.dumps(body, default=str).encode()
    request = WebhookRequest({k.lower(): v for k, v in headers.items()}, raw)
    try:
        delivery = parser.parse(request, config)
    except (IntakeError, ValidationError, MoneyError, ArithmeticError) as exc:
        return FoundChange(ref, changed_at, "", problem=_problem(exc)[:300])
    return FoundChange(
        ref,
        changed_at,
        delivery.dedupe_key,
        events=list(delivery.events),
        ignored_reason=delivery.ignored_reason,
    )


def _problem(exc: Exception) -> str:
    """What is wrong, naming the field, never its value (it may be personal data)."""
    if isinstance(exc, IntakeError):
        return exc.message
    if isinstance(exc, ValidationError):
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"'{exc.title}.{where}': {first['msg']}"
    if isinstance(exc, MoneyError):
        return str(exc)
    return "a number in it cannot be read exactly"


@dataclass(frozen=True)
class TimeKeyset:
    """Paging by modification time for APIs that page by number (WooCommerce, BigCommerce, Adobe
    Commerce), so that an order changed while the pages are read cannot shift another past a page
    boundary unseen: each page asks again for the changes at or after the last time listed, skipping
    the ids already listed at exactly that time; only when a whole page shares one time does it move
    to the next page number. Times are whole seconds, as these APIs keep them.
    """

    after: datetime  # list the changes at or after this time
    skip: frozenset[str] = field(default_factory=frozenset)  # ids already listed at exactly `after`
    page: int = 1

    @classmethod
    def first(cls, since: datetime, token: str | None) -> TimeKeyset:
        if not token:
            return cls(since.astimezone(UTC).replace(microsecond=0))
        state = json.loads(token)
        return cls(datetime.fromisoformat(state["after"]), frozenset(state.get("skip", [])), int(state.get("page", 1)))

    def fresh(self, resource_id: str, modified: datetime) -> bool:
        return not (modified == self.after and resource_id in self.skip)

    def next(self, listed: list[tuple[str, datetime]], full: bool) -> str | None:
        """The token of the page after one that listed `listed` (id, time), or None after the last."""
        if not full or not listed:
            return None
        latest = max(moment for _, moment in listed)
        at_latest = {rid for rid, moment in listed if moment == latest}
        if latest > self.after:
            state: dict[str, Any] = {"after": latest.isoformat(), "skip": sorted(at_latest), "page": 1}
        else:  # the whole page is at one time: the next page number
            state = {"after": self.after.isoformat(), "skip": sorted(self.skip | at_latest), "page": self.page + 1}
        return json.dumps(state, separators=(",", ":"))


def feed_error(what: str, exc: Exception) -> FeedError:
    """A vendor call's failure as FeedError: the call, the status and code, never a body."""
    if isinstance(exc, OutboundError):
        return FeedError(f"{what}: {exc}")
    if isinstance(exc, httpx.HTTPError):
        return FeedError(f"{what}: {type(exc).__name__} (the API could not be reached)")
    return FeedError(f"{what}: {exc}")
