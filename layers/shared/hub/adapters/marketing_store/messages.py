"""A marketing message's once-only marker (`MKTMSG#<message key>` / `MESSAGE`) and the customer's
frequency cap (`MKTCUST#<erasure key>` / `CAP`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from hub.adapters.keys import MKTCUST, MKTMSG
from hub.adapters.table import Table, expires_at
from hub.domain.marketing import Claim
from hub.domain.marketing_rules import admit
from hub.errors import StoreError

__all__ = ["MESSAGE_DAYS", "MessageMarkers"]

MESSAGE_DAYS = 400
_STATE = {"#state": "state"}


class MessageMarkers:
    _table: Table

    def message_sent(self, message_key: str) -> bool:
        item = self._table.get(MKTMSG(message_key), "MESSAGE", what="read a marketing item")
        return item is not None and item.get("state") in ("sent", "capped")

    def claim(self, message_key: str, customer: str, now: datetime, lease_seconds: int) -> Claim:
        pk, now_s = MKTMSG(message_key), int(now.timestamp())
        claimed = self._table.update(
            pk,
            "MESSAGE",
            "SET kind = :kind, #state = :sending, lease_until = :until, customer = :customer, "
            "claimed_at = if_not_exists(claimed_at, :now_iso), expires_at = :ttl",
            {
                ":kind": "marketing_message",
                ":sending": "sending",
                ":until": now_s + lease_seconds,
                ":now": now_s,
                ":now_iso": now.isoformat(),
                ":customer": customer,
                ":ttl": expires_at(MESSAGE_DAYS),
            },
            what="claim a marketing message",
            # New, or left by an attempt that died holding it (its lease ran out).
            condition="attribute_not_exists(pk) OR (#state = :sending AND lease_until < :now)",
            names=_STATE,
            returns="ALL_NEW",
        )
        if claimed is not None:
            return Claim(
                "claimed", frozenset(claimed.get("channels_done") or ()), admitted=bool(claimed.get("admitted"))
            )
        item = self._table.get(pk, "MESSAGE", what="read a marketing item") or {}
        state = item.get("state")
        if state == "sent":
            return Claim(
                "sent",
                frozenset(item.get("channels_done") or ()),
                published=bool(item.get("published")),
                sent_at=datetime.fromisoformat(item["sent_at"]) if item.get("sent_at") else None,
            )
        return Claim("capped") if state == "capped" else Claim("busy")

    def admit(self, customer: str, message_key: str, now: datetime, max_messages: int, per_days: int) -> bool:
        pk = MKTCUST(customer)
        for _attempt in range(10):
            item = self._table.get(pk, "CAP", what="read a marketing item")
            version = int(item["version"]) if item else 0
            sent = json.loads(item["sent"]) if item else {}
            allowed, kept = admit(sent, message_key, int(now.timestamp()), max_messages, per_days)
            if not allowed:
                return False
            if kept == sent:
                return True  # counted by an earlier attempt of this message
            written = self._table.update(
                pk,
                "CAP",
                "SET kind = :kind, sent = :sent, version = :next, expires_at = :ttl",
                {
                    ":kind": "marketing_cap",
                    ":sent": json.dumps(kept, sort_keys=True),
                    ":next": version + 1,
                    ":version": version,
                    ":ttl": expires_at(MESSAGE_DAYS),
                },
                what="count a message against the frequency cap",
                condition="attribute_not_exists(version) OR version = :version",
            )
            if written is not None:
                return True
        raise StoreError("the frequency cap kept changing under concurrent messages; retried later")

    def mark_admitted(self, message_key: str) -> None:
        self._set(message_key, "admitted = :yes", {":yes": True})

    def channel_done(self, message_key: str, channel: str) -> None:
        self._table.update(
            MKTMSG(message_key),
            "MESSAGE",
            "ADD channels_done :channel",
            {":channel": {channel}},
            what="record a channel's send",
        )

    def release(self, message_key: str) -> None:
        self._table.update(
            MKTMSG(message_key),
            "MESSAGE",
            "SET lease_until = :zero",
            {":zero": 0, ":sending": "sending"},
            what="release a marketing message",
            condition="#state = :sending",
            names=_STATE,
        )

    def finish(self, message_key: str, status: Literal["sent", "capped"], at: datetime) -> None:
        self._table.update(
            MKTMSG(message_key),
            "MESSAGE",
            "SET #state = :status, sent_at = :at",
            {":status": status, ":at": at.isoformat()},
            what="finish a marketing message",
            names=_STATE,
        )

    def mark_published(self, message_key: str) -> None:
        self._set(message_key, "published = :yes", {":yes": True})

    def _set(self, message_key: str, expression: str, values: dict[str, Any]) -> None:
        self._table.update(
            MKTMSG(message_key), "MESSAGE", f"SET {expression}", values, what="update a marketing message"
        )
