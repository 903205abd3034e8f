"""Mailchimp: the customer as a member of the configured audience, tagged with the trigger.

`PUT /3.0/lists/{list_id}/members/{subscriber_hash}` (subscriber_hash = MD5 of the lower-cased
email) creates or updates the member; `POST .../members/{subscriber_hash}/tags` adds the trigger's
tag (`hub-post-purchase`, ...), on which a Mailchimp Customer Journey starts. Both calls are safe to
repeat. Auth is HTTP Basic with any user name and the API key; the key's suffix is the data centre.

The member's `contact_id` (in the upsert's answer) is returned for the hub to record under the
customer's erasure key: Mailchimp accepts it in place of the subscriber hash, so erasure can
delete the member without the email, `POST /3.0/lists/{list_id}/members/{contact_id}/actions/
delete-permanent` (204; 404 means already gone). A permanently deleted address cannot be
re-imported into the audience, only re-subscribe by itself.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote

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
        self._client = outbound_client(
            api_url or default_api_url(api_key), auth=httpx.BasicAuth("hub", api_key), transport=transport
        )

    def send(self, message: OutboundMessage) -> str | None:
        """Upsert and tag the member; returns its Mailchimp contact id (None if the answer has none)."""
        member = f"/3.0/lists/{self._list}/members/{subscriber_hash(message.email)}"
        merge = {k: v for k, v in (("FNAME", message.first_name), ("LNAME", message.last_name)) if v}
        body = {"email_address": message.email, "status_if_new": "subscribed", "merge_fields": merge}
        upserted = _check(self._client.put(member, json=body), "Mailchimp member upsert")
        tags = {"tags": [{"name": trigger_tag(message.trigger), "status": "active"}]}
        _check(self._client.post(f"{member}/tags", json=tags), "Mailchimp member tags")
        try:
            contact_id = upserted.json().get("contact_id")
        except (ValueError, AttributeError):
            return None
        return str(contact_id) if contact_id else None

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
