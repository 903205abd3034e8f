"""A marketing message's once-only marker (`MKTMSG#<message key>` / `MESSAGE`), the customer's
frequency cap (`MKTCUST#<erasure key>` / `CAP`) and history (`MKTCUST#<erasure key>` /
`SENT#<time>#<message key>`).

The history is written with the marker's last change (`finish`), in one transaction: no request
is added to a send, and a message is in its customer's history exactly when its marker says it is
done. Under the customer's key, it goes with everything else marketing keeps for them when they
are erased (`forget_customer`), and expires with the marker otherwise."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from hub.adapters.keys import MKTCUST, MKTMSG
from hub.adapters.table import Table, expires_at, key, typed
from hub.domain.marketing import Claim, SentMessage
from hub.domain.marketing_rules import admit
from hub.errors import StoreError

__all__ = ["MESSAGE_DAYS", "MessageMarkers", "sent_key"]

MESSAGE_DAYS = 400  # markers, frequency windows and the history of what was sent
_STATE = {"#state": "state"}
_SENT = "SENT#"


def sent_key(record: SentMessage) -> str:
    """The history's sort key: the time (UTC, microseconds, so keys sort as times do), then the message."""
    return f"{_SENT}{record.at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{record.message_key}"


def _sent_item(record: SentMessage) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": MKTCUST(record.customer),
        "sk": sent_key(record),
        "kind": "marketing_sent",
        "message_key": record.message_key,
        "trigger": record.trigger,
        "subject_kind": record.subject_kind,
        "subject_id": record.subject_id,
        "basis": record.basis,
        "channel": record.channel,
        "outcome": record.outcome,
        "sent_at": record.at.isoformat(),
        "channels": list(record.channels),
        "expires_at": expires_at(MESSAGE_DAYS),
    }
    if record.sku:
        item["sku"] = record.sku
    return item


def _sent_message(customer: str, item: dict[str, Any]) -> SentMessage:
    return SentMessage(
        customer=customer,
        message_key=item["message_key"],
        trigger=item["trigger"],
        subject_kind=item["subject_kind"],
        subject_id=item["subject_id"],
        basis=item["basis"],
        channel=item["channel"],
        outcome="capped" if item["outcome"] == "capped" else "sent",
        at=datetime.fromisoformat(item["sent_at"]),
        channels=tuple(item.get("channels") or ()),
        sku=item.get("sku"),
    )


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

    def finish(
        self, message_key: str, status: Literal["sent", "capped"], at: datetime, record: SentMessage | None = None
    ) -> None:
        expression, values = "SET #state = :status, sent_at = :at", {":status": status, ":at": at.isoformat()}
        if record is None:
            self._table.update(
                MKTMSG(message_key), "MESSAGE", expression, values, what="finish a marketing message", names=_STATE
            )
            return
        update = {
            "TableName": self._table.name,
            "Key": key(MKTMSG(message_key), "MESSAGE"),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": _STATE,
            "ExpressionAttributeValues": typed(values),
        }
        put = {"TableName": self._table.name, "Item": typed(_sent_item(record))}
        reasons = self._table.transact([{"Update": update}, {"Put": put}], what="finish a marketing message")
        if reasons is not None:
            raise StoreError(
                f"could not finish a marketing message: the transaction was cancelled ({', '.join(reasons)})"
            )

    def sent_messages(self, customer: str, limit: int) -> list[SentMessage]:
        items = self._table.query(
            MKTCUST(customer), _SENT, newest_first=True, limit=limit, what="read the messages sent to a customer"
        )
        return [_sent_message(customer, item) for item in items]

    def mark_published(self, message_key: str) -> None:
        self._set(message_key, "published = :yes", {":yes": True})

    def _set(self, message_key: str, expression: str, values: dict[str, Any]) -> None:
        self._table.update(
            MKTMSG(message_key), "MESSAGE", f"SET {expression}", values, what="update a marketing message"
        )
