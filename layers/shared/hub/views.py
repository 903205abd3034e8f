"""How orders and stock look through the read/admin API (the JSON contract of the design)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.domain.orders import Fulfilment, Order
from hub.domain.stock import StockLevel

__all__ = ["inventory_view", "order_view"]


def order_view(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "channel": order.channel,
        "status": order.status.value,
        "hold_reason": order.hold_reason.value if order.hold_reason else None,
        "currency": order.currency,
        "total": order.total.decimal_string,
        "customer_email": order.customer_email,
        "lines": [{"sku": ln.sku, "quantity": ln.quantity} for ln in order.lines],
        "reservations": [{"sku": r.sku, "location": r.location, "quantity": r.quantity} for r in order.reservations],
        "shortages": dict(order.shortages),
        "payments": [],
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
