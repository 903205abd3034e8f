"""Outbound HTTP: retried on 429/5xx with Retry-After honoured, then a clear error; no retry on 4xx."""

from __future__ import annotations

import httpx
import pytest
from hub.adapters.http import OutboundError, check, default_retry, outbound_client


def scripted(*statuses: int, retry_after: str | None = None):
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        status = statuses[min(len(calls) - 1, len(statuses) - 1)]
        headers = {"Retry-After": retry_after} if retry_after and status == 429 else {}
        return httpx.Response(status, headers=headers, text="nope" if status >= 400 else "{}")

    return httpx.MockTransport(handler), calls


def client(transport):
    return outbound_client(
        "https://api.example.test", transport=transport, retry=default_retry(backoff=0.001, budget=2)
    )


def test_429_and_5xx_are_retried_until_success():
    transport, calls = scripted(429, 503, 200, retry_after="0")
    response = check(client(transport).post("/things", json={"a": 1}), "create thing")
    assert response.status_code == 200
    assert len(calls) == 3
    assert all(c.content == b'{"a":1}' for c in calls)


def test_a_call_that_keeps_failing_raises_with_the_status():
    transport, calls = scripted(500)
    with pytest.raises(OutboundError, match="create thing failed with HTTP 500") as info:
        check(client(transport).post("/things"), "create thing")
    assert info.value.status_code == 500
    assert len(calls) == 5  # the first try and four retries


def test_client_errors_are_not_retried():
    transport, calls = scripted(422)
    with pytest.raises(OutboundError, match="HTTP 422"):
        check(client(transport).put("/things/1"), "update thing")
    assert len(calls) == 1


def test_network_errors_are_retried():
    attempts = []

    def flaky(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        if len(attempts) < 3:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, text="{}")

    assert client(httpx.MockTransport(flaky)).get("/ping").status_code == 200
    assert len(attempts) == 3
