"""Small fakes of the GA4 Measurement Protocol (with its validation server) and the Meta Conversions API.

The same fakes answer through `httpx.MockTransport` (unit and functional tests) and over real HTTP on
127.0.0.1 (end to end, where the local stack's reporting function calls them). Each records every
request it was sent; each can be told to fail the next calls.

FakeGa4 validates like `/debug/mp/collect` does, with its documented limits and answer shape
(developers.google.com/analytics/devguides/collection/protocol/ga4/validating-events): HTTP 200 and
`{"validationMessages": [{"fieldPath", "description", "validationCode"}]}`, empty when valid.
`/mp/collect` answers 204 whatever it is sent, as GA4 does; the fake keeps the validation messages of
each collected body, so tests can assert that what was sent would have validated.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx

from tests.loopback import json_transport, serving_json

GA4_MEASUREMENT_ID = "G-TEST123456"
GA4_API_SECRET = "local-ga4-api-secret"
META_PIXEL_ID = "1234567890123456"
META_API_VERSION = "v23.0"
META_ACCESS_TOKEN = "local-meta-access-token"

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
_RESERVED_EVENTS = {
    "ad_activeview", "ad_click", "ad_exposure", "ad_query", "ad_reward", "adunit_exposure",
    "app_background", "app_clear_data", "app_exception", "app_remove", "app_store_refund",
    "app_store_subscription_cancel", "app_store_subscription_convert", "app_store_subscription_renew",
    "app_update", "app_upgrade", "dynamic_link_app_open", "dynamic_link_app_update",
    "dynamic_link_first_open", "error", "first_open", "first_visit", "in_app_purchase",
    "notification_dismiss", "notification_foreground", "notification_open", "notification_receive",
    "os_update", "session_start", "session_start_with_rollout", "user_engagement",
}  # fmt: skip
_RESERVED_PREFIXES = ("google_", "ga_", "firebase_")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _message(path: str, description: str, code: str) -> dict[str, str]:
    return {"fieldPath": path, "description": description, "validationCode": code}


def ga4_validation_messages(body: Any, query: dict[str, list[str]], now: float | None = None) -> list[dict[str, str]]:
    """What GA4's validation server says of one request (a subset of its documented rules)."""
    out: list[dict[str, str]] = []
    if not query.get("measurement_id"):
        out.append(_message("measurement_id", "Measurement ID is required.", "VALUE_REQUIRED"))
    if not isinstance(body, dict):
        return [*out, _message("", "The body is not a JSON object.", "VALUE_INVALID")]
    if not body.get("client_id") and not body.get("app_instance_id"):
        out.append(_message("client_id", "Either client_id or app_instance_id is required.", "VALUE_REQUIRED"))
    if "timestamp_micros" in body:
        age = (now or time.time()) - body["timestamp_micros"] / 1_000_000
        if not isinstance(body["timestamp_micros"], int) or age > 72 * 3600 or age < -15 * 60:
            out.append(_message("timestamp_micros", "Timestamp must be within the last 72 hours.", "VALUE_INVALID"))
    events = body.get("events")
    if not isinstance(events, list) or not events:
        return [*out, _message("events", "At least one event is required.", "VALUE_REQUIRED")]
    if len(events) > 25:
        out.append(_message("events", "A request can have at most 25 events.", "EXCEEDED_MAX_ENTITIES"))
    for index, event in enumerate(events):
        name = event.get("name", "")
        where = f"events[{index}]"
        if not _NAME.match(name):
            out.append(
                _message(
                    "events",
                    f"Event at index: [{index}] has invalid name [{name}]. "
                    "Names must start with an alphabetic character.",
                    "NAME_INVALID",
                )
            )
        elif name in _RESERVED_EVENTS:
            out.append(_message("events", f"Event at index: [{index}] has reserved name [{name}].", "NAME_RESERVED"))
        params = event.get("params", {})
        if len(params) > 25:
            out.append(_message(f"{where}.params", "An event can have at most 25 parameters.", "EXCEEDED_MAX_ENTITIES"))
        for key, value in params.items():
            if not _NAME.match(key):
                out.append(_message(f"{where}.params.{key}", f"Parameter name [{key}] is invalid.", "NAME_INVALID"))
            elif key.startswith(_RESERVED_PREFIXES):
                out.append(_message(f"{where}.params.{key}", f"Parameter name [{key}] is reserved.", "NAME_RESERVED"))
            if isinstance(value, str) and len(value) > 100:
                out.append(_message(f"{where}.params.{key}", "Value is longer than 100.", "VALUE_OUT_OF_BOUNDS"))
        if "value" in params:
            if not isinstance(params["value"], int | float) or isinstance(params["value"], bool):
                out.append(_message(f"{where}.params.value", "value must be a number.", "VALUE_INVALID"))
            if not params.get("currency"):
                out.append(_message(f"{where}.params.currency", "currency is required with value.", "VALUE_REQUIRED"))
        if "currency" in params and not re.match(r"^[A-Z]{3}$", str(params["currency"])):
            out.append(_message(f"{where}.params.currency", "currency must be ISO 4217.", "VALUE_INVALID"))
        if name in ("purchase", "refund") and not params.get("transaction_id"):
            out.append(_message(f"{where}.params.transaction_id", "transaction_id is required.", "VALUE_REQUIRED"))
        items = params.get("items", [])
        if len(items) > 200:
            out.append(_message(f"{where}.params.items", "At most 200 items.", "EXCEEDED_MAX_ENTITIES"))
        for item_index, item in enumerate(items):
            if not item.get("item_id") and not item.get("item_name"):
                out.append(
                    _message(
                        f"{where}.params.items[{item_index}]",
                        "An item needs item_id or item_name.",
                        "VALUE_REQUIRED",
                    )
                )
    return out


@dataclass
class Recorded:
    path: str
    query: dict[str, list[str]]
    body: Any


@dataclass
class FakeGa4:
    measurement_id: str = GA4_MEASUREMENT_ID
    api_secret: str = GA4_API_SECRET
    collected: list[Recorded] = field(default_factory=list)
    validated: list[Recorded] = field(default_factory=list)
    fail_next: int = 0
    clock: Any = time.time

    def answer(self, path: str, query: str, raw: bytes) -> tuple[int, Any]:
        params = parse_qs(query)
        body = json.loads(raw) if raw else None
        if self.fail_next:
            self.fail_next -= 1
            return 503, {"error": "unavailable"}
        if path == "/debug/mp/collect":
            self.validated.append(Recorded(path, params, body))
            return 200, {"validationMessages": ga4_validation_messages(body, params, self.clock())}
        if path == "/mp/collect":
            self.collected.append(Recorded(path, params, body))
            return 204, None
        return 404, {"error": "not found"}

    def messages_of_collected(self) -> list[list[dict[str, str]]]:
        return [ga4_validation_messages(r.body, r.query, self.clock()) for r in self.collected]

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        return [e for r in self.collected for e in r.body["events"] if name is None or e["name"] == name]

    def transport(self) -> httpx.MockTransport:
        return _transport(self)

    @contextmanager
    def serve(self) -> Iterator[str]:
        with _serve(self) as url:
            yield url


@dataclass
class FakeMeta:
    pixel_id: str = META_PIXEL_ID
    api_version: str = META_API_VERSION
    access_token: str = META_ACCESS_TOKEN
    received: list[Recorded] = field(default_factory=list)
    fail_next: int = 0
    throttle_next: int = 0  # answer the next calls as a throttled app, with this many of them
    throttle_code: int = 17  # 4, 17, 32, 613, 80004...: Graph API's rate-limit codes
    throttled: int = 0

    def answer(self, path: str, query: str, raw: bytes) -> tuple[int, Any]:
        params = parse_qs(query)
        if self.fail_next:
            self.fail_next -= 1
            return 500, _meta_error("An unknown error occurred", 1)
        if self.throttle_next:
            # Graph API throttling is HTTP 400 with a rate-limit code, no Retry-After
            # (developers.facebook.com/docs/graph-api/overview/rate-limiting; guides/error-handling:
            # "(#17) User request limit reached", type OAuthException, is_transient true).
            self.throttle_next -= 1
            self.throttled += 1
            return 400, _meta_error("(#17) User request limit reached", self.throttle_code)
        if path != f"/{self.api_version}/{self.pixel_id}/events":
            return 404, _meta_error("Unknown path components", 2500)
        if params.get("access_token") != [self.access_token]:
            return 400, _meta_error("Invalid OAuth access token.", 190)
        body = json.loads(raw)
        problem = _meta_problem(body)
        if problem:
            return 400, _meta_error(problem, 100)
        self.received.append(Recorded(path, params, body))
        return 200, {"events_received": len(body["data"]), "messages": [], "fbtrace_id": "AbCdEf123"}

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        return [e for r in self.received for e in r.body["data"] if name is None or e["event_name"] == name]

    def transport(self) -> httpx.MockTransport:
        return _transport(self)

    @contextmanager
    def serve(self) -> Iterator[str]:
        with _serve(self) as url:
            yield url


def _meta_error(message: str, code: int) -> dict[str, Any]:
    return {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf123"}}


def _meta_problem(body: dict[str, Any]) -> str | None:
    """The Conversions API's refusals that a request built wrongly would meet."""
    data = body.get("data")
    if not isinstance(data, list) or not data:
        return "The parameter data is required"
    for event in data:
        for required in ("event_name", "event_time", "action_source", "user_data"):
            if required not in event:
                return f"The parameter {required} is required"
        if not isinstance(event["event_time"], int):
            return "event_time must be an integer (unix seconds)"
        if event["event_time"] < time.time() - 7 * 86400:
            return "event_time is more than 7 days in the past"
        if event["action_source"] == "website" and (
            "client_user_agent" not in event["user_data"] or "event_source_url" not in event
        ):
            return "website events need client_user_agent and event_source_url"
        for key in ("em", "ph", "fn", "ln", "ct", "st", "zp", "country", "external_id"):
            for value in event["user_data"].get(key, []):
                if not _HEX64.match(value):
                    return f"user_data.{key} must be SHA-256 hashed"
        if not event["user_data"]:
            return "user_data needs at least one customer information parameter"
    return None


def _transport(fake: FakeGa4 | FakeMeta) -> httpx.MockTransport:
    return json_transport(lambda r: fake.answer(r.path, r.query, r.body))


@contextmanager
def _serve(fake: FakeGa4 | FakeMeta) -> Iterator[str]:
    with serving_json(lambda r: fake.answer(r.path, r.query, r.body)) as url:
        yield url
