"""Look-ups while the customer is on the phone: customers by phone, merchants by merchant id."""
import pytest

from merchants.models import Merchant, Terminal

from .conftest import assert_problem

pytestmark = pytest.mark.django_db


def test_a_customer_is_found_by_phone_with_cards_and_cases(api, dave, case):
    response = api(dave).get("/api/v1/customers/", {"phone": "+86 138-0013-8000"})

    assert response.status_code == 200
    [customer] = response.json()
    assert customer["name"] == "张三"
    assert customer["cards"] == [{"scheme": "unionpay", "last4": "1234"}]
    assert [c["reference"] for c in customer["cases"]] == [case.reference]


def test_an_unknown_phone_finds_nobody(api, dave, case):
    assert api(dave).get("/api/v1/customers/", {"phone": "+8613999999999"}).json() == []


def test_the_phone_is_required(api, dave):
    body = assert_problem(api(dave).get("/api/v1/customers/"), 400)
    assert "phone" in body["errors"]


def test_a_merchant_is_found_by_merchant_id(api, dave):
    merchant = Merchant.objects.create(name="好又多超市", merchant_id="103287654110281")
    Terminal.objects.create(merchant=merchant, terminal_id="41082857")

    response = api(dave).get("/api/v1/merchants/103287654110281/")

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "好又多超市"
    assert body["mid_parts"]["mcc"] == "5411"
    assert body["terminals"][0]["terminal_id"] == "41082857"


def test_an_unknown_merchant_is_404(api, dave):
    assert_problem(api(dave).get("/api/v1/merchants/999999999999999/"), 404)


@pytest.mark.parametrize("phone", ["call me", "12\x003456789", "+86" + "1" * 20])
def test_something_that_is_not_a_phone_number_is_400(api, dave, phone):
    body = assert_problem(api(dave).get("/api/v1/customers/", {"phone": phone}), 400)
    assert "phone" in body["errors"]
