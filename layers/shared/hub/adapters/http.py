"""Outbound HTTP for every integration: httpx with timeouts, and retries with exponential backoff and
jitter on 429, 5xx and network errors, honouring Retry-After (httpx-retries).

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

__all__ = ["OutboundError", "check", "default_retry", "outbound_client"]

RETRY_STATUSES = (429, 500, 502, 503, 504)


class OutboundError(HubError):
    """A downstream API refused or failed a call after every retry."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


def default_retry(*, attempts: int = 4, backoff: float = 0.5, budget: float = 20.0) -> Retry:
    """Up to `attempts` retries, waits of backoff * 2^n with jitter (or Retry-After), within `budget` s.

    Every method is retried: callers forward an idempotency key wherever the API accepts one, and
    the calls that cannot take one are written to be safe to repeat (absolute values, compare-and-set).
    """
    return Retry(
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
