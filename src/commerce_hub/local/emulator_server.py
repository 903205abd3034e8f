"""Entry point of the emulator child process: moto's WSGI app, quiet, on a given port.

moto's app is served by cheroot (CherryPy's HTTP server) rather than moto's own server (werkzeug's
development server): werkzeug answers every request with `Connection: close` and starts a thread
per connection, so each AWS call cost a new TCP connection on both sides, a new thread, and a wait
of up to 10 ms for a body that will never come. cheroot keeps connections open and serves each
request on a thread of its pool; idle keep-alive connections wait in an epoll selector, so a
request costs the same however many connections the functions hold open.

Measured with 8 callers and 12 long polls at once (the local stack's shape), the emulator's CPU per
GetItem was 1.75 ms with waitress, the server used before, and 1.44 ms with cheroot: waitress's
single event loop spent 0.43 ms of each request asking every open connection, on every wake-up,
whether it was readable or writable (cheroot's acceptor: 0.06 ms). The pool has enough threads for
every SQS long poll of the local stack to wait at once while other calls are answered.

Run as `python -m commerce_hub.local.emulator_server HOST PORT`. It binds first (PORT 0 picks a free
port, without the race of probing one in the parent), then prints one line `READY <port>` on stdout
so the parent knows where it listens. It exits when its stdin closes, so an emulator never outlives
a runner that was killed without a chance to stop it.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import threading
from typing import Any

from cheroot import wsgi

# Long polls (up to 20 s each) of every queue's poller, the CLI's and a benchmark's, plus the calls
# the functions make meanwhile.
_THREADS = 48


def _exit_when_parent_goes() -> None:
    try:
        sys.stdin.buffer.read()
    finally:
        os._exit(0)


class _OneDynamoDBRequestAtATime:
    """DynamoDB requests are handled one at a time; every other service stays concurrent.

    What needs the lock is moto's DynamoDB backend, and only that: a conditional write checks then
    writes in Python, so two writes interleaved by the interpreter could both pass one condition
    (two deliveries both first, two reservations of the last unit), and a transaction's undo journal
    (moto_patches) must see no other write. Reading the request body from the socket and writing the
    answer back need no lock, so the body is read before the lock is taken and the answer is sent
    after it is released: a slow client never holds DynamoDB for others.

    Reads are not let through side by side with a shared lock: moto's reads are not all read-only
    (a GetItem of a missing partition adds an empty one to the table's dict while an index query
    or a scan iterates it), and the emulator is one Python process whose DynamoDB work is CPU under
    one interpreter lock, so concurrent reads would overlap nothing but that risk."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            return self._app(environ, start_response)
        if environ.get("CONTENT_LENGTH"):  # botocore always sends it; otherwise moto reads as it can
            expected = int(environ["CONTENT_LENGTH"])
            body = environ["wsgi.input"].read(expected)
            if len(body) < expected:
                # The caller went away mid-request (a worker stopped with the stack): moto would read
                # the torn body as an empty request and fail on it with a traceback. Nothing to do.
                return _incomplete(start_response, len(body), expected)
            environ["wsgi.input"] = io.BytesIO(body)
        with self._lock:
            return list(self._app(environ, start_response))


def _incomplete(start_response: Any, got: int, expected: int) -> list[bytes]:
    message = f"the request body ended after {got} of its {expected} bytes"
    body = json.dumps({"__type": "com.amazon.coral.service#SerializationException", "message": message}).encode()
    start_response(
        "400 Bad Request", [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))]
    )
    return [body]


class _Server(wsgi.Server):
    # cheroot keeps at most 10 idle keep-alive connections by default and closes every connection
    # beyond them after its answer; the functions, pollers and CLI hold far more (each worker keeps
    # a pool per client), so every request would pay a new connection. Keep them all.
    keep_alive_conn_limit = None  # type: ignore[assignment]  # cheroot reads None as no limit; its stub says int

    def error_log(self, msg: str = "", level: int = 20, traceback: bool = False) -> None:
        # A caller that drops its connection (a worker that ended mid-poll) is logged at INFO and
        # is not an error of the emulator; what is (WARNING and above) goes to the runner's console.
        if level >= logging.WARNING:
            super().error_log(msg, level, traceback)


def main(argv: list[str]) -> None:
    host, port = argv[0], int(argv[1])
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from commerce_hub.local import moto_patches
    from commerce_hub.local.calls import CallCounter
    from commerce_hub.local.schedule_journal import ScheduleChanges

    # Transactions undo by item instead of copying whole tables (see moto_patches).
    moto_patches.install()

    # The counter sits inside the DynamoDB lock: it reads the items a request writes before and after it.
    app = _OneDynamoDBRequestAtATime(ScheduleChanges(CallCounter(DomainDispatcherApplication(create_backend_app))))
    # The listen backlog takes every worker's first connections at once when the stack starts.
    server = _Server((host, port), app, numthreads=_THREADS, server_name="moto", request_queue_size=128)
    server.prepare()  # binds: the port is known from here
    actual_port = server.bind_addr[1]
    # moto builds some URLs (queue URLs among them) from MOTO_PORT; it must be the real port.
    os.environ["MOTO_PORT"] = str(actual_port)
    threading.Thread(target=_exit_when_parent_goes, daemon=True).start()
    print(f"READY {actual_port}", flush=True)
    server.serve()


if __name__ == "__main__":
    main(sys.argv[1:])
