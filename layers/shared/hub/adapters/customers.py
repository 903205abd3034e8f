"""Customers on the hub's single table: facts, derived profiles, erasure marks, the CRM lease.

| pk | sk | what |
|---|---|---|
| `CUSTOMER#<email>` | `FACT#<event id>` | a fact that names the customer |
| `CUSTOMER#<email>` | `ORDER#<order id>` | the customer's summary of one of their orders, with a version |
| `CUSTOMER#<email>` | `PROFILE` | the profile derived from the facts and summaries, with a version |
| `CUSTOMER#<email>` | `CRM` / `CRMLOCK` | what was last pushed to the CRM; the lease of whoever pushes |
| `CUSTORDER#<order id>` | `FACT#<event id>` | a fact about an order's money (a copy when it also names a customer) |
| `CUSTORDER#<order id>` | `VERSION` | the version of the order's set of facts, moved on by every write of one |
| `PRIVACY#<subject>` | `ERASED` | the time up to which `customer:<erasure key>` or `shop:<channel>` is erased |
| `PRIVACY#<subject>` | `ERASURE#<event id>` / `EXPORT#<event id>` | the record of a privacy request |
| `PRIVACY#salt` | `SALT` | the generated salt of erasure keys, when the secret holds none |

The email is a key only where the customer's own data is; an erasure removes every such item.
Records of erasures name the customer by the salted erasure key alone.

A customer's partition and an order's are each read in one Query, newest sort key first, so the item
whose version a derivation's write is conditional on (`PROFILE`, `VERSION`) is read before the facts
and summaries: DynamoDB isolates a Query from a transaction item by item only (read-committed), and
a later part of a Query returns what a transaction committed before it, so a read that sees the
version a transaction wrote also sees every fact and summary that transaction wrote there.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hub.adapters.order_codec import plain, typed
from hub.domain.customers import (
    CustomerProfile,
    Fact,
    FactKind,
    OrderSummary,
    normalise_email,
    profile_from_dict,
    profile_to_dict,
)
from hub.errors import ProfileConflictError, StoreError
from hub.ports import Derived, StoredCustomer, StoredOrder

__all__ = ["DynamoCustomerStore", "DynamoProfileStore", "erasure_mark_key", "erasure_mark_time"]

_FACT_ITEM = "customer_fact"
_BATCH = 25  # BatchWriteItem takes at most 25 requests
_BATCH_GET = 100  # BatchGetItem takes at most 100 keys
_TRANSACT = 100  # TransactWriteItems takes at most 100 items
_ORDER_VERSION = "VERSION"


def _customer(email: str) -> str:
    return f"CUSTOMER#{email}"


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _micros(value: datetime) -> int:
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


def _from_micros(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value) / 1_000_000, UTC)


def erasure_mark_key(subject: str) -> dict[str, Any]:
    """The key of a subject's erasure mark (`customer:<erasure key>` or `shop:<channel>`), for a
    function that reads it beside its own items in one request."""
    return _key(f"PRIVACY#{subject}", "ERASED")


def erasure_mark_time(item: dict[str, Any]) -> datetime:
    """The time up to which an erasure mark (a plain item) erases its subject."""
    return _from_micros(item["erased_before_us"])


def _fact_item(fact: Fact, pk: str) -> dict[str, Any]:
    return typed(
        {
            "pk": pk,
            "sk": f"FACT#{fact.event_id}",
            "kind": _FACT_ITEM,
            "fact": fact.kind.value,
            "event_id": fact.event_id,
            "occurred_at": fact.occurred_at.isoformat(),
            "channel": fact.channel,
            "email": fact.email,
            "order_id": fact.order_id,
            "data": json.dumps(dict(fact.data), sort_keys=True),
        }
    )


def _fact(item: Mapping[str, Any]) -> Fact:
    return Fact(
        event_id=item["event_id"],
        kind=FactKind(item["fact"]),
        occurred_at=datetime.fromisoformat(item["occurred_at"]),
        channel=item["channel"],
        email=item.get("email"),
        order_id=item.get("order_id"),
        data=json.loads(item.get("data") or "{}"),
    )


def _profile_values(email: str, profile: CustomerProfile | None) -> dict[str, Any] | None:
    if profile is None:
        return None
    return {
        "kind": "customer_profile",
        "email": email,
        "erasure_key": profile.erasure_key,
        "updated_at": profile.updated_at.isoformat(),
        "profile": json.dumps(profile_to_dict(profile), sort_keys=True),
    }


def _summary_values(order_id: str, summary: OrderSummary | None) -> dict[str, Any] | None:
    if summary is None:
        return None
    return {
        "kind": "customer_order",
        "order_id": order_id,
        "channel": summary.channel,
        "summary": json.dumps(summary.to_dict(), sort_keys=True),
    }


def _failed_condition(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in (
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
    )


class DynamoProfileStore:
    """The read side of profiles (`hub.ports.ProfileStore`): all marketing and reporting need."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        try:
            item = self._client.get_item(TableName=self._table, Key=_key(pk, sk), ConsistentRead=True).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not read {sk} of a customer: {exc}") from exc
        return plain(item) if item else None

    def get(self, email: str) -> CustomerProfile | None:
        normalised = normalise_email(email)
        if normalised is None:
            return None
        item = self._get(_customer(normalised), "PROFILE")
        return profile_from_dict(json.loads(item["profile"])) if item else None


class DynamoCustomerStore(DynamoProfileStore):
    """`hub.ports.CustomerStore` on DynamoDB. `configured_salt` reads the salt from the hub secret
    (CUSTOMER_KEY_SALT); when that is empty a salt is generated once and kept in the table."""

    def __init__(self, client: Any, table_name: str, configured_salt: Callable[[], str | None] | None = None) -> None:
        super().__init__(client, table_name)
        self._configured_salt = configured_salt
        self._salt: str | None = None

    # ------------------------------------------------------------------ reads
    def _query(self, pk: str, prefix: str | None = None, newest_first: bool = False) -> list[dict[str, Any]]:
        condition = "pk = :pk" + (" AND begins_with(sk, :prefix)" if prefix else "")
        values = {":pk": {"S": pk}, **({":prefix": {"S": prefix}} if prefix else {})}
        try:
            pages = self._client.get_paginator("query").paginate(
                TableName=self._table,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=values,
                ConsistentRead=True,
                ScanIndexForward=not newest_first,
            )
            return [plain(i) for page in pages for i in page["Items"]]
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not read the facts of a customer or order: {exc}") from exc

    def salt(self) -> str:
        if self._salt is None:
            configured = self._configured_salt() if self._configured_salt else None
            self._salt = configured or self._stored_salt()
        return self._salt

    def _stored_salt(self) -> str:
        item = self._get("PRIVACY#salt", "SALT")
        if item:
            return str(item["salt"])
        try:
            self._client.put_item(
                TableName=self._table,
                Item=typed({"pk": "PRIVACY#salt", "sk": "SALT", "kind": "privacy_salt", "salt": secrets.token_hex(32)}),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if not _failed_condition(exc):
                raise StoreError(f"could not keep the erasure key salt: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not keep the erasure key salt: {exc}") from exc
        item = self._get("PRIVACY#salt", "SALT")
        if not item:
            raise StoreError("the erasure key salt could not be read back")
        return str(item["salt"])

    def customer(self, email: str) -> StoredCustomer:
        # PROFILE sorts after ORDER# and FACT#: newest first, its version is read before them.
        items = self._query(_customer(email), newest_first=True)
        facts = [_fact(i) for i in items if i["sk"].startswith("FACT#")]
        orders = {
            i["order_id"]: OrderSummary.from_dict(json.loads(i["summary"]))
            for i in items
            if i["sk"].startswith("ORDER#")
        }
        versions = {i["order_id"]: int(i["version"]) for i in items if i["sk"].startswith("ORDER#")}
        profile = next((i for i in items if i["sk"] == "PROFILE"), None)
        return StoredCustomer(facts, orders, int(profile["version"]) if profile else 0, versions)

    def summary_version(self, email: str, order_id: str) -> int:
        item = self._get(_customer(email), f"ORDER#{order_id}")
        return int(item["version"]) if item else 0

    def order_facts(self, order_id: str) -> list[Fact]:
        return [_fact(i) for i in self._query(f"CUSTORDER#{order_id}", "FACT#")]

    def order(self, order_id: str) -> StoredOrder:
        # VERSION sorts after FACT#: newest first, it is read before the facts.
        items = self._query(f"CUSTORDER#{order_id}", newest_first=True)
        version = next((int(i["version"]) for i in items if i["sk"] == _ORDER_VERSION), 0)
        return StoredOrder([_fact(i) for i in items if i["sk"].startswith("FACT#")], version)

    def facts_of_channel(self, channel: str) -> list[Fact]:
        found: dict[str, Fact] = {}
        try:
            pages = self._client.get_paginator("scan").paginate(
                TableName=self._table,
                FilterExpression="kind = :kind AND channel = :channel",
                ExpressionAttributeValues=typed({":kind": _FACT_ITEM, ":channel": channel}),
                ConsistentRead=True,
            )
            for page in pages:
                for item in page["Items"]:
                    fact = _fact(plain(item))
                    found[fact.event_id] = fact
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not list the facts of channel {channel}: {exc}") from exc
        return list(found.values())

    def erasure_marks(self, subjects: Iterable[str]) -> dict[str, datetime]:
        """Every subject's mark in one request: a consistent GetItem for one, BatchGetItem for more."""
        wanted = sorted(set(subjects))
        marks = {}
        if len(wanted) == 1:
            item = self._get(f"PRIVACY#{wanted[0]}", "ERASED")
            return {wanted[0]: _from_micros(item["erased_before_us"])} if item else {}
        for start in range(0, len(wanted), _BATCH_GET):
            keys = [_key(f"PRIVACY#{subject}", "ERASED") for subject in wanted[start : start + _BATCH_GET]]
            pending: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
            for attempt in range(8):
                try:
                    response = self._client.batch_get_item(RequestItems=pending)
                except (ClientError, BotoCoreError) as exc:
                    raise StoreError(f"could not read erasure marks: {exc}") from exc
                for item in response.get("Responses", {}).get(self._table, []):
                    found = plain(item)
                    marks[found["pk"].removeprefix("PRIVACY#")] = _from_micros(found["erased_before_us"])
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
                time.sleep(0.05 * 2**attempt)
            if pending:
                raise StoreError("DynamoDB kept refusing to read erasure marks")
        return marks

    # ------------------------------------------------------------------ writes
    def delete_facts(self, facts: Iterable[Fact]) -> int:
        facts = list(facts)
        keys = {
            (pk, f"FACT#{f.event_id}")
            for f in facts
            for pk in ([_customer(f.email)] if f.email else []) + ([f"CUSTORDER#{f.order_id}"] if f.order_id else [])
        }
        self._delete_keys(sorted(keys))
        return len(facts)

    def _delete_keys(self, keys: list[tuple[str, str]]) -> None:
        for start in range(0, len(keys), _BATCH):
            requests = [{"DeleteRequest": {"Key": _key(pk, sk)}} for pk, sk in keys[start : start + _BATCH]]
            pending: dict[str, Any] = {self._table: requests}
            for attempt in range(8):
                try:
                    pending = self._client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                except (ClientError, BotoCoreError) as exc:
                    raise StoreError(f"could not delete customer items: {exc}") from exc
                if not pending:
                    break
                time.sleep(0.05 * 2**attempt)
            if pending:
                raise StoreError("DynamoDB kept refusing to delete customer items")

    def mark_erased(self, subject: str, before: datetime) -> None:
        micros = _micros(before)
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(f"PRIVACY#{subject}", "ERASED"),
                UpdateExpression="SET kind = :kind, erased_before_us = :us, erased_before = :iso",
                ConditionExpression="attribute_not_exists(erased_before_us) OR erased_before_us < :us",
                ExpressionAttributeValues=typed(
                    {":kind": "privacy_mark", ":us": micros, ":iso": _from_micros(micros).isoformat()}
                ),
            )
        except ClientError as exc:
            if not _failed_condition(exc):  # a later mark is already there: it covers this one
                raise StoreError(f"could not mark {subject.split(':')[0]} erased: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not mark an erasure: {exc}") from exc

    def save_profile(
        self, email: str, profile: CustomerProfile | None, version: int, marks: Mapping[str, datetime | None]
    ) -> None:
        self._guarded_write(_customer(email), "PROFILE", _profile_values(email, profile), version, marks)

    def save_summary(
        self,
        email: str,
        order_id: str,
        summary: OrderSummary | None,
        version: int,
        marks: Mapping[str, datetime | None],
    ) -> None:
        self._guarded_write(_customer(email), f"ORDER#{order_id}", _summary_values(order_id, summary), version, marks)

    def save_fact(
        self,
        fact: Fact,
        order_version: int,
        derived: Sequence[Derived],
        marks: Mapping[str, datetime | None],
    ) -> None:
        writes: list[dict[str, Any]] = []
        if fact.email:
            writes.append({"Put": {"TableName": self._table, "Item": _fact_item(fact, _customer(fact.email))}})
        if fact.order_id:
            pk = f"CUSTORDER#{fact.order_id}"
            writes.append({"Put": {"TableName": self._table, "Item": _fact_item(fact, pk)}})
            version = {"kind": "customer_order_version", "order_id": fact.order_id}
            writes.append(self._versioned(pk, _ORDER_VERSION, version, order_version))
        for d in derived:
            pk = _customer(d.email)
            if d.order_id:
                summary = _summary_values(d.order_id, d.summary)
                writes.append(self._versioned(pk, f"ORDER#{d.order_id}", summary, d.summary_version))
            profile = self._versioned(pk, "PROFILE", _profile_values(d.email, d.profile), d.profile_version)
            # Nothing to write for this customer: their profile's version is checked all the same, so
            # every derivation for a customer conflicts with every other one it may have missed.
            writes.append(profile or self._unchanged(pk, "PROFILE", d.profile_version))
        if len(writes) + len(marks) > _TRANSACT:
            raise StoreError(f"fact {fact.event_id} concerns too many customers for one transaction")
        self._transact([w for w in writes if w is not None], marks)

    def _unchanged(self, pk: str, sk: str, version: int) -> dict[str, Any]:
        """A check that an item read at `version` (0: absent) still is."""
        check: dict[str, Any] = {"TableName": self._table, "Key": _key(pk, sk)}
        if version:
            check.update(
                ConditionExpression="version = :version", ExpressionAttributeValues=typed({":version": version})
            )
        else:
            check["ConditionExpression"] = "attribute_not_exists(pk)"
        return {"ConditionCheck": check}

    def _versioned(self, pk: str, sk: str, values: dict[str, Any] | None, version: int) -> dict[str, Any] | None:
        """Put (or delete, with None) an item read at `version`, on condition it is still at it."""
        guard = typed({":version": version})
        if values is None:
            if version == 0:
                return None
            return {
                "Delete": {
                    "TableName": self._table,
                    "Key": _key(pk, sk),
                    "ConditionExpression": "version = :version",
                    "ExpressionAttributeValues": guard,
                }
            }
        write: dict[str, Any] = {
            "Put": {"TableName": self._table, "Item": typed({"pk": pk, "sk": sk, **values, "version": version + 1})}
        }
        if version:
            write["Put"].update(ConditionExpression="version = :version", ExpressionAttributeValues=guard)
        else:
            write["Put"]["ConditionExpression"] = "attribute_not_exists(pk)"
        return write

    def _guarded_write(
        self, pk: str, sk: str, values: dict[str, Any] | None, version: int, marks: Mapping[str, datetime | None]
    ) -> None:
        """Put (or delete, with None) an item read at `version`, in one transaction with a check that
        every erasure mark is still the one seen: a derivation that raced an erasure never lands."""
        write = self._versioned(pk, sk, values, version)
        if write is not None:
            self._transact([write], marks)

    def _transact(self, writes: list[dict[str, Any]], marks: Mapping[str, datetime | None]) -> None:
        if not writes:
            return
        checks = []
        for subject, seen in sorted(marks.items()):
            check: dict[str, Any] = {"TableName": self._table, "Key": _key(f"PRIVACY#{subject}", "ERASED")}
            if seen is None:
                check["ConditionExpression"] = "attribute_not_exists(pk)"
            else:
                check["ConditionExpression"] = "erased_before_us = :seen"
                check["ExpressionAttributeValues"] = typed({":seen": _micros(seen)})
            checks.append({"ConditionCheck": check})
        try:
            self._client.transact_write_items(TransactItems=[*writes, *checks])
        except ClientError as exc:
            if _failed_condition(exc):
                raise ProfileConflictError("a customer item or an erasure covering it changed") from exc
            raise StoreError(f"could not store a customer item: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not store a customer item: {exc}") from exc

    def record_privacy(self, subject: str, request: str, values: Mapping[str, str], counts: Mapping[str, int]) -> None:
        names = {f"#v{i}": name for i, name in enumerate(values)}
        names |= {f"#c{i}": name for i, name in enumerate(counts)}
        sets = ["kind = if_not_exists(kind, :kind)"] + [
            f"#v{i} = if_not_exists(#v{i}, :v{i})" for i in range(len(values))
        ]
        expression = "SET " + ", ".join(sets)
        if counts:
            expression += " ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(counts)))
        attribute_values = {":kind": "privacy_record"}
        attribute_values |= {f":v{i}": value for i, value in enumerate(values.values())}
        attribute_values |= {f":c{i}": value for i, value in enumerate(counts.values())}
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(f"PRIVACY#{subject}", request),
                UpdateExpression=expression,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=typed(attribute_values),
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not record a privacy request: {exc}") from exc

    def forget(self, email: str) -> None:
        self._delete_keys([(_customer(email), "CRM"), (_customer(email), "CRMLOCK")])

    # ------------------------------------------------------------------ CRM bookkeeping
    def acquire(self, email: str, owner: str, seconds: int) -> bool:
        now = int(time.time())
        try:
            self._client.put_item(
                TableName=self._table,
                Item=typed(
                    {
                        "pk": _customer(email),
                        "sk": "CRMLOCK",
                        "kind": "crm_lease",
                        "owner": owner,
                        "expires_at": now + seconds,
                    }
                ),
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues=typed({":now": now}),
            )
        except ClientError as exc:
            if _failed_condition(exc):
                return False
            raise StoreError(f"could not take a CRM lease: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not take a CRM lease: {exc}") from exc
        return True

    def release(self, email: str, owner: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=_key(_customer(email), "CRMLOCK"),
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues=typed({":owner": owner}),
            )
        except ClientError as exc:
            if not _failed_condition(exc):  # someone else's lease now (ours expired): leave it
                raise StoreError(f"could not release a CRM lease: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not release a CRM lease: {exc}") from exc

    def pushed(self, email: str) -> str | None:
        item = self._get(_customer(email), "CRM")
        return str(item["digest"]) if item else None

    def set_pushed(self, email: str, digest: str) -> None:
        item = typed(
            {
                "pk": _customer(email),
                "sk": "CRM",
                "kind": "crm_state",
                "digest": digest,
                "pushed_at": datetime.now(UTC).isoformat(),
            }
        )
        profile = {
            "TableName": self._table,
            "Key": _key(_customer(email), "PROFILE"),
            "ConditionExpression": "attribute_exists(pk)",
        }
        try:
            self._client.transact_write_items(
                TransactItems=[{"Put": {"TableName": self._table, "Item": item}}, {"ConditionCheck": profile}]
            )
        except ClientError as exc:
            if not _failed_condition(exc):  # the profile was erased meanwhile: keep nothing keyed by the email
                raise StoreError(f"could not remember a CRM push: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"could not remember a CRM push: {exc}") from exc
