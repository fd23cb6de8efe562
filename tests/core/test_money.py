"""An amount is a plain decimal: ASCII digits with at most one decimal point
(docs/design.md, "Transaction records"). One rule, ``core.money``,
for the public form, the API, the admin and the services.

The property tests judge ``parse_decimal_amount`` / ``parse_amount`` against
an oracle of their own: a regular expression of ASCII digits and exact
rational arithmetic, never the code under test nor ``Decimal``'s parser.
"""
import re
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from django.core.exceptions import ValidationError
from django.forms import modelform_factory
from django.utils import timezone, translation
from hypothesis import example, given, settings as hsettings, strategies as st
from rest_framework.test import APIClient

from disputes.workflow.filing import case_file
from disputes.workflow.steps import case_transition
from disputes.workflow.actors import CUSTOMER
from disputes.models import Case
from disputes.workflow.names import Channel
from tests.api.conftest import CASES, assert_problem, case_body
from tests.conftest import filing_data
from transactions.models import LedgerEntry
from core.money import CURRENCY_MINOR_UNITS, AmountFormField, format_money, parse_amount, parse_decimal_amount

# --- the oracle ----------------------------------------------------------------------------

PLAIN = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?", re.ASCII)
LARGEST = Fraction(99999999999999, 100)  # 999 999 999 999.99: 14 digits, 2 places in the database


def oracle_value(text: str) -> Fraction | None:
    """The exact value of ``text`` if it is a plain decimal (surrounded by ASCII spaces at most), else None."""
    match = PLAIN.fullmatch(text.strip(" \t\r\n"))
    if match is None:
        return None
    sign, whole, fraction = match.group(1), match.group(2), match.group(3) or ""
    value = Fraction(int(whole + fraction), 10 ** len(fraction))
    return -value if sign else value


def oracle_accepts(text: str, minor_units: int | None = None) -> Fraction | None:
    value = oracle_value(text)
    if value is None or not 0 < value <= LARGEST:
        return None
    if minor_units is not None and (value * 10**minor_units).denominator != 1:
        return None
    return value


# --- what a person or a program may type ----------------------------------------------------

amount_like = st.one_of(
    st.from_regex(r"\A-?[0-9]{1,15}(\.[0-9]{0,4})?\Z"),
    st.text(alphabet="0123456789.-+eE_, \t\u00a0\u3000１２８٠١٢NaInfity", max_size=16),
    st.sampled_from(["128.50", "1e3", "1E-2", "1_000.00", "１２８.５０", "١٢٨", "NaN", "Infinity", "-Infinity",
                     "+-1", "+1", "1 000", "128 .50", "128.", ".5", "0x10", "1,000.00", "sNaN", "0.01",
                     "999999999999.99", "1000000000000.00", " 128.50 ", "\t7\n", "\u3000128.50", "-0", "00012.30"]),
    st.text(max_size=12),
)


@given(amount_like)
@hsettings(max_examples=600, deadline=None)
@example("1e3")
@example("１２８.５０")
@example("١٢٨")
@example("1_000.00")
@example("NaN")
@example("+-1")
def test_parse_decimal_amount_accepts_exactly_the_plain_positive_decimals(text):
    expected = oracle_accepts(text)
    try:
        parsed = parse_decimal_amount(text)
    except ValidationError:
        assert expected is None, f"refused {text!r}"
    else:
        assert expected is not None, f"accepted {text!r} as {parsed!r}"
        assert Fraction(parsed) == expected


@given(amount_like, st.sampled_from(sorted(CURRENCY_MINOR_UNITS)))
@hsettings(max_examples=600, deadline=None)
@example("128.5", "JPY")
@example("128", "JPY")
@example("0.001", "CNY")
@example("128.50", "CNY")
@example("128.500", "CNY")
def test_parse_amount_also_respects_the_currencys_minor_units(text, currency):
    expected = oracle_accepts(text, CURRENCY_MINOR_UNITS[currency])
    try:
        parsed = parse_amount(text, currency)
    except ValidationError:
        assert expected is None, f"refused {text!r} in {currency}"
    else:
        assert expected is not None, f"accepted {text!r} in {currency} as {parsed!r}"
        assert Fraction(parsed) == expected


@pytest.mark.parametrize("text", ["1e3", "1E-2", "1_000.00", "1,000.00", "１２８.５０", "١٢٨", "٣.٥٠", "۱۲۸", "NaN",
                                  "nan", "Infinity", "-Infinity", "inf", "+-1", "+1", "1 000", "12 8.50", "128 .50",
                                  "128.\u200b5", "128.", ".50", "0x10", "--1", "1.2.3", "", "   "])
def test_anything_but_a_plain_decimal_is_refused_as_badly_written(text):
    with pytest.raises(ValidationError) as refused:
        parse_decimal_amount(text)
    assert refused.value.code in ("invalid", "digits")


@pytest.mark.parametrize(("text", "code"), [
    ("0", "not_positive"), ("-5", "not_positive"), ("0.00", "not_positive"),
    ("999999999999.99", None), ("1000000000000", "too_large"), ("999999999999.991", "too_large"), ("0.01", None),
])
def test_the_bounds(text, code):
    if code is None:
        assert parse_amount(text, "CNY") == Fraction(text)
    else:
        with pytest.raises(ValidationError) as refused:
            parse_decimal_amount(text)
        assert refused.value.code == code


def test_a_float_nan_or_bool_is_refused_but_an_int_or_decimal_is_a_number():
    from decimal import Decimal

    for value in (128.5, float("nan"), True, None, [1], Decimal("NaN"), Decimal("Infinity")):
        with pytest.raises(ValidationError):
            parse_decimal_amount(value)
    assert parse_decimal_amount(128) == 128 and parse_decimal_amount(Decimal("128.50")) == Decimal("128.50")


def test_the_messages_speak_the_users_language():
    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as full_width:
            parse_decimal_amount("１２８.５０")
        assert full_width.value.messages == ["请用半角数字 0-9 输入金额，例如 128.50。"]
        with pytest.raises(ValidationError) as exponent:
            parse_decimal_amount("1e3")
        assert exponent.value.messages == ["请按普通数字格式输入金额，例如 128.50：只用数字 0-9 和至多一个小数点，不要空格、分隔符或指数。"]
    with translation.override("en"):
        with pytest.raises(ValidationError) as full_width:
            parse_decimal_amount("١٢٨")
        assert full_width.value.messages == ["Type the amount with the digits 0-9 (half-width), for example 128.50."]


# --- every entry point uses it ---------------------------------------------------------------

WRONGLY_WRITTEN = ["1e3", "1_000.00", "１２８.５０", "١٢٨", "NaN", "Infinity", "+-1", "12 8.50"]


def _form_errors(response) -> dict[str, str]:
    html = response.content.decode()
    return dict(re.findall(r'<small class="error" role="alert" data-field="([a-z0-9_]+)">([^<]*)</small>', html))


@pytest.mark.django_db
@pytest.mark.parametrize("text", WRONGLY_WRITTEN)
def test_the_public_form_refuses_it(client, text):
    data = filing_data(amount=text)
    data["transaction_at"] = timezone.localtime(timezone.now() - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    response = client.post("/complaints/new/", data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert _form_errors(response)["amount"] in {
        "Type the amount with the digits 0-9 (half-width), for example 128.50.",
        "Enter the amount as a plain number, for example 128.50: digits 0-9 and at most one decimal point, "
        "with no spaces, separators or exponent.",
    }
    assert not Case.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("text", WRONGLY_WRITTEN)
def test_the_api_refuses_it(dave, text):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(dave)
    body = assert_problem(client.post(CASES, case_body(amount=text), format="json"), 400)
    assert list(body["errors"]) == ["amount"]
    assert not Case.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("text", WRONGLY_WRITTEN)
def test_the_admin_and_every_model_form_refuse_it(text):
    form_class = modelform_factory(LedgerEntry, fields=["amount"])
    assert isinstance(form_class.base_fields["amount"], AmountFormField)
    form = form_class({"amount": text})
    assert not form.is_valid() and list(form.errors) == ["amount"]
    assert modelform_factory(LedgerEntry, fields=["amount"])({"amount": " 128.50 "}).is_valid()


@pytest.mark.django_db
@pytest.mark.parametrize("text", WRONGLY_WRITTEN)
def test_the_filing_service_refuses_it(text):
    with pytest.raises(ValidationError) as refused:
        case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data(amount=text))
    assert list(refused.value.message_dict) == ["amount"]
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_a_refund_proposal_refuses_it(alice, filed_case_in_verification):
    case = filed_case_in_verification
    for text in WRONGLY_WRITTEN:
        with pytest.raises(ValidationError) as refused:
            case_transition(case=case, name="propose_refund", actor=alice, amount=text)
        assert list(refused.value.message_dict) == ["amount"]
    case.refresh_from_db()
    assert case.state == "verifying" and case.refund_amount is None


@pytest.fixture
def filed_case_in_verification(file_case, alice):
    return case_transition(case=file_case(), name="start_verification", actor=alice)


# --- the form field the admin and every model form use, and the written form of an amount ---------


def test_a_model_form_types_an_amount_in_a_decimal_text_box_and_shows_the_stored_amount_as_written():
    form_class = modelform_factory(LedgerEntry, fields=["amount"])
    field = form_class.base_fields["amount"]
    assert field.widget.attrs == {"inputmode": "decimal", "autocomplete": "off"}
    assert field.prepare_value(Decimal("128.50")) == "128.50"
    assert field.prepare_value(None) == ""
    assert field.to_python(Decimal("7.25")) == Decimal("7.25")  # already a Decimal: kept as it is
    assert field.to_python("") is None


@pytest.mark.parametrize(("amount", "currency", "written"), [
    (Decimal("1234.5"), "CNY", "1,234.50 CNY"),
    (Decimal("1234567.891"), "USD", "1,234,567.89 USD"),
    (Decimal("5000"), "JPY", "5,000 JPY"),
    (Decimal("0.5"), "XXX", "0.50 XXX"),  # a currency not listed: two places
])
def test_format_money_writes_the_currencys_minor_units_and_groups_thousands(amount, currency, written):
    assert format_money(amount, currency) == written
