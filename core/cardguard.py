"""The card-number guard: no full card number is ever stored.

Any run of 13 to 19 digits (ASCII, full-width as a Chinese input method types
them, or any other script's decimal digits) that passes the Luhn check is masked
before it is saved, whatever stands between the digits: up to
``MAX_SEPARATOR_RUN`` characters that are neither letters nor digits (spaces and
runs of them, tabs, newlines, dashes, dots, slashes, underscores, commas,
brackets, the full-width full stop, zero-width characters…), except ":" and "+"
(times and time zones: an ISO timestamp is never masked). Every digit but the
last four becomes ``*`` and the separators stay, so "6222 0212 3456 7890 128"
is stored as "**** **** **** ***0 128".

Every free-text model field is one of the ``Scrubbed*Field`` classes below; they
mask in ``get_prep_value``, so whatever path writes the row (a service, a form,
the admin, ``QuerySet.update``) goes through the guard. A test walks every model
and fails when a free-text field is not guarded. What is echoed back without
being stored (a form shown again with its errors, an API error) goes through
``scrub_free_text`` / ``mask_in_json`` too.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

MIN_PAN_DIGITS = 13
MAX_PAN_DIGITS = 19
MASK_CHAR = "*"
MAX_SEPARATOR_RUN = 5

# A run of digits where up to MAX_SEPARATOR_RUN characters that are not letters
# or digits may stand between any two digits: punctuation, spaces, controls,
# format characters such as U+200B. Not ":" and "+", which nobody writes inside
# a card number and which hold times together: "14:03:27.518204+08:00" is a
# time, never a card.
_SEPARATOR = r"(?:[^\w:+]|_)"
_DIGIT_RUN = re.compile(r"\d(?:%s{0,%d}\d)*" % (_SEPARATOR, MAX_SEPARATOR_RUN))
_DIGIT = re.compile(r"\d")


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


_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def _card_number_digits(digits: list[int]) -> set[int]:
    """Indexes of the digits to mask: those of every 13-19-digit window that
    passes the Luhn check, but the window's last four. One pass per window end,
    summing leftwards, so a long run costs at most 19 steps a digit."""
    masked: set[int] = set()
    for end in range(MIN_PAN_DIGITS, len(digits) + 1):
        total = 0
        for offset in range(min(MAX_PAN_DIGITS, end)):
            digit = digits[end - 1 - offset]
            total += _LUHN_DOUBLED[digit] if offset % 2 else digit
            if offset + 1 >= MIN_PAN_DIGITS and total % 10 == 0:
                masked.update(range(end - 1 - offset, end - 4))
    return masked


def _mask_run(run: str) -> str:
    if len(run) < MIN_PAN_DIGITS:
        return run  # too short to hold a card number (most runs: dates, amounts, references)
    positions = [i for i, char in enumerate(run) if char.isdigit()]
    if len(positions) < MIN_PAN_DIGITS:
        return run
    masked = _card_number_digits([unicodedata.digit(run[i]) for i in positions])
    if not masked:
        return run
    chars = list(run)
    for digit_index in masked:
        chars[positions[digit_index]] = MASK_CHAR
    return "".join(chars)


def mask_card_numbers(text: str) -> str:
    """Return ``text`` with every card number in it masked (see module doc)."""
    # Fewer than 13 digits in all cannot hold a card number: most texts stop here.
    # (A run's digits are \d characters; the separators are not word characters.)
    if not text or len(_DIGIT.findall(text)) < MIN_PAN_DIGITS:
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


def contains_card_number(text: str) -> bool:
    """Whether the guard would mask something in ``text``."""
    return isinstance(text, str) and mask_card_numbers(text) != text


def validate_no_card_number(value: str) -> None:
    """For fields that must hold what was typed or nothing (an e-mail address):
    a card number there is refused rather than masked into a wrong address."""
    if contains_card_number(value):
        raise ValidationError(_("This must not contain a card number."), code="card_number")


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


class ScrubbedEmailField(ScrubbedFieldMixin, models.EmailField):
    """An e-mail address: one with a card number in it is refused by validation,
    and masked on the way to the database whatever path writes it."""

    default_validators = [*models.EmailField.default_validators, validate_no_card_number]

    def to_python(self, value: Any) -> Any:
        # Validation sees the address as typed (and refuses a card number in it);
        # saving still masks whatever reaches the database.
        return models.EmailField.to_python(self, value)


class ScrubbedJSONField(models.JSONField):
    """A JSONField whose strings are masked before saving."""

    def get_prep_value(self, value: Any) -> Any:
        return super().get_prep_value(mask_in_json(value))

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = mask_in_json(super().pre_save(model_instance, add))
        setattr(model_instance, self.attname, value)
        return value
