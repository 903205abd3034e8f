"""Mailchimp: the customer as a member of the configured audience, tagged with the trigger.

`PUT /3.0/lists/{list_id}/members/{subscriber_hash}` (subscriber_hash = MD5 of the lower-cased
email) creates or updates the member; `POST .../members/{subscriber_hash}/tags` adds the trigger's
tag (`hub-post-purchase`, ...), on which a Mailchimp Customer Journey starts. Both calls are safe to
repeat. Auth is HTTP Basic with any user name and the API key; the key's suffix is the data centre.
"""

from __future__ import annotations

import hashlib

import httpx

from hub.adapters.http import OutboundError, outbound_client, outbound_error
from hub.marketing.ports import OutboundMessage

__all__ = ["MailchimpClient", "subscriber_hash", "trigger_tag"]


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()


def trigger_tag(trigger: str) -> str:
    return "hub-" + trigger.replace("_", "-")


def default_api_url(api_key: str) -> str:
    _, _, dc = api_key.rpartition("-")
    if not dc.isalnum():
        raise OutboundError(
            "MAILCHIMP_API_KEY does not end in -<data centre> (e.g. -us21); set marketing.mailchimp.api_url"
        )
    return f"https://{dc}.api.mailchimp.com"


class MailchimpClient:
    channel = "mailchimp"

    def __init__(
        self,
        api_key: str,
        list_id: str,
        *,
        api_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._list = list_id
        self._client = outbound_client(
            api_url or default_api_url(api_key), auth=httpx.BasicAuth("hub", api_key), transport=transport
        )

    def send(self, message: OutboundMessage) -> None:
        member = f"/3.0/lists/{self._list}/members/{subscriber_hash(message.email)}"
        merge = {k: v for k, v in (("FNAME", message.first_name), ("LNAME", message.last_name)) if v}
        body = {"email_address": message.email, "status_if_new": "subscribed", "merge_fields": merge}
        _check(self._client.put(member, json=body), "Mailchimp member upsert")
        tags = {"tags": [{"name": trigger_tag(message.trigger), "status": "active"}]}
        _check(self._client.post(f"{member}/tags", json=tags), "Mailchimp member tags")


def _check(response: httpx.Response, what: str) -> None:
    """Mailchimp's error details often repeat the email: only its title and request id go into the error."""
    if not response.is_success:
        raise outbound_error(response, what)
