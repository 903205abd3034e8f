"""One order placed by several of its deliveries counts once downstream.

Shopify's orders/paid, orders/create and orders/fulfilled for one order (events/payloads, Shopify's
sample order 820982911946154508) are three OrderPlaced with ids of their own and the same creation
time. Reporting keeps the earliest placement, the customer profile counts the order once, and
marketing schedules once and tracks Klaviyo's "Placed Order" once.
"""

from __future__ import annotations

from datetime import date

from hub.domain.customers import erasure_key

from tests.customer_fakes import FakeCustomerStore
from tests.marketing_fakes import SALT
from tests.reporting_fakes import FakeReportStore
from tests.unit.test_customer_profiles import service as customer_service
from tests.unit.test_marketing_service import World
from tests.unit.test_order_arrival import shopify
from tests.unit.test_reporting import report, usd
from tests.unit.test_reporting import service as reporting_service

EMAIL = "ada.lovelace@example.com"
ORDER_ID = "shopify:820982911946154508"


def placements():
    events = [*shopify("orders/paid"), *shopify("orders/create"), *shopify("orders/fulfilled")]
    placed = [e for e in events if e.type == "OrderPlaced"]
    assert len({e.event_id for e in placed}) == 3 and len({e.occurred_at for e in placed}) == 1
    return placed


def test_the_daily_report_counts_the_order_once_on_the_day_it_was_placed():
    store = FakeReportStore()
    svc = reporting_service(store)
    outcomes = [svc.handle(e).outcome for e in placements()]
    assert outcomes == ["applied", "duplicate", "duplicate"]
    body = usd(report(store, date(2026, 11, 20)))
    assert (body["orders"], body["revenue"]) == (1, "85.92")


def test_the_customer_profile_counts_the_order_once():
    svc, store = customer_service(FakeCustomerStore())
    for event in placements():
        svc.handle(event)
    profile, _version = store.profiles[EMAIL]
    assert profile.order_count == 1
    assert list(profile.order_ids) == [ORDER_ID]


def test_marketing_schedules_once_and_tracks_placed_order_once():
    world = World(channels=["klaviyo"])
    world.profiles.add(EMAIL)
    for event in placements():
        world.service.handle(event)
    assert [(e["metric"], e["unique_id"]) for e in world.tracker.events] == [("Placed Order", ORDER_ID)]
    customer = erasure_key(EMAIL, SALT)
    assert world.store.last_order(customer).order_id == ORDER_ID
    win_backs = world.schedules.by_trigger("win_back")
    assert len(win_backs) == 1 and len(world.schedules.created) == 1
