"""Social posting's state on the hub table (`hub.ports.SocialStore`).

| pk | sk | what |
|---|---|---|
| `MKTSOCIAL#<trigger>:<product key>:<occasion>:<network>` | `POST` | the post's once-only marker: state (posting, posted, capped, skipped), lease, Instagram container, cap admitted, the network's post id |
| `MKTSOCIAL#CAP#<network>#<day>` | `CAP` | how many posts the network had that day (the shop's time zone) |

The marker is claimed with a condition (none yet, or a lease that ran out) before anything is
posted, so a redelivered event or a retry finds the post made, or the attempt that is making it.
Markers are kept 400 days (a product is new once; a redelivery from the archive must find it),
day counts a week.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.adapters.keys import MKTSOCIAL
from hub.adapters.table import Table, expires_at, from_micros, micros, typed
from hub.adapters.table import key as table_key
from hub.domain.social import PostClaim
from hub.errors import StoreError

__all__ = ["DynamoSocialStore"]

_KEEP_DAYS = 400
_CAP_DAYS = 7
_WHAT = "keep a social post's marker"


class DynamoSocialStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._table = Table(client, table_name)

    def claim_post(self, key: str, now: datetime, lease_seconds: int) -> PostClaim:
        now_us = micros(now)
        old = self._table.update(
            MKTSOCIAL(key),
            "POST",
            "SET #state = :posting, lease_until = :until, expires_at = :expires, kind = :kind",
            {
                ":posting": "posting",
                ":until": now_us + lease_seconds * 1_000_000,
                ":now": now_us,
                ":expires": expires_at(_KEEP_DAYS),
                ":kind": "social_post",
            },
            condition="attribute_not_exists(pk) OR (#state = :posting AND lease_until < :now)",
            names={"#state": "state"},
            returns="ALL_OLD",
            what=_WHAT,
        )
        if old is not None:
            return PostClaim("claimed", container=old.get("container"), admitted=bool(old.get("admitted")))
        item = self._table.get(MKTSOCIAL(key), "POST", what=_WHAT) or {}
        state = item.get("state")
        if state in ("posted", "capped", "skipped"):
            return PostClaim(state, container=item.get("container"), post_id=item.get("post_id"))
        return PostClaim("busy", container=item.get("container"))

    def keep_container(self, key: str, container: str) -> None:
        self._table.update(MKTSOCIAL(key), "POST", "SET container = :c", {":c": container}, what=_WHAT)

    def admit_post(self, key: str, network: str, day: str, max_posts: int) -> bool:
        """The day's count and the marker's `admitted` in one transaction, so a retry never counts twice."""
        table = self._table.name
        reasons = self._table.transact(
            [
                {
                    "Update": {
                        "TableName": table,
                        "Key": table_key(MKTSOCIAL("CAP", network, day), "CAP"),
                        "UpdateExpression": "ADD posts :one SET expires_at = :expires, kind = :kind",
                        "ConditionExpression": "attribute_not_exists(posts) OR posts < :max",
                        "ExpressionAttributeValues": typed(
                            {":one": 1, ":max": max_posts, ":expires": expires_at(_CAP_DAYS), ":kind": "social_cap"}
                        ),
                    }
                },
                {
                    "Update": {
                        "TableName": table,
                        "Key": table_key(MKTSOCIAL(key), "POST"),
                        "UpdateExpression": "SET admitted = :yes",
                        "ExpressionAttributeValues": typed({":yes": True}),
                    }
                },
            ],
            what="count a social post in its day",
        )
        if reasons is None:
            return True
        if reasons[0] == "ConditionalCheckFailed":
            return False
        raise StoreError(
            f"could not count a social post in its day: the transaction was cancelled ({', '.join(reasons)})"
        )

    def finish_post(self, key: str, status: str, post_id: str | None, at: datetime) -> None:
        expression = "SET #state = :state, finished_at = :at REMOVE lease_until"
        values: dict[str, Any] = {":state": status, ":at": micros(at)}
        if post_id is not None:
            expression = "SET #state = :state, finished_at = :at, post_id = :id REMOVE lease_until"
            values[":id"] = post_id
        self._table.update(MKTSOCIAL(key), "POST", expression, values, names={"#state": "state"}, what=_WHAT)

    def release_post(self, key: str) -> None:
        self._table.update(
            MKTSOCIAL(key),
            "POST",
            "SET lease_until = :zero",
            {":zero": 0, ":posting": "posting"},
            condition="#state = :posting",
            names={"#state": "state"},
            what=_WHAT,
        )

    def post_record(self, key: str) -> dict[str, Any] | None:
        """The marker as kept (tests, the console): state, post id, container, when it finished."""
        item = self._table.get(MKTSOCIAL(key), "POST", what=_WHAT)
        if item and "finished_at" in item:
            item["finished_at"] = from_micros(item["finished_at"])
        return item
