"""The Reports page's charts: SVG drawn on the server by pygal from a range report (range_report).

The console runs no JavaScript, so the charts are static SVG documents served by the console itself
(`reports/chart/...`, loaded by `<img>`): pygal's script elements (its tooltips, and the
configuration it writes for them), the tooltips' overlay and its comments are taken out, so the document refers to
nothing outside itself, and it is served with a policy allowing only its own style element, by hash.
Each bar's printed figure is the report's own decimal string (the JSON's); the numbers pygal lays
out are integer minor units, so no figure shown goes through a float.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from hub.money import format_minor, parse_minor

__all__ = ["Chart", "orders_chart", "revenue_chart"]

WIDTH, HEIGHT = 760, 320
PRINT_VALUES_UP_TO = 14  # days: beyond, the bars' figures would overlap (the table has them all)


@dataclass(frozen=True)
class Chart:
    svg: str
    style_hashes: tuple[str, ...]  # the CSP hashes of the document's style elements

    def policy(self) -> str:
        styles = " ".join(f"'sha256-{h}'" for h in self.style_hashes) or "'none'"
        return f"default-src 'none'; style-src {styles}; frame-ancestors 'self'"


def _style() -> Any:
    from pygal.style import Style

    # The console's palette: colour-blind-safe hues, text at AA contrast on white.
    return Style(
        background="#ffffff",
        plot_background="#ffffff",
        foreground="#1b1f24",
        foreground_strong="#1b1f24",
        foreground_subtle="#4a5360",
        font_family='system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
        colors=("#0b5cad", "#c15a00", "#1d6b2c", "#7a3e9d", "#a1151d", "#4a5360"),
        value_font_size=11,
        label_font_size=11,
        major_label_font_size=11,
        title_font_size=14,
        legend_font_size=12,
    )


def _bar(title: str, days: Sequence[str], y_format: Callable[[float], str]) -> Any:
    import pygal  # only the Reports page pays for it

    chart = pygal.Bar(
        title=title,
        width=WIDTH,
        height=HEIGHT,
        explicit_size=True,
        style=_style(),
        js=[],
        disable_xml_declaration=True,
        legend_at_bottom=True,
        print_values=len(days) <= PRINT_VALUES_UP_TO,
        print_zeroes=False,
        value_formatter=y_format,
        x_label_rotation=-30 if len(days) > 7 else 0,
        show_minor_x_labels=len(days) <= 31,
        x_labels_major_every=max(1, len(days) // 12),
        include_x_axis=True,
    )
    chart.x_labels = list(days)
    return chart


def _finish(chart: Any) -> Chart:
    """The SVG without scripts or comments, and the hashes of its style elements."""
    root = chart.render_tree()
    for parent in list(root.iter()):
        for child in list(parent):
            # The tooltip overlay is for pygal's script only.
            tooltip = "tooltip-overlay" in (child.get("class") or "").split()
            if child.tag is ElementTree.Comment or _local(child.tag) == "script" or tooltip:
                parent.remove(child)
    hashes = tuple(
        base64.b64encode(hashlib.sha256((style.text or "").encode()).digest()).decode()
        for style in root.iter()
        if isinstance(style.tag, str) and _local(style.tag) == "style"
    )
    return Chart(ElementTree.tostring(root, encoding="unicode"), hashes)


def _local(tag: Any) -> str:
    # pygal writes plain tag names under a default namespace attribute; allow for namespaced ones too.
    return str(tag).rpartition("}")[2]


def _money_axis(currency: str) -> Callable[[float], str]:
    # Axis ticks are pygal's own positions in minor units; the bars' figures are the report's strings.
    return lambda value: format_minor(round(value), currency)


def revenue_chart(report: Mapping[str, Any], currency: str) -> Chart:
    """Revenue per day in one currency, a bar per channel (currencies are never added together)."""
    days = [day["date"] for day in report["days"]]
    chart = _bar(f"Revenue per day, {currency}", days, _money_axis(currency))
    for channel in _channels(report):
        values: list[dict[str, Any] | None] = []
        for day in report["days"]:
            figures = _currency_of(day, channel, currency)
            if figures is None or not figures["orders"]:
                values.append(None)
                continue
            shown = figures["revenue"]
            values.append({"value": parse_minor(shown, currency), "formatter": lambda _v, s=shown: s})
        if any(v is not None for v in values):
            chart.add(channel, values)
    return _finish(chart)


def orders_chart(report: Mapping[str, Any]) -> Chart:
    """Orders per day, a bar per channel (every currency)."""
    days = [day["date"] for day in report["days"]]
    chart = _bar("Orders per day", days, lambda value: str(round(value)))
    for channel in _channels(report):
        values: list[int | None] = []
        for day in report["days"]:
            found = next((c for c in day["channels"] if c["channel"] == channel), None)
            values.append(found["orders"] if found and found["orders"] else None)
        if any(v is not None for v in values):
            chart.add(channel, values)
    return _finish(chart)


def _channels(report: Mapping[str, Any]) -> list[str]:
    return [c["channel"] for c in report["channels"]]


def _currency_of(day: Mapping[str, Any], channel: str, currency: str) -> Mapping[str, Any] | None:
    for found in day["channels"]:
        if found["channel"] == channel:
            return next((c for c in found["currencies"] if c["currency"] == currency), None)
    return None
