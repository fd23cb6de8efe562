"""A complaint's payment time has one rule, whatever the door: on or after
2000-01-01 (UTC) and not more than ten minutes in the future. The form, the API
and the service answer the same, and a refused filing stores nothing; the
database itself refuses an earlier time, so no list can be broken by one."""
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from rest_framework.test import APIClient

from customers.models import Customer
from disputes.workflow.filing import case_file
from disputes.workflow.actors import CUSTOMER
from disputes.models import Case, CaseEvent
from disputes.workflow.names import Channel
from tests.api.conftest import case_body
from tests.conftest import filing_data

from .test_public_pages import field_errors, file_complaint, form_data

pytestmark = pytest.mark.django_db

# The oracle: the bounds as the contract states them, not as the code computes them.
FIRST_ALLOWED = datetime(2000, 1, 1, tzinfo=dt_timezone.utc)


def _nothing_stored():
    assert not Case.objects.exists()
    assert not CaseEvent.objects.exists()
    assert not Customer.objects.exists()


@pytest.mark.parametrize("value", ["0001-01-01T00:00", "1999-12-31T23:59", "1000-06-15T12:00", "9999-12-31T23:59"])
def test_the_public_form_refuses_an_absurd_payment_time_and_stores_nothing(client, value):
    response = file_complaint(client, transaction_at=value)

    assert response.status_code == 200
    assert "transaction_at" in field_errors(response)
    _nothing_stored()


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+08:00", "0001-01-01T00:00:00-08:00", "1999-12-31T23:59:59Z",
                                   "9999-12-31T23:59:59-08:00", "9999-12-31T23:59:59+14:00"])
def test_the_api_refuses_an_absurd_payment_time_and_stores_nothing(dave, value):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(dave)
    response = client.post("/api/v1/cases/", case_body(transaction_at=value), format="json")

    assert response.status_code == 400, response.content
    assert "transaction_at" in str(response.json()["errors"])
    _nothing_stored()


@pytest.mark.parametrize("at, accepted", [
    (FIRST_ALLOWED, True),
    (FIRST_ALLOWED - timedelta(seconds=1), False),
    (datetime(2000, 1, 1, 7, 59, tzinfo=dt_timezone(timedelta(hours=8))), False),  # 1999-12-31T23:59Z
    (datetime(2000, 1, 1, 8, 0, tzinfo=dt_timezone(timedelta(hours=8))), True),
])
def test_the_earliest_payment_time_is_2000_01_01_utc(at, accepted):
    if accepted:
        case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data(transaction_at=at))
        assert Case.objects.get().transaction_at == at
    else:
        with pytest.raises(ValidationError) as caught:
            case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data(transaction_at=at))
        assert list(caught.value.message_dict) == ["transaction_at"]
        _nothing_stored()


def test_ten_minutes_of_clock_skew_are_allowed_eleven_are_not():
    case_file(actor=CUSTOMER, channel=Channel.WEB,
                       **filing_data(transaction_at=timezone.now() + timedelta(minutes=9)))
    with pytest.raises(ValidationError) as caught, translation.override("en"):
        case_file(actor=CUSTOMER, channel=Channel.WEB,
                           **filing_data(transaction_at=timezone.now() + timedelta(minutes=11)))
    assert caught.value.message_dict["transaction_at"] == ["The payment time cannot be in the future."]
    assert Case.objects.count() == 1


def test_the_database_refuses_a_payment_time_before_2000(case):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE disputes_case SET transaction_at = %s WHERE id = %s",
                       [datetime(1999, 12, 31, 23, 59, tzinfo=dt_timezone.utc), case.pk])


def test_the_message_is_in_the_customers_language(client):
    response = client.post("/complaints/new/", form_data(transaction_at="0001-01-01T00:00"), HTTP_ACCEPT_LANGUAGE="zh-hans")

    message = field_errors(response)["transaction_at"]
    assert "2000-01-01" in message
    assert "支付时间" in message
