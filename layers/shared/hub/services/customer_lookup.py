"""A customer as the admin API (`GET /customers/{email}`) and the console's customer page show them:
the profile crm_upsert derives (orders, consent) and the marketing messages sent to them, newest
first, from the history marketing keeps under the profile's erasure key.

An erased customer has no profile, so nothing is found, whatever marketing has not removed yet."""

from __future__ import annotations

from dataclasses import dataclass

from hub.domain.customers import CustomerProfile
from hub.domain.marketing import SentMessage
from hub.ports import MessageHistory, ProfileStore

__all__ = ["MESSAGES_SHOWN", "CustomerLookup", "CustomerRecord"]

MESSAGES_SHOWN = 50


@dataclass(frozen=True)
class CustomerRecord:
    profile: CustomerProfile
    messages: tuple[SentMessage, ...]  # newest first, at most MESSAGES_SHOWN


class CustomerLookup:
    def __init__(self, profiles: ProfileStore, messages: MessageHistory, limit: int = MESSAGES_SHOWN) -> None:
        self._profiles = profiles
        self._messages = messages
        self._limit = limit

    def find(self, email: str) -> CustomerRecord | None:
        """The customer with that email (any case, spaces around), or None: one read of the profile
        and one Query of their history."""
        profile = self._profiles.get(email)
        if profile is None:
            return None
        return CustomerRecord(profile, tuple(self._messages.sent_messages(profile.erasure_key, self._limit)))
