import pytest
from hub.domain.orders import OrderLine, Reservation
from hub.domain.stock import LocationRef, order_locations, plan_reservations
from hub.errors import InsufficientStockError

PREF = ["wh-east", "wh-west", "wh-eu"]


def test_a_line_goes_whole_to_the_first_location_that_has_it():
    plan = plan_reservations([OrderLine("A", 3, 100)], {"A": {"wh-east": 2, "wh-west": 5, "wh-eu": 9}}, PREF)
    assert plan == [Reservation("A", "wh-west", 3)]


def test_a_line_no_location_holds_whole_is_split_in_preference_order():
    plan = plan_reservations([OrderLine("A", 6, 100)], {"A": {"wh-east": 2, "wh-west": 3, "wh-eu": 9}}, PREF)
    assert plan == [Reservation("A", "wh-eu", 6)]
    plan = plan_reservations([OrderLine("A", 6, 100)], {"A": {"wh-east": 2, "wh-west": 3, "wh-eu": 1}}, PREF)
    assert plan == [Reservation("A", "wh-east", 2), Reservation("A", "wh-west", 3), Reservation("A", "wh-eu", 1)]


def test_repeated_lines_of_one_sku_are_reserved_together():
    plan = plan_reservations([OrderLine("A", 1, 100), OrderLine("A", 2, 100)], {"A": {"wh-east": 3}}, PREF)
    assert plan == [Reservation("A", "wh-east", 3)]


def test_an_order_is_reserved_whole_or_not_at_all():
    with pytest.raises(InsufficientStockError) as info:
        plan_reservations(
            [OrderLine("A", 1, 100), OrderLine("B", 4, 100), OrderLine("C", 1, 100)],
            {"A": {"wh-east": 5}, "B": {"wh-east": 1, "wh-west": 1}},
            PREF,
        )
    assert info.value.shortages == {"B": 2, "C": 1}
    assert "B short by 2" in str(info.value)


def test_locations_in_the_shipping_country_come_first():
    locations = [LocationRef("wh-east", "US"), LocationRef("wh-eu", "DE"), LocationRef("wh-west", "US")]
    assert order_locations(locations, "de") == ["wh-eu", "wh-east", "wh-west"]
    assert order_locations(locations, None) == ["wh-east", "wh-eu", "wh-west"]
    assert order_locations(locations, "FR") == ["wh-east", "wh-eu", "wh-west"]


def test_negative_levels_never_count_as_stock():
    with pytest.raises(InsufficientStockError):
        plan_reservations([OrderLine("A", 1, 100)], {"A": {"wh-east": -3}}, PREF)
