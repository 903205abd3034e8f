"""The console's pages: each a view function of (sandbox, request, path parts), one template, one nav entry.

Pages read through the same services as the admin API (hub.api.admin), so the console shows
exactly what `GET /orders`, `GET /orders/{id}` and `GET /orders/{id}/lineage` answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.api import admin
from hub.console.frame import Request, Response, page, render
from hub.domain.order_search import PAGE_SIZE
from hub.domain.orders import HoldReason, OrderStatus
from hub.errors import NotFoundError, RefusedError
from hub.views import order_row_view

if TYPE_CHECKING:
    from hub.bootstrap import Sandbox

__all__ = ["order_detail", "orders"]

_FILTERS = ("status", "channel", "email", "from", "to")


def _label(value: str | None) -> str:
    return (value or "").replace("_", " ")


@page("orders", nav="Orders")
def orders(sandbox: Sandbox, request: Request) -> Response:
    filters = {name: (request.query.get(name) or "").strip() for name in _FILTERS}
    error = None
    try:
        found = admin.find_orders(sandbox, admin.order_query({**filters, "cursor": request.query.get("cursor", "")}))
        rows, next_cursor = [order_row_view(r) for r in found.orders], found.next_cursor
    except RefusedError as exc:
        rows, next_cursor, error = [], None, str(exc)
    kept = {name: value for name, value in filters.items() if value}
    return render(
        request,
        "orders.html",
        400 if error else 200,
        title="Orders",
        rows=rows,
        filters=filters,
        kept=kept,
        error=error,
        next_cursor=next_cursor.encode() if next_cursor else None,
        first_page=not request.query.get("cursor"),
        statuses=[(s.value, _label(s.value)) for s in OrderStatus],
        label=_label,
        page_size=PAGE_SIZE,
    )


@page("orders/<order_id>")
def order_detail(sandbox: Sandbox, request: Request, order_id: str) -> Response:
    order = admin.get_order(sandbox, order_id)
    try:
        lineage = admin.get_order_lineage(sandbox, order_id)["entries"]
    except NotFoundError:
        lineage = []
    return render(
        request,
        "order.html",
        title=f"Order {order['order_id']}",
        order=order,
        lineage=lineage,
        label=_label,
        hold_reasons={r.value: _label(r.value) for r in HoldReason},
        safe_link=_safe_link,
    )


def _safe_link(url: str | None) -> str | None:
    """A carrier's tracking or label link, only when it is a web address (never javascript: etc.)."""
    return url if url and url.lower().startswith(("https://", "http://")) else None
