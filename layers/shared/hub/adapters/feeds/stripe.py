"""Stripe's change feed: `GET /v1/events?created[gt]=…&types[]=…`, the events the hub's webhook handles.

- An Event listed here is the very object Stripe POSTs to a webhook endpoint (same `id`, `type`,
  `created`, `data.object`), so it is parsed by hub.intake.stripe as it stands: the same canonical
  events, the same event ids, and the same publish-once key (`stripe:<event id>`). An event the
  webhook delivered is therefore "duplicate" for the delivery log and counted known.
- `Authorization: Bearer <STRIPE_API_KEY>` (a secret key, or a restricted key with read access to
  Events), at https://api.stripe.com or the gateway's `api_url`. No `Stripe-Version` is sent: an
  event's `data.object` is rendered in the API version it was created with (its `api_version`), which
  the hub reads as the webhook does.
- `types[]` names the types the source handles (its `handled_types`, hub.ports.EventTypeSource;
  Stripe takes at most 20), so the thousands of other events an account makes are never read.
  `limit=100`; `has_more` and `starting_after=<last id>` page towards older events; `created[lte]`
  narrows a window (windows.py).
- Stripe keeps events for 30 days: a hub down longer than that recovers only the last 30 days.

Reference: docs.stripe.com/api/events/list (created, types, limit, starting_after, has_more),
docs.stripe.com/api/pagination, docs.stripe.com/api/events/object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import httpx

from hub.adapters.feeds import FeedContext, as_change, feed_error
from hub.adapters.feeds.windows import Listing, oldest_window
from hub.adapters.http import check, outbound_client
from hub.adapters.storefront_auth import required_secret
from hub.config import HubConfig
from hub.errors import FeedError, FeedNotConfiguredError, OutboundError
from hub.ports import ChangePage, EventTypeSource, FoundChange, ReconcileTarget

__all__ = ["DEFAULT_API_URL", "EVENTS_PATH", "StripeEventFeed", "build", "query"]

DEFAULT_API_URL = "https://api.stripe.com"
EVENTS_PATH = "/v1/events"
PAGE_SIZE = 100  # Stripe's maximum
MAX_CALLS = 50
NARROWINGS = 6
_PURPOSE = "listing the events of"


def query(lower: int, upper: int | None, cursor: str | None, types: Iterable[str]) -> tuple[tuple[str, str | int], ...]:
    """The query of one list call: events created after `lower` (unix seconds), at or before
    `upper`, of the `types` the source handles, older than `cursor`."""
    params: list[tuple[str, str | int]] = [("created[gt]", lower)]
    if upper is not None:
        params.append(("created[lte]", upper))
    params += [("types[]", name) for name in sorted(types)]
    params.append(("limit", PAGE_SIZE))
    if cursor:
        params.append(("starting_after", cursor))
    return tuple(params)  # a tuple: httpx's query type takes a list only of its own wider pair type


def _created(event: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(event["created"], UTC)


class StripeEventFeed:
    def __init__(self, client: httpx.Client, config: Callable[[], HubConfig], parser: EventTypeSource) -> None:
        self._client = client
        self._config = config
        self._parser = parser

    def _list(self, lower: int, cursor: str | None, upper: datetime | None) -> Listing[dict[str, Any]]:
        params = query(lower, int(upper.timestamp()) if upper else None, cursor, self._parser.handled_types)
        try:
            document = check(self._client.get(EVENTS_PATH, params=params), "Stripe events").json()
        except (OutboundError, httpx.HTTPError) as exc:
            raise feed_error("Stripe events could not be listed", exc) from exc
        except ValueError as exc:
            raise FeedError("Stripe events: the answer is not JSON") from exc
        events = document.get("data") if isinstance(document, dict) else None
        if not isinstance(events, list) or not all(
            isinstance(e, dict) and isinstance(e.get("id"), str) and isinstance(e.get("created"), int) for e in events
        ):
            raise FeedError("Stripe events: the answer is not a list of events (data[].id, data[].created)")
        older = events[-1]["id"] if document.get("has_more") and events else None
        return Listing(events, older)

    def page(self, since: datetime, token: str | None) -> ChangePage:
        lower = int(token) if token else int(since.timestamp())
        events, upper = oldest_window(
            lambda cursor, up: self._list(lower, cursor, up),
            _created,
            max_calls=MAX_CALLS,
            narrowings=NARROWINGS,
            what="Stripe events",
        )
        config = self._config()
        changes = [self._change(event, config) for event in events]
        return ChangePage(changes, str(int(upper.timestamp())) if upper else None)

    def _change(self, event: dict[str, Any], config: HubConfig) -> FoundChange:
        # The event as the webhook carries it; Stripe-Signature is not read by the parser.
        ref = f"event {event['id']} ({str(event.get('type'))[:60]})"
        return as_change(self._parser, {}, event, config, ref=ref, changed_at=_created(event))


def build(target: ReconcileTarget, context: FeedContext) -> StripeEventFeed:
    key = required_secret(context.secrets, "STRIPE_API_KEY", target.name, _PURPOSE)
    client = outbound_client(
        getattr(target.settings, "api_url", None) or DEFAULT_API_URL,
        headers={"Authorization": f"Bearer {key}"},
        transport=context.transport,
        retry=context.retry,
    )
    source = context.sources["stripe"]
    if not isinstance(source, EventTypeSource):
        raise FeedNotConfiguredError("the stripe source names no event types for its feed to list")
    return StripeEventFeed(client, context.config, source)
