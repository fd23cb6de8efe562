"""No card number in the idempotency store (docs/design.md, "Never"): the key is
kept as its SHA-256, and an error answer echoing a card number is masked
before it is stored, and sent so, first time and on every replay."""
import re

import pytest
from django.db import connection

from core.cardguard import luhn_valid
from disputes.models import Case, IdempotencyKey

from .conftest import CASES, assert_problem, case_body

pytestmark = pytest.mark.django_db

PAN = "6222021234567890128"  # 19 digits, Luhn-valid
assert luhn_valid(PAN)


def _stored_rows_text() -> str:
    """Every column of every row of the idempotency table, as PostgreSQL prints it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT t::text FROM disputes_idempotencykey t")
        return "\n".join(row[0] for row in cursor.fetchall())


def _digits_only(text: str) -> str:
    return re.sub(r"[^0-9]", "", text)


def _ascii_digits(text: str) -> str:
    return text.translate(str.maketrans("０１２３４５６７８９", "0123456789"))


@pytest.mark.parametrize("written", [
    PAN,
    "6222 0212 3456 7890 128",
    "6222-0212-3456-7890-128",
    "６２２２０２１２３４５６７８９０１２８",
])
def test_an_error_echoing_a_card_number_is_stored_and_replayed_masked(api, dave, written):
    client, body = api(dave), case_body(card_scheme=f"my card {written}")  # a ChoiceField echoes the bad value
    first = client.post(CASES, body, format="json", HTTP_IDEMPOTENCY_KEY="echo")
    again = client.post(CASES, body, format="json", HTTP_IDEMPOTENCY_KEY="echo")

    assert_problem(first, 400)
    assert again["Idempotent-Replayed"] == "true"
    assert first.json() == again.json()  # jsonb keeps the keys in its own order
    message = _ascii_digits(first.json()["errors"]["card_scheme"][0])
    assert _digits_only(message) == "0128"  # the last four stay, as everywhere
    for text in (first.content.decode(), _stored_rows_text()):
        assert PAN[:12] not in _digits_only(_ascii_digits(text))
    assert not Case.objects.exists()


def test_a_card_number_in_the_path_of_a_stored_404_is_masked(api, dave):
    client = api(dave)
    url = f"{CASES}{PAN}/notes/"
    first = client.post(url, {"body": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="path")
    again = client.post(url, {"body": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="path")
    assert assert_problem(first, 404)["instance"] == f"{CASES}***************0128/notes/"
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert PAN not in _stored_rows_text()


def test_a_card_number_used_as_the_key_is_never_stored_and_the_key_still_replays(api, dave):
    key = "4111111111111111"
    client, body = api(dave), case_body()
    first = client.post(CASES, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    again = client.post(CASES, body, format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert Case.objects.count() == 1
    stored = _stored_rows_text()
    assert key not in stored and key not in _digits_only(stored)
    assert IdempotencyKey.objects.get().key_hash == "9bbef19476623ca56c17da75fd57734dbf82530686043a6e491c6d71befe8f6e"


def test_a_success_replays_its_phone_and_merchant_id_as_they_are(api, dave):
    """A 201 is built from stored rows whose free text is already guarded; its
    structured numbers are not card numbers, even when they pass the Luhn check."""
    phone, merchant_id = "+8613800138002", "103287654110286"
    assert luhn_valid(phone[1:]) and luhn_valid(merchant_id)
    client, body = api(dave), case_body(customer={"phone": phone}, merchant_id=merchant_id)
    first = client.post(CASES, body, format="json", HTTP_IDEMPOTENCY_KEY="luhn-ish")
    again = client.post(CASES, body, format="json", HTTP_IDEMPOTENCY_KEY="luhn-ish")
    assert first.status_code == again.status_code == 201
    assert again.json()["customer"]["phone"] == phone and again.json()["merchant_id"] == merchant_id
