"""The card-number guard: no full card number is ever stored.

Any run of 13 to 19 digits (ASCII or full-width, as a Chinese input method
types them), written with or without spaces or dashes between them, that passes
the Luhn check is masked before it is saved: every digit but the last four
becomes ``*`` and the separators stay, so "6222 0212 3456 7890 128" is stored as
"**** **** **** ***0 128".

Every free-text model field is one of the ``Scrubbed*Field`` classes below; they
mask in ``get_prep_value``, so whatever path writes the row (a service, a form,
the admin, ``QuerySet.update``) goes through the guard. A test walks every model
and fails when a free-text field is not guarded.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.db import models

MIN_PAN_DIGITS = 13
MAX_PAN_DIGITS = 19
MASK_CHAR = "*"

# A run of digits where single separators (space, dash, en/em dash, or their
# full-width forms) may stand between any two digits.
_SEPARATORS = " \u00a0\u3000-\u2010\u2011\u2012\u2013\u2014\uff0d"
_DIGIT_RUN = re.compile(r"\d(?:[" + re.escape(_SEPARATORS) + r"]?\d)*")


def luhn_valid(digits: str) -> bool:
    """True when the string of ASCII digits passes the Luhn (mod 10) check."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _mask_run(run: str) -> str:
    positions = [i for i, char in enumerate(run) if char.isdigit()]
    if len(positions) < MIN_PAN_DIGITS:
        return run
    digits = "".join(str(unicodedata.digit(run[i])) for i in positions)
    masked: set[int] = set()
    for start in range(len(digits) - MIN_PAN_DIGITS + 1):
        for length in range(MIN_PAN_DIGITS, min(MAX_PAN_DIGITS, len(digits) - start) + 1):
            if luhn_valid(digits[start : start + length]):
                masked.update(range(start, start + length - 4))
    if not masked:
        return run
    chars = list(run)
    for digit_index in masked:
        chars[positions[digit_index]] = MASK_CHAR
    return "".join(chars)


def mask_card_numbers(text: str) -> str:
    """Return ``text`` with every card number in it masked (see module doc)."""
    if not text or not any(char.isdigit() for char in text):
        return text
    return _DIGIT_RUN.sub(lambda match: _mask_run(match.group(0)), text)


def mask_in_json(value: Any) -> Any:
    """Scrub every string inside a JSON-like value (see scrub_free_text)."""
    if isinstance(value, str):
        return scrub_free_text(value)
    if isinstance(value, dict):
        return {key: mask_in_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_in_json(item) for item in value]
    return value


def scrub_free_text(text: str) -> str:
    """What every free-text field stores: card numbers masked, NUL characters
    (which no text needs and PostgreSQL refuses) dropped."""
    return mask_card_numbers(text.replace("\x00", ""))


class ScrubbedFieldMixin:
    """Masks card numbers on the way to the database and in form cleaning."""

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)  # type: ignore[misc]
        if isinstance(value, str):
            return scrub_free_text(value)
        return value

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)  # type: ignore[misc]
        if isinstance(value, str):
            return scrub_free_text(value)
        return value

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        # Keep the saved instance in step with what the database holds.
        value = super().pre_save(model_instance, add)  # type: ignore[misc]
        if isinstance(value, str):
            value = scrub_free_text(value)
            setattr(model_instance, self.attname, value)  # type: ignore[attr-defined]
        return value


class ScrubbedCharField(ScrubbedFieldMixin, models.CharField):
    """A CharField for free text: card numbers are masked before saving."""


class ScrubbedTextField(ScrubbedFieldMixin, models.TextField):
    """A TextField for free text: card numbers are masked before saving."""


class ScrubbedJSONField(models.JSONField):
    """A JSONField whose strings are masked before saving."""

    def get_prep_value(self, value: Any) -> Any:
        return super().get_prep_value(mask_in_json(value))

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = mask_in_json(super().pre_save(model_instance, add))
        setattr(model_instance, self.attname, value)
        return value
