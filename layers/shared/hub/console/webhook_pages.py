"""The console's webhooks page: per source, the last 24 hours of deliveries by outcome (accepted,
duplicate, ignored, refused, failed) and the latest refusals with the reason intake answered, so a
wrong secret shows at a glance.

It reads through hub.services.webhook_activity, as GET /webhooks/activity does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.console.frame import Request, Response, page, render
from hub.domain.webhook_activity import HOURS, UNKNOWN_SOURCE

if TYPE_CHECKING:
    from hub.bootstrap import Sandbox

__all__ = ["webhooks"]


@page("webhooks", nav="Webhooks")
def webhooks(sandbox: Sandbox, request: Request) -> Response:
    rows = sandbox.webhook_activity.last_day()
    return render(
        request,
        "webhooks.html",
        title="Webhooks",
        rows=rows,
        hours=HOURS,
        unknown=UNKNOWN_SOURCE,
        refused=[row.source for row in rows if row.refused],
    )
