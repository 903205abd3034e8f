"""Marketing's state on the hub's single table (`hub.ports.MarketingStore`).

| pk | sk | what |
|---|---|---|
| `MKTMSG#<message key>` | `MESSAGE` | the once-only marker: state (sending, sent, capped), lease, channels done, cap admitted, published |
| `MKTCUST#<erasure key>` | `LASTORDER` | the customer's newest order (win-back, checkouts converted by email and time) |
| `MKTCUST#<erasure key>` | `CAP` | the frequency window: message key -> time sent, with a version |
| `MKTCUST#<erasure key>` | `SCHEDULE#<name>` | a pending schedule, so an erasure finds it |
| `MKTCUST#<erasure key>` | `CHECKOUT#<checkout id>` | a checkout of the customer and its start |
| `MKTCHECKOUT#<checkout id>` | `CHECKOUT` | the checkout: email (personal data), lines, recovery URL, who converted it |
| `MKTORDER#<order id>` | `COPURCHASE` | the order's co-purchases are counted (the once-only guard) |
| `MKTPAIR#<sku>` | `WITH#<other sku>` | how many orders had both |
| `MKTSKU#<sku>` | `TITLE` | the product title last seen on an order |
| `MKTSTOCK#<sku>` | `WAIT#<order id>` | a customer whose order ran short of the SKU |
| `MKTOPTOUT#<erasure key>` | `OPTOUT` | the customer unsubscribed |

A decision reads in one BatchGetItem (`look`: the customer's erasure mark, `PRIVACY#customer:<key>`
/ `ERASED`, kept by hub.adapters.customers, beside marketing's own items) and a placement writes in
one transaction (`record_placement`), conditional on what it read.

Customers are named by their salted erasure key; the only email kept is a checkout's (a reminder
needs it), removed with everything else under the customer when they are erased. The opt-out
survives an erasure: honouring it needs no personal data. Items that only matter for a while
carry `expires_at` (the table's TTL).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from hub.adapters.customers import erasure_mark_key, erasure_mark_time
from hub.adapters.order_codec import plain, typed
from hub.domain.customers import erasure_key
from hub.domain.marketing import CheckoutState, Claim, LastOrder, Look, Waiter
from hub.domain.marketing_rules import admit
from hub.errors import MarketingConflictError, StoreError

__all__ = ["DynamoMarketingStore", "SaltedCustomerKeys"]

_DAY = 86400
_MESSAGE_DAYS = 400
_CHECKOUT_DAYS = 60
_WAIT_DAYS = 120
_TRANSACTION_ITEMS = 100
_BATCH_GET = 100
_BATCH_WRITE = 25


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _micros(value: datetime) -> int:
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


def _from_micros(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value) / 1_000_000, UTC)


def _expires(days: int) -> int:
    return int(time.time()) + days * _DAY


def _failed_condition(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class DynamoMarketingStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # ------------------------------------------------------------------ primitives
    def _call(self, what: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self._client, operation)(TableName=self._table, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not {what}: {exc}") from exc

    def _update(self, what: str, pk: str, sk: str, expression: str, values: Mapping[str, Any], **kwargs: Any) -> bool:
        """An UpdateItem; False when its condition failed."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(pk, sk),
                UpdateExpression=expression,
                ExpressionAttributeValues=typed(values),
                **kwargs,
            )
        except ClientError as exc:
            if "ConditionExpression" in kwargs and _failed_condition(exc):
                return False
            raise StoreError(f"could not {what}: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not {what}: {exc}") from exc
        return True

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self._call("read a marketing item", "get_item", Key=_key(pk, sk), ConsistentRead=True).get("Item")
        return plain(item) if item else None

    def _query(self, pk: str, prefix: str = "") -> list[dict[str, Any]]:
        condition = "pk = :pk" + (" AND begins_with(sk, :prefix)" if prefix else "")
        values = {":pk": pk, **({":prefix": prefix} if prefix else {})}
        try:
            pages = self._client.get_paginator("query").paginate(
                TableName=self._table,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=typed(values),
                ConsistentRead=True,
            )
            return [plain(item) for page in pages for item in page["Items"]]
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not read marketing items: {exc}") from exc

    def _delete(self, pk: str, sk: str) -> None:
        self._call("delete a marketing item", "delete_item", Key=_key(pk, sk))

    # ------------------------------------------------------------------ one read, one write
    def look(self, customer: str, message_keys: Sequence[str], order_id: str | None = None) -> Look:
        """One BatchGetItem (consistent): the erasure mark `PRIVACY#customer:<key>` / `ERASED`, each
        message's marker, and with an order id `MKTCUST#<key>` / `LASTORDER` and the order's
        `MKTORDER#<id>` / `COPURCHASE` guard."""
        mark = erasure_mark_key(f"customer:{customer}")
        keys = [mark, *(_key(f"MKTMSG#{k}", "MESSAGE") for k in dict.fromkeys(message_keys))]
        if order_id is not None:
            keys += [_key(f"MKTCUST#{customer}", "LASTORDER"), _key(f"MKTORDER#{order_id}", "COPURCHASE")]
        found = self._batch_get(keys)
        erased = found.get((mark["pk"]["S"], "ERASED"))
        last = found.get((f"MKTCUST#{customer}", "LASTORDER"))
        return Look(
            erased_before=erasure_mark_time(erased) if erased else None,
            sent=frozenset(
                k for k in message_keys if found.get((f"MKTMSG#{k}", "MESSAGE"), {}).get("state") in ("sent", "capped")
            ),
            last_order=LastOrder(last["order_id"], _from_micros(last["placed_at_us"])) if last else None,
            counted=order_id is not None and (f"MKTORDER#{order_id}", "COPURCHASE") in found,
        )

    def _batch_get(self, keys: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
        """Items by (pk, sk), read consistently, 100 keys a request, unprocessed keys asked again."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for start in range(0, len(keys), _BATCH_GET):
            request: dict[str, Any] = {self._table: {"Keys": keys[start : start + _BATCH_GET], "ConsistentRead": True}}
            for attempt in range(8):
                try:
                    response = self._client.batch_get_item(RequestItems=request)
                except (ClientError, BotoCoreError) as exc:
                    raise StoreError(f"could not read marketing items: {exc}") from exc
                for item in response.get("Responses", {}).get(self._table, []):
                    values = plain(item)
                    found[(values["pk"], values["sk"])] = values
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(0.05 * 2**attempt)
            else:
                raise StoreError("DynamoDB kept refusing to read marketing items")
        return found

    def record_placement(
        self,
        order_id: str,
        pairs: Sequence[tuple[str, str]],
        titles: Mapping[str, str],
        *,
        count: bool,
        customer: str | None = None,
        seen: LastOrder | None = None,
        newest: LastOrder | None = None,
        schedules: Sequence[tuple[str, datetime]] = (),
    ) -> None:
        """One transaction: the co-purchase guard and counts (as count_order), the customer's
        `LASTORDER` on condition it is still what the look found, and each schedule remembered."""
        items: list[dict[str, Any]] = []
        if newest is not None and customer:
            items.append({"Update": self._newest_order(customer, seen, newest)})
        items += [{"Put": self._schedule_item(customer, name, at)} for name, at in schedules if customer]
        if count and (pairs or titles):
            items += self._copurchase_items(order_id, pairs, titles, room=_TRANSACTION_ITEMS - len(items))
        if not items:
            return
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
                if not reasons or "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                    raise MarketingConflictError(
                        f"{order_id}: the customer's newest order or its counts moved"
                    ) from exc
            raise StoreError(f"could not record a placement: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not record a placement: {exc}") from exc

    def _newest_order(self, customer: str, seen: LastOrder | None, newest: LastOrder) -> dict[str, Any]:
        values: dict[str, Any] = {
            ":id": newest.order_id,
            ":us": _micros(newest.placed_at),
            ":iso": newest.placed_at.isoformat(),
            ":kind": "marketing_last_order",
        }
        if seen is None:
            condition = "attribute_not_exists(pk)"
        else:
            condition = "order_id = :seen_id AND placed_at_us = :seen_us"
            values.update({":seen_id": seen.order_id, ":seen_us": _micros(seen.placed_at)})
        return {
            "TableName": self._table,
            "Key": _key(f"MKTCUST#{customer}", "LASTORDER"),
            "UpdateExpression": "SET kind = :kind, order_id = :id, placed_at_us = :us, placed_at = :iso",
            "ConditionExpression": condition,
            "ExpressionAttributeValues": typed(values),
        }

    # ------------------------------------------------------------------ customers
    def note_order(self, customer: str, order_id: str, placed_at: datetime) -> tuple[bool, str | None]:
        values = {
            ":id": order_id,
            ":us": _micros(placed_at),
            ":iso": placed_at.isoformat(),
            ":kind": "marketing_last_order",
        }
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=_key(f"MKTCUST#{customer}", "LASTORDER"),
                UpdateExpression="SET kind = :kind, order_id = :id, placed_at_us = :us, placed_at = :iso",
                # A later order wins; at the same instant the larger id, so every writer agrees.
                ConditionExpression=(
                    "attribute_not_exists(pk) OR placed_at_us < :us OR (placed_at_us = :us AND order_id <= :id)"
                ),
                ExpressionAttributeValues=typed(values),
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if _failed_condition(exc):
                return False, None
            raise StoreError(f"could not note a customer's order: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not note a customer's order: {exc}") from exc
        old = plain(response.get("Attributes") or {})
        previous = old.get("order_id")
        return True, previous if previous and previous != order_id else None

    def last_order(self, customer: str) -> LastOrder | None:
        item = self._get(f"MKTCUST#{customer}", "LASTORDER")
        return LastOrder(item["order_id"], _from_micros(item["placed_at_us"])) if item else None

    def opted_out(self, customer: str) -> bool:
        return self._get(f"MKTOPTOUT#{customer}", "OPTOUT") is not None

    def opt_out(self, customer: str, at: datetime) -> None:
        self._update(
            "record an unsubscribe",
            f"MKTOPTOUT#{customer}",
            "OPTOUT",
            "SET kind = :kind, opted_out_at = if_not_exists(opted_out_at, :at)",
            {":kind": "marketing_opt_out", ":at": at.isoformat()},
        )

    def remember_schedule(self, customer: str, name: str, due_at: datetime) -> None:
        self._call("remember a schedule", "put_item", Item=self._schedule_item(customer, name, due_at)["Item"])

    def _schedule_item(self, customer: str, name: str, due_at: datetime) -> dict[str, Any]:
        item = {
            "pk": f"MKTCUST#{customer}",
            "sk": f"SCHEDULE#{name}",
            "kind": "marketing_schedule",
            "due_at": due_at.isoformat(),
            "expires_at": int(due_at.timestamp()) + 30 * _DAY,
        }
        return {"TableName": self._table, "Item": typed(item)}

    def forget_schedule(self, customer: str, name: str) -> None:
        self._delete(f"MKTCUST#{customer}", f"SCHEDULE#{name}")

    def customer_schedules(self, customer: str) -> list[str]:
        return [i["sk"].removeprefix("SCHEDULE#") for i in self._query(f"MKTCUST#{customer}", "SCHEDULE#")]

    def forget_customer(self, customer: str) -> int:
        items = self._query(f"MKTCUST#{customer}")
        keys = [(i["pk"], i["sk"]) for i in items]
        keys += [
            (f"MKTCHECKOUT#{i['sk'].removeprefix('CHECKOUT#')}", "CHECKOUT")
            for i in items
            if i["sk"].startswith("CHECKOUT#")
        ]
        self._delete_keys(keys)
        return len(keys)

    def _delete_keys(self, keys: list[tuple[str, str]]) -> None:
        for start in range(0, len(keys), _BATCH_WRITE):
            pending: dict[str, Any] = {
                self._table: [{"DeleteRequest": {"Key": _key(pk, sk)}} for pk, sk in keys[start : start + _BATCH_WRITE]]
            }
            for attempt in range(8):
                try:
                    pending = self._client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                except (ClientError, BotoCoreError) as exc:
                    raise StoreError(f"could not delete marketing items: {exc}") from exc
                if not pending:
                    break
                time.sleep(0.05 * 2**attempt)
            if pending:
                raise StoreError("DynamoDB kept refusing to delete marketing items")

    # ------------------------------------------------------------------ checkouts
    def save_checkout(self, state: CheckoutState, at: datetime) -> CheckoutState:
        pk, us = f"MKTCHECKOUT#{state.checkout_id}", _micros(at)
        values = {
            ":kind": "marketing_checkout",
            ":channel": state.channel,
            ":us": us,
            ":lines": json.dumps([list(line) for line in state.lines]),
            ":ttl": _expires(_CHECKOUT_DAYS),
        }
        optional = {
            "email": state.email,
            "customer": state.customer,
            "recovery_url": state.recovery_url,
            "currency": state.currency,
            "total": state.total,
        }
        # `lines` and `total` are DynamoDB reserved words: every name goes through a placeholder.
        names = {"#lines": "lines"}
        sets = ["kind = :kind", "channel = :channel", "updated_at_us = :us", "#lines = :lines", "expires_at = :ttl"]
        sets.append("started_at_us = if_not_exists(started_at_us, :us)")
        removes = []
        for name, value in optional.items():
            names[f"#{name}"] = name
            if value is None:
                removes.append(f"#{name}")
            else:
                sets.append(f"#{name} = :{name}")
                values[f":{name}"] = value
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        newer = self._update(
            "keep a checkout",
            pk,
            "CHECKOUT",
            expression,
            values,
            ConditionExpression="attribute_not_exists(updated_at_us) OR updated_at_us <= :us",
            ExpressionAttributeNames=names,
        )
        if not newer:  # an older statement: it can only move the start earlier
            self._update(
                "keep a checkout's start",
                pk,
                "CHECKOUT",
                "SET started_at_us = :us",
                {":us": us},
                ConditionExpression="started_at_us > :us",
            )
        stored = self.checkout(state.checkout_id)
        if stored is None:
            raise StoreError("a checkout could not be read back")
        if stored.customer:
            self._call(
                "index a customer's checkout",
                "put_item",
                Item=typed(
                    {
                        "pk": f"MKTCUST#{stored.customer}",
                        "sk": f"CHECKOUT#{stored.checkout_id}",
                        "kind": "marketing_customer_checkout",
                        "started_at_us": _micros(stored.started_at),
                        "expires_at": _expires(_CHECKOUT_DAYS),
                    }
                ),
            )
        return stored

    def checkout(self, checkout_id: str) -> CheckoutState | None:
        item = self._get(f"MKTCHECKOUT#{checkout_id}", "CHECKOUT")
        if not item or "started_at_us" not in item:
            return None
        return CheckoutState(
            checkout_id=checkout_id,
            channel=item.get("channel", ""),
            started_at=_from_micros(item["started_at_us"]),
            email=item.get("email"),
            customer=item.get("customer"),
            recovery_url=item.get("recovery_url"),
            currency=item.get("currency"),
            total=int(item["total"]) if item.get("total") is not None else None,
            lines=tuple((str(s), t, int(q)) for s, t, q in json.loads(item.get("lines") or "[]")),
            converted_by=item.get("converted_by"),
        )

    def convert_checkout(self, checkout_id: str, by: str, customer: str | None = None) -> None:
        self._update(
            "mark a checkout converted",
            f"MKTCHECKOUT#{checkout_id}",
            "CHECKOUT",
            "SET kind = :kind, converted_by = if_not_exists(converted_by, :by), expires_at = :ttl",
            {":kind": "marketing_checkout", ":by": by, ":ttl": _expires(_CHECKOUT_DAYS)},
        )
        if customer:
            self._delete(f"MKTCUST#{customer}", f"CHECKOUT#{checkout_id}")

    def open_checkouts(self, customer: str) -> list[tuple[str, datetime]]:
        return [
            (i["sk"].removeprefix("CHECKOUT#"), _from_micros(i["started_at_us"]))
            for i in self._query(f"MKTCUST#{customer}", "CHECKOUT#")
        ]

    # ------------------------------------------------------------------ co-purchases
    def count_order(self, order_id: str, pairs: Sequence[tuple[str, str]], titles: Mapping[str, str]) -> bool:
        if not pairs and not titles:
            return False
        items = self._copurchase_items(order_id, pairs, titles, room=_TRANSACTION_ITEMS)
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "TransactionCanceledException" and self._get(f"MKTORDER#{order_id}", "COPURCHASE"):
                return False
            raise StoreError(f"could not count the co-purchases of an order: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not count the co-purchases of an order: {exc}") from exc
        return True

    def _copurchase_items(
        self, order_id: str, pairs: Sequence[tuple[str, str]], titles: Mapping[str, str], room: int
    ) -> list[dict[str, Any]]:
        """The guard (written once per order), each pair's count and as many titles as `room` holds."""
        guard = {
            "Put": {
                "TableName": self._table,
                "Item": typed({"pk": f"MKTORDER#{order_id}", "sk": "COPURCHASE", "kind": "marketing_copurchase"}),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        updates = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": _key(f"MKTPAIR#{a}", f"WITH#{b}"),
                    "UpdateExpression": "SET kind = :kind ADD orders :one",
                    "ExpressionAttributeValues": typed({":kind": "marketing_pair", ":one": 1}),
                }
            }
            for a, b in pairs
        ]
        left = room - 1 - len(updates)
        updates += [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": _key(f"MKTSKU#{sku}", "TITLE"),
                    "UpdateExpression": "SET kind = :kind, title = :title",
                    "ExpressionAttributeValues": typed({":kind": "marketing_title", ":title": title}),
                }
            }
            for sku, title in sorted(titles.items())[: max(left, 0)]
        ]
        return [guard, *updates]

    def bought_with(self, skus: Sequence[str]) -> dict[str, dict[str, int]]:
        return {
            sku: {
                i["sk"].removeprefix("WITH#"): int(i.get("orders", 0)) for i in self._query(f"MKTPAIR#{sku}", "WITH#")
            }
            for sku in dict.fromkeys(skus)
        }

    def titles(self, skus: Sequence[str]) -> dict[str, str]:
        found = self._batch_get([_key(f"MKTSKU#{sku}", "TITLE") for sku in dict.fromkeys(skus)])
        return {pk.removeprefix("MKTSKU#"): item["title"] for (pk, _sk), item in found.items()}

    # ------------------------------------------------------------------ back in stock
    def add_waiter(self, waiter: Waiter) -> None:
        self._call(
            "keep a back-in-stock request",
            "put_item",
            Item=typed(
                {
                    "pk": f"MKTSTOCK#{waiter.sku}",
                    "sk": f"WAIT#{waiter.order_id}",
                    "kind": "marketing_waiter",
                    "order_id": waiter.order_id,
                    "channel": waiter.channel,
                    "customer": waiter.customer,
                    "expires_at": _expires(_WAIT_DAYS),
                }
            ),
        )

    def waiters(self, sku: str) -> list[Waiter]:
        return [
            Waiter(sku, i["order_id"], i.get("channel", ""), i.get("customer"))
            for i in self._query(f"MKTSTOCK#{sku}", "WAIT#")
        ]

    def remove_waiter(self, sku: str, order_id: str) -> None:
        self._delete(f"MKTSTOCK#{sku}", f"WAIT#{order_id}")

    # ------------------------------------------------------------------ once-only
    def message_sent(self, message_key: str) -> bool:
        item = self._get(f"MKTMSG#{message_key}", "MESSAGE")
        return bool(item) and item.get("state") in ("sent", "capped")

    def claim(self, message_key: str, customer: str, now: datetime, lease_seconds: int) -> Claim:
        pk, now_s = f"MKTMSG#{message_key}", int(now.timestamp())
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=_key(pk, "MESSAGE"),
                UpdateExpression=(
                    "SET kind = :kind, #state = :sending, lease_until = :until, customer = :customer, "
                    "claimed_at = if_not_exists(claimed_at, :now_iso), expires_at = :ttl"
                ),
                # New, or left by an attempt that died holding it (its lease ran out).
                ConditionExpression="attribute_not_exists(pk) OR (#state = :sending AND lease_until < :now)",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=typed(
                    {
                        ":kind": "marketing_message",
                        ":sending": "sending",
                        ":until": now_s + lease_seconds,
                        ":now": now_s,
                        ":now_iso": now.isoformat(),
                        ":customer": customer,
                        ":ttl": _expires(_MESSAGE_DAYS),
                    }
                ),
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if not _failed_condition(exc):
                raise StoreError(f"could not claim a marketing message: {exc}") from exc
            item = self._get(pk, "MESSAGE") or {}
            state = item.get("state")
            if state == "sent":
                return Claim(
                    "sent",
                    frozenset(item.get("channels_done") or ()),
                    published=bool(item.get("published")),
                    sent_at=datetime.fromisoformat(item["sent_at"]) if item.get("sent_at") else None,
                )
            return Claim("capped") if state == "capped" else Claim("busy")
        except BotoCoreError as exc:
            raise StoreError(f"could not claim a marketing message: {exc}") from exc
        item = plain(response.get("Attributes") or {})
        return Claim("claimed", frozenset(item.get("channels_done") or ()), admitted=bool(item.get("admitted")))

    def admit(self, customer: str, message_key: str, now: datetime, max_messages: int, per_days: int) -> bool:
        pk = f"MKTCUST#{customer}"
        for _attempt in range(10):
            item = self._get(pk, "CAP")
            version = int(item["version"]) if item else 0
            sent = json.loads(item["sent"]) if item else {}
            allowed, kept = admit(sent, message_key, int(now.timestamp()), max_messages, per_days)
            if not allowed:
                return False
            if kept == sent:
                return True  # counted by an earlier attempt of this message
            written = self._update(
                "count a message against the frequency cap",
                pk,
                "CAP",
                "SET kind = :kind, sent = :sent, version = :next, expires_at = :ttl",
                {
                    ":kind": "marketing_cap",
                    ":sent": json.dumps(kept, sort_keys=True),
                    ":next": version + 1,
                    ":version": version,
                    ":ttl": _expires(_MESSAGE_DAYS),
                },
                ConditionExpression="attribute_not_exists(version) OR version = :version",
            )
            if written:
                return True
        raise StoreError("the frequency cap kept changing under concurrent messages; retried later")

    def mark_admitted(self, message_key: str) -> None:
        self._set(message_key, "admitted = :yes", {":yes": True})

    def channel_done(self, message_key: str, channel: str) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(f"MKTMSG#{message_key}", "MESSAGE"),
                UpdateExpression="ADD channels_done :channel",
                ExpressionAttributeValues={":channel": {"SS": [channel]}},
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not record a channel's send: {exc}") from exc

    def release(self, message_key: str) -> None:
        self._update(
            "release a marketing message",
            f"MKTMSG#{message_key}",
            "MESSAGE",
            "SET lease_until = :zero",
            {":zero": 0, ":sending": "sending"},
            ConditionExpression="#state = :sending",
            ExpressionAttributeNames={"#state": "state"},
        )

    def finish(self, message_key: str, status: Literal["sent", "capped"], at: datetime) -> None:
        self._update(
            "finish a marketing message",
            f"MKTMSG#{message_key}",
            "MESSAGE",
            "SET #state = :status, sent_at = :at",
            {":status": status, ":at": at.isoformat()},
            ExpressionAttributeNames={"#state": "state"},
        )

    def mark_published(self, message_key: str) -> None:
        self._set(message_key, "published = :yes", {":yes": True})

    def _set(self, message_key: str, expression: str, values: Mapping[str, Any]) -> None:
        self._update("update a marketing message", f"MKTMSG#{message_key}", "MESSAGE", f"SET {expression}", values)


class SaltedCustomerKeys:
    """Erasure keys with the salt crm_upsert uses, and the erasure marks its privacy requests leave.

    `store` is a hub.adapters.customers.DynamoCustomerStore (its salt and erasure marks only).
    """

    def __init__(self, store: Any, salt: Callable[[], str] | None = None) -> None:
        self._store = store
        self._salt = salt

    def key(self, email: str) -> str:
        return erasure_key(email, self._salt() if self._salt else self._store.salt())

    def erased_before(self, customer: str) -> datetime | None:
        subject = f"customer:{customer}"
        return self._store.erasure_marks([subject]).get(subject)
