"""``Customer.bank_ref``: the ledger's customer_ref, at most one customer each,
optional, never a card number."""
import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from customers.models import Customer

pytestmark = pytest.mark.django_db


def customer(phone: str, **fields) -> Customer:
    return Customer.objects.create(name="Li Lei", phone=phone, verified=True, **fields)


def test_two_customers_cannot_share_a_bank_reference():
    customer("+8613900139000", bank_ref="C00001")
    with pytest.raises(IntegrityError), transaction.atomic():
        customer("+8613900139001", bank_ref="C00001")


def test_any_number_of_customers_may_have_none():
    customer("+8613900139000")
    customer("+8613900139001", bank_ref=None)
    assert Customer.objects.filter(bank_ref__isnull=True).count() == 2


def test_a_card_number_is_refused_as_a_bank_reference():
    with pytest.raises(ValidationError) as refused:
        Customer(name="Li Lei", phone="+8613900139000", bank_ref="6222021234567890123").full_clean()
    assert "bank_ref" in refused.value.message_dict
    Customer(name="Li Lei", phone="+8613900139000", bank_ref="C00001").full_clean()
