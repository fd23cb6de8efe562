"""No full card number survives in any free-text field (docs/design.md, "Never")."""
import unicodedata
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.apps import apps
from django.db import models
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from core.cardguard import ScrubbedCharField, ScrubbedJSONField, ScrubbedTextField, mask_card_numbers
from disputes.workflow.casework import case_add_note
from disputes.workflow.filing import case_file
from disputes.workflow.steps import case_transition
from disputes.workflow.actors import CUSTOMER
from disputes.models import Case, CaseEvent, CaseNote
from disputes.workflow.names import Channel
from tests.conftest import filing_data

from .test_card_numbers_oracle import luhn_check_digit

# Structured fields: fixed shapes with their own validators (ids, codes,
# e-mail, phone, choices), never free text. Everything else must be guarded.
STRUCTURED = {
    # bank_ref: the ledger's customer_ref, compared exactly (a card number is refused by its validator).
    "customers.Customer": {"phone", "email", "preferred_language", "bank_ref"},
    "customers.Card": {"scheme", "last4", "bin6"},
    "merchants.Merchant": {"merchant_id", "contact_phone", "contact_email"},
    "merchants.Terminal": {"terminal_id", "status"},
    "merchants.PaymentProcessor": {"licence_number", "inquiry_email", "inquiry_phone"},
    "transactions.LedgerEntry": {"entry_id", "customer_ref", "card_last4", "currency", "kind", "rrn", "stan", "auth_code", "merchant_id", "terminal_id"},
    "transactions.SettlementRecord": {"record_id", "processor", "merchant_id", "terminal_id", "rrn", "stan", "auth_code", "currency", "status"},
    "transactions.ImportRun": {"kind", "sha256", "status", "upload_name"},  # upload_name: our own <uuid hex>.csv
    "transactions.OrphanCase": {"case_reference"},
    "disputes.Case": {"reference", "tracking_code_hash", "channel", "state", "currency", "merchant_id", "terminal_id", "rrn", "stan", "auth_code", "root_cause", "resume_state"},
    "disputes.CaseEvent": {"kind", "actor_label", "transition", "from_state", "to_state"},
    "disputes.CaseNote": {"author_label", "visibility"},
    "disputes.Attachment": {"file", "content_type", "sha256"},
    "disputes.Refund": {"currency", "status", "execution_reference", "gateway"},
    "disputes.Notification": {"recipient", "status"},
    "disputes.SlaSettings": {"time_zone", "holiday_country", "final_counting", "notify_emails"},
    "disputes.StagePolicy": {"state", "unit", "notify_emails"},
    "disputes.SlaAlert": {"clock", "kind", "stage"},
    "disputes.MerchantContact": {"channel", "link_sent_to", "answer"},
    # A copy of an API response, built from fields guarded above (phone numbers must replay unchanged).
    "disputes.IdempotencyKey": {"key_hash", "request_fingerprint", "response_body", "response_headers"},
    # entry_id / record_id lists and names from the records' files and the workflow (no free text).
    "disputes.Verification": {"outcome", "ledger_entries", "settlement_records", "currency", "suggested_step"},
    "disputes.WebhookEndpoint": {"url", "secret"},
    # The payload holds references, states and times only; the log, statuses and errors of attempts.
    "disputes.WebhookDelivery": {"payload", "status", "attempt_log"},
}
OUR_APPS = {"customers", "merchants", "transactions", "disputes"}


def test_every_free_text_field_of_our_models_is_guarded():
    unguarded = []
    for model in apps.get_models():
        if model._meta.app_label not in OUR_APPS:
            continue
        label = f"{model._meta.app_label}.{model.__name__}"
        for field in model._meta.concrete_fields:
            text_like = isinstance(field, (models.CharField, models.TextField, models.JSONField, models.FileField))
            guarded = isinstance(field, (ScrubbedCharField, ScrubbedTextField, ScrubbedJSONField))
            if text_like and not guarded and field.name not in STRUCTURED.get(label, set()):
                unguarded.append(f"{label}.{field.name}")
    assert unguarded == []


@st.composite
def card_numbers(draw):
    """A Luhn-valid PAN of 13 to 19 digits, its check digit computed by the test
    oracle (test_card_numbers_oracle.py), not by the guard's own ``luhn_valid``."""
    length = draw(st.integers(min_value=13, max_value=19))
    body = draw(st.text(alphabet="0123456789", min_size=length - 1, max_size=length - 1))
    return body + luhn_check_digit(body)


# What people (and copy-paste) put between the digits of a card number: any run
# of up to five characters that are neither letters nor digits.
COMMON_SEPARATORS = ["", " ", "-", "\u3000", ".", "/", "_", ",", "   ", "\t", "\n", "\r\n", "\u200b", "\u200c",
                     "\u200d", "\u2060", "\ufeff", "\u3002", "(", ")", ") (", " - ", "\u00a0", "\uff0d", "*", "|"]
any_separator = st.text(alphabet=st.characters(blacklist_categories=("Cs", "L", "N"), blacklist_characters=":+"),
                        min_size=1, max_size=5)


@st.composite
def written_as_typed(draw, pan: str):
    """The PAN as a person types or pastes it: groups split by separators, maybe full-width."""
    pieces, rest = [], pan
    while rest:
        size = draw(st.integers(min_value=1, max_value=6))
        pieces.append(rest[:size])
        rest = rest[size:]
    separator = st.one_of(st.sampled_from(COMMON_SEPARATORS), any_separator)
    separators = [draw(separator) for _ in pieces[1:]]
    text = pieces[0] + "".join(sep + piece for sep, piece in zip(separators, pieces[1:]))
    if draw(st.booleans()):
        text = text.translate(str.maketrans("0123456789", draw(st.sampled_from(
            ["０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "०१२३४५६७८९"]))))
    return text


# What a name may not hold (core/names.py): controls, line and paragraph separators, text-direction
# controls; a name field gets the typed text with those as spaces (and something visible first).
_NOT_IN_A_NAME = {*map(chr, range(0x20)), *map(chr, range(0x7f, 0xa0)), "\u2028", "\u2029",
                  *"\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"}


def as_name(text: str, limit: int) -> str:
    """``text`` as a name field takes it: one line of visible text, at most ``limit`` characters."""
    return ("名 " + "".join(" " if char in _NOT_IN_A_NAME else char for char in text))[:limit]


surrounding = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


def _digits(text: str) -> str:
    """The oracle: the text's decimal digits as ASCII, with everything that is not
    a letter or a digit (the separators, and the mask) taken out."""
    return "".join(str(unicodedata.decimal(char)) if unicodedata.category(char) == "Nd" else char
                   for char in text if char.isalnum() and char not in "*")


def _survives(pan: str, stored: str) -> bool:
    return pan in _digits(stored)


@st.composite
def texts_with_a_card(draw):
    pan = draw(card_numbers())
    typed = draw(written_as_typed(pan))
    return pan, draw(surrounding) + " " + typed + " " + draw(surrounding)


@given(texts_with_a_card())
@hsettings(max_examples=400)
def test_the_guard_masks_any_card_number_in_any_text(sample):
    pan, text = sample
    masked = mask_card_numbers(text)
    assert not _survives(pan, masked)
    assert mask_card_numbers(masked) == masked  # idempotent
    assert len(masked) == len(text)  # only digits are replaced


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Nd")), max_size=200))
def test_text_without_digits_is_left_as_it_is(text):
    assert mask_card_numbers(text) == text


@pytest.mark.parametrize(
    "text",
    ["Phone 13800138000", "RRN 100000000347, STAN 508225", "amount 128.50 on 2026-11-20 14:03", "card ending 1234"],
)
def test_ordinary_numbers_are_not_masked(text):
    assert mask_card_numbers(text) == text


@pytest.mark.django_db
@given(sample=texts_with_a_card())
@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_card_number_survives_in_any_free_text_field_of_a_case(sample, alice):
    pan, text = sample
    filed = case_file(
        actor=CUSTOMER, channel=Channel.WEB,
        **filing_data(customer_name=as_name(text, 100), merchant_name=as_name(text, 200), description=text, phone="+861380013" + str(len(text) % 10000).zfill(4)),
    )
    case = filed.case
    case_add_note(case=case, actor=alice, body=text)
    case_transition(case=case, name="start_verification", actor=alice, note=text)
    case_transition(case=case, name="reject", actor=alice, reason=text)

    stored = Case.objects.select_related("customer").get(pk=case.pk)
    values = [stored.customer.name, stored.merchant_name, stored.description, stored.rejection_reason]
    values += list(CaseNote.objects.filter(case=case).values_list("body", flat=True))
    for event in CaseEvent.objects.filter(case=case):
        values += [event.message, str(event.payload)]
    for value in values:
        assert not _survives(pan, value), value


def test_queryset_update_goes_through_the_guard_too(case):
    Case.objects.filter(pk=case.pk).update(description="card 6222 0212 3456 7890 128")
    assert Case.objects.get(pk=case.pk).description == "card **** **** **** ***0 128"


@pytest.mark.parametrize("separator", [
    ".", "/", "_", ",", "  ", "   ", "\t", "\n", "\u200b", "\u2060", "\ufeff", "\u3002", "()", ")(", " . ", ",\n",
])
def test_the_separators_found_by_the_outsider_do_not_hide_a_card_number(separator):
    groups = ["6222", "0212", "3456", "7890", "128"]
    text = "卡号 " + separator.join(groups) + " 谢谢"

    masked = mask_card_numbers(text)

    assert not _survives("6222021234567890128", masked)
    assert masked.endswith("0" + separator + "128 谢谢")  # the last four stay, for the customer to recognise


def test_more_than_five_characters_between_digits_separate_two_numbers():
    # "Call 138 0013 8000 -------- order 1234567" is two numbers, not a card.
    text = "4111 1111 1111" + "------" + "1111"
    assert mask_card_numbers(text) == text


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                    timezones=st.sampled_from([dt_timezone.utc, dt_timezone(timedelta(hours=8)),
                                               dt_timezone(timedelta(hours=-5, minutes=-30))])))
@hsettings(max_examples=500)
def test_a_timestamp_is_never_taken_for_a_card_number(moment):
    # ISO 8601 times stand in event payloads and messages (deadlines, checks): they stay as written.
    for text in (moment.isoformat(), moment.isoformat(sep=" "), moment.strftime("%Y-%m-%d %H:%M:%S.%f %z")):
        assert mask_card_numbers(text) == text


def test_a_card_number_written_with_colons_is_not_a_case_we_mask():
    # The documented limit: ":" (and "+") never separate card digits, so times survive.
    text = "4111:1111:1111:1111"
    assert mask_card_numbers(text) == text
