"""The local HTTP API: API Gateway's front door on 127.0.0.1, in a threaded HTTP server.

It matches each request to a route of the template, checks the bearer token on routes that need
IAM auth in AWS, invokes the route's function with a payload 2.0 event and writes back the mapped
response. It answers itself, as API Gateway would, for an unknown route (404), a body over 10 MB
(413), a function error (500) and a function timeout (503). `GET /health` (no auth) reports whether
every resource, worker, poller and schedule is up; `POST /_local/schedules/{name}` (bearer token)
fires a schedule now; `POST /_local/scheduler/fire-due?now=<ISO time>` (bearer token) fires every
schedule created at run time that is due at that time (time passing, for tests and demos);
`POST /_local/reconcile` (bearer token) runs every configured reconciler once, now, and answers
`{"<channel>": {"found": N, "published": M, ...}, ...}` when they are done (docs/reconciliation.md).
"""

from __future__ import annotations

import errno
import hmac
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .apigw import (
    MalformedResponseError,
    Response,
    Route,
    build_event,
    error_response,
    map_result,
    match_route,
)
from .console import Console
from .errors import LocalStackError
from .functions import Invocation

__all__ = ["MAX_BODY_BYTES", "ApiServer", "Gateway"]

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
_SCHEDULE_PREFIX = "/_local/schedules/"
_FIRE_DUE = "/_local/scheduler/fire-due"
_RECONCILE = "/_local/reconcile"
RECONCILER_FUNCTION = "ReconcilerFunction"


@dataclass
class Gateway:
    """What the server needs from the stack; the stack fills it in once everything exists."""

    routes: list[Route]
    api_token: str
    api_id: str
    account_id: str
    invoke: Callable[[str, Any], Invocation]  # (function logical id, event)
    function_name: Callable[[str], str]
    health: Callable[[], tuple[bool, dict[str, Any]]]
    fire_schedule: Callable[[str], Invocation]
    fire_due_schedules: Callable[[datetime | None], list[str]] | None = None
    ready: bool = False


class _BodyTooLargeError(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "CommerceHubLocal"
    sys_version = ""
    gateway: Gateway
    console: Console

    # The runner prints its own line per request; the stdlib's access log would double it.
    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    # ------------------------------------------------------------------ I/O
    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                total += size
                if total > MAX_BODY_BYTES:
                    raise _BodyTooLargeError
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise _BodyTooLargeError
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, response: Response, request_id: str | None = None) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        if request_id:
            self.send_header("apigw-requestid", request_id)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _json(self, status: int, document: dict[str, Any]) -> Response:
        return Response(status, [("content-type", "application/json")], json.dumps(document).encode())

    # -------------------------------------------------------------- routing
    def _serve(self) -> None:
        gateway = self.gateway
        target = urlsplit(self.path)
        raw_path, raw_query = target.path or "/", target.query
        try:
            body = self._read_body()
        except (_BodyTooLargeError, ValueError):
            self.close_connection = True
            self._send(error_response(413, "Request Entity Too Large"))
            self.console.request(f"{self.command} {raw_path}", "413 body over 10 MB")
            return

        if raw_path == "/health" and self.command in ("GET", "HEAD"):
            ready, document = gateway.health()
            self._send(self._json(200 if ready else 503, document))
            return
        if raw_path.startswith(_SCHEDULE_PREFIX) and self.command == "POST":
            self._fire_schedule(unquote(raw_path[len(_SCHEDULE_PREFIX) :]))
            return
        if raw_path == _FIRE_DUE and self.command == "POST":
            self._fire_due(raw_query)
            return
        if raw_path == _RECONCILE and self.command == "POST":
            self._reconcile()
            return
        if not gateway.ready:
            self._send(error_response(503, "Service Unavailable"))
            return

        found = match_route(gateway.routes, self.command, raw_path)
        if found is None:
            self._send(error_response(404, "Not Found"))
            self.console.request(f"{self.command} {raw_path}", "404 no route")
            return
        route, path_parameters = found
        if route.authorization != "NONE" and not self._authorized():
            self._send(
                error_response(
                    401, "missing or wrong token: send the local API token as 'Authorization: Bearer <token>'", "error"
                )
            )
            self.console.request(route.key, "401 no valid bearer token")
            return

        event = build_event(
            route=route,
            method=self.command,
            raw_path=raw_path,
            raw_query=raw_query,
            headers=self._header_pairs(),
            body=body,
            path_parameters=path_parameters,
            source_ip=self.client_address[0],
            api_id=gateway.api_id,
            account_id=gateway.account_id,
        )
        request_id = event["requestContext"]["requestId"]
        invocation = gateway.invoke(route.function, event)
        response = self._response_for(invocation, route)
        self._send(response, request_id)
        self.console.invocation(
            gateway.function_name(route.function),
            f"{route.key} {response.status}",
            invocation.summary(),
            invocation.duration_ms,
        )

    def _header_pairs(self) -> list[tuple[str, str]]:
        pairs = list(self.headers.items())
        forwarded = [("x-forwarded-for", self.client_address[0]), ("x-forwarded-proto", "http")]
        address = self.server.server_address  # (host, port): a TCP server
        if isinstance(address, tuple):
            forwarded.append(("x-forwarded-port", str(address[1])))
        present = {name.lower() for name, _ in pairs}
        return pairs + [(name, value) for name, value in forwarded if name not in present]

    def _response_for(self, invocation: Invocation, route: Route) -> Response:
        if invocation.status == "timeout":
            return error_response(503, "Service Unavailable")
        if not invocation.ok:
            return error_response(500, "Internal Server Error")
        try:
            return map_result(invocation.result)
        except MalformedResponseError as exc:
            name = self.gateway.function_name(route.function)
            self.console.traceback(name, f"API Gateway would reject this response: {exc}")
            return error_response(500, "Internal Server Error")

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        return hmac.compare_digest(token.strip().encode(), self.gateway.api_token.encode())

    def _fire_schedule(self, name: str) -> None:
        if not self._authorized():
            self._send(error_response(401, "send the local API token as 'Authorization: Bearer <token>'", "error"))
            return
        if not self.gateway.ready:
            self._send(error_response(503, "Service Unavailable"))
            return
        try:
            invocation = self.gateway.fire_schedule(name)
        except KeyError:
            self._send(error_response(404, f"no schedule named {name!r}", "error"))
            return
        document: dict[str, Any] = {"schedule": name, "status": invocation.status}
        if invocation.ok:
            document["result"] = invocation.result
        else:
            document["error"] = invocation.error and {k: invocation.error.get(k) for k in ("errorType", "errorMessage")}
        self._send(self._json(200, document))

    def _fire_due(self, raw_query: str) -> None:
        if not self._authorized():
            self._send(error_response(401, "send the local API token as 'Authorization: Bearer <token>'", "error"))
            return
        if not self.gateway.ready or self.gateway.fire_due_schedules is None:
            self._send(error_response(503, "Service Unavailable"))
            return
        values = parse_qs(raw_query).get("now", [])
        try:
            now = datetime.fromisoformat(values[0].replace("Z", "+00:00")) if values else None
        except ValueError:
            self._send(error_response(400, "now must be an ISO 8601 time, e.g. 2026-12-01T09:00:00Z", "error"))
            return
        if now is not None and now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        fired = self.gateway.fire_due_schedules(now)
        self._send(self._json(200, {"fired": fired}))

    def _reconcile(self) -> None:
        if not self._authorized():
            self._send(error_response(401, "send the local API token as 'Authorization: Bearer <token>'", "error"))
            return
        if not self.gateway.ready:
            self._send(error_response(503, "Service Unavailable"))
            return
        invocation = self.gateway.invoke(RECONCILER_FUNCTION, {"force": True})
        self.console.invocation(
            self.gateway.function_name(RECONCILER_FUNCTION),
            f"POST {_RECONCILE} {'200' if invocation.ok else '500'}",
            invocation.summary(),
            invocation.duration_ms,
        )
        if not invocation.ok:
            error = invocation.error or {}
            document = {"error": f"the reconciler failed: {error.get('errorType')}: {error.get('errorMessage')}"}
            self._send(self._json(500, document))
            return
        self._send(self._json(200, invocation.result))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Many short keep-alive connections from tests and benchmarks.
    request_queue_size = 128


class ApiServer:
    """The threaded HTTP server; `port` 0 picks a free port (read it back from `.port`)."""

    def __init__(self, gateway: Gateway, console: Console, host: str = "127.0.0.1", port: int = 3000) -> None:
        handler = type("Handler", (_Handler,), {"gateway": gateway, "console": console})
        try:
            self._server = _Server((host, port), handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise LocalStackError(
                    f"port {port} is in use, so the local HTTP API cannot listen on it; "
                    "stop what uses it or set HUB_PORT to another port"
                ) from exc
            raise
        self.host = host
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="http", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()
