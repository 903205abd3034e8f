"""The console's Reports page: the daily report over a range of days as charts and tables, each
chart's figures in the table beside it, and the same figures as a CSV download.

Everything is read once per request through ReportingService.between, what GET /reports/daily
?from=&to= answers (hub.api.admin), so the page, its charts, its CSV and the JSON agree. The charts
are SVG drawn on the server (hub.console.report_charts); the CSV is hub.console.report_export.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from hub.api.admin import report_end, report_range
from hub.console.frame import Request, Response, page, render
from hub.console.report_charts import Chart, orders_chart, revenue_chart
from hub.console.report_export import report_csv
from hub.domain.reporting import MAX_REPORT_DAYS
from hub.domain.traffic import NOT_CONFIGURED
from hub.errors import BadRequestError, NotFoundError

if TYPE_CHECKING:
    from hub.bootstrap import Sandbox

__all__ = ["report_chart", "report_download", "reports"]

DEFAULT_DAYS = 7  # the form's range when none is asked: the last 7 UTC days, today included


def _today() -> date:
    return datetime.now(UTC).date()


def _asked(query: Mapping[str, str]) -> dict[str, str]:
    """The range's ends as asked, a missing one filled in: `to` today, `from` six days before `to`
    (a `to` that is no day is then refused, naming it)."""
    last = (query.get("to") or "").strip() or _today().isoformat()
    first = (query.get("from") or "").strip()
    if not first:
        first = (report_end({"to": last}, "to") - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    return {"from": first, "to": last}


def _report(sandbox: Sandbox, asked: Mapping[str, str]) -> dict[str, Any]:
    first, last = report_range(asked)
    return sandbox.reports.between(first, last)


@page("reports", nav="Reports")
def reports(sandbox: Sandbox, request: Request) -> Response:
    asked = {"from": request.query.get("from") or "", "to": request.query.get("to") or ""}
    try:
        asked = _asked(request.query)
        report = _report(sandbox, asked)
    except BadRequestError as exc:
        return render(
            request,
            "reports.html",
            400,
            title="Reports",
            asked=asked,
            error=str(exc),
            report=None,
            max_days=MAX_REPORT_DAYS,
        )
    currencies = sorted({c["currency"] for c in report["totals"]["currencies"]})
    return render(
        request,
        "reports.html",
        title="Reports",
        asked=asked,
        error=None,
        report=report,
        max_days=MAX_REPORT_DAYS,
        currencies=currencies,
        revenue_rows={currency: _revenue_rows(report, currency) for currency in currencies},
        order_rows=_order_rows(report),
        range_query=urlencode(asked),
        traffic_not_configured=NOT_CONFIGURED,
    )


@page("reports/chart/<name>")
def report_chart(sandbox: Sandbox, request: Request, name: str) -> Response:
    """`revenue.svg?currency=USD&from=&to=` or `orders.svg?from=&to=`: an SVG document of its own,
    under a policy that allows only its style element."""
    if name not in ("revenue.svg", "orders.svg"):
        raise NotFoundError("there is no such chart; the Reports page links to the ones there are")
    report = _report(sandbox, _asked(request.query))
    if name == "orders.svg":
        return _svg(orders_chart(report))
    currency = (request.query.get("currency") or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise BadRequestError("currency must be a currency code such as USD")
    return _svg(revenue_chart(report, currency))


@page("reports.csv")
def report_download(sandbox: Sandbox, request: Request) -> Response:
    asked = _asked(request.query)
    report = _report(sandbox, asked)
    return Response(
        200,
        report_csv(report),
        {
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="report-{report["from"]}-to-{report["to"]}.csv"',
        },
    )


def _svg(chart: Chart) -> Response:
    return Response(
        200, chart.svg, {"Content-Type": "image/svg+xml; charset=utf-8", "Content-Security-Policy": chart.policy()}
    )


def _revenue_rows(report: Mapping[str, Any], currency: str) -> list[dict[str, Any]]:
    """The revenue chart's figures: each day and channel with orders or refunds in `currency`."""
    rows = []
    for day in report["days"]:
        for channel in day["channels"]:
            for figures in channel["currencies"]:
                if figures["currency"] == currency:
                    rows.append({"date": day["date"], "channel": channel["channel"], **figures})
    return rows


def _order_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The orders chart's figures: each day and channel with anything reported."""
    return [{"date": day["date"], **channel} for day in report["days"] for channel in day["channels"]]
