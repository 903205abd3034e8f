"""The console's stock pages: every SKU with its available and reserved units per location, low
stock marked (the configured low_stock_threshold), a page at a time; a SKU's page with its levels,
who last set each one and when, its latest changes and where each came from (an order, a storefront's
level, a correction), and a correction form doing what `PUT /inventory/{sku}` does.

They read and write through hub.api.admin, like GET /inventory and PUT /inventory/{sku}.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from hub.api import admin
from hub.console.frame import PREFIX, Request, Response, page, redirect, render
from hub.domain.stock_history import HISTORY_DAYS, ChangeCause
from hub.errors import NotFoundError, RefusedError
from hub.services.stock_list import PAGE_SIZE, encode_cursor

if TYPE_CHECKING:
    from hub.bootstrap import Sandbox

__all__ = ["stock", "stock_sku"]

_UNITS = re.compile(r"\d{1,9}")
# How the changes table names each cause.
_CAUSES = {
    ChangeCause.RESERVATION.value: "reserved by an order",
    ChangeCause.RELEASE.value: "released by an order",
    ChangeCause.STOREFRONT.value: "storefront level",
    ChangeCause.CORRECTION.value: "correction",
}


@page("stock", nav="Stock")
def stock(sandbox: Sandbox, request: Request) -> Response:
    cursor = request.query.get("cursor") or None
    found = admin.inventory_page(sandbox, cursor)  # a cursor not given by this list is a 400
    config = sandbox.config()
    return render(
        request,
        "stock.html",
        title="Stock",
        rows=found.skus,
        locations=config.location_ids(),
        threshold=config.low_stock_threshold,
        next_cursor=encode_cursor(found.next_after) if found.next_after else None,
        first_page=cursor is None,
        page_size=PAGE_SIZE,
    )


@page("stock/<sku>", methods=("GET", "POST"))
def stock_sku(sandbox: Sandbox, request: Request, sku: str) -> Response:
    raw, sku = sku, unquote(sku)  # the path segment as PUT /inventory/{sku} takes it, and the SKU
    error, status, values = None, 200, {"location": "", "available": ""}
    if request.method == "POST":
        values = {"location": request.form.get("location", "").strip(), "available": request.form.get("available", "")}
        units = values["available"].strip()
        if not _UNITS.fullmatch(units):
            error, status = "Available must be a whole number of units, 0 or more (for example 12).", 400
        else:
            try:
                # The same route body as PUT /inventory/{sku}: the same checks, service and event.
                admin.put_inventory(sandbox, raw, lambda: {"location": values["location"], "available": int(units)})
            except RefusedError as exc:
                error, status = str(exc), exc.status_code
            else:
                return redirect(f"{PREFIX}/stock/{quote(sku, safe='')}?set={quote(values['location'], safe='')}")
    config = sandbox.config()
    levels = sandbox.ledger.levels_for(sku)
    if not levels and request.method == "GET":
        raise NotFoundError(f"no stock is recorded for SKU '{sku}'; set it with PUT /inventory/{sku}")
    available = sum(level.available for level in levels.values())
    return render(
        request,
        "stock_sku.html",
        status,
        title=f"Stock: {sku}",
        sku=sku,
        levels=[levels[loc] for loc in sorted(levels)],
        changes=sandbox.stock_history.latest(sku),
        change_causes=_CAUSES,
        history_days=HISTORY_DAYS,
        available=available,
        reserved=sum(level.reserved for level in levels.values()),
        low=available <= config.low_stock_threshold,
        threshold=config.low_stock_threshold,
        locations=config.location_ids(),
        error=error,
        values=values,
        just_set=request.query.get("set"),
    )
