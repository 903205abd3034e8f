"""Mailchimp: the customer as a member of the configured audience, and each message as a member event.

`PUT /3.0/lists/{list_id}/members/{subscriber_hash}` (subscriber_hash = MD5 of the lower-cased
email) creates or updates the member; `POST .../members/{subscriber_hash}/events` then records the
trigger as an event, `{"name": "hub-post-purchase", "properties": {...}, "occurred_at": ...}` (204),
on which a Customer Journey starts (its "Event API" starting point). An event starts the journey
every time it is recorded, so a customer's second purchase starts a second post-purchase journey.
The hub used to add a tag instead: a "tag added" journey starts only when the tag is added, and the
hub never removed it, so each customer got one journey per trigger, ever. Tags are no longer added
(deactivating and re-adding one on every message would work too, but leaves a tag whose state says
nothing and whose two calls are not atomic); events are also what Mailchimp documents for activity
outside its emails. Event properties are strings (Mailchimp's rule): the items, suggestions, total
and links of the message, for the journey's merge tags, and the hub's `message_key`.

Events carry no idempotency key, and a repeated event would start a second journey. So the event is
never posted blindly twice: the call is not retried by the transport on a timeout or a 5xx (only on
429, which Mailchimp answers before doing anything), and before each post, first or again, the
member's events are read and a recorded event with the same `message_key` counts as sent. A
redelivery of the SQS record after a crash finds the event the same way.

Auth is HTTP Basic with any user name and the API key; the key's suffix is the data centre.

The member's `contact_id` (in the upsert's answer) is returned for the hub to record under the
customer's erasure key: Mailchimp accepts it in place of the subscriber hash, so erasure can
delete the member without the email, `POST /3.0/lists/{list_id}/members/{contact_id}/actions/
delete-permanent` (204; 404 means already gone). A permanently deleted address cannot be
re-imported into the audience, only re-subscribe by itself.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from hub.adapters.http import RETRY_STATUSES, HubRetry, outbound_client, outbound_error
from hub.domain.marketing import OutboundMessage
from hub.errors import OutboundError

__all__ = ["EVENT_NAME", "MailchimpClient", "event_properties", "subscriber_hash", "trigger_event"]

# Mailchimp's rule for event names: 2 to 30 letters, digits, underscores or dashes.
EVENT_NAME = re.compile(r"^[A-Za-z0-9_-]{2,30}$")
_EVENT_ATTEMPTS = 3
_EVENTS_LISTED = 1000  # the most Mailchimp lists in one page


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()


def trigger_event(trigger: str) -> str:
    """The event a trigger records: `hub-post-purchase`, `hub-abandoned-checkout`, ... (the names the
    hub's tags had, so a journey moves from "tag added" to "Event API" with the same name)."""
    name = "hub-" + trigger.replace("_", "-")
    if not EVENT_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid Mailchimp event name")
    return name


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, Mapping):  # an item: "2 x Enamel Mug"
        title = str(value.get("title") or value.get("sku") or "")
        quantity = value.get("quantity")
        return f"{quantity} x {title}" if quantity not in (None, 1) else title
    return str(value)


def event_properties(message: OutboundMessage) -> dict[str, str]:
    """The event's properties, all strings as Mailchimp requires; names as the hub's templates use them."""
    wanted = ("items", "suggestions", "total", "recovery_url", "review_url", "subject_id")
    properties = {
        name: _text(message.properties[name])
        for name in wanted
        if message.properties.get(name) not in (None, "", [], ())
    }
    return {**properties, "message_key": message.message_key}


def _no_blind_retry() -> HubRetry:
    """Retries only what Mailchimp refused before acting (429), never a timeout or a 5xx."""
    return HubRetry(
        total=4,
        allowed_methods=["POST"],
        status_forcelist=[429],
        retry_on_exceptions=(),
        backoff_factor=0.5,
        respect_retry_after_header=True,
        max_backoff_wait=20.0,
        backoff_jitter=1.0,
        total_timeout=20.0,
    )


def default_api_url(api_key: str) -> str:
    _, _, dc = api_key.rpartition("-")
    if not dc.isalnum():
        raise OutboundError(
            "MAILCHIMP_API_KEY does not end in -<data centre> (e.g. -us21); set marketing.mailchimp.api_url"
        )
    return f"https://{dc}.api.mailchimp.com"


class MailchimpClient:
    channel = "mailchimp"
    system = "mailchimp"

    def __init__(
        self,
        api_key: str,
        list_id: str,
        *,
        api_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._list = list_id
        base = api_url or default_api_url(api_key)
        auth = httpx.BasicAuth("hub", api_key)
        self._client = outbound_client(base, auth=auth, transport=transport)
        self._events = outbound_client(base, auth=auth, transport=transport, retry=_no_blind_retry())

    def send(self, message: OutboundMessage) -> str | None:
        """Upsert the member and record the trigger's event; returns its Mailchimp contact id."""
        member = f"/3.0/lists/{self._list}/members/{subscriber_hash(message.email)}"
        merge = {k: v for k, v in (("FNAME", message.first_name), ("LNAME", message.last_name)) if v}
        body = {"email_address": message.email, "status_if_new": "subscribed", "merge_fields": merge}
        upserted = _check(self._client.put(member, json=body), "Mailchimp member upsert")
        self._record_event(member, message)
        try:
            contact_id = upserted.json().get("contact_id")
        except (ValueError, AttributeError):
            return None
        return str(contact_id) if contact_id else None

    def _record_event(self, member: str, message: OutboundMessage) -> None:
        event: dict[str, Any] = {"name": trigger_event(message.trigger), "properties": event_properties(message)}
        if message.time is not None:
            event["occurred_at"] = message.time.isoformat().replace("+00:00", "Z")
        failure: OutboundError | None = None
        for _attempt in range(_EVENT_ATTEMPTS):
            if self._recorded(member, message.message_key):
                return
            try:
                response = self._events.post(f"{member}/events", json=event)
            except httpx.HTTPError as exc:  # the answer is lost: it may have been recorded
                failure = OutboundError(f"Mailchimp member event did not answer ({type(exc).__name__})")
                continue
            if response.is_success:
                return
            failure = outbound_error(response, "Mailchimp member event")
            if response.status_code not in RETRY_STATUSES:
                raise failure
        raise failure or OutboundError("Mailchimp member event failed")

    def _recorded(self, member: str, message_key: str) -> bool:
        """Whether the member already has this message's event (an earlier attempt got through)."""
        params: dict[str, str | int] = {"count": _EVENTS_LISTED, "fields": "events.name,events.properties"}
        listed = _check(self._client.get(f"{member}/events", params=params), "Mailchimp member events")
        try:
            events = listed.json().get("events") or []
        except (ValueError, AttributeError):
            return False
        return any(
            isinstance(e, dict)
            and isinstance(e.get("properties"), dict)
            and e["properties"].get("message_key") == message_key
            for e in events
        )

    def delete_contact(self, contact_id: str) -> bool:
        path = f"/3.0/lists/{self._list}/members/{quote(contact_id, safe='')}/actions/delete-permanent"
        response = self._client.post(path)
        if response.status_code == 404:
            return False
        _check(response, "Mailchimp permanent delete")
        return True


def _check(response: httpx.Response, what: str) -> httpx.Response:
    """Mailchimp's error details often repeat the email: only its title and request id go into the error."""
    if not response.is_success:
        raise outbound_error(response, what)
    return response
