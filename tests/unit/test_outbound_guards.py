"""The guards around every outbound call: the record's time budget (hub.budget) and the circuit
breaker per API (hub.adapters.breaker), through outbound_client and on their own."""

from __future__ import annotations

import time

import httpx
import httpx_retries
import pytest
from hub.adapters.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker, breaker_for, reset_breakers
from hub.adapters.http import check, default_retry, outbound_client
from hub.budget import MIN_CALL_SECONDS, deadline_from, remaining, time_budget
from hub.errors import CircuitOpenError, OutboundError, OutOfTimeError


class Clock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Context:
    def __init__(self, millis: int) -> None:
        self.millis = millis

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


def budget(seconds: float):
    return time_budget(time.monotonic() + seconds)


def scripted(*statuses: int):
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(statuses[min(len(calls) - 1, len(statuses) - 1)], json={})

    return httpx.MockTransport(handler), calls


def client(transport, *, backoff: float = 0.001, host: str = "api.example.test", timeout: float = 10.0):
    return outbound_client(
        f"https://{host}", transport=transport, retry=default_retry(backoff=backoff, budget=60), timeout=timeout
    )


# The budget


def test_the_deadline_is_the_remaining_time_less_the_margin():
    clock = Clock(100.0)
    assert deadline_from(Context(30_000), margin=2.0, clock=clock) == pytest.approx(128.0)
    assert deadline_from(Context(1_500), margin=2.0, clock=clock) == pytest.approx(100.0)  # never before now
    assert deadline_from(None) is None


def test_a_budget_inside_another_never_outlasts_it_and_ends_with_its_block():
    clock = Clock(100.0)
    assert remaining(clock) is None
    with time_budget(110.0):
        with time_budget(150.0):
            assert remaining(clock) == pytest.approx(10.0)
        with time_budget(105.0):
            assert remaining(clock) == pytest.approx(5.0)
        clock.now = 120.0
        assert remaining(clock) == 0.0
    assert remaining(clock) is None


def test_no_call_starts_when_the_budget_is_short():
    transport, calls = scripted(200)
    with budget(MIN_CALL_SECONDS / 2), pytest.raises(OutOfTimeError, match=r"api\.example\.test not started") as info:
        client(transport).get("/things")
    assert calls == []
    assert isinstance(info.value, OutboundError)  # retryable like every failed call: the record fails alone


def test_each_attempt_timeout_is_cut_to_what_is_left():
    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.extensions["timeout"]))
        return httpx.Response(200, json={})

    with budget(3.0):
        client(httpx.MockTransport(handler), timeout=10.0).get("/things")
    (timeouts,) = seen
    assert set(timeouts) == {"connect", "read", "write", "pool"}
    assert all(2.5 < value <= 3.0 for value in timeouts.values())
    # Without a budget the client's own timeouts stand.
    client(httpx.MockTransport(handler), timeout=10.0).get("/things")
    assert seen[1]["read"] == 10.0 and seen[1]["connect"] == 5.0


def test_no_retry_when_too_little_is_left_the_last_answer_stands():
    transport, calls = scripted(503)
    started = time.monotonic()
    with budget(1.5), pytest.raises(OutboundError, match="HTTP 503") as info:
        check(client(transport, backoff=30).get("/things"), "read things")
    assert len(calls) == 1
    assert not isinstance(info.value, OutOfTimeError)
    assert time.monotonic() - started < 0.5


def test_a_wait_between_retries_is_cut_so_the_call_ends_within_the_budget(monkeypatch):
    # Backoff would wait 30 s and more; the budget has 3.5 s: one wait of about 2 s, then a last try.
    # The backoff's full jitter draws the wait from [0, 60 s]; a draw under 1.5 s would leave time for a
    # third try, so the draw is pinned to its top: the wait the budget has to cut.
    monkeypatch.setattr(httpx_retries.retry.random, "uniform", lambda _low, high: high)
    transport, calls = scripted(503)
    started = time.monotonic()
    with budget(3.5), pytest.raises(OutboundError, match="HTTP 503"):
        check(client(transport, backoff=30).get("/things"), "read things")
    elapsed = time.monotonic() - started
    assert len(calls) == 2
    assert 1.5 < elapsed < 3.5


# The breaker on its own


def test_the_circuit_opens_after_the_failures_in_a_row_then_lets_one_trial_through():
    clock = Clock()
    changes: list[tuple[str, str]] = []
    breaker = CircuitBreaker(
        "crm.test", failures=3, cooldown=30, clock=clock, listener=lambda b, was, now: changes.append((was, now))
    )
    breaker.failure()
    breaker.failure()
    breaker.success()  # an answer in between: the count starts again
    breaker.failure()
    breaker.failure()
    assert breaker.state == CLOSED and breaker.allow()
    breaker.failure()
    assert breaker.state == OPEN and changes == [(CLOSED, OPEN)]
    assert not breaker.allow()
    assert breaker.retry_in() == pytest.approx(30)

    clock.now += 30
    assert breaker.state == HALF_OPEN
    assert breaker.allow()  # the trial
    assert not breaker.allow()  # the others still fail fast while it is out
    breaker.failure()  # the trial failed: open for another cool-down
    assert breaker.state == OPEN and changes[-1] == (HALF_OPEN, OPEN)
    assert not breaker.allow()

    clock.now += 30
    assert breaker.allow()
    breaker.success()
    assert breaker.state == CLOSED and changes[-1] == (HALF_OPEN, CLOSED)
    assert breaker.allow() and breaker.allow()


def test_a_trial_that_ends_without_a_verdict_gives_its_place_back():
    clock = Clock()
    breaker = CircuitBreaker("crm.test", failures=1, cooldown=10, clock=clock)
    breaker.failure()
    clock.now += 10
    assert breaker.allow()
    breaker.release()
    assert breaker.state == HALF_OPEN
    assert breaker.allow()


def test_the_thresholds_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("HUB_CIRCUIT_FAILURES", "2")
    monkeypatch.setenv("HUB_CIRCUIT_COOLDOWN_SECONDS", "7.5")
    reset_breakers()
    breaker = breaker_for("crm.test")
    assert (breaker.failures, breaker.cooldown) == (2, 7.5)
    assert breaker_for("crm.test") is breaker
    monkeypatch.setenv("HUB_CIRCUIT_COOLDOWN_SECONDS", "soon")
    reset_breakers()
    with pytest.raises(ValueError, match="HUB_CIRCUIT_COOLDOWN_SECONDS"):
        breaker_for("crm.test")


# The breaker through outbound_client


@pytest.fixture
def two_failures(monkeypatch):
    monkeypatch.setenv("HUB_CIRCUIT_FAILURES", "2")
    monkeypatch.setenv("HUB_CIRCUIT_COOLDOWN_SECONDS", "0.2")
    reset_breakers()


def test_an_api_that_keeps_failing_is_no_longer_called(two_failures):
    transport, calls = scripted(503)
    http = client(transport)
    for _ in range(2):  # each call is retried four times, and counts once
        with pytest.raises(OutboundError, match="HTTP 503"):
            check(http.get("/things"), "read things")
    assert len(calls) == 10
    assert breaker_for("api.example.test").state == OPEN

    with pytest.raises(CircuitOpenError, match=r"circuit open for api\.example\.test") as info:
        http.get("/things")
    assert len(calls) == 10
    assert isinstance(info.value, OutboundError)
    # Another API has its own circuit.
    other, other_calls = scripted(200)
    assert client(other, host="carrier.example.test").get("/rates").status_code == 200
    assert len(other_calls) == 1


def test_after_the_cool_down_one_success_closes_the_circuit(two_failures):
    answers = iter([503] * 10 + [200] * 5)
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(next(answers), json={})

    http = client(httpx.MockTransport(handler))
    for _ in range(2):
        with pytest.raises(OutboundError):
            check(http.get("/things"), "read things")
    with pytest.raises(CircuitOpenError):
        http.get("/things")
    time.sleep(0.25)
    assert http.get("/things").status_code == 200
    assert breaker_for("api.example.test").state == CLOSED
    assert http.get("/things").status_code == 200
    assert len(calls) == 12


@pytest.mark.parametrize("status", [400, 401, 404, 409, 422, 429])
def test_client_errors_and_throttling_are_answers_not_failures(two_failures, status):
    transport, calls = scripted(status)
    http = client(transport)
    for _ in range(4):
        assert http.post("/things").status_code == status
    assert breaker_for("api.example.test").state == CLOSED
    assert len(calls) >= 4


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ReadTimeout, httpx.RemoteProtocolError])
def test_timeouts_and_connection_failures_count(two_failures, error):
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("down", request=request)

    http = client(httpx.MockTransport(handler))
    for _ in range(2):
        with pytest.raises(error):
            http.get("/things")
    with pytest.raises(CircuitOpenError):
        http.get("/things")


def test_a_call_refused_for_lack_of_time_says_nothing_of_the_api(two_failures):
    transport, _calls = scripted(503)
    http = client(transport)
    for _ in range(2):
        with pytest.raises(OutboundError):
            check(http.get("/things"), "read things")
    time.sleep(0.25)  # half-open: the next call is the trial
    with budget(0.1), pytest.raises(OutOfTimeError):
        http.get("/things")
    assert breaker_for("api.example.test").state == HALF_OPEN
    assert breaker_for("api.example.test").allow()  # the trial's place was given back


def test_opening_and_closing_a_circuit_is_logged_and_counted(monkeypatch, caplog):
    from hub.observability import metrics

    monkeypatch.setenv("HUB_CIRCUIT_FAILURES", "1")
    reset_breakers()
    breaker = breaker_for("crm.test")
    metrics.clear_metrics()
    with caplog.at_level("INFO"):
        breaker.failure()
        monkeypatch.setattr(breaker, "_clock", lambda: time.monotonic() + breaker.cooldown)
        assert breaker.allow()
        breaker.success()
    messages = [r.getMessage() for r in caplog.records]
    assert "circuit open for crm.test: calls fail fast for 60.0s" in messages
    assert "circuit closed for crm.test" in messages
    assert set(metrics.metric_set) >= {"CircuitOpened", "CircuitClosed"}
    metrics.clear_metrics()
