"""How orders and stock look through the read/admin API (the JSON contract of the design)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hub.domain.audiences import Audience, Membership
from hub.domain.catalog import CatalogProduct
from hub.domain.customers import ConsentStatement, CustomerProfile, OrderRef
from hub.domain.lineage import LineageEntry, Step
from hub.domain.marketing import SentMessage
from hub.domain.order_search import OrderPage, OrderRow
from hub.domain.orders import Fulfilment, Order, PaymentRecord
from hub.domain.stock import SkuStock, StockLevel
from hub.domain.stock_history import StockChange
from hub.money import format_minor

__all__ = [
    "audience_memberships_view",
    "customer_view",
    "inventory_view",
    "lineage_view",
    "message_view",
    "order_page_view",
    "order_row_view",
    "order_view",
    "product_view",
    "sku_stock_view",
    "stock_change_view",
]


def order_view(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "channel": order.channel,
        "status": order.status.value,
        "hold_reason": order.hold_reason.value if order.hold_reason else None,
        "currency": order.currency,
        "total": order.total.decimal_string,
        "customer_email": order.customer_email,
        "lines": [
            {"sku": ln.sku, "quantity": ln.quantity} | ({} if ln.stocked else {"stocked": False}) for ln in order.lines
        ],
        "reservations": [{"sku": r.sku, "location": r.location, "quantity": r.quantity} for r in order.reservations],
        "shortages": dict(order.shortages),
        "payments": [_payment(p) for p in order.payments],
        "fulfilments": [_fulfilment(f) for f in order.fulfilments],
        "timeline": [
            {
                "event_id": e.event_id,
                "type": e.type,
                "occurred_at": e.occurred_at.isoformat(),
                "applied_at": e.applied_at.isoformat(),
                "applied": e.applied,
                "summary": e.summary,
            }
            for e in order.timeline
        ],
    }


def order_row_view(row: OrderRow) -> dict[str, Any]:
    """One order of GET /orders: what a list shows of it."""
    return {
        "order_id": row.order_id,
        "channel": row.channel,
        "status": row.status,
        "hold_reason": row.hold_reason,
        "currency": row.currency,
        "total": format_minor(row.total, row.currency),
        "placed_at": row.placed_at.isoformat(),
    }


def order_page_view(page: OrderPage) -> dict[str, Any]:
    """GET /orders: a page of orders, newest first; `next_cursor` (null on the last page) asks for the next."""
    return {
        "orders": [order_row_view(r) for r in page.orders],
        "next_cursor": page.next_cursor.encode() if page.next_cursor else None,
    }


def lineage_view(order_id: str, entries: list[LineageEntry]) -> dict[str, Any]:
    """GET /orders/{id}/lineage: one object per step, oldest first, with the fields its step has."""
    return {"order_id": order_id, "entries": [_lineage_entry(e) for e in entries]}


def _lineage_entry(e: LineageEntry) -> dict[str, Any]:
    view: dict[str, Any] = {"at": e.at.isoformat(), "step": e.step.value, "result": str(e.result)}
    if e.step is Step.DELIVERY:
        view |= {"source": e.source, "via": e.via, "delivery_id": e.ref, "event_ids": list(e.event_ids)}
        view["events"] = e.detail
    elif e.step is Step.DECISION:
        view |= {"event_type": e.event_type, "event_id": e.event_ids[0] if e.event_ids else None, "why": e.detail}
    else:
        view |= {"call": e.call.value if e.call else None, "system": e.source, "reference": e.ref, "detail": e.detail}
        if e.event_ids:
            view["event_id"] = e.event_ids[0]
    return view


def _payment(p: PaymentRecord) -> dict[str, Any]:
    """One payment, refund, failure or dispute applied to the order. `source` is the gateway (or the
    storefront's channel); `storefront: true` marks the storefront's own statement that the order is
    paid (or refunded), which asserts the order's total rather than adding an amount."""
    known = bool(p.currency) and not (p.kind in ("failure", "dispute") and p.amount == 0)
    return {
        "kind": p.kind,
        "source": p.source,
        "reference": p.reference,
        "amount": format_minor(p.amount, p.currency) if known else None,
        "currency": p.currency or None,
        "status": p.status,
        "at": p.at.isoformat(),
        "storefront": p.storefront,
    }


def _fulfilment(f: Fulfilment) -> dict[str, Any]:
    return {
        "fulfilment_id": f.fulfilment_id,
        "location": f.location,
        "status": f.status,
        "lines": [{"sku": ln.sku, "quantity": ln.quantity} for ln in f.lines],
        "carrier": f.carrier,
        "service": f.service,
        "tracking_number": f.tracking_number,
        "tracking_url": f.tracking_url,
        "label_url": f.label_url,
        "shipped_by": f.origin,
        "shipped_at": f.shipped_at.isoformat() if f.shipped_at else None,
        "delivered_at": f.delivered_at.isoformat() if f.delivered_at else None,
        "written_back": f.written_back,
    }


def inventory_view(sku: str, levels: Mapping[str, StockLevel]) -> dict[str, Any]:
    return {
        "sku": sku,
        "available": sum(lvl.available for lvl in levels.values()),
        "reserved": sum(lvl.reserved for lvl in levels.values()),
        "locations": {
            loc: {"available": lvl.available, "reserved": lvl.reserved} for loc, lvl in sorted(levels.items())
        },
    }


def stock_change_view(change: StockChange) -> dict[str, Any]:
    """One entry of GET /inventory/{sku}'s `changes`: a change to a location's available units."""
    return {
        "at": change.at.isoformat(),
        "location": change.location,
        "cause": change.cause.value,
        "origin": change.origin,
        "order_id": change.order_id,
        "before": change.before,
        "after": change.after,
        "delta": change.delta,
    }


def sku_stock_view(row: SkuStock) -> dict[str, Any]:
    """A row of GET /inventory: GET /inventory/{sku}'s answer, and whether the SKU is low on stock."""
    return {**inventory_view(row.sku, row.levels), "low_stock": row.low}


def _money(amounts: Mapping[str, int]) -> dict[str, str]:
    return {currency: format_minor(minor, currency) for currency, minor in sorted(amounts.items())}


def _order_ref(ref: OrderRef | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    return {
        "order_id": ref.order_id,
        "channel": ref.channel,
        "placed_at": ref.placed_at.isoformat(),
        "currency": ref.currency,
        "total": format_minor(ref.total, ref.currency),
    }


def _consent(statement: ConsentStatement) -> dict[str, Any]:
    return {
        "subscribed": statement.subscribed,
        "stated_at": statement.stated_at.isoformat() if statement.stated_at else None,
        "channel": statement.channel,
    }


def message_view(message: SentMessage) -> dict[str, Any]:
    """One marketing message of a customer's history (GET /customers/{email}'s `messages`)."""
    return {
        "trigger": message.trigger,
        "outcome": message.outcome,
        "sent_at": message.at.isoformat(),
        "channels": list(message.channels),
        "subject": {"kind": message.subject_kind, "id": message.subject_id},
        "basis": message.basis,
        "channel": message.channel,
        "sku": message.sku,
        "message_key": message.message_key,
    }


def audience_memberships_view(memberships: Mapping[Audience, Membership]) -> list[dict[str, Any]]:
    """The ad audiences the hub put a customer in or took them out of (a data-request export's
    `ad_audiences`): per audience the vendor, its id, member or not, and since when; never the
    identifiers sent."""
    return [
        {
            "vendor": audience.destination,
            "audience_id": audience.audience_id,
            "member": membership.member,
            "since": membership.at.isoformat(),
        }
        for audience, membership in sorted(memberships.items())
    ]


def customer_view(profile: CustomerProfile, messages: Sequence[SentMessage] | None = None) -> dict[str, Any]:
    """GET /customers/{email}: the profile, money as decimal strings per currency, and with `messages`
    the marketing messages sent to the customer, newest first (a data-request export lists them apart)."""
    return {
        "email": profile.email,
        "first_name": profile.first_name,
        "last_name": profile.last_name,
        "phone": profile.phone,
        "channels": list(profile.channels),
        "platform_customer_ids": dict(profile.platform_customer_ids),
        "order_count": profile.order_count,
        "cancelled_order_count": profile.cancelled_order_count,
        "orders": list(profile.order_ids),
        "first_order_at": profile.first_order_at.isoformat() if profile.first_order_at else None,
        "last_order_at": profile.last_order_at.isoformat() if profile.last_order_at else None,
        "first_order": _order_ref(profile.first_order),
        "last_order": _order_ref(profile.last_order),
        "total_spent": _money(profile.total_spent),
        "average_order_value": _money(profile.average_order_value),
        "refunds": {"count": profile.refund_count, "total": _money(profile.refunded)},
        "products": [
            {
                "sku": p.sku,
                "title": p.title,
                "quantity": p.quantity,
                "orders": p.orders,
                "last_bought_at": p.last_bought_at.isoformat(),
            }
            for p in profile.products
        ],
        "consent": {
            "email_marketing": _consent(profile.email_marketing),
            "sms_marketing": _consent(profile.sms_marketing),
        },
        "tags": list(profile.tags),
        "updated_at": profile.updated_at.isoformat(),
    } | ({} if messages is None else {"messages": [message_view(m) for m in messages]})


def product_view(product: CatalogProduct) -> dict[str, Any]:
    """A catalog product as the admin API shows it: prices as decimal strings with their currency."""
    return {
        "product_key": product.key,
        "title": product.title,
        "description": product.description,
        "status": product.status,
        "url": product.url,
        "images": list(product.images),
        "options": [{"name": o.name, "values": list(o.values)} for o in product.options],
        "variants": [
            {
                "sku": v.sku,
                "price": format_minor(v.price, v.currency),
                "compare_at_price": None
                if v.compare_at_price is None
                else format_minor(v.compare_at_price, v.currency),
                "currency": v.currency,
                "option_values": list(v.option_values),
            }
            for v in product.variants
        ],
    }
