"""Fakes of the APIs social posting calls: Meta's Graph API (a Facebook Page's feed and Instagram
content publishing) and Pinterest's API v5 pins. Served over `httpx.MockTransport` (unit and
functional tests) and on 127.0.0.1 (end to end), both through tests.loopback.

What they answer is what the vendors document:
- Page feed: developers.facebook.com/docs/pages-api/posts (`POST /{page-id}/feed` with `message`
  and `link` -> `{"id": "{page-id}_{post-id}"}`);
- Instagram: developers.facebook.com/docs/instagram-platform/content-publishing and the IG
  Container reference (`POST /{ig-user-id}/media` -> `{"id": container}`, `GET /{container}?fields=
  status_code` -> EXPIRED | ERROR | FINISHED | IN_PROGRESS | PUBLISHED, `POST /{ig-user-id}/
  media_publish` with `creation_id` -> `{"id": media}`);
- Graph errors: developers.facebook.com/docs/graph-api/guides/error-handling (`{"error": {"message",
  "type": "OAuthException", "code", "fbtrace_id"}}`; 190 invalid token; 4/17/32/613 rate limits with
  X-App-Usage / X-Business-Use-Case-Usage headers, rate-limiting overview);
- Pinterest: developers.pinterest.com/docs/api/v5/pins-create (`POST /v5/pins`, 201 with the pin;
  errors `{"code": N, "message": ...}`; 429 when rate limited).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx

from tests.loopback import Reply, Request, json_transport, serving_json

PAGE_ID = "104918374651234"
IG_USER_ID = "17841405822304914"
BOARD_ID = "549755885175"
GRAPH_VERSION = "v25.0"
FACEBOOK_TOKEN = "local-facebook-page-token"
INSTAGRAM_TOKEN = "local-instagram-token"
PINTEREST_TOKEN = "pina_local-pinterest-token"


def graph_error(message: str, code: int, subcode: int | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AQx7Trace1"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


@dataclass
class FakeGraph:
    """A Facebook Page and an Instagram professional account behind one Graph API host."""

    page_id: str = PAGE_ID
    ig_user_id: str = IG_USER_ID
    version: str = GRAPH_VERSION
    tokens: dict[str, str] = field(default_factory=lambda: {"facebook": FACEBOOK_TOKEN, "instagram": INSTAGRAM_TOKEN})
    requests: list[Request] = field(default_factory=list)
    feed: list[dict[str, str]] = field(default_factory=list)  # posts made on the Page
    containers: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> {image_url, caption, status}
    media: list[dict[str, str]] = field(default_factory=list)  # published Instagram media
    pending_checks: int = 0  # a new container answers IN_PROGRESS to this many status reads
    fail_feed: int = 0  # the next Page posts answer 500
    throttle_next: int = 0  # the next calls answer "(#32) Page request limit reached"
    expired_token: bool = False
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def _token_ok(self, request: Request, network: str) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.tokens[network]}" and not self.expired_token

    def answer(self, request: Request) -> Reply:
        self.requests.append(request)
        if self.throttle_next:
            self.throttle_next -= 1
            usage = {self.page_id: [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 7}]}
            headers = {
                "X-App-Usage": json.dumps({"call_count": 100, "total_time": 12, "total_cputime": 9}),
                "X-Business-Use-Case-Usage": json.dumps(usage),
            }
            return 400, graph_error("(#32) Page request limit reached", 32), headers
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        path = request.path
        if request.method == "POST" and path == f"/{self.version}/{self.page_id}/feed":
            return self._page_post(request, form)
        if request.method == "POST" and path == f"/{self.version}/{self.ig_user_id}/media":
            if not self._token_ok(request, "instagram"):
                return 400, graph_error("Error validating access token: Session has expired.", 190, 463)
            if "image_url" not in form:
                return 400, graph_error("(#100) The parameter image_url is required", 100)
            container = str(17889455560051000 + next(self._ids))
            status = "IN_PROGRESS" if self.pending_checks else "FINISHED"
            self.containers[container] = {**form, "status": status, "checks": str(self.pending_checks)}
            return 200, {"id": container}
        if (
            request.method == "GET"
            and path.startswith(f"/{self.version}/")
            and path.rsplit("/", 1)[1] in self.containers
        ):
            container = self.containers[path.rsplit("/", 1)[1]]
            if container["status"] == "IN_PROGRESS":
                left = int(container["checks"]) - 1
                container["checks"] = str(left)
                if left <= 0:
                    container["status"] = "FINISHED"
                return 200, {"status_code": "IN_PROGRESS", "id": path.rsplit("/", 1)[1]}
            return 200, {"status_code": container["status"], "id": path.rsplit("/", 1)[1]}
        if request.method == "POST" and path == f"/{self.version}/{self.ig_user_id}/media_publish":
            if not self._token_ok(request, "instagram"):
                return 400, graph_error("Error validating access token: Session has expired.", 190, 463)
            container = self.containers.get(form.get("creation_id", ""))
            if container is None:
                return 400, graph_error("(#100) Param creation_id is not a valid container", 100)
            if container["status"] != "FINISHED":
                # IG answers 400 code 9007 "Media ID is not available" for a container not ready.
                return 400, graph_error(
                    "The media is not ready for publishing, please wait for a moment", 9007, 2207027
                )
            container["status"] = "PUBLISHED"
            media_id = str(17920238422030000 + next(self._ids))
            self.media.append({"id": media_id, "caption": container["caption"], "image_url": container["image_url"]})
            return 200, {"id": media_id}
        return 400, graph_error("Unsupported post request.", 100, 33)

    def _page_post(self, request: Request, form: dict[str, str]) -> Reply:
        if not self._token_ok(request, "facebook"):
            return 400, graph_error("Error validating access token: Session has expired.", 190, 463)
        if self.fail_feed:
            self.fail_feed -= 1
            return 500, graph_error("An unexpected error has occurred. Please retry your request later.", 2)
        if not form.get("message") and not form.get("link"):
            return 400, graph_error("(#100) Missing message or attachment", 100)
        post_id = f"{self.page_id}_{1116689038356000 + next(self._ids)}"
        self.feed.append({"id": post_id, **form})
        return 200, {"id": post_id}

    def transport(self) -> httpx.MockTransport:
        return json_transport(self.answer)

    @contextmanager
    def serve(self) -> Iterator[str]:
        with serving_json(self.answer) as url:
            yield url


@dataclass
class FakePinterest:
    board_id: str = BOARD_ID
    token: str = PINTEREST_TOKEN
    requests: list[Request] = field(default_factory=list)
    pins: list[dict[str, Any]] = field(default_factory=list)
    rate_limit_next: int = 0  # the next calls answer 429 with Retry-After
    fail_next: int = 0  # the next calls answer 500
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def answer(self, request: Request) -> Reply:
        self.requests.append(request)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"code": 2, "message": "Authentication failed."}
        if self.rate_limit_next:
            self.rate_limit_next -= 1
            return (
                429,
                {"code": 8, "message": "You have exceeded your rate limit. Try again later."},
                {"Retry-After": "0"},
            )
        if self.fail_next:
            self.fail_next -= 1
            return 500, {"code": 1, "message": "Something went wrong on our end."}
        if request.method != "POST" or request.path != "/v5/pins":
            return 404, {"code": 404, "message": "Not found"}
        body = request.json()
        if body.get("board_id") != self.board_id:
            return 404, {"code": 40, "message": "Board not found."}
        media = body.get("media_source") or {}
        if media.get("source_type") != "image_url" or not media.get("url"):
            return 400, {"code": 1, "message": "Invalid media_source"}
        if len(body.get("title", "")) > 100 or len(body.get("description", "")) > 800:
            return 400, {"code": 1, "message": "Invalid parameters."}
        pin_id = str(813744226420795000 + next(self._ids))
        pin = {"id": pin_id, "created_at": "2026-12-06T10:00:00", "board_id": self.board_id, **body}
        self.pins.append(pin)
        return 201, pin

    def transport(self) -> httpx.MockTransport:
        return json_transport(self.answer)

    @contextmanager
    def serve(self) -> Iterator[str]:
        with serving_json(self.answer) as url:
            yield url
