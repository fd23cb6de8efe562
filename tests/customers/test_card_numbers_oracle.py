"""The card guard judged by an oracle of its own, not by ``luhn_valid``.

The oracle is two hard-coded lists, checked when they were written with a Luhn
computation of their own:

* ``PUBLISHED_TEST_PANS``: test card numbers that the card schemes and payment
  providers publish for their sandboxes (Visa, Mastercard, American Express,
  UnionPay, JCB, Discover, Diners Club), 13 to 19 digits. Each is a card
  number: stored, everything but its last four digits is masked.
* ``NOT_CARD_NUMBERS``: numbers a complaint really carries (order numbers, a
  phone number with its country code, an RRN, dates, amounts) and 13-19-digit
  numbers one digit off a test card. None has a 13-19-digit stretch that passes
  the Luhn check, so each must be stored exactly as typed.

The check digit of the property tests' card numbers comes from
``luhn_check_digit`` below, itself checked against the published list.
"""
import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from core.cardguard import (
    contains_card_number,
    luhn_valid,
    mask_card_numbers,
    mask_in_json,
    scrub_free_text,
    validate_no_card_number,
)
from disputes.models import CaseEvent
from disputes.workflow.names import EventKind

PUBLISHED_TEST_PANS = [
    # Visa
    "4111111111111111", "4012888888881881", "4222222222222", "4000056655665556", "4917610000000000003",
    # Mastercard (5-series and 2-series)
    "5555555555554444", "5105105105105100", "2223003122003222", "5200828282828210",
    # American Express
    "378282246310005", "371449635398431", "378734493671000",
    # UnionPay (16 and 19 digits)
    "6212345678901265", "6200000000000005", "6205500000000000004",
    # JCB
    "3530111333300000", "3566002020360505",
    # Discover
    "6011111111111117", "6011000990139424", "6555900000604105",
    # Diners Club
    "30569309025904", "38520000023237", "36227206271667",
]

NOT_CARD_NUMBERS = [
    "Order 2026112300000110",  # 16 digits
    "订单号 20261123000001",  # 14 digits
    "Phone +86 138 0013 8000",  # 13 digits with the country code
    "Call 138-0013-8000 after 18:00",
    "RRN 100000000347, STAN 508225",  # a 12-digit RRN that happens to pass the Luhn check
    "Paid 128.50 CNY on 2026-11-20 14:03",
    "2026/11/20 14:03",
    "1000000003470",  # 13 digits: its first 12 pass the Luhn check, a 13-digit window does not
    "1234567890123", "12345678901234", "123456789012345",
    "86138000000000011", "861380000000000111", "9999999999999999999",  # 17, 18, 19 digits
    "99999999999999999999",  # 20 digits: passes the Luhn check whole, but no card is 20 digits long
    "6212345678901266", "378282246310006", "30569309025905",  # a test card with the wrong check digit
]


def luhn_check_digit(body: str) -> str:
    """The digit that makes ``body`` + digit pass the Luhn check (the test's own
    computation: double every second digit from the right of the full number,
    add the digits of the products)."""
    total = 0
    for index, char in enumerate(reversed(body)):
        product = int(char) * (2 if index % 2 == 0 else 1)
        total += sum(int(d) for d in str(product))
    return str((10 - total % 10) % 10)


def masked_as_expected(pan: str) -> str:
    return "*" * (len(pan) - 4) + pan[-4:]


@pytest.mark.parametrize("pan", PUBLISHED_TEST_PANS)
def test_the_test_oracle_computes_the_check_digit_of_every_published_test_card(pan):
    assert luhn_check_digit(pan[:-1]) == pan[-1]


@pytest.mark.parametrize("pan", PUBLISHED_TEST_PANS)
def test_every_published_test_card_passes_the_luhn_check(pan):
    assert luhn_valid(pan) is True


@pytest.mark.parametrize("pan", PUBLISHED_TEST_PANS)
def test_a_published_test_card_with_any_other_check_digit_fails_the_luhn_check(pan):
    for digit in "0123456789":
        if digit != pan[-1]:
            assert luhn_valid(pan[:-1] + digit) is False, digit


@pytest.mark.parametrize("pan", PUBLISHED_TEST_PANS)
def test_every_published_test_card_is_masked_but_its_last_four_digits(pan):
    assert mask_card_numbers(pan) == masked_as_expected(pan)
    assert mask_card_numbers(f"卡号{pan}，谢谢") == f"卡号{masked_as_expected(pan)}，谢谢"
    assert mask_card_numbers(f"card {pan} was charged twice") == f"card {masked_as_expected(pan)} was charged twice"
    assert contains_card_number(pan) is True


@pytest.mark.parametrize("pan", PUBLISHED_TEST_PANS)
def test_a_published_test_card_typed_in_groups_keeps_its_separators(pan):
    grouped = " ".join(pan[i:i + 4] for i in range(0, len(pan), 4))
    expected = " ".join(masked_as_expected(pan)[i:i + 4] for i in range(0, len(pan), 4))
    assert mask_card_numbers(grouped) == expected
    assert mask_card_numbers(grouped.replace(" ", "-")) == expected.replace(" ", "-")


@pytest.mark.parametrize("pan", PUBLISHED_TEST_PANS)
def test_a_published_test_card_in_full_width_digits_is_masked_too(pan):
    full_width = pan.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert mask_card_numbers(full_width) == "*" * (len(pan) - 4) + full_width[-4:]


@pytest.mark.parametrize("text", NOT_CARD_NUMBERS)
def test_a_number_that_is_not_a_card_number_is_stored_as_typed(text):
    assert mask_card_numbers(text) == text
    assert scrub_free_text(text) == text
    assert contains_card_number(text) is False


@pytest.mark.parametrize("text", [t for t in NOT_CARD_NUMBERS if t.isdigit()])
def test_a_long_number_that_fails_the_luhn_check_is_not_a_card(text):
    assert luhn_valid(text) is (text == "99999999999999999999")


def test_two_cards_in_one_text_are_both_masked_and_the_words_between_them_stay():
    text = "old card 4111111111111111, new card 5555 5555 5555 4444; order 2026112300000110"
    assert mask_card_numbers(text) == (
        "old card ************1111, new card **** **** **** 4444; order 2026112300000110")


def test_a_card_number_right_after_a_word_is_still_masked():
    assert mask_card_numbers("card4111111111111111ok") == "card************1111ok"


def test_scrubbing_drops_nul_characters_and_masks_what_remains():
    assert scrub_free_text("a\x00b 4111\x001111 1111 1111") == "ab ******** **** 1111"


def test_json_values_are_scrubbed_at_every_depth_and_keys_stay():
    value = {"note": "card 4111111111111111", "items": ["6200000000000005", ("x", 5)], "n": 4111111111111111,
             "phone": "+86 138 0013 8000", "4111111111111111": None}
    assert mask_in_json(value) == {
        "note": "card ************1111", "items": ["************0005", ["x", 5]], "n": 4111111111111111,
        "phone": "+86 138 0013 8000", "4111111111111111": None,
    }


@pytest.mark.parametrize("value", [None, 4111111111111111, b"4111111111111111"])
def test_only_text_can_contain_a_card_number(value):
    assert contains_card_number(value) is False


def test_digits_before_a_card_in_the_same_run_stay_when_no_card_starts_there():
    # "9 4111…" is one run of 17 digits; only its last 16 (the card) pass the Luhn check.
    assert mask_card_numbers("Shop 9 4111 1111 1111 1111") == "Shop 9 **** **** **** 1111"


def test_an_address_with_a_card_number_in_it_is_refused_not_masked():
    with pytest.raises(ValidationError) as refused:
        validate_no_card_number("4111111111111111@example.com")
    assert refused.value.code == "card_number"
    with translation.override("en"):
        assert refused.value.messages == ["This must not contain a card number."]
    validate_no_card_number("zhang.13800138000@example.com")  # a phone number in an address is fine


@pytest.mark.django_db
def test_a_json_field_keeps_the_masked_value_on_the_saved_instance_too(case):
    event = CaseEvent(case=case, case_version=case.version, kind=EventKind.NOTE, actor_label="alice",
                      payload={"note": "card 4111111111111111", "items": ["6200000000000005"]})
    event.save()
    expected = {"note": "card ************1111", "items": ["************0005"]}
    assert event.payload == expected
    assert CaseEvent.objects.get(pk=event.pk).payload == expected
