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

from hub.adapters.customer_codec import profile_from_dict, profile_to_dict, summary_from_dict, summary_to_dict
from hub.adapters.keys import CUSTOMER, CUSTORDER, PRIVACY
from hub.adapters.table import TRANSACT_ITEMS, Table, from_micros, key, micros, plain, typed
from hub.domain.customers import CustomerProfile, Fact, FactKind, OrderSummary, normalise_email
from hub.errors import ProfileConflictError, StoreError
from hub.ports import Derived, StoredCustomer, StoredOrder

__all__ = ["DynamoCustomerStore", "DynamoProfileStore", "erasure_mark_key", "erasure_mark_time"]

_FACT_ITEM = "customer_fact"
_ORDER_VERSION = "VERSION"
_ERASED = "ERASED"


def erasure_mark_key(subject: str) -> tuple[str, str]:
    """The (pk, sk) of a subject's erasure mark (`customer:<erasure key>` or `shop:<channel>`), for a
    function that reads it beside its own items in one request."""
    return PRIVACY(subject), _ERASED


def erasure_mark_time(item: dict[str, Any]) -> datetime:
    """The time up to which an erasure mark (a plain item) erases its subject."""
    return from_micros(item["erased_before_us"])


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
        "summary": json.dumps(summary_to_dict(summary), sort_keys=True),
    }


class DynamoProfileStore:
    """The read side of profiles (`hub.ports.ProfileStore`): all marketing and reporting need."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._table = Table(client, table_name)

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        return self._table.get(pk, sk, what=f"read {sk} of a customer")

    def get(self, email: str) -> CustomerProfile | None:
        normalised = normalise_email(email)
        if normalised is None:
            return None
        item = self._get(CUSTOMER(normalised), "PROFILE")
        return profile_from_dict(json.loads(item["profile"])) if item else None


class DynamoCustomerStore(DynamoProfileStore):
    """`hub.ports.CustomerStore` on DynamoDB. `configured_salt` reads the salt from the hub secret
    (CUSTOMER_KEY_SALT); when that is empty a salt is generated once and kept in the table."""

    def __init__(self, client: Any, table_name: str, configured_salt: Callable[[], str | None] | None = None) -> None:
        super().__init__(client, table_name)
        self._configured_salt = configured_salt
        self._salt: str | None = None

    # ------------------------------------------------------------------ reads
    def _query(self, pk: str, prefix: str = "", newest_first: bool = False) -> list[dict[str, Any]]:
        return self._table.query(pk, prefix, newest_first=newest_first, what="read the facts of a customer or order")

    def salt(self) -> str:
        if self._salt is None:
            configured = self._configured_salt() if self._configured_salt else None
            self._salt = configured or self._stored_salt()
        return self._salt

    def _stored_salt(self) -> str:
        item = self._get(PRIVACY("salt"), "SALT")
        if item:
            return str(item["salt"])
        self._table.put(
            {"pk": PRIVACY("salt"), "sk": "SALT", "kind": "privacy_salt", "salt": secrets.token_hex(32)},
            what="keep the erasure key salt",
            condition="attribute_not_exists(pk)",  # when it fails, another function made one first: read theirs
        )
        item = self._get(PRIVACY("salt"), "SALT")
        if not item:
            raise StoreError("the erasure key salt could not be read back")
        return str(item["salt"])

    def customer(self, email: str) -> StoredCustomer:
        # PROFILE sorts after ORDER# and FACT#: newest first, its version is read before them.
        items = self._query(CUSTOMER(email), newest_first=True)
        facts = [_fact(i) for i in items if i["sk"].startswith("FACT#")]
        orders = {
            i["order_id"]: summary_from_dict(json.loads(i["summary"])) for i in items if i["sk"].startswith("ORDER#")
        }
        versions = {i["order_id"]: int(i["version"]) for i in items if i["sk"].startswith("ORDER#")}
        profile = next((i for i in items if i["sk"] == "PROFILE"), None)
        return StoredCustomer(facts, orders, int(profile["version"]) if profile else 0, versions)

    def summary_version(self, email: str, order_id: str) -> int:
        item = self._get(CUSTOMER(email), f"ORDER#{order_id}")
        return int(item["version"]) if item else 0

    def order_facts(self, order_id: str) -> list[Fact]:
        return [_fact(i) for i in self._query(CUSTORDER(order_id), "FACT#")]

    def order(self, order_id: str) -> StoredOrder:
        # VERSION sorts after FACT#: newest first, it is read before the facts.
        items = self._query(CUSTORDER(order_id), newest_first=True)
        version = next((int(i["version"]) for i in items if i["sk"] == _ORDER_VERSION), 0)
        return StoredOrder([_fact(i) for i in items if i["sk"].startswith("FACT#")], version)

    def facts_of_channel(self, channel: str) -> list[Fact]:
        found: dict[str, Fact] = {}
        try:
            pages = self._table.client.get_paginator("scan").paginate(
                TableName=self._table.name,
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
        if len(wanted) == 1:
            item = self._get(*erasure_mark_key(wanted[0]))
            return {wanted[0]: erasure_mark_time(item)} if item else {}
        found = self._table.batch_get([erasure_mark_key(s) for s in wanted], what="read erasure marks")
        return {pk.removeprefix(PRIVACY): erasure_mark_time(item) for (pk, _sk), item in found.items()}

    # ------------------------------------------------------------------ writes
    def delete_facts(self, facts: Iterable[Fact]) -> int:
        facts = list(facts)
        keys = {
            (pk, f"FACT#{f.event_id}")
            for f in facts
            for pk in ([CUSTOMER(f.email)] if f.email else []) + ([CUSTORDER(f.order_id)] if f.order_id else [])
        }
        self._table.batch_delete(sorted(keys), what="delete customer items")
        return len(facts)

    def mark_erased(self, subject: str, before: datetime) -> None:
        us = micros(before)
        self._table.update(
            *erasure_mark_key(subject),
            "SET kind = :kind, erased_before_us = :us, erased_before = :iso",
            {":kind": "privacy_mark", ":us": us, ":iso": from_micros(us).isoformat()},
            what=f"mark {subject.split(':')[0]} erased",
            # When it fails, a later mark is already there: it covers this one.
            condition="attribute_not_exists(erased_before_us) OR erased_before_us < :us",
        )

    def save_profile(
        self, email: str, profile: CustomerProfile | None, version: int, marks: Mapping[str, datetime | None]
    ) -> None:
        self._guarded_write(CUSTOMER(email), "PROFILE", _profile_values(email, profile), version, marks)

    def save_summary(
        self,
        email: str,
        order_id: str,
        summary: OrderSummary | None,
        version: int,
        marks: Mapping[str, datetime | None],
    ) -> None:
        self._guarded_write(CUSTOMER(email), f"ORDER#{order_id}", _summary_values(order_id, summary), version, marks)

    def save_fact(
        self,
        fact: Fact,
        order_version: int,
        derived: Sequence[Derived],
        marks: Mapping[str, datetime | None],
    ) -> None:
        writes: list[dict[str, Any] | None] = []  # None: nothing to write (left out below)
        if fact.email:
            writes.append({"Put": {"TableName": self._table.name, "Item": _fact_item(fact, CUSTOMER(fact.email))}})
        if fact.order_id:
            pk = CUSTORDER(fact.order_id)
            writes.append({"Put": {"TableName": self._table.name, "Item": _fact_item(fact, pk)}})
            version = {"kind": "customer_order_version", "order_id": fact.order_id}
            writes.append(self._versioned(pk, _ORDER_VERSION, version, order_version))
        for d in derived:
            pk = CUSTOMER(d.email)
            if d.order_id:
                summary = _summary_values(d.order_id, d.summary)
                writes.append(self._versioned(pk, f"ORDER#{d.order_id}", summary, d.summary_version))
            profile = self._versioned(pk, "PROFILE", _profile_values(d.email, d.profile), d.profile_version)
            # Nothing to write for this customer: their profile's version is checked all the same, so
            # every derivation for a customer conflicts with every other one it may have missed.
            writes.append(profile or self._unchanged(pk, "PROFILE", d.profile_version))
        if len(writes) + len(marks) > TRANSACT_ITEMS:
            raise StoreError(f"fact {fact.event_id} concerns too many customers for one transaction")
        self._transact([w for w in writes if w is not None], marks)

    def _unchanged(self, pk: str, sk: str, version: int) -> dict[str, Any]:
        """A check that an item read at `version` (0: absent) still is."""
        check: dict[str, Any] = {"TableName": self._table.name, "Key": key(pk, sk)}
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
                    "TableName": self._table.name,
                    "Key": key(pk, sk),
                    "ConditionExpression": "version = :version",
                    "ExpressionAttributeValues": guard,
                }
            }
        write: dict[str, Any] = {
            "Put": {
                "TableName": self._table.name,
                "Item": typed({"pk": pk, "sk": sk, **values, "version": version + 1}),
            }
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
            check: dict[str, Any] = {"TableName": self._table.name, "Key": key(*erasure_mark_key(subject))}
            if seen is None:
                check["ConditionExpression"] = "attribute_not_exists(pk)"
            else:
                check["ConditionExpression"] = "erased_before_us = :seen"
                check["ExpressionAttributeValues"] = typed({":seen": micros(seen)})
            checks.append({"ConditionCheck": check})
        if self._table.transact([*writes, *checks], what="store a customer item") is not None:
            raise ProfileConflictError("a customer item or an erasure covering it changed")

    def record_privacy(self, subject: str, request: str, values: Mapping[str, str], counts: Mapping[str, int]) -> None:
        names = {f"#v{i}": name for i, name in enumerate(values)}
        names |= {f"#c{i}": name for i, name in enumerate(counts)}
        sets = ["kind = if_not_exists(kind, :kind)"] + [
            f"#v{i} = if_not_exists(#v{i}, :v{i})" for i in range(len(values))
        ]
        expression = "SET " + ", ".join(sets)
        if counts:
            expression += " ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(counts)))
        attribute_values: dict[str, object] = {":kind": "privacy_record"}
        attribute_values |= {f":v{i}": value for i, value in enumerate(values.values())}
        attribute_values |= {f":c{i}": value for i, value in enumerate(counts.values())}
        self._table.update(
            PRIVACY(subject), request, expression, attribute_values, what="record a privacy request", names=names
        )

    def forget(self, email: str) -> None:
        self._table.batch_delete([(CUSTOMER(email), "CRM"), (CUSTOMER(email), "CRMLOCK")], what="delete customer items")

    # ------------------------------------------------------------------ CRM bookkeeping
    def acquire(self, email: str, owner: str, seconds: int) -> bool:
        now = int(time.time())
        return self._table.put(
            {"pk": CUSTOMER(email), "sk": "CRMLOCK", "kind": "crm_lease", "owner": owner, "expires_at": now + seconds},
            what="take a CRM lease",
            condition="attribute_not_exists(pk) OR expires_at < :now",
            values={":now": now},
        )

    def release(self, email: str, owner: str) -> None:
        self._table.delete(
            CUSTOMER(email),
            "CRMLOCK",
            what="release a CRM lease",
            condition="#owner = :owner",  # when it fails, someone else's lease now (ours expired): leave it
            values={":owner": owner},
            names={"#owner": "owner"},
        )

    def pushed(self, email: str) -> str | None:
        item = self._get(CUSTOMER(email), "CRM")
        return str(item["digest"]) if item else None

    def set_pushed(self, email: str, digest: str) -> None:
        item = typed(
            {
                "pk": CUSTOMER(email),
                "sk": "CRM",
                "kind": "crm_state",
                "digest": digest,
                "pushed_at": datetime.now(UTC).isoformat(),
            }
        )
        profile = {
            "TableName": self._table.name,
            "Key": key(CUSTOMER(email), "PROFILE"),
            "ConditionExpression": "attribute_exists(pk)",
        }
        # Cancelled: the profile was erased meanwhile, so nothing keyed by the email is kept.
        self._table.transact(
            [{"Put": {"TableName": self._table.name, "Item": item}}, {"ConditionCheck": profile}],
            what="remember a CRM push",
        )
