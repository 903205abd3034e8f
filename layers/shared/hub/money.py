"""Money as integer minor units of an ISO 4217 currency, parsed exactly (never through float)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from hub.errors import MoneyError, QuantityError

__all__ = [
    "CURRENCY_EXPONENTS",
    "MAX_MINOR_DIGITS",
    "MAX_UNITS",
    "Money",
    "exact_decimal",
    "exponent",
    "format_minor",
    "parse_minor",
    "parse_units",
]

# ISO 4217 minor-unit exponents. Two is the default; these are the currencies that differ.
_NON_TWO = {
    # zero decimals
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    # three decimals
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # four decimals
    "CLF": 4, "UYW": 4,
}  # fmt: skip
CURRENCY_EXPONENTS: dict[str, int] = dict(_NON_TWO)


# An amount has at most this many digits before the decimal point (a hundred trillion units of any
# currency): "1e999" is not a price, and a number that long would overflow every report.
MAX_MINOR_DIGITS = 15
# The most units one line can hold; a vendor quantity above it is a mistake, not an order.
MAX_UNITS = 10**9
# What vendors write in a string: "59.10", "-5.00", "348.0", "200.0000", "3". No exponents, no
# digit separators (Decimal would read "1_000"), no "NaN" or "Infinity".
_DECIMAL_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def exact_decimal(value: str | int | Decimal) -> Decimal:
    """The exact decimal a vendor wrote: a decimal string ("348.0", " 3.50 "), an int, or a Decimal
    (a JSON number read with parse_float=Decimal). Floats, booleans, "", "NaN", exponents ("1e999",
    "2E3": vendors write plain decimals, and an exponent makes a number of any size from a few bytes)
    and anything with more than MAX_MINOR_DIGITS whole digits raise MoneyError: never a guess."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        if isinstance(value, float):
            raise MoneyError("amounts must be decimal strings, not floats")
        raise MoneyError("not a decimal amount")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise MoneyError("not a decimal amount: the amount is empty")
        if text.lstrip("+-").lower() in ("nan", "snan", "inf", "infinity"):
            raise MoneyError("not a finite amount")
        if "e" in text or "E" in text:
            raise MoneyError("not a decimal amount as vendors write them (no exponents)")
        if not _DECIMAL_TEXT.fullmatch(text):
            raise MoneyError("not a decimal amount")
        number = Decimal(text)
    else:
        number = Decimal(value)
    if not number.is_finite():
        raise MoneyError("not a finite amount")
    if number and number.adjusted() >= MAX_MINOR_DIGITS:
        # e.g. a JSON number 1e999 read as Decimal: a few bytes can write a number of any size.
        raise MoneyError(f"too large to be an amount (no exponents, at most {MAX_MINOR_DIGITS} digits)")
    return number


def exponent(currency: str) -> int:
    code = currency.upper()
    if len(code) != 3 or not code.isalpha():
        raise MoneyError("not an ISO 4217 currency code")
    return CURRENCY_EXPONENTS.get(code, 2)


def parse_minor(amount: str | int | Decimal, currency: str, *, field: str | None = None) -> int:
    """Turn a decimal amount ("59.10", "348.0", "200.0000", 59, Decimal) into integer minor units
    of `currency`, exactly (see exact_decimal for what is refused).

    More fractional digits than the currency has (unless they are all zeros) is an error, not a
    rounding. `field` names the amount in the error, so whoever sent it knows what to fix.
    """
    where = f"'{field}': " if field else ""
    try:
        value = exact_decimal(amount)
    except MoneyError as exc:
        raise MoneyError(f"{where}{exc}") from None
    try:
        scaled = value.scaleb(exponent(currency))
        whole = scaled == scaled.to_integral_value()
    except (InvalidOperation, ArithmeticError) as exc:  # an exponent beyond the decimal context
        raise MoneyError(f"{where}not a decimal amount") from exc
    if not whole:
        raise MoneyError(f"{where}more decimals than {currency.upper()} allows")
    return int(scaled)


def parse_units(quantity: str | int | Decimal, *, signed: bool = False) -> int:
    """A vendor quantity as whole units: 3, "3", "3.000000", Decimal("3.0000") (Magento's
    qty_ordered). A fraction (3.5), a float, a boolean, "", more than MAX_UNITS, or a negative
    unless `signed` (a stock level oversold on backorder) raise QuantityError."""
    try:
        number = exact_decimal(quantity)
    except MoneyError as exc:
        raise QuantityError("not a quantity") from exc
    if number != number.to_integral_value():
        raise QuantityError("not a whole number of units")
    if abs(number) > MAX_UNITS or (number < 0 and not signed):
        low = -MAX_UNITS if signed else 0
        raise QuantityError(f"not between {low} and {MAX_UNITS} units")
    return int(number)


def format_minor(minor: int, currency: str) -> str:
    """Integer minor units back to the decimal string a merchant reads ("59.10")."""
    exp = exponent(currency)
    value = Decimal(minor).scaleb(-exp)
    return f"{value:.{exp}f}"


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        exponent(self.currency)
        object.__setattr__(self, "currency", self.currency.upper())

    @classmethod
    def parse(cls, amount: str | int | Decimal, currency: str) -> Money:
        return cls(parse_minor(amount, currency), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __mul__(self, factor: int) -> Money:
        return Money(self.minor * factor, self.currency)

    def __str__(self) -> str:
        return f"{format_minor(self.minor, self.currency)} {self.currency}"

    @property
    def decimal_string(self) -> str:
        return format_minor(self.minor, self.currency)
