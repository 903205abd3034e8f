"""The console's frame: the request and response, the page registry, templates and the stylesheet.

A page is one view function registered with `@page(...)` (in `pages.py`), one template extending
`_layout.html`, and, if it belongs in the navigation, its `nav` label: nothing else to wire.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from hub.console.auth import Session, is_local_http, token_matches

__all__ = ["PAGES", "PREFIX", "Page", "Request", "Response", "page", "redirect", "render", "same", "static"]

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
PREFIX = "/console"
_STATIC_TYPES = {".css": "text/css; charset=utf-8"}


@cache
def _css() -> str:
    return (STATIC / "console.css").read_text(encoding="utf-8")


@cache
def _css_hash() -> str:
    return base64.b64encode(hashlib.sha256(_css().encode()).digest()).decode()


def _security_headers() -> dict[str, str]:
    # Nothing but our own stylesheet (and, on the login page, the same CSS inline, allowed by hash).
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'self' 'sha256-{_css_hash()}'; img-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


@dataclass
class Request:
    method: str
    path: str  # below /console, without the leading slash: "orders", "orders/shopify:1"
    query: dict[str, str]
    form: dict[str, str]
    cookies: dict[str, str]
    secure_cookies: bool
    session: Session | None = None

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Request:
        context = event.get("requestContext") or {}
        http = context.get("http") or {}
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        raw_path = str(event.get("rawPath") or http.get("path") or "")
        path = raw_path[len(PREFIX) :] if raw_path.startswith(PREFIX) else raw_path
        cookies: dict[str, str] = {}
        for pair in event.get("cookies") or []:
            name, _, value = pair.partition("=")
            cookies.setdefault(name.strip(), value.strip())
        form: dict[str, str] = {}
        body = event.get("body")
        if body and "application/x-www-form-urlencoded" in headers.get("content-type", ""):
            raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
            form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        return cls(
            method=str(http.get("method") or "GET").upper(),
            path=path.strip("/"),
            query=dict(event.get("queryStringParameters") or {}),
            form=form,
            cookies=cookies,
            secure_cookies=not is_local_http(proto=headers.get("x-forwarded-proto"), source_ip=http.get("sourceIp")),
        )


@dataclass
class Response:
    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[str] = field(default_factory=list)

    def result(self) -> dict[str, Any]:
        headers = {"Content-Type": "text/html; charset=utf-8", **_security_headers(), **self.headers}
        return {"statusCode": self.status, "headers": headers, "cookies": self.cookies, "body": self.body}


def redirect(to: str, cookies: list[str] | None = None) -> Response:
    return Response(303, headers={"Location": to}, cookies=cookies or [])


@dataclass(frozen=True)
class Page:
    pattern: re.Pattern[str]
    view: Callable[..., Response]
    methods: tuple[str, ...]
    nav: str | None
    name: str


PAGES: list[Page] = []


def page(path: str, *, nav: str | None = None, methods: tuple[str, ...] = ("GET",)) -> Callable[..., Any]:
    """Register a view for `path` below /console (`<name>` matches one segment, passed by name)."""
    pattern = re.compile("^" + re.sub(r"<(\w+)>", r"(?P<\1>[^/]+)", path) + "$")

    def register(view: Callable[..., Response]) -> Callable[..., Response]:
        PAGES.append(Page(pattern, view, methods, nav, path))
        return view

    return register


@cache
def _environment() -> Any:
    import jinja2  # only the console pays for it at cold start

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["urlpart"] = lambda value: quote(str(value), safe="")
    return env


def render(request: Request, template: str, status: int = 200, **values: Any) -> Response:
    nav = [(p.name, p.nav) for p in PAGES if p.nav]
    body = (
        _environment()
        .get_template(template)
        .render(
            nav=nav,
            current=request.path.split("/", 1)[0],
            csrf=request.session.csrf if request.session else "",
            inline_css=_css() if request.session is None else None,
            prefix=PREFIX,
            urlencode=urlencode,
            **values,
        )
    )
    return Response(status, body)


def same(given: str | None, expected: str) -> bool:
    return given is not None and token_matches(given, expected)


def static(name: str) -> Response:
    path = (STATIC / name).resolve()
    kind = _STATIC_TYPES.get(path.suffix)
    if kind is None or path.parent != STATIC or not path.is_file():
        return Response(404, "no such file", {"Content-Type": "text/plain; charset=utf-8"})
    return Response(
        200, path.read_text(encoding="utf-8"), {"Content-Type": kind, "Cache-Control": "private, max-age=3600"}
    )
