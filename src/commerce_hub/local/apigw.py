"""API Gateway HTTP API semantics: routes from the template, payload 2.0 events, responses.

Pure functions, no I/O: `server.py` feeds them requests. Routes come from the OpenAPI Body of each
translated AWS::ApiGatewayV2::Api (the SAM transform writes one path per HttpApi event, with the
function in `x-amazon-apigateway-integration.uri` and the authorizer in `security`).

Faithful to what AWS sends and accepts: lower-cased headers with repeats joined by ",", cookies in
their own list, query parameters joined by ",", the body base64-encoded unless it is text (a form
post counts as binary), and a response mapped back by the payload 2.0 rules (a result without
statusCode is a 200 with the JSON of the result).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

__all__ = [
    "MalformedResponseError",
    "Response",
    "Route",
    "build_event",
    "error_response",
    "is_textual",
    "map_result",
    "match_route",
    "routes_from_openapi",
]

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "x-amazon-apigateway-any-method")
_TEXT_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})


@dataclass(frozen=True)
class Route:
    """One route: METHOD /path/{param} -> function (logical id), with its authorization type."""

    method: str  # upper case, or ANY
    path: str  # the OpenAPI path template, or $default
    function: str
    authorization: str = "NONE"  # NONE, AWS_IAM, or an authorizer's name

    @property
    def key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"

    @property
    def segments(self) -> list[str]:
        return [s for s in self.path.split("/") if s] if self.path != "$default" else []

    @property
    def specificity(self) -> tuple[int, int, int]:
        # API Gateway prefers the most specific match: literal segments, then fewer greedy ones.
        literal = sum(1 for s in self.segments if not s.startswith("{"))
        greedy = sum(1 for s in self.segments if s.endswith("+}"))
        return (0 if self.path == "$default" else 1, -greedy, literal * 100 + len(self.segments))


def routes_from_openapi(body: Mapping[str, Any], function_of: Any) -> list[Route]:
    """Routes of one OpenAPI document; `function_of(uri)` names the function an integration calls."""
    default_security = body.get("security")
    routes = []
    for path, operations in (body.get("paths") or {}).items():
        for method, operation in (operations or {}).items():
            if method.lower() not in _METHODS or not isinstance(operation, dict):
                continue
            integration = operation.get("x-amazon-apigateway-integration") or {}
            function = function_of(integration.get("uri"))
            if function is None:
                continue
            security = operation.get("security", default_security) or [{"NONE": []}]
            names = [name for requirement in security for name in requirement] or ["NONE"]
            verb = "ANY" if method.lower() == "x-amazon-apigateway-any-method" else method.upper()
            path_key = "$default" if path in ("$default", "/$default") else path
            routes.append(Route(verb, path_key, function, names[0]))
    return routes


def _match_path(route: Route, path: str) -> dict[str, str] | None:
    if route.path == "$default":
        return {}
    wanted = route.segments
    given = path.split("/")[1:] if path.startswith("/") else path.split("/")
    if path == "/":
        given = []
    parameters: dict[str, str] = {}
    for index, segment in enumerate(wanted):
        if segment.startswith("{") and segment.endswith("+}"):
            rest = given[index:]
            # `/files/` matches `/files/{path+}` with an empty path (deployed HTTP APIs answer a
            # trailing slash this way: `/console/` reaches the console); `/files` does not.
            if not rest:
                return None
            parameters[segment[1:-2]] = unquote("/".join(rest))
            return parameters
        if index >= len(given):
            return None
        if segment.startswith("{") and segment.endswith("}"):
            if not given[index]:
                return None
            parameters[segment[1:-1]] = unquote(given[index])
        elif segment != given[index]:
            return None
    return parameters if len(given) == len(wanted) else None


def match_route(routes: Iterable[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route API Gateway would pick for METHOD path, with the path parameters; None for a 404."""
    candidates = []
    for route in routes:
        if route.method not in (method.upper(), "ANY"):
            continue
        parameters = _match_path(route, path)
        if parameters is not None:
            exact_method = 1 if route.method == method.upper() else 0
            candidates.append(((route.specificity, exact_method), route, parameters))
    if not candidates:
        return None
    candidates.sort(key=lambda c: c[0], reverse=True)
    return candidates[0][1], candidates[0][2]


def is_textual(content_type: str | None) -> bool:
    """Whether API Gateway passes the body as text (else it base64-encodes it)."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return (
        media.startswith("text/")
        or media in _TEXT_TYPES
        or (media.startswith("application/") and media.endswith("+json"))
    )


def _request_id() -> str:
    # The shape of API Gateway's request ids, e.g. "JKJaXmPLvHcESHA=".
    return base64.b64encode(secrets.token_bytes(10)).decode()[:15] + "="


def _iam_authorizer(account_id: str) -> dict[str, Any]:
    # What API Gateway adds for an IAM-authorised caller; locally the bearer token stands for a
    # developer user of the emulated account.
    return {
        "iam": {
            "accessKey": "ASIALOCALDEVELOPER00",
            "accountId": account_id,
            "callerId": "AIDALOCALDEVELOPER00",
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": f"arn:aws:iam::{account_id}:user/local-developer",
            "userId": "AIDALOCALDEVELOPER00",
        }
    }


def build_event(
    *,
    route: Route,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    path_parameters: Mapping[str, str],
    source_ip: str,
    api_id: str,
    account_id: str,
    request_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The API Gateway HTTP API payload format 2.0 event for one request."""
    now = time.time() if now is None else now
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        merged[lower] = f"{merged[lower]},{value}" if lower in merged else value

    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value

    domain = merged.get("host", "localhost")
    stamp = datetime.fromtimestamp(now, UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = merged
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": account_id,
        "apiId": api_id,
        **({"authorizer": _iam_authorizer(account_id)} if route.authorization == "AWS_IAM" else {}),
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": method.upper(),
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": merged.get("user-agent", ""),
        },
        "requestId": request_id or _request_id(),
        "routeKey": route.key,
        "stage": "$default",
        "time": stamp.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now * 1000),
    }
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body:
        if is_textual(merged.get("content-type")):
            event["body"] = body.decode("utf-8", "replace")
            event["isBase64Encoded"] = False
        else:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    return event


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class MalformedResponseError(ValueError):
    """The function's result is not a valid payload 2.0 response (API Gateway answers 500)."""


_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


def map_result(result: Any) -> Response:
    """The HTTP response API Gateway makes of a function's result (payload format 2.0)."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # No statusCode: API Gateway infers a 200 with the result as a JSON body.
        text = result if isinstance(result, str) else json.dumps(result)
        return Response(200, [("content-type", "application/json")], text.encode())
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError) as exc:
        raise MalformedResponseError(f"statusCode {result['statusCode']!r} is not a number") from exc
    if not 100 <= status <= 599:
        raise MalformedResponseError(f"statusCode {status} is not an HTTP status")
    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        if name.lower() not in _HOP_BY_HOP:
            headers.append((name, str(value)))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        if name.lower() not in _HOP_BY_HOP:
            headers.extend((name, str(v)) for v in values)
    headers.extend(("set-cookie", str(cookie)) for cookie in result.get("cookies") or [])
    body = result.get("body")
    if body is None:
        payload = b""
    elif not isinstance(body, str):
        raise MalformedResponseError(f"body must be a string, got {type(body).__name__}")
    elif result.get("isBase64Encoded"):
        try:
            payload = base64.b64decode(body, validate=True)
        except ValueError as exc:
            raise MalformedResponseError("isBase64Encoded is true but body is not base64") from exc
    else:
        payload = body.encode()
    return Response(status, headers, payload)


def error_response(status: int, message: str, key: str = "message") -> Response:
    """A JSON error answered by the gateway itself, e.g. 404 {"message": "Not Found"}."""
    body = json.dumps({key: message}).encode()
    return Response(status, [("content-type", "application/json")], body)
