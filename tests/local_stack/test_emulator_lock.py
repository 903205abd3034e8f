"""The emulator's DynamoDB lock: moto's DynamoDB backend sees one request at a time, other services
are concurrent, and a request's body is read before the lock is taken (a slow sender holds no one)."""

from __future__ import annotations

import io
import threading
import time
from typing import Any

from commerce_hub.local.emulator_server import _OneDynamoDBRequestAtATime


class _App:
    """A WSGI app standing in for moto: records how many requests of each kind run at once."""

    def __init__(self) -> None:
        self.running = {"dynamodb": 0, "other": 0}
        self.most = {"dynamodb": 0, "other": 0}
        self.bodies: list[bytes] = []
        self._guard = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        kind = "dynamodb" if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB") else "other"
        with self._guard:
            self.running[kind] += 1
            self.most[kind] = max(self.most[kind], self.running[kind])
        self.bodies.append(environ["wsgi.input"].read())
        time.sleep(0.05)
        with self._guard:
            self.running[kind] -= 1
        start_response("200 OK", [])
        return [b"{}"]


def _environ(target: str | None, body: Any, length: int) -> dict[str, Any]:
    environ: dict[str, Any] = {"wsgi.input": body, "CONTENT_LENGTH": str(length)}
    if target:
        environ["HTTP_X_AMZ_TARGET"] = target
    return environ


def _call(wrapped: Any, environ: dict[str, Any]) -> list[bytes]:
    return list(wrapped(environ, lambda status, headers: None))


def test_dynamodb_requests_run_one_at_a_time_and_others_side_by_side() -> None:
    app = _App()
    wrapped = _OneDynamoDBRequestAtATime(app)
    calls = [_environ("DynamoDB_20120810.PutItem", io.BytesIO(b"{}"), 2) for _ in range(4)]
    calls += [_environ(None, io.BytesIO(b"Action=SendMessage"), 18) for _ in range(4)]
    threads = [threading.Thread(target=_call, args=(wrapped, e)) for e in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert app.most["dynamodb"] == 1
    assert app.most["other"] > 1


class _SlowBody(io.RawIOBase):
    """A request body whose bytes arrive only when the test says so."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.arrived = threading.Event()
        self.reading = threading.Event()

    def read(self, size: int = -1) -> bytes:
        self.reading.set()
        assert self.arrived.wait(5)
        data, self.data = self.data, b""
        return data


def test_a_slow_sender_does_not_hold_the_lock_while_its_body_arrives() -> None:
    app = _App()
    wrapped = _OneDynamoDBRequestAtATime(app)
    slow = _SlowBody(b'{"TableName": "t"}')
    waiting = threading.Thread(target=_call, args=(wrapped, _environ("DynamoDB_20120810.GetItem", slow, 18)))
    waiting.start()
    assert slow.reading.wait(5)
    quick = threading.Thread(target=_call, args=(wrapped, _environ("DynamoDB_20120810.GetItem", io.BytesIO(b"{}"), 2)))
    quick.start()
    quick.join(2)
    assert not quick.is_alive()  # answered while the slow body was still on its way
    slow.arrived.set()
    waiting.join(5)
    assert app.bodies == [b"{}", b'{"TableName": "t"}']  # the quick one first; the slow one in full


def test_a_body_cut_short_is_answered_without_reaching_moto() -> None:
    # A worker stopped mid-request leaves a body shorter than its Content-Length; moto would take it
    # for an empty TransactWriteItems and fail with a KeyError.
    app = _App()
    wrapped = _OneDynamoDBRequestAtATime(app)
    statuses: list[str] = []
    answer = wrapped(
        _environ("DynamoDB_20120810.TransactWriteItems", io.BytesIO(b'{"TransactItems": [{"Put"'), 90),
        lambda status, headers: statuses.append(status),
    )
    assert statuses == ["400 Bad Request"]
    assert b"ended after 25 of its 90 bytes" in b"".join(answer)
    assert app.bodies == []
