"""Outbound HTTP for every integration: httpx with timeouts, and retries with exponential backoff and
jitter on 429, 5xx and network errors, honouring Retry-After (httpx-retries) and, when a throttled
answer gives no Retry-After, the rate-limit headers that say how long the window lasts
(HubSpot's X-HubSpot-RateLimit-*). Meta's Graph API says "slow down" with HTTP 400 and a
rate-limit error code (`throttled`); that is backed off like a 429, never taken for a bad request.

A call that still fails raises OutboundError, which fails the SQS record: SQS retries it later and,
after the queue's maxReceiveCount, moves it to the dead-letter queue. Nothing is dropped silently.
Credentials go in headers or auth built by the caller; they never appear in errors or logs.

An error says which call failed, its HTTP status, the vendor's error code and the vendor's request id
(`vendor_error`), and nothing else: vendors echo the request in their error bodies (HubSpot's
message names the contact's email, EasyPost's the address, Mailchimp's detail the member), and an
exception's text ends up in logs, in batch failure traces and in the Lambda error report.

Two guards sit around the retries (see docs/outbound.md):
- the time budget (hub.budget): no attempt starts with less than MIN_CALL_SECONDS left in the
  record's budget, each attempt's timeouts and each wait between attempts are cut to what is left,
  and a call refused for lack of time raises OutOfTimeError, so its record goes back to its queue
  instead of running the function into its timeout;
- a circuit breaker per API (hub.adapters.breaker): after repeated failures of an API, calls to it
  fail fast with CircuitOpenError until its cool-down has passed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_retries import Retry, RetryTransport

from hub.adapters.breaker import CircuitBreaker, breaker_for
from hub.budget import MIN_CALL_SECONDS, remaining
from hub.errors import CircuitOpenError, OutboundError, OutOfTimeError, ThrottledError

__all__ = [
    "META_THROTTLING_CODES",
    "GuardTransport",
    "HubRetry",
    "SigningTransport",
    "VendorError",
    "check",
    "default_retry",
    "outbound_client",
    "outbound_error",
    "purchase_retry",
    "rate_limit_wait",
    "throttled",
    "vendor_error",
]

RETRY_STATUSES = (429, 500, 502, 503, 504)
# Answers that say the API itself is failing (a circuit breaker counts them); a 429 is an answer.
FAILING_STATUSES = frozenset({500, 502, 503, 504})
# Exceptions that say the API could not be reached or did not answer in time.
FAILING_EXCEPTIONS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)

# Graph API (Meta Conversions API) throttling: HTTP 400 with one of these `error.code`s
# (developers.facebook.com/docs/graph-api/overview/rate-limiting and
# /docs/graph-api/guides/error-handling): 4 application, 17 user, 32 page, 613 custom rate limit,
# 341 application limit reached, 80000-80014 business use case limits (80004: ads management).
META_THROTTLING_CODES = frozenset({4, 17, 32, 341, 613, *range(80000, 80015)})


# A vendor's error code is a word from its fixed vocabulary (INVALID_EMAIL, "Member Exists"), a request
# id an opaque token; anything else (an email, a phone number, an address, a sentence) is not kept.
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,47}(?: [A-Za-z][A-Za-z0-9_.:-]{0,23}){0,3}")
_CONSTANT = re.compile(r"[A-Z][A-Z0-9_]{2,47}")
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:=+/-]{3,127}")

# Where each vendor puts the id of a request, in its response headers.
_REQUEST_ID_HEADERS = (
    "x-request-id",  # Shopify, BigCommerce, Klaviyo
    "request-id",  # Stripe
    "paypal-debug-id",  # PayPal
    "x-ep-request-uuid",  # EasyPost
    "x-fb-trace-id",  # Meta
    "x-hubspot-correlation-id",  # HubSpot
    "x-amzn-requestid",
    "x-correlation-id",
)


@dataclass(frozen=True)
class VendorError:
    """What a failed response may say in an error: its status, the vendor's code, its request id."""

    status_code: int
    code: str | None = None
    request_id: str | None = None

    def describe(self) -> str:
        said = [f"code {self.code}"] if self.code else []
        said += [f"request id {self.request_id}"] if self.request_id else []
        return f"HTTP {self.status_code}" + (f" ({', '.join(said)})" if said else "")


def _token(value: Any, pattern: re.Pattern[str]) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text if pattern.fullmatch(text) else None


def _codes(body: Any) -> Iterable[Any]:
    """Candidate error codes, in the places each vendor's error body keeps them."""
    if isinstance(body, list):  # Salesforce: [{"errorCode": ..., "message": ...}]
        for item in body:
            if isinstance(item, Mapping):
                yield item.get("errorCode")
        return
    if not isinstance(body, Mapping):
        return
    error = body.get("error")
    if isinstance(error, str):  # OAuth 2.0 token endpoints (RFC 6749 5.2): {"error": "invalid_grant"}
        yield error
    if isinstance(error, Mapping):  # Stripe, EasyPost, Meta: {"error": {"code" | "type": ...}}
        yield error.get("code") if isinstance(error.get("code"), str) else None
        yield error.get("type")
        yield error.get("status")  # Google: {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", ...}}
    errors = body.get("errors")
    if isinstance(errors, list):  # Klaviyo, Square, Shopify GraphQL, HubSpot batch
        for item in errors:
            if isinstance(item, Mapping):
                extensions = item.get("extensions")
                yield item.get("code") or item.get("category")
                yield extensions.get("code") if isinstance(extensions, Mapping) else None
    yield body.get("category")  # HubSpot: {"category": "VALIDATION_ERROR", "correlationId": ...}
    yield body.get("code") if isinstance(body.get("code"), str) else None  # WooCommerce
    name = body.get("name")  # PayPal: {"name": "UNPROCESSABLE_ENTITY", "debug_id": ...}; never a person's name
    yield name if isinstance(name, str) and _CONSTANT.fullmatch(name) else None
    # Problem documents (RFC 7807: Mailchimp, BigCommerce) title the kind of error ("Member Exists").
    yield body.get("title") if "type" in body or "instance" in body else None


def _body_request_id(body: Any) -> Any:
    if not isinstance(body, Mapping):
        return None
    error = body.get("error")
    return (
        body.get("correlationId")  # HubSpot
        or body.get("debug_id")  # PayPal
        or body.get("instance")  # Mailchimp
        or (error.get("fbtrace_id") if isinstance(error, Mapping) else None)  # Meta
    )


def vendor_error(response: httpx.Response) -> VendorError:
    """The status, the vendor's error code and its request id; never anything else the body says."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    codes: list[str] = []
    for candidate in _codes(body):
        code = _token(candidate, _CODE)
        if code and code not in codes:
            codes.append(code)
    request_id = _token(_body_request_id(body), _REQUEST_ID)
    for header in _REQUEST_ID_HEADERS:
        if request_id:
            break
        request_id = _token(response.headers.get(header), _REQUEST_ID)
    return VendorError(response.status_code, ", ".join(codes[:3]) or None, request_id)


def outbound_error(response: httpx.Response, what: str) -> OutboundError:
    """The OutboundError for a failed response: the call, the status, the vendor's code and request id."""
    error = vendor_error(response)
    return OutboundError(
        f"{what} failed with {error.describe()}", error.status_code, code=error.code, request_id=error.request_id
    )


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


def throttled(response: httpx.Response) -> bool:
    """A throttling answer in a status other than 429: Meta's HTTP 400 with a rate-limit error code."""
    if response.status_code not in (400, 403):
        return False
    try:
        response.read()
        error = response.json().get("error")
    except (ValueError, AttributeError, httpx.StreamError):
        return False
    code = error.get("code") if isinstance(error, Mapping) else None
    return isinstance(code, int) and not isinstance(code, bool) and code in META_THROTTLING_CODES


def _refuse_throttled(response: httpx.Response) -> None:
    if throttled(response):
        raise ThrottledError(f"throttled with HTTP {response.status_code}")


class HubRetry(Retry):
    """httpx-retries' Retry, also honouring rate-limit headers when there is no Retry-After, and the
    record's time budget: no retry when less than a useful attempt's time is left, and no wait that
    would leave less than that (the last answer or error is then the call's outcome)."""

    def is_exhausted(self) -> bool:
        left = remaining()
        # A retry needs time to wait and then a useful attempt: with less left, the last outcome stands.
        return super().is_exhausted() or (left is not None and left < 2 * MIN_CALL_SECONDS)

    def _calculate_sleep(self, headers: httpx.Headers | Mapping[str, str]) -> float:
        wait = None if headers.get("Retry-After") else rate_limit_wait(headers)
        if wait is None or not self.respect_retry_after_header:
            wait = super()._calculate_sleep(headers)
        else:
            wait = min(wait, self.max_backoff_wait)
            if self.total_timeout is not None:
                wait = min(wait, max(0.0, self.total_timeout - self.elapsed_sleep))
        left = remaining()
        if left is not None:
            # Half an attempt's time to spare, so the attempt after the wait is not refused.
            wait = min(wait, max(0.0, left - 1.5 * MIN_CALL_SECONDS))
        return wait


def default_retry(*, attempts: int = 4, backoff: float = 0.5, budget: float = 20.0) -> Retry:
    """Up to `attempts` retries, waits of backoff * 2^n with jitter (or Retry-After), within `budget` s.

    Every method is retried: callers forward an idempotency key wherever the API accepts one, and
    the calls that cannot take one are written to be safe to repeat (absolute values, compare-and-set).
    A call that is neither (a label purchase) is sent with `purchase_retry` instead.
    """
    return HubRetry(
        total=attempts,
        allowed_methods=["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "POST", "PATCH"],
        status_forcelist=RETRY_STATUSES,
        retry_on_exceptions=(httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError, ThrottledError),
        backoff_factor=backoff,
        respect_retry_after_header=True,
        max_backoff_wait=budget,
        backoff_jitter=1.0,
        total_timeout=budget,
        validate_response=_refuse_throttled,
    )


def purchase_retry(retry: Retry | None = None) -> Retry:
    """For a call that is not safe to repeat and takes no idempotency key (buying a label): retried
    only when the API cannot have acted on it, a 429 (or a throttled answer) or a connection that was
    never made; never on a timeout or a 5xx, after which the call may have been done. Pass it as the
    request's `extensions={"retry": ...}`; the caller finds out what happened before trying again."""
    return (retry or default_retry()).copy_with(
        status_forcelist=[429], retry_on_exceptions=[httpx.ConnectError, httpx.ConnectTimeout, ThrottledError]
    )


class SigningTransport(httpx.BaseTransport):
    """Applies `sign` to every attempt of a request, below the retries: a signature with a nonce (OAuth
    1.0a) must be new on each attempt, and credentials added here stay out of the URL httpx logs."""

    def __init__(self, transport: httpx.BaseTransport, sign: Callable[[httpx.Request], httpx.Request]) -> None:
        self._transport = transport
        self._sign = sign

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._transport.handle_request(self._sign(request))

    def close(self) -> None:
        self._transport.close()


def _api(url: httpx.URL) -> str:
    """The name of an API for its circuit: its host, and its port when not the scheme's default."""
    return f"{url.host}:{url.port}" if url.port is not None else url.host


def _refuse_without_time(request: httpx.Request) -> None:
    left = remaining()
    if left is not None and left < MIN_CALL_SECONDS:
        raise OutOfTimeError(
            f"call to {_api(request.url)} not started: {left:.1f}s left of the record's time budget "
            f"(at least {MIN_CALL_SECONDS:.0f}s needed); the record is retried later"
        )


class _BudgetTransport(httpx.BaseTransport):
    """Below the retries, for each attempt: refused when the budget is spent, timeouts cut to it."""

    def __init__(self, transport: httpx.BaseTransport) -> None:
        self._transport = transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        _refuse_without_time(request)
        left = remaining()
        if left is not None:
            timeouts = dict(request.extensions.get("timeout") or {})
            request.extensions["timeout"] = {
                phase: left if timeouts.get(phase) is None else min(timeouts[phase], left)
                for phase in ("connect", "read", "write", "pool")
            }
        return self._transport.handle_request(request)

    def close(self) -> None:
        self._transport.close()


class GuardTransport(httpx.BaseTransport):
    """Above the retries, for each call: refused when the budget is spent or the API's circuit is
    open; the call's outcome (after its retries) is counted by the API's circuit breaker."""

    def __init__(self, transport: httpx.BaseTransport, breakers: Callable[[str], CircuitBreaker] = breaker_for) -> None:
        self._transport = transport
        self._breakers = breakers

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        _refuse_without_time(request)
        api = _api(request.url)
        breaker = self._breakers(api)
        if not breaker.allow():
            raise CircuitOpenError(api, breaker.retry_in())
        try:
            response = self._transport.handle_request(request)
        except FAILING_EXCEPTIONS:
            breaker.failure()
            raise
        except BaseException:
            breaker.release()
            raise
        if response.status_code in FAILING_STATUSES:
            breaker.failure()
        else:
            breaker.success()
        return response

    def close(self) -> None:
        self._transport.close()


def outbound_client(
    base_url: str,
    *,
    headers: Mapping[str, str] | None = None,
    auth: Any = None,
    transport: httpx.BaseTransport | None = None,
    retry: Retry | None = None,
    timeout: float = 10.0,
    sign: Callable[[httpx.Request], httpx.Request] | None = None,
) -> httpx.Client:
    """An httpx client for one API. `transport` lets tests hand in httpx.MockTransport; `sign`
    (see SigningTransport) authenticates each attempt of each request. Every call is held to the
    record's time budget and to its API's circuit breaker (GuardTransport)."""
    inner = transport or httpx.HTTPTransport()
    if sign is not None:
        inner = SigningTransport(inner, sign)
    retrying = RetryTransport(transport=_BudgetTransport(inner), retry=retry or default_retry())
    return httpx.Client(
        base_url=base_url,
        headers=dict(headers or {}),
        auth=auth,
        timeout=httpx.Timeout(timeout, connect=5.0),
        transport=GuardTransport(retrying),
    )


def check(response: httpx.Response, what: str) -> httpx.Response:
    """The response when it is a success, else OutboundError naming the call, the status, the code."""
    if response.is_success:
        return response
    raise outbound_error(response, what)
