"""Square's change feed: `GET /v2/payments?updated_at_begin_time=…&sort_field=UPDATED_AT&sort_order=ASC`.

- `begin_time` filters on a payment's `created_at`: a payment created before the cursor and
  completed, failed or refunded after it would never be listed. `updated_at_begin_time` with
  `sort_field=UPDATED_AT` lists every payment that changed since the cursor, oldest change first, as
  the reconciler needs; `cursor` pages on (Square's own token, for the same query).
- `Authorization: Bearer <SQUARE_ACCESS_TOKEN>` (PAYMENTS_READ) and the `Square-Version` pinned in
  hub.vendor_versions, at https://connect.squareup.com or the gateway's `api_url` (the sandbox is
  https://connect.squareupsandbox.com).
- Each payment becomes the `payment.updated` webhook of its current state and is parsed by
  hub.intake.square: its PaymentSucceeded / PaymentFailed ids derive from the payment and its state,
  exactly as the webhook's do. A payment's refunds (`refund_ids`; a refund changes the payment's
  `refunded_money` and so its `updated_at`) are read with `GET /v2/refunds/{id}` and become the
  `refund.updated` webhook of each: PaymentRefunded ids derive from the refund and its status.
- The webhook's Square `event_id` cannot be known from the API, so the publish-once key is the
  reconciler's own (`square:reconcile:<payment>:<updated_at>`); a change the webhook delivered is
  known from the order's timeline (or the payment kept for an order not recorded yet).
- Not listed: payments created more than a year before the run (Square's `begin_time` default), and
  inventory counts (Square's point of sale stock, not an order's).

Reference: developer.squareup.com/reference/square/payments-api/list-payments (updated_at_begin_time,
sort_field, sort_order, cursor, limit 100), .../refunds-api/get-payment-refund,
developer.squareup.com/docs/build-basics/common-api-patterns/pagination.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from hub.adapters.feeds import FeedContext, as_change, feed_error
from hub.adapters.http import check, outbound_client
from hub.adapters.storefront_auth import required_secret
from hub.config import HubConfig
from hub.errors import FeedError, OutboundError
from hub.ports import ChangePage, FoundChange, ReconcileTarget, WebhookSource
from hub.vendor_versions import SQUARE_API_VERSION

__all__ = ["DEFAULT_API_URL", "PAYMENTS_PATH", "SquarePaymentFeed", "build", "query"]

DEFAULT_API_URL = "https://connect.squareup.com"
PAYMENTS_PATH = "/v2/payments"
REFUND_PATH = "/v2/refunds/{refund_id}"
PAGE_SIZE = 100  # Square's maximum
_PURPOSE = "listing the payments of"


def query(since: datetime, cursor: str | None) -> dict[str, str | int]:
    """The query of one list call: payments updated at or after `since`, oldest change first."""
    params: dict[str, str | int] = {
        "updated_at_begin_time": since.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "sort_field": "UPDATED_AT",
        "sort_order": "ASC",
        "limit": PAGE_SIZE,
    }
    if cursor:
        params["cursor"] = cursor
    return params


def _moment(value: Any, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise FeedError(f"Square payments: {what} is not an RFC 3339 time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def webhook_body(kind: str, resource: dict[str, Any], at: str) -> dict[str, Any]:
    """The `payment.updated` / `refund.updated` notification Square sends for this state."""
    return {
        "merchant_id": None,
        "type": f"{kind}.updated",
        "event_id": f"reconcile:{resource.get('id')}:{at}",
        "created_at": at,
        "data": {"type": kind, "id": resource.get("id"), "object": {kind: resource}},
    }


class SquarePaymentFeed:
    def __init__(self, client: httpx.Client, config: Callable[[], HubConfig], parser: WebhookSource) -> None:
        self._client = client
        self._config = config
        self._parser = parser

    def _get(self, path: str, what: str, params: dict[str, str | int] | None = None) -> dict[str, Any]:
        try:
            document = check(self._client.get(path, params=params), what).json()
        except (OutboundError, httpx.HTTPError) as exc:
            raise feed_error(f"{what} could not be read", exc) from exc
        except ValueError as exc:
            raise FeedError(f"{what}: the answer is not JSON") from exc
        if not isinstance(document, dict):
            raise FeedError(f"{what}: the answer is not a JSON object")
        return document

    def page(self, since: datetime, token: str | None) -> ChangePage:
        document = self._get(PAYMENTS_PATH, "Square payments", query(since, token))
        payments = document.get("payments") or []
        if not isinstance(payments, list) or not all(isinstance(p, dict) and p.get("id") for p in payments):
            raise FeedError("Square payments: the answer is not a list of payments (payments[].id)")
        config = self._config()
        changes: list[FoundChange] = []
        for payment in payments:
            changes += self._changes(payment, config)
        cursor = document.get("cursor")
        return ChangePage(changes, cursor if isinstance(cursor, str) and cursor else None)

    def _changes(self, payment: dict[str, Any], config: HubConfig) -> list[FoundChange]:
        at = payment.get("updated_at") or payment.get("created_at")
        changed_at = _moment(at, f"payment {payment['id']} updated_at")
        ref = f"payment {str(payment['id'])[:64]}"
        changes = [
            as_change(
                self._parser, {}, webhook_body("payment", payment, str(at)), config, ref=ref, changed_at=changed_at
            )
        ]
        for refund_id in payment.get("refund_ids") or []:
            what = f"Square refund {str(refund_id)[:64]}"
            refund = self._get(REFUND_PATH.format(refund_id=refund_id), what).get("refund")
            if not isinstance(refund, dict):
                raise FeedError(f"{what}: the answer has no refund")
            body = webhook_body("refund", refund, str(refund.get("updated_at") or at))
            # The refund is listed at its payment's change, so the page stays in order of change.
            changes.append(
                as_change(self._parser, {}, body, config, ref=f"refund {str(refund_id)[:64]}", changed_at=changed_at)
            )
        return changes


def build(target: ReconcileTarget, context: FeedContext) -> SquarePaymentFeed:
    token = required_secret(context.secrets, "SQUARE_ACCESS_TOKEN", target.name, _PURPOSE)
    client = outbound_client(
        getattr(target.settings, "api_url", None) or DEFAULT_API_URL,
        headers={"Authorization": f"Bearer {token}", "Square-Version": SQUARE_API_VERSION},
        transport=context.transport,
        retry=context.retry,
    )
    return SquarePaymentFeed(client, context.config, context.sources["square"])
