"""The Reports page's CSV: one row per day, channel and currency of a range report (range_report).

The figures are the report's own (the JSON's decimal strings for money). Checkouts, conversion and
marketing messages, and the website traffic (sessions, users, session conversion, or why they are
unavailable) belong to a channel, not to a currency: they are repeated on each of the
channel's currency rows, and a channel with checkouts or messages but no orders on a day has one
row with no currency. A text cell that a spreadsheet would take for a formula (a channel or SKU
starting with = + - @) is written with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["CSV_COLUMNS", "report_csv", "report_rows"]

_CURRENCY_FIGURES = (
    "orders",
    "revenue",
    "refunds",
    "net_revenue",
    "average_order_value",
    "units",
    "new_customer_orders",
    "returning_customer_orders",
    "attributed_orders",
    "attributed_revenue",
)
_CHANNEL_FIGURES = (
    "checkouts_started",
    "checkouts_completed",
    "conversion_rate",
    "marketing_messages_sent",
    "sessions",
    "users",
    "session_conversion_rate",
    "sessions_unavailable",
)
CSV_COLUMNS = ("date", "channel", "currency", *_CURRENCY_FIGURES, "top_skus", *_CHANNEL_FIGURES)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA) else value


def _skus(figures: Mapping[str, Any]) -> str:
    return "; ".join(f"{s['sku']}:{s['units']}:{s['revenue']}" for s in figures["top_skus"])


def report_rows(report: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The CSV's rows as dicts keyed by CSV_COLUMNS (None: an empty cell), day by day."""
    for day in report["days"]:
        for channel in day["channels"]:
            per_channel = {name: channel.get(name) for name in _CHANNEL_FIGURES}
            base = {"date": day["date"], "channel": _text(channel["channel"])}
            if not channel["currencies"]:
                yield {**dict.fromkeys(CSV_COLUMNS), **base, **per_channel}
                continue
            for figures in channel["currencies"]:
                yield {
                    **base,
                    "currency": figures["currency"],
                    **{name: figures[name] for name in _CURRENCY_FIGURES},
                    "top_skus": _text(_skus(figures)),
                    **per_channel,
                }


def report_csv(report: Mapping[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(report_rows(report))
    return out.getvalue()
