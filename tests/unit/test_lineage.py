"""An order's lineage with fakes: the entries' order, what intake, the consumers and the CRM push record,
and that recording never changes the outcome of the work it observes.

Shopify deliveries are the orders/create sample of events/payloads/shopify_orders_create.json (shaped
after the orders/create example of Shopify's webhook reference, shopify.dev), as the intake tests use.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hub.bootstrap import Sandbox
from hub.config import parse_config
from hub.domain.lineage import (
    Call,
    CallResult,
    DecisionResult,
    LineageEntry,
    Step,
    in_time_order,
)
from hub.errors import HubSpotError
from hub.intake import IntakeService
from hub.secrets import SecretsProvider
from hub.services.crm import CrmSync
from hub.services.lineage import LineageReader, LineageRecorder, orders_named
from hub.services.payments import PaymentService
from hub.services.stock import StockService

from tests.customer_fakes import FakeCrm
from tests.fakes import FakeLedger, FakeLineageLog, FakePublisher
from tests.unit.test_customer_profiles import customer
from tests.unit.test_customer_profiles import placed as customer_order
from tests.unit.test_customer_profiles import service as customer_service
from tests.unit.test_intake_service import CONFIG, FakeDeliveryLog
from tests.unit.test_payment_service import CONFIG as PAYMENTS_CONFIG
from tests.unit.test_payment_service import payment, placed
from tests.unit.test_shopify_source import PAYLOAD, SECRET, request

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SHOPIFY_ORDER = "shopify:820982911946154508"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def entry(at: datetime, step: Step, result: str = "ok", **fields) -> LineageEntry:
    return LineageEntry(order_id="shopify:1", at=at, step=step, result=result, **fields)


# --------------------------------------------------------------------------------------------- model
def test_entries_read_oldest_first_and_at_one_instant_delivery_then_decision_then_call():
    later = entry(T0 + timedelta(seconds=1), Step.DELIVERY, "accepted")
    call = entry(T0, Step.CALL, call=Call.CRM_PUSH)
    decision = entry(T0, Step.DECISION, "applied")
    delivery = entry(T0, Step.DELIVERY, "accepted")
    assert in_time_order([later, call, decision, delivery]) == [delivery, decision, call, later]


def test_the_key_sorts_as_the_time_does_across_offsets_and_names_what_the_entry_says():
    utc = entry(datetime(2026, 11, 20, 12, 0, 0, 5, tzinfo=UTC), Step.DELIVERY, "accepted")
    paris = entry(datetime.fromisoformat("2026-11-20T12:30:00+01:00"), Step.DELIVERY, "accepted")
    assert paris.key < utc.key  # 11:30 UTC comes first, whatever the offset it was written with
    assert utc.key.startswith("2026-11-20T12:00:00.000005Z#0#")
    assert entry(T0, Step.DELIVERY, "accepted").key != entry(T0, Step.DELIVERY, "duplicate").key
    assert entry(T0, Step.DELIVERY, "accepted").key == entry(T0, Step.DELIVERY, "accepted").key


# -------------------------------------------------------------------------------------------- intake
@pytest.fixture
def intake():
    log = FakeLineageLog()
    service = IntakeService(
        Sandbox().sources,
        SecretsProvider(values={"SHOPIFY_WEBHOOK_SECRET": SECRET}),
        lambda: CONFIG,
        FakeDeliveryLog(),
        LineageRecorder(log, clock=Clock()),
    )
    return service, log


def test_each_delivery_of_an_order_is_recorded_with_its_id_source_and_whether_it_was_new(intake):
    service, log = intake
    service.receive("shopify", request())
    service.receive("shopify", request())  # Shopify retried: the same webhook id
    entries = log.entries(SHOPIFY_ORDER)
    assert [(e.step, e.result, e.source, e.via, e.ref) for e in entries] == [
        (
            Step.DELIVERY,
            "accepted",
            "shopify",
            "webhook",
            "shopify:ada-goods.myshopify.com:b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        ),
        (
            Step.DELIVERY,
            "duplicate",
            "shopify",
            "webhook",
            "shopify:ada-goods.myshopify.com:b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        ),
    ]
    assert entries[0].event_ids and "OrderPlaced" in entries[0].detail
    assert log.writes == 2  # one write per delivery


def test_a_reconciler_publishing_through_intake_is_recorded_as_such(intake):
    service, log = intake
    delivery = Sandbox().sources["shopify"].parse(request(), CONFIG)
    assert service.publish("shopify", delivery, via="reconciler").status == "accepted"
    assert service.publish("shopify", delivery).status == "duplicate"  # its webhook came after all
    assert [(e.via, e.result) for e in log.entries(SHOPIFY_ORDER)] == [
        ("reconciler", "accepted"),
        ("webhook", "duplicate"),
    ]


def test_no_entry_carries_the_customers_email_name_or_address(intake):
    service, log = intake
    service.receive("shopify", request())
    sample = json.loads(PAYLOAD)
    personal = [sample["email"], sample["customer"]["first_name"], sample["shipping_address"]["address1"]]
    stored = repr(log.items)
    assert all(value and value not in stored for value in personal)


def test_a_lineage_that_cannot_be_written_never_changes_the_answer(intake):
    service, log = intake
    log.fail_next = True
    assert service.receive("shopify", request()).status == "accepted"
    assert log.entries(SHOPIFY_ORDER) == []


def test_a_gateway_payment_names_the_order_its_reference_points_at():
    named = orders_named([payment(order="727")], PAYMENTS_CONFIG)
    assert list(named) == ["woocommerce:727"]
    assert orders_named([payment(order=None)], PAYMENTS_CONFIG) == {}  # unmatched: names no order


# ------------------------------------------------------------------------------------------ decisions
@pytest.fixture
def world():
    ledger, bus, log = FakeLedger(), FakePublisher(), FakeLineageLog()
    lineage = LineageRecorder(log, clock=Clock())
    stock = StockService(ledger, bus, lambda: PAYMENTS_CONFIG, clock=lambda: T0, lineage=lineage)
    payments = PaymentService(ledger, bus, lambda: PAYMENTS_CONFIG, clock=lambda: T0, lineage=lineage)
    stock.set_level("MUG", "wh-east", 10, "admin")
    return ledger, log, stock, payments


def test_a_payment_before_its_order_waits_and_its_redelivery_is_a_duplicate(world):
    ledger, log, stock, payments = world
    payments.handle(payment())
    stock.place_order(placed())
    recorded = [e for e in stock._publisher.events if e.type == "OrderStatusChanged"][-1]
    payments.handle(recorded)  # the kept payment applies
    payments.handle(payment())  # Stripe sent it again
    decisions = [(e.result, e.event_type) for e in log.entries("woocommerce:727")]
    assert decisions == [
        (DecisionResult.WAITING, "PaymentSucceeded"),
        (DecisionResult.DUPLICATE, "PaymentSucceeded"),
    ]
    assert "already applied at" in log.entries("woocommerce:727")[1].detail
    assert ledger.get_order("woocommerce:727").status.value == "paid"


def test_a_redelivered_placement_is_a_duplicate_decision(world):
    _ledger, log, stock, _payments = world
    stock.place_order(placed())
    stock.place_order(placed())
    assert [(e.step, e.result) for e in log.entries("woocommerce:727")] == [(Step.DECISION, "duplicate")]


def test_the_reader_adds_the_timeline_as_decisions_and_knows_unheard_of_orders(world):
    ledger, log, stock, _payments = world
    assert LineageReader(ledger, log).lineage("woocommerce:727") is None
    LineageRecorder(log, clock=lambda: T0 - timedelta(seconds=5)).delivery(
        [placed()], PAYMENTS_CONFIG, source="woocommerce", delivery_id="woocommerce:9", accepted=True
    )
    # Delivered, not recorded yet: the lineage says so rather than 404.
    assert [e.step for e in LineageReader(ledger, log).lineage("woocommerce:727")] == [Step.DELIVERY]
    stock.place_order(placed())
    entries = LineageReader(ledger, log).lineage("woocommerce:727")
    assert [(e.step, e.result, e.event_type) for e in entries] == [
        (Step.DELIVERY, "accepted", None),
        (Step.DECISION, "applied", "OrderPlaced"),
    ]


# ----------------------------------------------------------------------------------------------- CRM
def crm_world():
    svc, store = customer_service()
    svc.handle(customer_order("1001", "ada@example.com", 5000))
    svc.handle(customer("ada@example.com", first="Ada", minutes=1))
    crm, log = FakeCrm(), FakeLineageLog()
    config = parse_config("locations: [{id: a, country: US}]\ncrm: {provider: hubspot}\n")
    sync = CrmSync(store, lambda _crm: crm, lambda: config, lineage=LineageRecorder(log, clock=Clock()))
    return svc, crm, log, sync


def test_each_crm_push_is_recorded_for_the_orders_behind_it_ok_skipped_or_failed():
    _svc, crm, log, sync = crm_world()
    orders = {"ada@example.com": ["shopify:1001"]}
    crm.errors["ada@example.com"] = HubSpotError("HubSpot batch upsert failed with HTTP 503", 503)
    assert sync.push(["ada@example.com"], orders=orders)
    crm.errors.clear()
    assert sync.push(["ada@example.com"], orders=orders) == {}
    assert sync.push(["ada@example.com"], orders=orders) == {}  # a redelivery: nothing new for the CRM
    entries = log.entries("shopify:1001")
    assert [(e.call, e.result, e.source) for e in entries] == [
        (Call.CRM_PUSH, CallResult.FAILED, "hubspot"),
        (Call.CRM_PUSH, CallResult.OK, "hubspot"),
        (Call.CRM_PUSH, CallResult.SKIPPED, "hubspot"),
    ]
    assert "HubSpotError" in entries[0].detail and "503" in entries[0].detail
    assert "ada" not in repr(log.items)
    assert log.writes == 3  # one write per push, whatever the number of orders


def test_a_delivery_is_timed_when_received_so_it_sorts_before_what_consumers_decide_about_it():
    published_at = []

    class TimedLog(FakeDeliveryLog):
        def publish_once(self, dedupe_key, events):
            published_at.append(datetime.now(UTC))  # a consumer may decide from this instant on
            return super().publish_once(dedupe_key, events)

    log = FakeLineageLog()
    service = IntakeService(
        Sandbox().sources,
        SecretsProvider(values={"SHOPIFY_WEBHOOK_SECRET": SECRET}),
        lambda: CONFIG,
        TimedLog(),
        LineageRecorder(log, clock=lambda: datetime.max.replace(tzinfo=UTC)),
    )
    service.receive("shopify", request())
    (delivered,) = log.entries(SHOPIFY_ORDER)
    assert delivered.at <= published_at[0]


# ----------------------------------------------------------------------------------------- analytics
def test_each_analytics_forwarding_is_recorded_sent_or_failed_per_destination():
    from hub.errors import OutboundError
    from hub.services.analytics import AnalyticsForwarder
    from hub.services.reporting import ReportingService

    from tests.reporting_fakes import FakeReportStore, RecordingSink
    from tests.unit.test_analytics import ANALYTICS, SALT
    from tests.unit.test_reporting import placed as report_placed

    store, ga4, meta, log = FakeReportStore(), RecordingSink("ga4"), RecordingSink("meta"), FakeLineageLog()
    forwarder = AnalyticsForwarder(store, lambda: [ga4, meta], LineageRecorder(log, clock=Clock()))
    config = parse_config(ANALYTICS)
    svc = ReportingService(store, lambda: config, forwarder, salt=lambda: SALT)
    meta.fail_next = 1
    with pytest.raises(OutboundError):
        svc.handle(report_placed("shopify:1", T0))
    svc.handle(report_placed("shopify:1", T0))  # SQS redelivers the record: meta only
    assert [(e.call, e.source, e.result) for e in log.entries("shopify:1")] == [
        (Call.ANALYTICS, "ga4", CallResult.OK),
        (Call.ANALYTICS, "meta", CallResult.FAILED),
        (Call.ANALYTICS, "meta", CallResult.OK),
    ]
    assert log.writes == 2  # one write per forwarding


# --------------------------------------------------------------------------------------------- email
def test_each_message_about_an_order_is_recorded_per_channel_failed_then_sent():
    from hub.services.marketing import MarketingService

    from tests.unit.test_marketing_service import ADA, SECRET, World, status_changed

    world, log = World(channels=["ses", "klaviyo"]), FakeLineageLog()
    world.service = MarketingService(
        store=world.store,
        schedules=world.schedules,
        orders=world.orders,
        profiles=world.profiles,
        keys=world.keys,
        publisher=world.publisher,
        config=lambda: world.hub_config,
        senders=world._senders,
        tracker=lambda _m: world.tracker,
        unsubscribe=lambda _m: ("https://hub.example/unsubscribe", SECRET),
        clock=lambda: world.now,
        lineage=LineageRecorder(log, clock=Clock()),
    )
    world.profiles.add(ADA)
    world.orders.add("shopify:1001", ADA, "paid")
    world.service.handle(status_changed("shopify:1001", "paid"))
    [due] = world.schedules.due()
    world.now = due.due_at
    world.klaviyo.fail_next = 1
    with pytest.raises(RuntimeError):
        world.service.fire_scheduled(due)
    assert world.service.fire_scheduled(due).outcome == "sent"
    assert [(e.call, e.source, e.result) for e in log.entries("shopify:1001")] == [
        (Call.EMAIL, "email", CallResult.OK),
        (Call.EMAIL, "klaviyo", CallResult.FAILED),
        (Call.EMAIL, "klaviyo", CallResult.OK),
    ]
    assert all(e.detail.startswith("post_purchase") for e in log.entries("shopify:1001"))
    assert ADA not in repr(log.items)


# ---------------------------------------------------------------------------------------- stock push
def test_the_pushes_an_orders_stock_movement_causes_are_in_its_lineage():
    from hub.events import ProviderRef, StockLevelChanged, StockLevelData
    from hub.services.channel_sync import ChannelSync

    from tests.unit.test_channel_sync import CONFIG as SYNC_CONFIG
    from tests.unit.test_channel_sync import World as SyncWorld

    world, log = SyncWorld(), FakeLineageLog()
    world.service = ChannelSync(
        world.ledger,
        world.catalog,
        world.sync,
        world.stock,
        lambda: SYNC_CONFIG,
        now_ms=lambda: world.clock,
        sleep=world._sleep,
        wait_seconds=1.0,
        lineage=LineageRecorder(log, clock=Clock()),
    )
    world.set("TEE", "wh-east", 11)
    level = world.ledger.levels[("TEE", "wh-east")]

    def moved(order_id: str | None) -> StockLevelChanged:
        return StockLevelChanged(
            event_id=f"evt_moved_{order_id}",
            source="hub",
            channel="woocommerce",
            occurred_at=T0,
            provider=ProviderRef(topic="inventory/reserved"),
            data=StockLevelData(
                sku="TEE",
                location="wh-east",
                available=11,
                origin="woocommerce",
                version=level.version,
                order_id=order_id,
            ),
        )

    world.service.sync(moved("woocommerce:727"))
    world.service.sync(moved(None))  # a count correction concerns no order: nothing recorded
    entries = log.entries("woocommerce:727")
    assert sorted((e.source, e.result, e.detail) for e in entries) == [
        ("magento", "ok", "TEE at wh-east: set to 11"),
        ("shopify", "ok", "TEE at wh-east: set to 11"),
    ]
    assert {e.call for e in entries} == {Call.STOCK_PUSH} and log.writes == 1


# ------------------------------------------------------------------------------ labels and write-back
def test_labels_and_write_backs_are_recorded_failed_then_ok():
    from hub.config import parse_config as parse
    from hub.errors import OutboundError
    from hub.services.fulfilment import FulfilmentService

    from tests.fulfilment_fakes import FakeCarrier, FakeShipmentStore, FakeStorefrontWriter
    from tests.unit.test_fulfilment import CONFIG as FULFILMENT_CONFIG
    from tests.unit.test_fulfilment import NOW, ORDER_ID, SINGLE, order, shipment_request, status_changed

    ledger, publisher, log = FakeLedger(), FakePublisher(), FakeLineageLog()
    from hub.domain.stock import StockLevel

    for sku, location in (("MUG", "wh-east"), ("TEE", "wh-west"), ("MUG", "wh-west")):
        ledger.levels[(sku, location)] = StockLevel(sku, location, 10, 2)
    ledger.orders[ORDER_ID] = order(SINGLE)
    config = parse(FULFILMENT_CONFIG % "easypost")
    carrier, storefronts = FakeCarrier(fail_buys=1), FakeStorefrontWriter(fail_next=1)
    service = FulfilmentService(
        ledger,
        publisher,
        lambda: config,
        FakeShipmentStore(),
        carrier=lambda _c: carrier,
        storefronts=lambda _c: storefronts,
        shipment_request=shipment_request,
        clock=lambda: NOW,
        lineage=LineageRecorder(log, clock=Clock()),
    )
    with pytest.raises(OutboundError):
        service.handle(status_changed())
    service.handle(status_changed())  # the retry buys it
    (shipped,) = [e for e in publisher.events if e.type == "FulfilmentShipped"]
    with pytest.raises(OutboundError):
        service.handle(shipped)
    service.handle(shipped)
    calls = [(e.call, e.result) for e in log.entries(ORDER_ID) if e.step is Step.CALL]
    assert calls == [
        (Call.LABEL, CallResult.FAILED),
        (Call.LABEL, CallResult.OK),
        (Call.WRITE_BACK, CallResult.FAILED),
        (Call.WRITE_BACK, CallResult.OK),
    ]
    label = [e for e in log.entries(ORDER_ID) if e.call is Call.LABEL][1]
    assert label.ref == ledger.orders[ORDER_ID].fulfilments[0].tracking_number and "label bought" in label.detail
