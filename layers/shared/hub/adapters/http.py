"""Outbound HTTP for every integration: httpx with timeouts, and retries with exponential backoff and
jitter on 429, 5xx and network errors, honouring Retry-After (httpx-retries) and, when a throttled
answer gives no Retry-After, the rate-limit headers that say how long the window lasts
(HubSpot's X-HubSpot-RateLimit-*).

A call that still fails raises OutboundError, which fails the SQS record: SQS retries it later and,
after the queue's maxReceiveCount, moves it to the dead-letter queue. Nothing is dropped silently.
Credentials go in headers or auth built by the caller; they never appear in errors or logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from httpx_retries import Retry, RetryTransport

from hub.ports import HubError

__all__ = ["HubRetry", "OutboundError", "check", "default_retry", "outbound_client", "rate_limit_wait"]

RETRY_STATUSES = (429, 500, 502, 503, 504)


class OutboundError(HubError):
    """A downstream API refused or failed a call after every retry."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


def _number(headers: Mapping[str, str], name: str) -> float | None:
    try:
        return float(headers[name])
    except (KeyError, TypeError, ValueError):
        return None


def rate_limit_wait(headers: Mapping[str, str]) -> float | None:
    """Seconds until an exhausted rate-limit window has room again, from the headers; None if unsaid.

    HubSpot sends X-HubSpot-RateLimit-Remaining with the window in -Interval-Milliseconds (ten
    seconds) and a per-second allowance in -Secondly-Remaining. A spent daily allowance is not
    waited for here: the call fails and its record is retried later by its queue.
    """
    if _number(headers, "X-HubSpot-RateLimit-Remaining") == 0:
        interval = _number(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
        return interval / 1000 if interval else 10.0
    if _number(headers, "X-HubSpot-RateLimit-Secondly-Remaining") == 0:
        return 1.0
    return None


class HubRetry(Retry):
    """httpx-retries' Retry, also honouring rate-limit headers when there is no Retry-After."""

    def _calculate_sleep(self, headers: httpx.Headers | Mapping[str, str]) -> float:
        wait = None if headers.get("Retry-After") else rate_limit_wait(headers)
        if wait is None or not self.respect_retry_after_header:
            return super()._calculate_sleep(headers)
        wait = min(wait, self.max_backoff_wait)
        if self.total_timeout is not None:
            wait = min(wait, max(0.0, self.total_timeout - self.elapsed_sleep))
        return wait


def default_retry(*, attempts: int = 4, backoff: float = 0.5, budget: float = 20.0) -> Retry:
    """Up to `attempts` retries, waits of backoff * 2^n with jitter (or Retry-After), within `budget` s.

    Every method is retried: callers forward an idempotency key wherever the API accepts one, and
    the calls that cannot take one are written to be safe to repeat (absolute values, compare-and-set).
    """
    return HubRetry(
        total=attempts,
        allowed_methods=["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "POST", "PATCH"],
        status_forcelist=RETRY_STATUSES,
        retry_on_exceptions=(httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError),
        backoff_factor=backoff,
        respect_retry_after_header=True,
        max_backoff_wait=budget,
        backoff_jitter=1.0,
        total_timeout=budget,
    )


def outbound_client(
    base_url: str,
    *,
    headers: Mapping[str, str] | None = None,
    auth: Any = None,
    transport: httpx.BaseTransport | None = None,
    retry: Retry | None = None,
    timeout: float = 10.0,
) -> httpx.Client:
    """An httpx client for one API. `transport` lets tests hand in httpx.MockTransport."""
    return httpx.Client(
        base_url=base_url,
        headers=dict(headers or {}),
        auth=auth,
        timeout=httpx.Timeout(timeout, connect=5.0),
        transport=RetryTransport(transport=transport or httpx.HTTPTransport(), retry=retry or default_retry()),
    )


def check(response: httpx.Response, what: str) -> httpx.Response:
    """The response when it is a success, else OutboundError naming the call and the status."""
    if response.is_success:
        return response
    detail = response.text[:200].replace("\n", " ") if response.text else ""
    raise OutboundError(f"{what} failed with HTTP {response.status_code}: {detail}", response.status_code)
