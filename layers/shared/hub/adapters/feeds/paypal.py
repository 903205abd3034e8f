"""PayPal's change feed: `GET /v1/notifications/webhooks-events?start_time=…`, the webhook events
PayPal made for this app, delivered or not.

What PayPal's APIs allow, and why this one:
- The Webhooks Management API lists the app's webhook event notifications ("List event
  notifications"), filtered by `start_time` / `end_time` (created on or after / on or before),
  `event_type` (one type) or `transaction_id`, `page_size`, and HATEOAS `links` (`rel: next`). Each
  item is the very event PayPal POSTs to the listener: the same `id` (`WH-…`), `event_type` and
  `resource`, so hub.intake.paypal parses it as it stands, into the same canonical events and ids.
- The Transaction Search API (`/v1/reporting/transactions`) lists transactions, not events, in
  another shape, refreshed up to three hours late; the Orders and Payments APIs read one capture at a
  time and list nothing. Neither yields the webhook's events, so they are not used.
- Limits: events exist only for what the app's webhooks are subscribed to (a webhook deleted at
  PayPal makes no events at all: nothing here can recover those); PayPal keeps them for a limited
  time (its Events dashboard shows 30 days; the API reference states no period); `page_size` has
  no documented maximum (100 is asked for); the order of the list is not documented, so each window
  is read whole and sorted (feeds/windows.py), and narrowed with `end_time` when it is too large.
- OAuth 2.0 client credentials (`POST /v1/oauth2/token`, PAYPAL_CLIENT_ID / PAYPAL_CLIENT_SECRET),
  the token kept until shortly before it expires; at https://api-m.paypal.com or the gateway's
  `api_url` (sandbox: https://api-m.sandbox.paypal.com).

The webhook's publish-once key is the event id (`paypal:WH-…`), but the delivery log is per
function, so an event the webhook delivered is known from its order's timeline (or the payment
kept for an order not recorded yet). `PAYPAL-TRANSMISSION-ID` is `reconcile:<event id>`, so an
event's provider reference tells which path brought it.

Reference: developer.paypal.com/api/rest/webhooks (webhooks-events.list, the `event` object),
developer.paypal.com/api/rest/authentication (client credentials), and the OpenAPI document
paypal/paypal-rest-api-specifications openapi/notifications_webhooks_v1.json.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from hub.adapters.feeds import FeedContext, as_change, feed_error
from hub.adapters.feeds.windows import Listing, oldest_window
from hub.adapters.http import check, outbound_client
from hub.adapters.storefront_auth import required_secret
from hub.config import HubConfig
from hub.errors import FeedError, OutboundError
from hub.ports import ChangePage, FoundChange, ReconcileTarget, WebhookSource

__all__ = ["DEFAULT_API_URL", "EVENTS_PATH", "TOKEN_PATH", "PayPalEventFeed", "build"]

DEFAULT_API_URL = "https://api-m.paypal.com"
EVENTS_PATH = "/v1/notifications/webhooks-events"
TOKEN_PATH = "/v1/oauth2/token"  # noqa: S105 (a path, not a secret)
PAGE_SIZE = 100
MAX_CALLS = 50
NARROWINGS = 6
_PURPOSE = "listing the webhook events of"


# RFC 6749 error codes (invalid_client, ...): the only words of a token refusal that are kept.
_OAUTH_CODE = re.compile(r"[a-z_]{1,48}")


def _token_refusal(response: httpx.Response) -> str:
    """The status and the RFC 6749 `error` code of a refused token request; never its description."""
    try:
        code = response.json().get("error")
    except (ValueError, AttributeError):
        code = None
    said = f" ({code})" if isinstance(code, str) and _OAUTH_CODE.fullmatch(code) else ""
    return f"HTTP {response.status_code}{said}: check PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _created(event: dict[str, Any]) -> datetime:
    moment = datetime.fromisoformat(str(event["create_time"]).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class PayPalEventFeed:
    def __init__(
        self,
        client: httpx.Client,
        config: Callable[[], HubConfig],
        parser: WebhookSource,
        credentials: tuple[str, str],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._config = config
        self._parser = parser
        self._credentials = credentials
        self._clock = clock
        self._token: tuple[str, float] | None = None

    def _bearer(self) -> str:
        if self._token and self._token[1] > self._clock():
            return self._token[0]
        try:
            response = self._client.post(
                TOKEN_PATH, data={"grant_type": "client_credentials"}, auth=httpx.BasicAuth(*self._credentials)
            )
            if not response.is_success:
                raise FeedError(f"a PayPal access token could not be had: {_token_refusal(response)}")
            document = response.json()
        except httpx.HTTPError as exc:
            raise feed_error("a PayPal access token could not be had", exc) from exc
        except ValueError as exc:
            raise FeedError("PayPal token: the answer is not JSON") from exc
        token = document.get("access_token") if isinstance(document, dict) else None
        if not isinstance(token, str) or not token:
            raise FeedError("PayPal token: the answer has no access_token")
        lifetime = document.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float) and not isinstance(lifetime, bool) else 0.0
        self._token = (token, self._clock() + max(seconds - 60.0, 0.0))
        return token

    def _list(self, lower: datetime, cursor: str | None, upper: datetime | None) -> Listing[dict[str, Any]]:
        if cursor:
            params: list[tuple[str, str]] = parse_qsl(cursor, keep_blank_values=True)
        else:
            params = [("page_size", str(PAGE_SIZE)), ("start_time", _iso(lower))]
            if upper is not None:
                params.append(("end_time", _iso(upper)))
        headers = {"Authorization": f"Bearer {self._bearer()}"}
        try:
            # A tuple: httpx's query type takes a list only of its own wider pair type.
            listed = self._client.get(EVENTS_PATH, params=tuple(params), headers=headers)
            document = check(listed, "PayPal events").json()
        except (OutboundError, httpx.HTTPError) as exc:
            raise feed_error("PayPal webhook events could not be listed", exc) from exc
        except ValueError as exc:
            raise FeedError("PayPal webhook events: the answer is not JSON") from exc
        events = document.get("events") if isinstance(document, dict) else None
        if events is None and isinstance(document, dict) and "links" in document:
            events = []  # an empty list is answered without `events`
        if not isinstance(events, list) or not all(
            isinstance(e, dict) and isinstance(e.get("id"), str) and isinstance(e.get("create_time"), str)
            for e in events
        ):
            raise FeedError("PayPal webhook events: the answer is not a list of events (events[].id, .create_time)")
        try:
            for event in events:
                _created(event)
        except ValueError as exc:
            raise FeedError("PayPal webhook events: a create_time is not an RFC 3339 time") from exc
        return Listing(events, self._next(document))

    def _next(self, document: dict[str, Any]) -> str | None:
        """The query of the `rel: next` link, when it points at this same list on this same API."""
        for link in document.get("links") or []:
            if not isinstance(link, dict) or link.get("rel") != "next" or not isinstance(link.get("href"), str):
                continue
            href = urlsplit(link["href"])
            base = urlsplit(str(self._client.base_url))
            if (href.scheme, href.netloc) != (base.scheme, base.netloc) or href.path.rstrip("/") != EVENTS_PATH:
                raise FeedError("PayPal webhook events: the next page's link leaves the events list; not followed")
            return href.query or None
        return None

    def page(self, since: datetime, token: str | None) -> ChangePage:
        lower = datetime.fromisoformat(token) if token else since
        events, upper = oldest_window(
            lambda cursor, up: self._list(lower, cursor, up),
            _created,
            max_calls=MAX_CALLS,
            narrowings=NARROWINGS,
            what="PayPal webhook events",
        )
        config = self._config()
        changes = [self._change(event, config) for event in events]
        return ChangePage(changes, upper.isoformat() if upper else None)

    def _change(self, event: dict[str, Any], config: HubConfig) -> FoundChange:
        headers = {"PAYPAL-TRANSMISSION-ID": f"reconcile:{event['id']}"}
        ref = f"event {str(event['id'])[:64]} ({str(event.get('event_type'))[:60]})"
        return as_change(self._parser, headers, event, config, ref=ref, changed_at=_created(event))


def build(target: ReconcileTarget, context: FeedContext) -> PayPalEventFeed:
    client_id = required_secret(context.secrets, "PAYPAL_CLIENT_ID", target.name, _PURPOSE)
    secret = required_secret(context.secrets, "PAYPAL_CLIENT_SECRET", target.name, _PURPOSE)
    client = outbound_client(
        getattr(target.settings, "api_url", None) or DEFAULT_API_URL,
        transport=context.transport,
        retry=context.retry,
    )
    return PayPalEventFeed(client, context.config, context.sources["paypal"], (client_id, secret))
