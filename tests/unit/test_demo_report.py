"""What `commerce-hub demo` prints of the daily report: conversion as a percentage, never above 100%."""

from __future__ import annotations

from datetime import timedelta

import pytest

from commerce_hub.demo import percent, report_table
from tests.reporting_fakes import FakeReportStore
from tests.unit.test_reporting import BASE, checkout, placed, report, service


def _conversion_cell(table: str) -> str:
    header, _rule, row = table.splitlines()[:3]
    start = header.index("conversion")
    return row[start:].split()[0]


def test_five_orders_without_a_checkout_and_one_abandoned_checkout_convert_nothing():
    # The demo's day: five orders placed directly, one shopper abandoning a checkout.
    store = FakeReportStore()
    svc = service(store)
    for n in range(5):
        svc.handle(placed(f"shopify:{n}", BASE + timedelta(minutes=n)))
    svc.handle(checkout("shopify:abandoned", BASE + timedelta(hours=1)))
    table = report_table(report(store))
    assert _conversion_cell(table) == "0.0%"
    assert "5.0000" not in table


def test_completed_checkouts_over_started_ones_as_a_percentage():
    store = FakeReportStore()
    svc = service(store)
    for n in range(3):
        svc.handle(checkout(f"shopify:c{n}", BASE + timedelta(minutes=n)))
    svc.handle(placed("shopify:1", BASE + timedelta(hours=1), checkout_id="shopify:c0"))
    svc.handle(placed("shopify:2", BASE + timedelta(hours=1), checkout_id="shopify:c1"))
    svc.handle(placed("shopify:3", BASE + timedelta(hours=1)))  # no checkout: not in the rate
    assert _conversion_cell(report_table(report(store))) == "66.7%"


@pytest.mark.parametrize(
    ("rate", "shown"), [(None, "-"), ("0.0000", "0.0%"), ("0.6667", "66.7%"), ("0.0005", "0.0%"), ("1.0000", "100.0%")]
)
def test_a_rate_is_shown_as_a_percentage(rate, shown):
    assert percent(rate) == shown


def test_an_empty_report_says_so():
    assert report_table({"channels": []}) == "(nothing yet)"
