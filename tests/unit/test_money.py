from decimal import Decimal

import pytest
from hub.errors import MoneyError, QuantityError
from hub.money import Money, exponent, format_minor, parse_minor, parse_units


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("59.10", "USD", 5910),
        ("0.1", "USD", 10),
        ("1000", "JPY", 1000),
        ("1.234", "KWD", 1234),
        ("12", "KWD", 12000),
        (Decimal("19.99"), "eur", 1999),
        (7, "USD", 700),
        ("-5.00", "USD", -500),
        ("  3.50 ", "GBP", 350),
        # Vendor shapes: one decimal (Shopify "348.0"), four (Magento, BigCommerce V2 "200.0000"),
        # JSON numbers read as Decimal (WooCommerce line price 3, Magento grand_total 165.5).
        ("348.0", "USD", 34800),
        ("200.0000", "USD", 20000),
        ("200.0000", "JPY", 200),
        (Decimal("3"), "USD", 300),
        (Decimal("165.50"), "USD", 16550),
        (Decimal("1E+2"), "USD", 10000),
        ("+4.5", "USD", 450),
        (".5", "USD", 50),
        ("0", "KWD", 0),
        ("99999999999999.99", "USD", 9999999999999999),
    ],
)
def test_parse_minor_is_exact_in_the_currency_exponent(amount, currency, minor):
    assert parse_minor(amount, currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        ("1.5", "JPY", "more decimals than JPY"),
        ("0.001", "USD", "more decimals than USD"),
        ("abc", "USD", "not a decimal amount"),
        ("NaN", "USD", "not a finite amount"),
        ("-Infinity", "USD", "not a finite amount"),
        (Decimal("NaN"), "USD", "not a finite amount"),
        ("1.00", "US", "not an ISO 4217 currency code"),
        ("", "USD", "not a decimal amount"),
        ("   ", "USD", "not a decimal amount"),
        ("1e999", "USD", "not a decimal amount"),
        ("1_000", "USD", "not a decimal amount"),
        ("0x10", "USD", "not a decimal amount"),
        ("12.50 USD", "USD", "not a decimal amount"),
        (Decimal("1E+999"), "USD", "too large"),
        ("1000000000000000", "USD", "too large"),
        (True, "USD", "not a decimal amount"),
        (None, "USD", "not a decimal amount"),
        ([1], "USD", "not a decimal amount"),
        ("10.001", "USD", "more decimals than USD"),
        (Decimal("0.0000001"), "KWD", "more decimals than KWD"),
    ],
)
def test_parse_minor_refuses_what_it_cannot_represent(amount, currency, message):
    with pytest.raises(MoneyError, match=message):
        parse_minor(amount, currency)


def test_floats_are_refused_rather_than_rounded():
    with pytest.raises(MoneyError, match="not floats"):
        parse_minor(0.1, "USD")


def test_trailing_zeros_beyond_the_exponent_are_fine():
    assert parse_minor("5.000", "USD") == 500


def test_format_round_trips():
    assert format_minor(5910, "USD") == "59.10"
    assert format_minor(1000, "JPY") == "1000"
    assert format_minor(1234, "KWD") == "1.234"
    assert exponent("usd") == 2


def test_money_arithmetic_keeps_currency():
    total = Money.parse("24.99", "USD") * 2 + Money.parse("9.12", "USD")
    assert total == Money(5910, "USD")
    assert str(total) == "59.10 USD"
    with pytest.raises(MoneyError, match="cannot combine"):
        _ = Money(1, "USD") + Money(1, "EUR")


@pytest.mark.parametrize(
    ("quantity", "units"),
    [(3, 3), ("3", 3), ("3.000000", 3), ("3.0000", 3), (Decimal("3.0"), 3), (0, 0), (10**9, 10**9)],
)
def test_vendor_quantities_are_whole_units(quantity, units):
    # "3.000000" and 3.0000 are how Magento writes qty_ordered; WooCommerce and Shopify send 3.
    assert parse_units(quantity) == units


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("3.5", "not a whole number"),
        (Decimal("0.5"), "not a whole number"),
        (-1, "between 0 and"),
        (10**12, "between 0 and"),
        ("", "not a quantity"),
        ("NaN", "not a quantity"),
        (3.0, "not a quantity"),
        (True, "not a quantity"),
    ],
)
def test_quantities_the_hub_cannot_count_are_refused(quantity, message):
    with pytest.raises(QuantityError, match=message):
        parse_units(quantity)


def test_a_stock_level_may_be_negative_when_asked_for():
    # Magento's stock item qty goes below zero when it sells on backorder.
    assert parse_units("-2.0000", signed=True) == -2
    with pytest.raises(QuantityError, match="between -1000000000 and"):
        parse_units(-(10**12), signed=True)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("1e999", "no exponents"),
        ("2E3", "no exponents"),
        ("-1e-2", "no exponents"),
        (Decimal("1E+999"), "no exponents"),  # what json.loads(..., parse_float=Decimal) makes of 1e999
        ("", "the amount is empty"),
        ("   ", "the amount is empty"),
        ("NaN", "not a finite amount"),
        ("Infinity", "not a finite amount"),
        ("-Infinity", "not a finite amount"),
        ("9" * 1_000_000, "too large to be an amount"),
    ],
)
def test_parse_minor_refuses_exponents_non_finite_and_empty_amounts_naming_the_field(amount, message):
    with pytest.raises(MoneyError, match=message) as refused:
        parse_minor(amount, "USD", field="total_price")
    assert str(refused.value).startswith("'total_price': ")
    assert len(str(refused.value)) < 200  # a huge amount is not echoed back whole


def test_decimals_read_from_json_numbers_are_plain_amounts():
    import json

    # str(Decimal("0.00000000")) is "0E-8": fractional digits, not an exponent the sender wrote.
    assert parse_minor(json.loads("0.00000000", parse_float=Decimal), "USD") == 0
    assert parse_minor(json.loads("24.50", parse_float=Decimal), "USD") == 2450


@pytest.mark.parametrize(
    "value", ["jane.roe@example.com", "+1 415 555 0134", "417 Montgomery Street", "NaN@x", "1e5@x"]
)
def test_errors_name_the_field_and_the_problem_never_the_value(value):
    # A field can hold anything a sender put in it; the error reaches a 400 body and the logs.
    with pytest.raises(MoneyError) as amount:
        parse_minor(value, "USD", field="total_price")
    assert str(amount.value).startswith("'total_price': not a") and value not in str(amount.value)
    with pytest.raises(QuantityError) as quantity:
        parse_units(value)
    assert value not in str(quantity.value)
    with pytest.raises(MoneyError) as currency:
        parse_minor("1.00", value)
    assert value not in str(currency.value)
