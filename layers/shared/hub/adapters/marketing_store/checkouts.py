"""Checkouts: the checkout itself (`MKTCHECKOUT#<checkout id>` / `CHECKOUT`: email, lines, recovery
URL, who converted it) and its index under the customer (`MKTCUST#<erasure key>` / `CHECKOUT#<id>`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from hub.adapters.keys import MKTCHECKOUT, MKTCUST
from hub.adapters.table import Table, expires_at, from_micros, micros
from hub.domain.marketing import CheckoutState
from hub.errors import StoreError

__all__ = ["CHECKOUT_DAYS", "Checkouts"]

CHECKOUT_DAYS = 60


class Checkouts:
    _table: Table

    def save_checkout(self, state: CheckoutState, at: datetime) -> CheckoutState:
        pk, us = MKTCHECKOUT(state.checkout_id), micros(at)
        values: dict[str, Any] = {
            ":kind": "marketing_checkout",
            ":channel": state.channel,
            ":us": us,
            ":lines": json.dumps([list(line) for line in state.lines]),
            ":ttl": expires_at(CHECKOUT_DAYS),
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
        newer = self._table.update(
            pk,
            "CHECKOUT",
            expression,
            values,
            what="keep a checkout",
            condition="attribute_not_exists(updated_at_us) OR updated_at_us <= :us",
            names=names,
        )
        if newer is None:  # an older statement: it can only move the start earlier
            self._table.update(
                pk,
                "CHECKOUT",
                "SET started_at_us = :us",
                {":us": us},
                what="keep a checkout's start",
                condition="started_at_us > :us",
            )
        stored = self.checkout(state.checkout_id)
        if stored is None:
            raise StoreError("a checkout could not be read back")
        if stored.customer:
            self._table.put(
                {
                    "pk": MKTCUST(stored.customer),
                    "sk": f"CHECKOUT#{stored.checkout_id}",
                    "kind": "marketing_customer_checkout",
                    "started_at_us": micros(stored.started_at),
                    "expires_at": expires_at(CHECKOUT_DAYS),
                },
                what="index a customer's checkout",
            )
        return stored

    def checkout(self, checkout_id: str) -> CheckoutState | None:
        item = self._table.get(MKTCHECKOUT(checkout_id), "CHECKOUT", what="read a marketing item")
        if not item or "started_at_us" not in item:
            return None
        return CheckoutState(
            checkout_id=checkout_id,
            channel=item.get("channel", ""),
            started_at=from_micros(item["started_at_us"]),
            email=item.get("email"),
            customer=item.get("customer"),
            recovery_url=item.get("recovery_url"),
            currency=item.get("currency"),
            total=int(item["total"]) if item.get("total") is not None else None,
            lines=tuple((str(s), t, int(q)) for s, t, q in json.loads(item.get("lines") or "[]")),
            converted_by=item.get("converted_by"),
        )

    def convert_checkout(self, checkout_id: str, by: str, customer: str | None = None) -> None:
        self._table.update(
            MKTCHECKOUT(checkout_id),
            "CHECKOUT",
            "SET kind = :kind, converted_by = if_not_exists(converted_by, :by), expires_at = :ttl",
            {":kind": "marketing_checkout", ":by": by, ":ttl": expires_at(CHECKOUT_DAYS)},
            what="mark a checkout converted",
        )
        if customer:
            self._table.delete(MKTCUST(customer), f"CHECKOUT#{checkout_id}", what="delete a marketing item")

    def open_checkouts(self, customer: str) -> list[tuple[str, datetime]]:
        return [
            (i["sk"].removeprefix("CHECKOUT#"), from_micros(i["started_at_us"]))
            for i in self._table.query(MKTCUST(customer), "CHECKOUT#", what="read marketing items")
        ]
