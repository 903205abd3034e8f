"""Small fakes of the Salesforce REST API and the Mailchimp Marketing API that refuse what they refuse.

The same fakes answer through `httpx.MockTransport` (unit and functional tests) and over real HTTP on
127.0.0.1 (end to end, where the local stack's crm_upsert and marketing_triggers call them). Each
keeps what was written and records every request.

FakeSalesforce follows the REST API Developer Guide: the OAuth 2.0 client credentials flow
(help.salesforce.com, "OAuth 2.0 Client Credentials Flow for Server-to-Server Integration": a form
POST to /services/oauth2/token, answered with access_token, instance_url, id, token_type, issued_at,
signature), "Upsert Records Using sObject Collections" (PATCH
/services/data/vXX.X/composite/sobjects/{Object}/{ExternalIdField}, API 46.0 and later, at most 200
records each with attributes.type, one UpsertResult per record in order), "Delete a Record", and
"Status Codes and Error Responses" (401 INVALID_SESSION_ID once a session has expired). It refuses:
an expired or unknown session, more than 200 records (EXCEEDED_ID_LIMIT), a record of another type
or without attributes.type, a new record without its required fields (REQUIRED_FIELD_MISSING:
Contact LastName; Lead LastName and Company), a record without its external id, and an API version
outside the supported range.

FakeMailchimp follows the Marketing API reference (mailchimp.com/developer/marketing/api; the spec
the SDKs are generated from, mailchimp/mailchimp-client-lib-codegen spec/marketing.json): members
by the MD5 of the lower-cased email, "Add event" (POST /3.0/lists/{list_id}/members/{hash}/events:
name 2-30 letters, digits, `_` or `-`; properties a map of strings; optional occurred_at and
is_syncing; 204), member tags, and permanent deletion; errors are problem documents. It also plays
the Customer Journeys that merchants build on the hub's triggers: a journey on an event starts each
time the event is recorded (unless `is_syncing`), a journey on "tag added" only when the tag goes
from absent or inactive to active, which is why a tag the hub never removes started one journey only.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx

from tests.loopback import json_transport, serving_json

SALESFORCE_CLIENT_ID = "3MVG9local.e2e.consumer.key"
SALESFORCE_CLIENT_SECRET = "local-e2e-consumer-secret"
SALESFORCE_API_VERSION = "v66.0"
MAILCHIMP_KEY = "0123456789abcdef0123456789abcdef-us21"
MAILCHIMP_LIST = "4f2a9c1b7d"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


Answer = tuple[int, Any]


# ------------------------------------------------------------------------------------------- Salesforce
def _sf_error(code: str, message: str) -> list[dict[str, Any]]:
    return [{"message": message, "errorCode": code}]


_PREFIX = {"Contact": "003", "Lead": "00Q", "Account": "001"}
_REQUIRED = {"Contact": ("LastName",), "Lead": ("LastName", "Company")}


@dataclass
class FakeSalesforce:
    client_id: str = SALESFORCE_CLIENT_ID
    client_secret: str = SALESFORCE_CLIENT_SECRET
    instance_url: str = "https://acme.my.salesforce.com"
    oldest_version: float = 31.0
    newest_version: float = 66.0
    external_ids: dict[str, str] = field(default_factory=lambda: {"Contact": "Hub_Email__c", "Lead": "Hub_Email__c"})
    requests: list[Seen] = field(default_factory=list)
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # object -> id -> fields
    tokens_issued: list[str] = field(default_factory=list)
    live_tokens: set[str] = field(default_factory=set)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # --------------------------------------------------------------------------- what tests ask
    def expire_sessions(self) -> None:
        """The org's session timeout passes: every token issued so far is refused from now on."""
        with self.lock:
            self.live_tokens.clear()

    def seen(self, method: str, prefix: str) -> list[Seen]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    def find(self, sobject: str, email: str) -> list[tuple[str, dict[str, Any]]]:
        ext = self.external_ids[sobject]
        with self.lock:
            return [(i, dict(r)) for i, r in self.records.get(sobject, {}).items() if r.get(ext) == email]

    # --------------------------------------------------------------------------- the API
    def answer(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Answer:
        with self.lock:
            body: Any
            if path == "/services/oauth2/token":
                body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                self.requests.append(Seen(method, path, headers, body))
                return self._token(method, headers, body)
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                return 400, _sf_error("JSON_PARSER_ERROR", "The request body is not JSON")
            self.requests.append(Seen(method, path, headers, body))
            bearer = headers.get("authorization", "")
            if not bearer.startswith("Bearer ") or bearer[len("Bearer ") :] not in self.live_tokens:
                return 401, _sf_error("INVALID_SESSION_ID", "Session expired or invalid")
            match = re.fullmatch(r"/services/data/v(\d+\.\d)/(.*)", path)
            if not match:
                return 404, _sf_error("NOT_FOUND", "The requested resource does not exist")
            version, rest = float(match.group(1)), match.group(2)
            if version < self.oldest_version:
                return 410, _sf_error("GONE", "This API version is retired")
            if version > self.newest_version:
                return 404, _sf_error("NOT_FOUND", "The requested resource does not exist")
            parts = [unquote(p) for p in rest.split("/")]
            if method == "PATCH" and len(parts) == 4 and parts[:2] == ["composite", "sobjects"]:
                if version < 46.0:
                    return 404, _sf_error("NOT_FOUND", "The requested resource does not exist")
                return self._upsert(parts[2], parts[3], body)
            if method == "DELETE" and len(parts) == 3 and parts[0] == "sobjects":
                return self._delete(parts[1], parts[2])
            return 404, _sf_error("NOT_FOUND", "The requested resource does not exist")

    def _token(self, method: str, headers: dict[str, str], form: dict[str, str]) -> Answer:
        if method != "POST" or "application/x-www-form-urlencoded" not in headers.get("content-type", ""):
            return 400, {"error": "invalid_request", "error_description": "must use HTTP POST with a form body"}
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"}
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return 400, {"error": "invalid_client", "error_description": "invalid client credentials"}
        token = f"00Dxx0000001gPL!AR8AQ{uuid.uuid4().hex}"
        self.tokens_issued.append(token)
        self.live_tokens.add(token)
        return 200, {
            "access_token": token,
            "signature": base64.b64encode(hashlib.sha256(token.encode()).digest()).decode(),
            "scope": "api",
            "instance_url": self.instance_url,
            "id": f"{self.instance_url}/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS",
            "token_type": "Bearer",
            "issued_at": "1764966000000",
        }

    def _upsert(self, sobject: str, ext_field: str, body: Any) -> Answer:
        if sobject not in _PREFIX:
            return 404, _sf_error("NOT_FOUND", f"The requested resource does not exist: {sobject}")
        if ext_field != self.external_ids.get(sobject):
            return 400, _sf_error("INVALID_FIELD", f"{ext_field} is not an External ID field of {sobject}")
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not records:
            return 400, _sf_error("INVALID_FIELD", "records is required")
        if len(records) > 200:
            return 400, _sf_error(
                "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call"
            )
        for record in records:
            attributes = record.get("attributes") if isinstance(record, dict) else None
            if not isinstance(attributes, dict) or attributes.get("type") != sobject:
                return 400, _sf_error("INVALID_TYPE", "every record needs attributes.type, the type in the URI")
        return 200, [self._upsert_one(sobject, ext_field, r) for r in records]

    def _upsert_one(self, sobject: str, ext_field: str, record: dict[str, Any]) -> dict[str, Any]:
        fields = {k: v for k, v in record.items() if k != "attributes"}
        if "Id" in fields:
            return _failed("INVALID_FIELD", "Id is not allowed in an upsert by external id", ["Id"])
        value = fields.get(ext_field)
        if not value:
            return _failed("MISSING_ARGUMENT", f"{ext_field} not specified", [ext_field])
        table = self.records.setdefault(sobject, {})
        matches = [i for i, r in table.items() if r.get(ext_field) == value]
        if len(matches) > 1:
            return _failed("DUPLICATE_EXTERNAL_ID", f"{ext_field}: more than one record found", [])
        if matches:
            table[matches[0]].update(fields)
            return {"id": matches[0], "success": True, "errors": [], "created": False}
        missing = [f for f in _REQUIRED.get(sobject, ()) if not fields.get(f)]
        if missing:
            return _failed("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
        record_id = f"{_PREFIX[sobject]}xx{next(self._ids):013d}"[:18]
        table[record_id] = fields
        return {"id": record_id, "success": True, "errors": [], "created": True}

    def _delete(self, sobject: str, record_id: str) -> Answer:
        if self.records.get(sobject, {}).pop(record_id, None) is None:
            return 404, _sf_error("NOT_FOUND", "The requested resource does not exist")
        return 204, None

    # --------------------------------------------------------------------------- transports
    def transport(self) -> httpx.MockTransport:
        return _transport(self.answer)

    @contextmanager
    def serve(self) -> Iterator[str]:
        with _serve(self.answer) as url:
            self.instance_url = url
            yield url


def _failed(code: str, message: str, fields: list[str]) -> dict[str, Any]:
    return {"id": None, "success": False, "errors": [{"statusCode": code, "message": message, "fields": fields}]}


# ------------------------------------------------------------------------------------------- Mailchimp
_EVENT_NAME = re.compile(r"^[A-Za-z0-9_-]{2,30}$")


def _problem(status: int, title: str, detail: str) -> Answer:
    return status, {
        "type": "https://mailchimp.com/developer/marketing/docs/errors/",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": str(uuid.uuid4()),
    }


def md5_of(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()


@dataclass
class JourneyStart:
    member: str  # subscriber hash
    starting_point: str  # "event:<name>" or "tag:<name>"


@dataclass
class FakeMailchimp:
    api_key: str = MAILCHIMP_KEY
    list_id: str = MAILCHIMP_LIST
    requests: list[Seen] = field(default_factory=list)
    members: dict[str, dict[str, Any]] = field(default_factory=dict)  # subscriber hash -> member
    journeys: list[JourneyStart] = field(default_factory=list)
    fail_next_events: int = 0  # answer 503 to the next event posts, after recording them (a lost answer)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def events(self, email: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.members.get(md5_of(email), {}).get("events", []))

    def seen(self, method: str, suffix: str = "") -> list[Seen]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path.endswith(suffix)]

    def answer(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Answer:
        with self.lock:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                return _problem(400, "JSON Parse Exception", "The request body is not valid JSON")
            self.requests.append(Seen(method, path, headers, body))
            # HTTP Basic with any user name and the API key as the password.
            if _basic_password(headers.get("authorization", "")) != self.api_key:
                return _problem(401, "API Key Invalid", "Your API key may be invalid.")
            match = re.fullmatch(r"/3\.0/lists/([^/]+)/members/([^/]+)(/.*)?", path)
            if not match:
                return _problem(404, "Resource Not Found", "The requested resource could not be found.")
            list_id, member_id, rest = match.group(1), unquote(match.group(2)), match.group(3) or ""
            if list_id != self.list_id:
                return _problem(404, "Resource Not Found", "The requested resource could not be found.")
            if method == "PUT" and not rest:
                return self._put_member(member_id, body)
            key = self._member_key(member_id)
            if key is None:
                return _problem(404, "Resource Not Found", "The requested resource could not be found.")
            if rest == "/events" and method == "POST":
                return self._add_event(key, body)
            if rest.startswith("/events") and method == "GET":
                events = self.members[key]["events"]
                return 200, {"events": list(reversed(events)), "total_items": len(events)}
            if rest == "/tags" and method == "POST":
                return self._tags(key, body)
            if rest == "/actions/delete-permanent" and method == "POST":
                del self.members[key]
                return 204, None
            return _problem(405, "Method Not Allowed", "The requested method and resource are not compatible.")

    def _member_key(self, member_id: str) -> str | None:
        """The path takes the subscriber hash, the email or the contact_id."""
        if member_id in self.members:
            return member_id
        if "@" in member_id and md5_of(member_id) in self.members:
            return md5_of(member_id)
        return next((k for k, m in self.members.items() if m["contact_id"] == member_id), None)

    def _put_member(self, member_hash: str, body: Any) -> Answer:
        if not isinstance(body, dict) or not isinstance(body.get("email_address"), str):
            return _problem(400, "Invalid Resource", "The resource submitted could not be validated.")
        if md5_of(body["email_address"]) != member_hash:
            return _problem(400, "Invalid Resource", "The email address does not match the subscriber hash.")
        member = self.members.get(member_hash)
        if member is None:
            status = body.get("status_if_new") or body.get("status")
            if status not in ("subscribed", "unsubscribed", "cleaned", "pending", "transactional"):
                return _problem(400, "Invalid Resource", "status_if_new is required to create a member.")
            member = {
                "id": member_hash,
                "contact_id": uuid.uuid4().hex[:10],
                "email_address": body["email_address"],
                "status": status,
                "merge_fields": {},
                "tags": {},
                "events": [],
            }
            self.members[member_hash] = member
        member["merge_fields"].update(body.get("merge_fields") or {})
        public = {k: v for k, v in member.items() if k not in ("tags", "events")}
        return 200, {**public, "list_id": self.list_id}

    def _add_event(self, key: str, body: Any) -> Answer:
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            return _problem(400, "Invalid Resource", "name is required.")
        if not _EVENT_NAME.fullmatch(body["name"]):
            return _problem(
                400,
                "Invalid Resource",
                "The event name must be 2-30 characters of letters, numbers, underscores and dashes.",
            )
        properties = body.get("properties", {})
        if not isinstance(properties, dict) or not all(isinstance(v, str) for v in properties.values()):
            return _problem(400, "Invalid Resource", "Event properties must be a map of strings.")
        occurred_at = body.get("occurred_at")
        if occurred_at is not None:
            try:
                datetime.fromisoformat(str(occurred_at).replace("Z", "+00:00"))
            except ValueError:
                return _problem(400, "Invalid Resource", "occurred_at must be an ISO 8601 time.")
        unknown = set(body) - {"name", "properties", "is_syncing", "occurred_at"}
        if unknown:
            return _problem(400, "Invalid Resource", f"Unknown fields: {', '.join(sorted(unknown))}")
        self.members[key]["events"].append({"name": body["name"], "properties": properties, "occurred_at": occurred_at})
        if not body.get("is_syncing"):
            self.journeys.append(JourneyStart(key, f"event:{body['name']}"))
        if self.fail_next_events:
            self.fail_next_events -= 1
            return _problem(503, "Service Unavailable", "The answer was lost on its way back.")
        return 204, None

    def _tags(self, key: str, body: Any) -> Answer:
        tags = body.get("tags") if isinstance(body, dict) else None
        if not isinstance(tags, list):
            return _problem(400, "Invalid Resource", "tags is required.")
        held = self.members[key]["tags"]
        for tag in tags:
            name, status = tag.get("name"), tag.get("status")
            if status == "active" and held.get(name) != "active":
                self.journeys.append(JourneyStart(key, f"tag:{name}"))
            held[name] = status
        return 204, None

    def transport(self) -> httpx.MockTransport:
        return _transport(self.answer)

    @contextmanager
    def serve(self) -> Iterator[str]:
        with _serve(self.answer) as url:
            yield url


def _basic_password(header: str) -> str | None:
    if not header.startswith("Basic "):
        return None
    try:
        _user, _, password = base64.b64decode(header[len("Basic ") :]).decode().partition(":")
    except ValueError:
        return None
    return password


# ------------------------------------------------------------------------------------------- plumbing
def _transport(answer: Callable[[str, str, dict[str, str], bytes], Answer]) -> httpx.MockTransport:
    return json_transport(lambda r: answer(r.method, r.path, r.lowered_headers(), r.body))


@contextmanager
def _serve(answer: Callable[[str, str, dict[str, str], bytes], Answer]) -> Iterator[str]:
    with serving_json(lambda r: answer(r.method, r.path, r.lowered_headers(), r.body)) as url:
        yield url
