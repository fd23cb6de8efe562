"""Each way ``parse_amount`` / ``parse_decimal_amount`` refuse an amount, with
its exact message (English and Chinese) and code: the forms, the API and the
importer show these words to people, and the API's clients read the codes."""
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from core.money import parse_amount, parse_decimal_amount

PLAIN = ("Enter the amount as a plain number, for example 128.50: digits 0-9 and at most one decimal point, "
         "with no spaces, separators or exponent.")


def refusal(call, *args, language="en") -> tuple[str, str]:
    with translation.override(language):
        with pytest.raises(ValidationError) as caught:
            call(*args)
        (error,) = caught.value.error_list
        return error.code, " ".join(caught.value.messages)  # the words in the language asked for


@pytest.mark.parametrize(("value", "code", "message"), [
    (1.5, "float", "Give the amount as a decimal string, not a binary float."),
    (Decimal("NaN"), "invalid", PLAIN),
    (Decimal("Infinity"), "invalid", PLAIN),
    ("1e3", "invalid", PLAIN),
    ([], "invalid", PLAIN),
    (None, "invalid", PLAIN),
    ("１２８", "digits", "Type the amount with the digits 0-9 (half-width), for example 128.50."),
    ("0", "not_positive", "The amount must be greater than zero."),
    (-5, "not_positive", "The amount must be greater than zero."),
    ("1000000000000.00", "too_large", "The amount is too large."),
])
def test_each_refusal_of_an_amount_has_its_code_and_words(value, code, message):
    assert refusal(parse_decimal_amount, value) == (code, message)


def test_the_currency_rules_have_their_codes_and_words():
    assert refusal(parse_amount, "10.00", "XXX") == ("currency", "Unknown or unsupported currency: XXX.")
    assert refusal(parse_amount, "10.5", "JPY") == ("precision", "JPY amounts have at most 0 decimal places.")
    assert refusal(parse_amount, "10.005", "CNY") == ("precision", "CNY amounts have at most 2 decimal places.")


def test_the_refusals_come_in_chinese():
    assert refusal(parse_decimal_amount, 1.5, language="zh-hans")[1] == "金额须以十进制字符串表示，不能使用二进制浮点数。"
    assert refusal(parse_amount, "10.00", "XXX", language="zh-hans")[1] == "未知或不支持的币种：XXX。"


def test_what_is_accepted_comes_back_with_two_places():
    assert parse_amount("10", "JPY") == Decimal("10.00")
    assert parse_amount(" 128.5 ", "CNY") == Decimal("128.50")
    assert parse_decimal_amount(7) == Decimal(7)
    assert parse_decimal_amount(Decimal("0.01")) == Decimal("0.01")
