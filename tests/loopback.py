"""Serving a test's fake vendor API on 127.0.0.1, for the local stack's functions to call.

Every fake vendor API is served the same way: `serving_json` reads each request into a `Request`,
asks the fake's `answer` for a status and a JSON document (and, optionally, headers), and writes
them back. `json_transport` puts the same `answer` behind an `httpx.MockTransport`, for the unit and
functional tests, which need no socket.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx


@dataclass(frozen=True)
class Request:
    """One request as the fake received it."""

    method: str
    target: str  # the path with its query, as sent
    headers: Message | httpx.Headers  # looked up without regard to case
    body: bytes
    scheme: str = "http"

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> str:
        return urlsplit(self.target).query

    @property
    def url(self) -> str:
        """The whole URL the client asked for (the vendors that sign requests sign this)."""
        return f"{self.scheme}://{self.headers.get('Host')}{self.target}"

    def lowered_headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.headers.items()}

    def json(self) -> Any:
        """The body parsed, or None when there is none."""
        return json.loads(self.body) if self.body else None


Reply = tuple[int, Any] | tuple[int, Any, Mapping[str, str]]
"""A status, a JSON document (None: no body) and, optionally, response headers."""


@contextmanager
def serving_json(answer: Callable[[Request], Reply]) -> Iterator[str]:
    """Serve a fake JSON API on 127.0.0.1 (every method goes to `answer`); yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, document, *more = answer(Request(self.command, self.path, self.headers, raw))
            payload = b"" if document is None else json.dumps(document).encode()
            self.send_response(status)
            for name, value in (more[0] if more else {}).items():
                self.send_header(name, value)
            if payload:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def json_transport(answer: Callable[[Request], Reply]) -> httpx.MockTransport:
    """The fake behind an httpx.MockTransport: the same `answer` as `serving_json`, no socket."""

    def handle(request: httpx.Request) -> httpx.Response:
        target = request.url.raw_path.decode()
        status, document, *more = answer(
            Request(request.method, target, request.headers, request.content, request.url.scheme)
        )
        headers = more[0] if more else {}
        if document is None:
            return httpx.Response(status, headers=headers)
        return httpx.Response(status, json=document, headers=headers)

    return httpx.MockTransport(handle)
