"""What ad_audiences sent each audience about each customer (`AudienceRecords`), in the hub table.

`AUDIENCE#<erasure key>` / `STATE`: per audience `{member, at, answer}`, the hashed identifiers last
sent (to remove them later, also after an erasure has deleted the profile), the segment inputs and
the next review time. The identifiers are SHA-256 hashes of the email and phone, which anyone with a
list of addresses could match: they are kept only sealed (AES-256-GCM, hub.shredding) under a data
key of the customer's own for audiences (subject `audience:<keyed hash of the erasure key>`), and that
key is deleted once no identifier is kept (the customer left every audience, withdrew consent, or was
erased), so no copy of them can be read afterwards. `AUDREVIEW#all` / `<review time, µs, 20 digits>#<erasure key>`: the daily
review's index, one item per customer with a review time, moved when that time changes.
`memberships` (`AudienceMemberships`, crm_upsert's data-request export) reads the memberships alone,
projected, opening no data key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hub.adapters.keys import AUDIENCE, AUDREVIEW
from hub.adapters.table import Table, from_micros, micros, plain, typed
from hub.domain.audiences import Audience, AudienceRecord, Identifiers, Membership, SegmentInputs
from hub.errors import StoreError
from hub.ports import DataKeys
from hub.shredding import open_value, seal_value

__all__ = ["DynamoAudienceRecords"]

_STATE = "STATE"
_REVIEW = AUDREVIEW("all")


def _review_sk(at: datetime, key: str) -> str:
    return f"{micros(at):020d}#{key}"


_SENT = "sent"


def _encode(record: AudienceRecord, seal: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": AUDIENCE(record.erasure_key),
        "sk": _STATE,
        "members": {
            a.name: {"member": m.member, "at": micros(m.at), "answer": m.answer} for a, m in record.members.items()
        },
    }
    if record.sent is not None:
        plain = {"meta": list(record.sent.meta), "google": [list(pair) for pair in record.sent.google]}
        item[_SENT] = seal(record.erasure_key, plain)
    if record.inputs is not None:
        inputs = record.inputs
        item["inputs"] = {
            "consent": inputs.consent,
            "last_order_at": micros(inputs.last_order_at) if inputs.last_order_at else None,
            "order_count": inputs.order_count,
            "total_spent": dict(inputs.total_spent),
        }
    if record.review_at is not None:
        item["review_at"] = micros(record.review_at)
    return item


def _members(item: Mapping[str, Any]) -> dict[Audience, Membership]:
    return {
        Audience.parse(name): Membership(bool(m["member"]), from_micros(m["at"]), str(m.get("answer", "")))
        for name, m in (item.get("members") or {}).items()
    }


def _decode(item: Mapping[str, Any], unseal: Any) -> AudienceRecord:
    members = _members(item)
    sent = unseal(item[_SENT]) if item.get(_SENT) is not None else None
    inputs = item.get("inputs")
    return AudienceRecord(
        erasure_key=str(item["pk"]).removeprefix(AUDIENCE),
        members=members,
        sent=(
            Identifiers(tuple(sent["meta"]), tuple((str(f), str(v)) for f, v in sent["google"]))
            if sent is not None
            else None
        ),
        inputs=(
            SegmentInputs(
                consent=bool(inputs["consent"]),
                last_order_at=from_micros(inputs["last_order_at"]) if inputs.get("last_order_at") is not None else None,
                order_count=int(inputs["order_count"]),
                total_spent={c: int(v) for c, v in (inputs.get("total_spent") or {}).items()},
            )
            if inputs is not None
            else None
        ),
        review_at=from_micros(item["review_at"]) if item.get("review_at") is not None else None,
    )


class DynamoAudienceRecords:
    def __init__(self, client: Any, table: str, keys: DataKeys | None) -> None:
        self._table = Table(client, table)
        self._keys = keys

    def _subject(self, erasure_key: str) -> tuple[DataKeys, str]:
        if self._keys is None:
            raise StoreError("ad audiences keep identifiers only sealed: no data key store (HUB_DATA_KEY_ID)")
        return self._keys, self._keys.subject_of("audience", erasure_key)

    def _seal(self, erasure_key: str, value: Any) -> dict[str, str]:
        keys, subject = self._subject(erasure_key)
        return seal_value(value, keys.key_for(subject), subject, _SENT)

    def _unseal(self, sealed: Mapping[str, str]) -> Any:
        if self._keys is None:
            return None
        key = self._keys.key_if_any(sealed["subject"])
        return None if key is None else open_value(dict(sealed), key, _SENT)

    def records(self, keys: Iterable[str]) -> dict[str, AudienceRecord]:
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        found = self._table.batch_get([(AUDIENCE(k), _STATE) for k in wanted], what="read audience records")
        return {item["pk"].removeprefix(AUDIENCE): _decode(item, self._unseal) for item in found.values()}

    def memberships(self, erasure_key: str) -> dict[Audience, Membership]:
        """The customer's memberships alone (a data-request export): read without the sealed
        identifiers or the segment inputs, so no data key is opened."""
        try:
            item = self._table.client.get_item(
                TableName=self._table.name,
                Key=typed({"pk": AUDIENCE(erasure_key), "sk": _STATE}),
                ProjectionExpression="#m",
                ExpressionAttributeNames={"#m": "members"},  # MEMBERS is one of DynamoDB's reserved words
                ConsistentRead=True,
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not read the customer's audience memberships: {exc}") from exc
        return _members(plain(item)) if item else {}

    def save(self, records: Sequence[AudienceRecord], previous: Mapping[str, AudienceRecord]) -> None:
        puts: list[dict[str, Any]] = [_encode(r, self._seal) for r in records]
        deletes: list[tuple[str, str]] = []
        for record in records:
            before = previous.get(record.erasure_key)
            old = before.review_at if before is not None else None
            if old == record.review_at:
                continue
            if old is not None:
                deletes.append((_REVIEW, _review_sk(old, record.erasure_key)))
            if record.review_at is not None:
                puts.append({"pk": _REVIEW, "sk": _review_sk(record.review_at, record.erasure_key)})
        if puts:
            self._table.batch_put(puts, what="record what was sent to the ad audiences")
        if deletes:
            self._table.batch_delete(deletes, what="move customers in the audience review schedule")
        for record in records:
            before = previous.get(record.erasure_key)
            if record.sent is None and before is not None and before.sent is not None:
                keys, subject = self._subject(record.erasure_key)
                keys.forget(subject)  # no identifier of theirs is kept any more: none can be read

    def due(self, until: datetime, limit: int) -> list[str]:
        try:
            response = self._table.client.query(
                TableName=self._table.name,
                KeyConditionExpression="pk = :pk AND sk <= :until",
                ExpressionAttributeValues=typed({":pk": _REVIEW, ":until": f"{micros(until):020d}#~"}),
                ConsistentRead=True,
                Limit=limit,
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not read the audience review schedule: {exc}") from exc
        return [item["sk"]["S"].split("#", 1)[1] for item in response.get("Items", [])]
