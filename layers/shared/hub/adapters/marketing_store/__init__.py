"""Marketing's state on the hub's single table (`hub.ports.MarketingStore`), one module per concern.

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

The concerns: `messages` (the once-only marker and the frequency cap), `customers` (newest order,
schedules, opt-out), `checkouts`, `copurchases`, `waiters` (back in stock); this module joins them
into the one store and keeps the decision's one read and the placement's one write.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from hub.adapters.customers import erasure_mark_key, erasure_mark_time
from hub.adapters.keys import MKTCUST, MKTMSG, MKTORDER
from hub.adapters.marketing_store.checkouts import Checkouts
from hub.adapters.marketing_store.copurchases import CoPurchases, copurchase_writes
from hub.adapters.marketing_store.customers import CustomerItems, newest_order_update, schedule_put
from hub.adapters.marketing_store.messages import MessageMarkers
from hub.adapters.marketing_store.waiters import Waiters
from hub.adapters.table import TRANSACT_ITEMS, Table, from_micros
from hub.domain.customers import erasure_key
from hub.domain.marketing import LastOrder, Look
from hub.errors import MarketingConflictError, StoreError

__all__ = ["DynamoMarketingStore", "SaltedCustomerKeys"]


class DynamoMarketingStore(MessageMarkers, CustomerItems, Checkouts, CoPurchases, Waiters):
    def __init__(self, client: Any, table_name: str) -> None:
        self._table = Table(client, table_name)

    # ------------------------------------------------------------------ one read, one write
    def look(self, customer: str, message_keys: Sequence[str], order_id: str | None = None) -> Look:
        """One BatchGetItem (consistent): the erasure mark `PRIVACY#customer:<key>` / `ERASED`, each
        message's marker, and with an order id `MKTCUST#<key>` / `LASTORDER` and the order's
        `MKTORDER#<id>` / `COPURCHASE` guard."""
        mark = erasure_mark_key(f"customer:{customer}")
        keys = [mark, *((MKTMSG(k), "MESSAGE") for k in dict.fromkeys(message_keys))]
        if order_id is not None:
            keys += [(MKTCUST(customer), "LASTORDER"), (MKTORDER(order_id), "COPURCHASE")]
        found = self._table.batch_get(keys, what="read marketing items")
        erased = found.get(mark)
        last = found.get((MKTCUST(customer), "LASTORDER"))
        return Look(
            erased_before=erasure_mark_time(erased) if erased else None,
            sent=frozenset(
                k for k in message_keys if found.get((MKTMSG(k), "MESSAGE"), {}).get("state") in ("sent", "capped")
            ),
            last_order=LastOrder(last["order_id"], from_micros(last["placed_at_us"])) if last else None,
            counted=order_id is not None and (MKTORDER(order_id), "COPURCHASE") in found,
        )

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
        table = self._table.name
        items: list[dict[str, Any]] = []
        if newest is not None and customer:
            items.append({"Update": newest_order_update(table, customer, seen, newest)})
        items += [{"Put": schedule_put(table, customer, name, at)} for name, at in schedules if customer]
        if count and (pairs or titles):
            items += copurchase_writes(table, order_id, pairs, titles, room=TRANSACT_ITEMS - len(items))
        if not items:
            return
        reasons = self._table.transact(items, what="record a placement")
        if reasons is None:
            return
        if not reasons or "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
            raise MarketingConflictError(f"{order_id}: the customer's newest order or its counts moved")
        raise StoreError(f"could not record a placement: the transaction was cancelled ({', '.join(reasons)})")


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
