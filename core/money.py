"""Money: a Decimal amount with its ISO 4217 currency, never a float."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

# ISO 4217 codes the bank handles, with their minor units. Amounts are stored
# with two decimal places, so currencies with three minor units are not listed.
CURRENCY_MINOR_UNITS: dict[str, int] = {
    "CNY": 2,
    "HKD": 2,
    "MOP": 2,
    "TWD": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "JPY": 0,
    "KRW": 0,
    "SGD": 2,
    "AUD": 2,
    "CAD": 2,
    "CHF": 2,
    "THB": 2,
    "MYR": 2,
}
CURRENCY_CHOICES = [(code, code) for code in CURRENCY_MINOR_UNITS]

AMOUNT_MAX_DIGITS = 14
AMOUNT_DECIMAL_PLACES = 2
MAX_AMOUNT = Decimal("999999999999.99")


def parse_decimal_amount(value: object) -> Decimal:
    """The currency-independent half of ``parse_amount``: a positive decimal
    number (a string or Decimal, never a float) within the stored range."""
    if isinstance(value, float):
        raise ValidationError(_("Give the amount as a decimal string, not a binary float."), code="float")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(_("Enter the amount as a number, for example 128.50."), code="invalid") from None
    if not amount.is_finite():
        raise ValidationError(_("Enter the amount as a number, for example 128.50."), code="invalid")
    if amount <= 0:
        raise ValidationError(_("The amount must be greater than zero."), code="not_positive")
    if amount > MAX_AMOUNT:
        raise ValidationError(_("The amount is too large."), code="too_large")
    return amount


def parse_amount(value: object, currency: str) -> Decimal:
    """Parse a decimal string (or Decimal) for ``currency``; floats are refused.

    Raises ValidationError with a message for the user when the amount is not a
    positive number with at most the currency's minor units.
    """
    if currency not in CURRENCY_MINOR_UNITS:
        raise ValidationError(_("Unknown or unsupported currency: %(currency)s."), params={"currency": currency}, code="currency")
    amount = parse_decimal_amount(value)
    places = CURRENCY_MINOR_UNITS[currency]
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise ValidationError(
            _("%(currency)s amounts have at most %(places)s decimal places."),
            params={"currency": currency, "places": places},
            code="precision",
        )
    return amount.quantize(Decimal("0.01"))


class AmountField(models.DecimalField):
    """A money amount: Decimal with two places; the currency is a sibling field."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", AMOUNT_MAX_DIGITS)
        kwargs.setdefault("decimal_places", AMOUNT_DECIMAL_PLACES)
        super().__init__(*args, **kwargs)


class CurrencyField(models.CharField):
    """An ISO 4217 alphabetic code."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("choices", CURRENCY_CHOICES)
        super().__init__(*args, **kwargs)


def format_money(amount: Decimal, currency: str) -> str:
    places = CURRENCY_MINOR_UNITS.get(currency, 2)
    return f"{amount.quantize(Decimal(1).scaleb(-places)):,} {currency}"
