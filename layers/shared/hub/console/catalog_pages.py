"""The console's catalog page: the drift catalog sync recorded (changes made on channels that are not
the catalog master, docs/catalog.md), newest first, as GET /catalog/drift lists it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.console.frame import Request, Response, page, render

if TYPE_CHECKING:
    from hub.bootstrap import Sandbox

__all__ = ["catalog"]


@page("catalog", nav="Catalog")
def catalog(sandbox: Sandbox, request: Request) -> Response:
    settings = sandbox.config().catalog
    drift = sandbox.catalog_push_log.drift(100) if settings is not None else []
    return render(request, "catalog.html", title="Catalog", settings=settings, drift=drift)
