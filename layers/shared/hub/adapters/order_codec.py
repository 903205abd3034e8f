"""How an order and its timeline are written to, and read from, DynamoDB items.

A DynamoDB item holds at most 400 KB. An order's lines and reservations stay in the order item
while they are small (every order a person places); beyond `INLINE_BYTES` they move, both, into
part items `ORDER#<id>` / `PART#<lines|reservations>#<digest>#<nnnn>` of at most `PAGE_BYTES` each,
and the order item keeps `parts` {name: {digest, pages}}. A part's key names the digest of its
whole list, so parts are never rewritten in place: a reader that finds the order item but not yet
every part it names (a query can see a transaction half applied) reads again. A timeline entry's
follow-on events are kept compressed when they are large (the releases of a large order).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from boto3.dynamodb.types import Binary

from hub.adapters.keys import ORDER
from hub.adapters.order_index import order_index_keys
from hub.adapters.table import typed
from hub.domain.orders import (
    Address,
    Fulfilment,
    HoldReason,
    Order,
    OrderLine,
    OrderStatus,
    PaymentRecord,
    Reservation,
    StorefrontFulfilment,
    TimelineEntry,
)
from hub.errors import PartsMissingError
from hub.money import Money

__all__ = [
    "INLINE_BYTES",
    "PAGE_BYTES",
    "order_from_items",
    "order_item",
    "order_items",
    "part_keys",
    "stored_order",
    "timeline_item",
]

# Above this (estimated) size, an order's lines and reservations move out of the order item.
INLINE_BYTES = 96 * 1024
# At most this much (estimated) per part item; far below DynamoDB's 400 KB.
PAGE_BYTES = 64 * 1024
# Follow-on events kept on a timeline entry above this size are compressed.
EMITS_INLINE_BYTES = 64 * 1024
_PAGED = ("lines", "reservations")


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _lines(lines: Any) -> list[dict[str, Any]]:
    return [
        {"sku": ln.sku, "quantity": ln.quantity, "unit_price": ln.unit_price}
        | ({"platform_line_id": ln.platform_line_id} if ln.platform_line_id else {})
        | ({} if ln.stocked else {"stocked": False})
        for ln in lines
    ]


def _read_lines(values: Any) -> tuple[OrderLine, ...]:
    return tuple(
        OrderLine(
            v["sku"],
            int(v["quantity"]),
            int(v.get("unit_price", 0)),
            v.get("platform_line_id"),
            stocked=bool(v.get("stocked", True)),
        )
        for v in values or []
    )


_ADDRESS_FIELDS = ("name", "company", "street1", "street2", "city", "state", "postal_code", "country", "phone", "email")


def _address(address: Address | None) -> dict[str, Any] | None:
    if address is None:
        return None
    values = {name: getattr(address, name) for name in _ADDRESS_FIELDS if getattr(address, name)}
    return values or None


def _read_address(values: Any) -> Address | None:
    if not values:
        return None
    return Address(**{name: values.get(name) for name in _ADDRESS_FIELDS})


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _size(value: Any) -> int:
    """An estimate of the bytes DynamoDB counts for a value (names and values, as JSON spells them)."""
    return len(json.dumps(value, separators=(",", ":"), default=str).encode())


def _pages(values: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = [[]]
    used = 0
    for value in values:
        size = _size(value)
        if pages[-1] and used + size > PAGE_BYTES:
            pages.append([])
            used = 0
        pages[-1].append(value)
        used += size
    return pages


def _digest(values: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def part_keys(order_id: str, parts: Mapping[str, Any]) -> set[str]:
    """The sort keys of the part items an order item names."""
    return {
        f"PART#{name}#{part['digest']}#{page:04d}" for name, part in parts.items() for page in range(int(part["pages"]))
    }


def order_items(order: Order, now: str, created_at: str | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The order item and the part items its lines and reservations are kept in (none for an order
    of ordinary size), typed for the low-level client."""
    values = _order_values(order, now, created_at)
    if _size([values["lines"], values["reservations"]]) <= INLINE_BYTES:
        return typed(values), []
    parts: dict[str, dict[str, Any]] = {}
    items: list[dict[str, Any]] = []
    for name in _PAGED:
        listed = values.pop(name)
        digest = _digest(listed)
        pages = _pages(listed)
        parts[name] = {"digest": digest, "pages": len(pages)}
        items.extend(
            typed(
                {
                    "pk": values["pk"],
                    "sk": f"PART#{name}#{digest}#{number:04d}",
                    "kind": "order_part",
                    "part": name,
                    "values": page,
                }
            )
            for number, page in enumerate(pages)
        )
    values["parts"] = parts
    return typed(values), items


def order_item(order: Order, now: str, created_at: str | None = None) -> dict[str, Any]:
    """The order item of an order of ordinary size (lines and reservations inline)."""
    return typed(_order_values(order, now, created_at))


def _order_values(order: Order, now: str, created_at: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "pk": ORDER(order.order_id),
        "sk": "ORDER",
        "kind": "order",
        "order_id": order.order_id,
        "channel": order.channel,
        "status": order.status.value,
        "hold_reason": order.hold_reason.value if order.hold_reason else None,
        "previous_status": order.previous_status.value if order.previous_status else None,
        "currency": order.currency,
        "total_minor": order.total.minor,
        "customer_email": order.customer_email,
        "shipping_country": order.shipping_country,
        "shipping_address": _address(order.shipping_address),
        "lines": _lines(order.lines),
        "reservations": [
            {
                "sku": r.sku,
                "location": r.location,
                "quantity": r.quantity,
                "released": r.released,
                "consumed": r.consumed,
            }
            for r in order.reservations
        ],
        "shortages": dict(order.shortages) or None,
        "payments": [
            {
                "kind": p.kind,
                "reference": p.reference,
                "source": p.source,
                "amount": p.amount,
                "currency": p.currency,
                "status": p.status,
                "at": p.at.isoformat(),
                "event_id": p.event_id,
                "storefront": p.storefront,
            }
            for p in order.payments
        ],
        "fulfilments": [
            {
                "fulfilment_id": f.fulfilment_id,
                "location": f.location,
                "lines": _lines(f.lines),
                "status": f.status,
                "carrier": f.carrier,
                "service": f.service,
                "tracking_number": f.tracking_number,
                "tracking_url": f.tracking_url,
                "label_url": f.label_url,
                "written_back": f.written_back,
                "origin": f.origin,
                "shipped_at": _iso(f.shipped_at),
                "delivered_at": _iso(f.delivered_at),
                "external_id": f.external_id,
            }
            for f in order.fulfilments
        ],
        "placed_at": order.placed_at.isoformat() if order.placed_at else None,
        "as_of": _iso(order.as_of),
        "recorded_from": order.recorded_from,
        "storefront_fulfilments": [
            {"event_id": f.event_id} | ({"fulfilment_id": f.fulfilment_id} if f.fulfilment_id else {})
            for f in order.storefront_fulfilments
        ]
        or None,
        "storefront_shipped": dict(order.storefront_shipped) or None,
        "version": order.version,
        "created_at": created_at or now,
        "updated_at": now,
    }
    if order.placed_at is not None:
        # The orders-by-day index (template.yaml): the day and time of placement in UTC, written
        # with every save of the order item, so listing costs no write of its own.
        values |= order_index_keys(order.order_id, order.placed_at)
    # Maps inside lists keep their None fields out too.
    values["fulfilments"] = [{k: v for k, v in f.items() if v is not None} for f in values["fulfilments"]]
    return values


def timeline_item(order_id: str, entry: TimelineEntry) -> dict[str, Any]:
    emits = list(entry.emits)
    packed = None
    if sum(len(e) for e in emits) > EMITS_INLINE_BYTES:
        # The releases of a large order: hundreds of similar events, which compress well.
        packed, emits = zlib.compress(json.dumps(emits).encode()), []
    return typed(
        {
            "pk": ORDER(order_id),
            "sk": f"EVENT#{entry.event_id}",
            "kind": "timeline",
            "event_id": entry.event_id,
            "type": entry.type,
            "occurred_at": entry.occurred_at.isoformat(),
            "applied_at": entry.applied_at.isoformat(),
            "summary": entry.summary,
            "applied": entry.applied,
            "emits": emits or None,
            "emits_z": packed,
        }
    )


def _emits(item: Mapping[str, Any]) -> tuple[str, ...]:
    packed = item.get("emits_z")
    if packed is not None:
        raw = packed.value if isinstance(packed, Binary) else bytes(packed)
        return tuple(json.loads(zlib.decompress(raw)))
    return tuple(item.get("emits", []))


def stored_order(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The order item with its lines and reservations in place (read back from its parts), or None.

    Raises PartsMissingError when the items hold the order item but not every part it names."""
    head = next((i for i in items if i["sk"] == "ORDER"), None)
    if head is None or "parts" not in head:
        return head
    found = {i["sk"]: i for i in items if i.get("kind") == "order_part"}
    whole = dict(head)
    for name, part in whole.pop("parts").items():
        keys = [f"PART#{name}#{part['digest']}#{page:04d}" for page in range(int(part["pages"]))]
        if any(key not in found for key in keys):
            raise PartsMissingError(f"{head['order_id']}: {name} not all read")
        whole[name] = [value for key in keys for value in found[key]["values"]]
    return whole


def order_from_items(items: list[dict[str, Any]]) -> Order | None:
    """The order from the plain items of its partition (head, parts, timeline, ...), or None.

    Raises PartsMissingError as stored_order does."""
    head = stored_order(items)
    if head is None:
        return None
    timeline = sorted(
        (
            TimelineEntry(
                event_id=i["event_id"],
                type=i["type"],
                occurred_at=datetime.fromisoformat(i["occurred_at"]),
                applied_at=datetime.fromisoformat(i["applied_at"]),
                summary=i.get("summary", ""),
                applied=bool(i.get("applied", True)),
                emits=_emits(i),
            )
            for i in items
            if i.get("kind") == "timeline"
        ),
        key=lambda e: (e.occurred_at, e.applied_at),
    )
    return Order(
        order_id=head["order_id"],
        channel=head["channel"],
        status=OrderStatus(head["status"]),
        total=Money(int(head["total_minor"]), head["currency"]),
        lines=_read_lines(head.get("lines")),
        customer_email=head.get("customer_email"),
        shipping_country=head.get("shipping_country"),
        shipping_address=_read_address(head.get("shipping_address")),
        hold_reason=HoldReason(head["hold_reason"]) if head.get("hold_reason") else None,
        previous_status=OrderStatus(head["previous_status"]) if head.get("previous_status") else None,
        reservations=tuple(
            Reservation(
                r["sku"], r["location"], int(r["quantity"]), int(r.get("released", 0)), int(r.get("consumed", 0))
            )
            for r in head.get("reservations", [])
        ),
        shortages={k: int(v) for k, v in head.get("shortages", {}).items()},
        placed_at=_time(head.get("placed_at")),
        as_of=_time(head.get("as_of")),
        recorded_from=head.get("recorded_from"),
        # Orders stored before these were kept have neither: nothing stated, nothing to wait for.
        storefront_fulfilments=tuple(
            StorefrontFulfilment(f.get("fulfilment_id"), f["event_id"]) for f in head.get("storefront_fulfilments", [])
        ),
        storefront_shipped={k: int(v) for k, v in head.get("storefront_shipped", {}).items()},
        timeline=timeline,
        payments=[
            PaymentRecord(
                kind=p["kind"],
                reference=p["reference"],
                source=p["source"],
                amount=int(p["amount"]),
                currency=p["currency"],
                status=p["status"],
                at=datetime.fromisoformat(p["at"]),
                event_id=p["event_id"],
                storefront=bool(p.get("storefront", False)),
            )
            for p in head.get("payments", [])
        ],
        fulfilments=[
            Fulfilment(
                fulfilment_id=f["fulfilment_id"],
                location=f.get("location"),
                lines=_read_lines(f.get("lines")),
                status=f.get("status", "pending"),
                carrier=f.get("carrier"),
                service=f.get("service"),
                tracking_number=f.get("tracking_number"),
                tracking_url=f.get("tracking_url"),
                label_url=f.get("label_url"),
                written_back=bool(f.get("written_back", False)),
                origin=f.get("origin"),
                shipped_at=_time(f.get("shipped_at")),
                delivered_at=_time(f.get("delivered_at")),
                external_id=f.get("external_id"),
            )
            for f in head.get("fulfilments", [])
        ],
        version=int(head.get("version", 1)),
    )
