"""The stock ledger use cases, pushed through fakes of the ledger and the bus."""

from datetime import UTC, datetime

import pytest
from hub.config import parse_config
from hub.errors import StockConflictError, UnknownLocationError
from hub.events import LineItem, OrderData, OrderPlaced, ProviderRef
from hub.services.stock import Applied, StockService

from tests.fakes import FakeLedger, FakePublisher

CONFIG = parse_config("locations: [{id: wh-east, country: US}, {id: wh-west, country: US}, {id: wh-eu, country: DE}]\n")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def placed(order_id: str = "shopify:1", lines=(("MUG", 2),), paid=True, country="US", event_id="evt_1"):
    return OrderPlaced(
        event_id=event_id,
        source="shopify",
        channel="shopify",
        occurred_at=NOW,
        provider=ProviderRef(topic="orders/create", delivery_id="d1"),
        data=OrderData(
            order_id=order_id,
            platform_order_id=order_id.split(":")[1],
            currency="USD",
            total=sum(q * 1000 for _, q in lines),
            paid=paid,
            shipping_country=country,
            lines=[LineItem(sku=s, quantity=q, unit_price=1000) for s, q in lines],
        ),
    )


class FakeTime:
    """time.monotonic and time.sleep for the service: waiting moves the clock, at once."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time():
    return FakeTime()


@pytest.fixture
def world(fake_time):
    ledger, bus = FakeLedger(), FakePublisher()
    service = StockService(
        ledger, bus, lambda: CONFIG, clock=lambda: NOW, monotonic=fake_time.monotonic, sleep=fake_time.sleep
    )
    return ledger, bus, service


def test_a_paid_order_reserves_at_the_first_location_and_is_paid(world):
    ledger, _bus, service = world
    service.set_level("MUG", "wh-east", 5, "admin")
    result = service.place_order(placed())
    assert result.outcome is Applied.APPLIED
    assert result.order.status.value == "paid"
    assert ledger.levels[("MUG", "wh-east")].available == 3
    assert ledger.levels[("MUG", "wh-east")].reserved == 2
    assert [e.type for e in ledger.get_order("shopify:1").timeline] == ["OrderPlaced"]


def test_an_unpaid_order_waits_for_payment(world):
    _ledger, _bus, service = world
    service.set_level("MUG", "wh-west", 5, "admin")
    assert service.place_order(placed(paid=False)).order.status.value == "pending_payment"


def test_the_same_placement_twice_reserves_once(world):
    ledger, _bus, service = world
    service.set_level("MUG", "wh-east", 5, "admin")
    service.place_order(placed())
    again = service.place_order(placed())
    assert again.outcome is Applied.DUPLICATE
    assert ledger.levels[("MUG", "wh-east")].available == 3


def test_an_order_that_cannot_be_covered_holds_nothing_and_reports_the_shortage(world):
    ledger, bus, service = world
    service.set_level("MUG", "wh-east", 5, "admin")
    result = service.place_order(placed(lines=(("MUG", 1), ("TEE", 3))))
    assert result.order.status.value == "on_hold"
    assert result.order.hold_reason.value == "insufficient_stock"
    assert ledger.levels[("MUG", "wh-east")].available == 5
    shortage = [e for e in bus.events if e.type == "StockShortage"]
    assert shortage[0].data.shortages == {"TEE": 3}


def test_a_shortage_whose_publish_failed_is_published_on_redelivery(world):
    _ledger, bus, service = world
    bus.fail_next = 1
    with pytest.raises(Exception, match="bus unavailable"):
        service.place_order(placed(lines=(("TEE", 3),)))
    service.place_order(placed(lines=(("TEE", 3),)))
    assert bus.types() == ["OrderStatusChanged", "StockShortage"]


def test_a_concurrent_order_taking_stock_is_seen_on_the_retry(world):
    ledger, _bus, service = world
    service.set_level("MUG", "wh-east", 2, "admin")
    service.set_level("MUG", "wh-west", 2, "admin")
    ledger.steal_before_write = [("MUG", "wh-east", 1)]
    result = service.place_order(placed())
    assert result.order.reservations[0].location == "wh-west"
    assert ledger.levels[("MUG", "wh-east")].available == 1


def test_stock_that_never_settles_fails_the_record_for_a_retry(world):
    ledger, _bus, service = world
    service.set_level("MUG", "wh-east", 100, "admin")

    def always_conflict(*_args, **_kwargs):
        raise StockConflictError("shopify:1")

    ledger.place_order = always_conflict
    with pytest.raises(StockConflictError, match="kept changing"):
        service.place_order(placed())


def test_conflicts_are_retried_with_jittered_waits_until_the_deadline(world, fake_time):
    """A hot SKU: the order keeps losing the race. It is retried for as long as the deadline allows
    (not a fixed small count), with waits that grow and are not all alike, and never past it."""
    ledger, _bus, service = world
    service.set_level("MUG", "wh-east", 100, "admin")
    tries = []

    def always_conflict(*_args, **_kwargs):
        tries.append(fake_time.now)
        raise StockConflictError("shopify:1")

    ledger.place_order = always_conflict
    deadline = fake_time.now + 8.0
    with pytest.raises(StockConflictError, match="kept changing"):
        service.place_order(placed(), deadline=deadline)
    assert len(tries) > 10  # far more than the old five attempts
    assert fake_time.now <= deadline
    assert len(set(fake_time.waits)) > 1 and max(fake_time.waits) <= 0.5


def test_an_order_that_loses_races_is_placed_once_the_stock_settles(world, fake_time):
    ledger, _bus, service = world
    service.set_level("MUG", "wh-east", 2, "admin")
    real = ledger.place_order
    losses = iter(range(12))

    def loses_twelve_races(*args, **kwargs):
        if next(losses, None) is not None:
            raise StockConflictError("shopify:1")
        return real(*args, **kwargs)

    ledger.place_order = loses_twelve_races
    result = service.place_order(placed(), deadline=fake_time.now + 30)
    assert result.outcome is Applied.APPLIED and result.order.status.value == "paid"
    assert len(fake_time.waits) == 12
    assert ledger.levels[("MUG", "wh-east")].available == 0


def test_shipping_country_decides_the_location(world):
    _ledger, _bus, service = world
    service.set_level("MUG", "wh-east", 5, "admin")
    service.set_level("MUG", "wh-eu", 5, "admin")
    result = service.place_order(placed(country="DE"))
    assert result.order.reservations[0].location == "wh-eu"


def test_setting_a_level_checks_the_location_and_announces_the_change(world):
    _ledger, bus, service = world
    with pytest.raises(UnknownLocationError, match="configured locations: wh-east, wh-west, wh-eu"):
        service.set_level("MUG", "wh-north", 5, "admin")
    assert service.set_level("MUG", "wh-east", 5, "admin") is None
    assert service.set_level("MUG", "wh-east", 7, "admin") == 5
    changed = [e for e in bus.events if e.type == "StockLevelChanged"]
    assert [(e.data.available, e.data.previous) for e in changed] == [(5, None), (7, 5)]


def test_lines_that_hold_no_stock_are_recorded_but_never_reserved(world):
    ledger, bus, service = world
    service.set_level("MUG", "wh-east", 5, "admin")
    event = placed(lines=(("MUG", 2),))
    digital = LineItem(sku="240-LV08", quantity=1, unit_price=1800, stocked=False)
    event.data.lines.append(digital)
    result = service.place_order(event)
    assert result.order.status.value == "paid"  # no shortage for the video nobody stocks
    assert [(ln.sku, ln.stocked) for ln in ledger.get_order("shopify:1").lines] == [
        ("MUG", True),
        ("240-LV08", False),
    ]
    assert [(r.sku, r.quantity) for r in result.order.reservations] == [("MUG", 2)]
    assert ("240-LV08", "wh-east") not in ledger.levels
    assert not [e for e in bus.events if e.type == "StockShortage"]


def test_a_line_named_by_its_platform_ids_is_reserved_when_stock_is_kept_under_that_name(world):
    ledger, _bus, service = world
    service.set_level("woocommerce:product:93:variation:0", "wh-east", 4, "admin")
    result = service.place_order(placed(lines=(("woocommerce:product:93:variation:0", 2),)))
    assert result.order.reserved
    assert ledger.levels[("woocommerce:product:93:variation:0", "wh-east")].reserved == 2


def test_a_line_named_by_its_platform_ids_without_stock_is_an_unknown_item_as_any(world):
    _ledger, bus, service = world
    service.set_level("MUG", "wh-east", 5, "admin")
    result = service.place_order(placed(lines=(("MUG", 1), ("woocommerce:product:93:variation:0", 2))))
    assert (result.order.status.value, result.order.hold_reason.value) == ("on_hold", "insufficient_stock")
    assert [e.data.shortages for e in bus.events if e.type == "StockShortage"] == [
        {"woocommerce:product:93:variation:0": 2}
    ]
