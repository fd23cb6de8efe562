"""Money: a Decimal amount with its ISO 4217 currency, never a float."""
from __future__ import annotations

import re
from decimal import Decimal

from django import forms
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


# The one written form of an amount: ASCII digits, at most one decimal point,
# an optional leading minus (so that "-5" is refused as not positive, not as
# garbage). No exponent ("1e3"), digit grouping ("1_000", "1,000"), sign "+",
# other scripts' digits ("１２８", "١٢٨"), NaN or Infinity.
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
# Only these may surround the amount (a form field or a CSV cell may carry them).
_SURROUNDING_SPACE = " \t\r\n"


def _refuse_text(text: str) -> ValidationError:
    if any(char.isdigit() and not char.isascii() for char in text):
        return ValidationError(
            _("Type the amount with the digits 0-9 (half-width), for example 128.50."), code="digits")
    return ValidationError(
        _("Enter the amount as a plain number, for example 128.50: digits 0-9 and at most one decimal point, "
          "with no spaces, separators or exponent."),
        code="invalid",
    )


def parse_decimal_amount(value: object) -> Decimal:
    """The currency-independent half of ``parse_amount``: a positive decimal
    number within the stored range, given as a plain decimal string
    (``_PLAIN_DECIMAL``), an int or a finite Decimal; never a float."""
    if isinstance(value, float):
        raise ValidationError(_("Give the amount as a decimal string, not a binary float."), code="float")
    if isinstance(value, Decimal):
        amount = value
        if not amount.is_finite():
            raise _refuse_text(str(value))
    elif isinstance(value, int) and not isinstance(value, bool):
        amount = Decimal(value)
    elif isinstance(value, str):
        text = value.strip(_SURROUNDING_SPACE)
        if not _PLAIN_DECIMAL.fullmatch(text):
            raise _refuse_text(text)
        amount = Decimal(text)
    else:
        raise _refuse_text("")
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

    # Runs when the models are imported, where mutation testing cannot switch a
    # mutant in (docs/testing.md); the migrations pin what it sets.
    def __init__(self, *args, **kwargs):  # pragma: no mutate block
        kwargs.setdefault("max_digits", AMOUNT_MAX_DIGITS)
        kwargs.setdefault("decimal_places", AMOUNT_DECIMAL_PLACES)
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs):
        # The admin (and any ModelForm) reads amounts as the API and the public form do.
        return super().formfield(**{"form_class": AmountFormField, **kwargs})


class AmountFormField(forms.CharField):
    """A money amount typed by a person: the text goes through
    ``parse_decimal_amount`` as it was typed (a DecimalField would first turn
    "１２８" or "1e3" into a number). The currency's minor units are the
    service's to check, or the form's when it knows the currency."""

    def __init__(self, *, max_digits=None, decimal_places=None, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return "" if value is None else str(value)

    def to_python(self, value):
        if isinstance(value, Decimal):
            return value
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        return parse_decimal_amount(text)


class CurrencyField(models.CharField):
    """An ISO 4217 alphabetic code."""

    # Runs when the models are imported (see AmountField.__init__).
    def __init__(self, *args, **kwargs):  # pragma: no mutate block
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("choices", CURRENCY_CHOICES)
        super().__init__(*args, **kwargs)


def format_money(amount: Decimal, currency: str) -> str:
    places = CURRENCY_MINOR_UNITS.get(currency, 2)
    return f"{amount.quantize(Decimal(1).scaleb(-places)):,} {currency}"
