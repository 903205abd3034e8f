"""The customer values as the adapter stores them: JSON values, money in minor units, times in ISO 8601.

`hub.adapters.customers` keeps a profile and an order summary as JSON text in their items; the
domain keeps no wire format.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hub.domain.customers import ConsentStatement, CustomerProfile, OrderRef, OrderSummary, ProductBought

__all__ = ["profile_from_dict", "profile_to_dict", "summary_from_dict", "summary_to_dict"]


def summary_to_dict(summary: OrderSummary) -> dict[str, Any]:
    return {
        "order_id": summary.order_id,
        "channel": summary.channel,
        "placed_at": summary.placed_at.isoformat(),
        "currency": summary.currency,
        "total": summary.total,
        "paid": summary.paid,
        "cancelled": summary.cancelled,
        "refunded": summary.refunded,
        "refund_count": summary.refund_count,
        "lines": [list(line) for line in summary.lines],
        "updated_at": summary.updated_at.isoformat(),
    }


def summary_from_dict(value: Mapping[str, Any]) -> OrderSummary:
    return OrderSummary(
        order_id=value["order_id"],
        channel=value["channel"],
        placed_at=datetime.fromisoformat(value["placed_at"]),
        currency=value["currency"],
        total=int(value["total"]),
        paid=bool(value["paid"]),
        cancelled=bool(value["cancelled"]),
        refunded=int(value["refunded"]),
        refund_count=int(value["refund_count"]),
        lines=tuple((str(sku), title, int(qty)) for sku, title, qty in value.get("lines", [])),
        updated_at=datetime.fromisoformat(value["updated_at"]),
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _ref_dict(ref: OrderRef | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    return {
        "order_id": ref.order_id,
        "channel": ref.channel,
        "placed_at": ref.placed_at.isoformat(),
        "currency": ref.currency,
        "total": ref.total,
    }


def _ref_from(value: Mapping[str, Any] | None) -> OrderRef | None:
    if not value:
        return None
    return OrderRef(
        value["order_id"],
        value["channel"],
        datetime.fromisoformat(value["placed_at"]),
        value["currency"],
        value["total"],
    )


def _consent_dict(consent: ConsentStatement) -> dict[str, Any]:
    return {"subscribed": consent.subscribed, "stated_at": _iso(consent.stated_at), "channel": consent.channel}


def _consent_from(value: Mapping[str, Any]) -> ConsentStatement:
    return ConsentStatement(value.get("subscribed"), _time(value.get("stated_at")), value.get("channel"))


def profile_to_dict(profile: CustomerProfile) -> dict[str, Any]:
    """The profile as JSON values (money in minor units), for storage; `profile_from_dict` reverses it."""
    return {
        "email": profile.email,
        "erasure_key": profile.erasure_key,
        "first_name": profile.first_name,
        "last_name": profile.last_name,
        "phone": profile.phone,
        "channels": list(profile.channels),
        "platform_customer_ids": dict(profile.platform_customer_ids),
        "order_ids": list(profile.order_ids),
        "order_count": profile.order_count,
        "cancelled_order_count": profile.cancelled_order_count,
        "first_order": _ref_dict(profile.first_order),
        "last_order": _ref_dict(profile.last_order),
        "total_spent": dict(profile.total_spent),
        "average_order_value": dict(profile.average_order_value),
        "refund_count": profile.refund_count,
        "refunded": dict(profile.refunded),
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
        "email_marketing": _consent_dict(profile.email_marketing),
        "sms_marketing": _consent_dict(profile.sms_marketing),
        "tags": list(profile.tags),
        "updated_at": profile.updated_at.isoformat(),
    }


def profile_from_dict(value: Mapping[str, Any]) -> CustomerProfile:
    return CustomerProfile(
        email=value["email"],
        erasure_key=value["erasure_key"],
        first_name=value.get("first_name"),
        last_name=value.get("last_name"),
        phone=value.get("phone"),
        channels=tuple(value.get("channels", ())),
        platform_customer_ids=dict(value.get("platform_customer_ids", {})),
        order_ids=tuple(value.get("order_ids", ())),
        order_count=int(value.get("order_count", 0)),
        cancelled_order_count=int(value.get("cancelled_order_count", 0)),
        first_order=_ref_from(value.get("first_order")),
        last_order=_ref_from(value.get("last_order")),
        total_spent={k: int(v) for k, v in value.get("total_spent", {}).items()},
        average_order_value={k: int(v) for k, v in value.get("average_order_value", {}).items()},
        refund_count=int(value.get("refund_count", 0)),
        refunded={k: int(v) for k, v in value.get("refunded", {}).items()},
        products=tuple(
            # Written by profile_to_dict from a datetime, so always there.
            ProductBought(
                p["sku"],
                p.get("title"),
                int(p["quantity"]),
                int(p["orders"]),
                datetime.fromisoformat(p["last_bought_at"]),
            )
            for p in value.get("products", ())
        ),
        email_marketing=_consent_from(value.get("email_marketing", {})),
        sms_marketing=_consent_from(value.get("sms_marketing", {})),
        tags=tuple(value.get("tags", ())),
        updated_at=datetime.fromisoformat(value["updated_at"]),
    )
