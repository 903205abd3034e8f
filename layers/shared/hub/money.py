"""Money as integer minor units of an ISO 4217 currency, parsed exactly (never through float)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

__all__ = ["CURRENCY_EXPONENTS", "Money", "MoneyError", "exponent", "format_minor", "parse_minor"]

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


class MoneyError(ValueError):
    """An amount or currency that cannot be represented exactly."""


def exponent(currency: str) -> int:
    code = currency.upper()
    if len(code) != 3 or not code.isalpha():
        raise MoneyError(f"'{currency}' is not an ISO 4217 currency code")
    return CURRENCY_EXPONENTS.get(code, 2)


def parse_minor(amount: str | int | Decimal, currency: str, *, field: str | None = None) -> int:
    """Turn a decimal amount ("59.10", 59, Decimal) into integer minor units of `currency`.

    More fractional digits than the currency has (non-zero) is an error, not a rounding. So are an
    empty amount, NaN and infinities, and exponent notation ("1e999", "2E3"): vendors write amounts
    as plain decimals, and an exponent can make a number of any size from a few bytes. `field`
    names the amount in the error, so whoever sent it knows what to fix.
    """
    where = f"'{field}': " if field else ""
    shown = str(amount)[:40]
    if isinstance(amount, float):
        raise MoneyError(f"{where}amounts must be decimal strings, not floats")
    if isinstance(amount, bool):
        raise MoneyError(f"{where}'{amount}' is not an amount")
    if isinstance(amount, str):
        text = amount.strip()
        if not text:
            raise MoneyError(f"{where}the amount is empty")
        if "e" in text or "E" in text:
            raise MoneyError(f"{where}'{shown}' is not a plain decimal amount (no exponents)")
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation as exc:
        raise MoneyError(f"{where}'{shown}' is not a decimal amount") from exc
    if not value.is_finite():
        raise MoneyError(f"{where}'{shown}' is not a finite amount")
    if isinstance(amount, Decimal) and value.as_tuple().exponent > 0:  # type: ignore[operator]
        # A Decimal read from a JSON number such as 1e999 (a plain number never has a positive exponent).
        raise MoneyError(f"{where}'{shown}' is not a plain decimal amount (no exponents)")
    try:
        scaled = value.scaleb(exponent(currency))
    except ArithmeticError as exc:  # decimal.Overflow: more digits than any amount has
        raise MoneyError(f"{where}'{shown}...' is too large to be an amount") from exc
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{where}'{shown}' has more decimals than {currency.upper()} allows")
    return int(scaled)


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
