"""The admin of the reference data (merchants, terminals, processors, customers
and cards, imported transaction records), as the admin role uses it."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Card, Customer
from merchants.models import Merchant, PaymentProcessor, Terminal
from transactions.models import LedgerEntry, SettlementRecord


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def erin_client(client, erin):
    erin.is_staff = True
    erin.save()
    client.force_login(erin)
    return client


@pytest.fixture
def merchant(db):
    return Merchant.objects.create(name="好又多超市", merchant_id="102290054110001")


@pytest.fixture
def card(db):
    customer = Customer.objects.create(name="张三", phone="+8613800138000")
    return Card.objects.create(customer=customer, last4="1234", bin6="622202")


@pytest.fixture
def ledger_entry(db):
    return LedgerEntry.objects.create(entry_id="L0000017", card_last4="6646", amount=Decimal("10.13"), currency="CNY",
                                      posted_at=timezone.now() - timedelta(days=2), kind="debit", rrn="100000000347")


@pytest.fixture
def settlement_record(db):
    return SettlementRecord.objects.create(record_id="S0000007", processor="Sumpay", amount=Decimal("10.07"),
                                           currency="CNY", transacted_at=timezone.now(), status="timeout")


def test_the_admin_role_adds_a_merchant_and_its_terminal(erin_client, merchant):
    response = erin_client.post(admin_url(Merchant, "add"), {"name": "星巴克", "merchant_id": "102290058140002"})
    assert response.status_code == 302
    response = erin_client.post(admin_url(Terminal, "add"),
                                {"merchant": merchant.pk, "terminal_id": "41082857", "status": "faulty"})
    assert response.status_code == 302
    assert Terminal.objects.get(terminal_id="41082857").merchant == merchant


def test_a_merchant_id_of_the_wrong_shape_is_refused(erin_client):
    response = erin_client.post(admin_url(Merchant, "add"), {"name": "星巴克", "merchant_id": "12345"})
    assert response.status_code == 200
    assert "merchant_id" in response.context["adminform"].form.errors
    assert not Merchant.objects.exists()


@pytest.mark.parametrize("chosen", ["NaN", "1e999", "9999-12-31", "\u202e", "x" * 5000, "-1", "99999999999999999999"])
def test_a_terminal_whose_merchant_is_no_key_is_refused_by_the_form_not_a_500(erin_client, merchant, chosen):
    response = erin_client.post(admin_url(Terminal, "add"), {"merchant": chosen, "terminal_id": "41082857",
                                                               "status": "faulty"})
    assert response.status_code == 200
    assert "merchant" in response.context["adminform"].form.errors
    assert not Terminal.objects.exists()


def test_the_terminal_form_finds_its_merchant_by_autocomplete(erin_client, merchant):
    response = erin_client.get(reverse("admin:autocomplete"), {
        "term": "好又多", "app_label": "merchants", "model_name": "terminal", "field_name": "merchant"})
    assert [result["id"] for result in response.json()["results"]] == [str(merchant.pk)]


def test_the_merchant_page_explains_its_mid_and_links_its_terminals(erin_client, merchant):
    content = erin_client.get(admin_url(Merchant, "change", merchant.pk)).content.decode()
    assert "MCC 5411" in content
    assert f"?merchant__id__exact={merchant.pk}" in content


def test_a_processor_keeps_its_licence_number(erin_client):
    response = erin_client.post(admin_url(PaymentProcessor, "add"), {
        "name": "银联商务", "licence_number": "Z2000133000013", "licensed": "on", "promised_response_hours": 48})
    assert response.status_code == 302
    assert PaymentProcessor.objects.get(name="银联商务").licence_number == "Z2000133000013"


def test_a_card_is_shown_masked_only(erin_client, card):
    for url in (admin_url(Card, "changelist"), admin_url(Card, "change", card.pk),
                admin_url(Customer, "change", card.customer_id)):
        content = erin_client.get(url).content.decode()
        assert "622202······1234" in content, url
        assert 'name="last4"' not in content and 'name="bin6"' not in content, url


def test_a_card_is_added_with_its_bin_and_last_4(erin_client, card):
    response = erin_client.post(admin_url(Card, "add"),
                                {"customer": card.customer_id, "scheme": "unionpay", "bin6": "621700", "last4": "9876"})
    assert response.status_code == 302
    assert Card.objects.get(last4="9876").masked == "621700······9876"


def test_a_customer_is_found_by_phone_with_or_without_the_country_code(erin_client, card):
    for term in ("+8613800138000", "13800138000", "138-0013-8000", "张三"):
        response = erin_client.get(admin_url(Customer, "changelist"), {"q": term})
        assert list(response.context["cl"].result_list) == [card.customer], term


@pytest.mark.parametrize("fixture", ["ledger_entry", "settlement_record"])
def test_imported_records_cannot_be_added_by_hand(erin_client, admin_client, fixture, request):
    """A record typed in by hand (a reversal, an approved settlement) would change what the
    diagnosis tells the customer: records come from the bank's files only."""
    model = type(request.getfixturevalue(fixture))
    for client in (erin_client, admin_client):
        assert client.get(admin_url(model, "add")).status_code == 403
        assert client.post(admin_url(model, "add"), {}).status_code == 403
        assert admin_url(model, "add") not in client.get(admin_url(model, "changelist")).content.decode()
    assert model.objects.count() == 1


def test_a_correction_keeps_the_values_it_replaced_in_the_records_history(erin_client, erin, ledger_entry):
    from django.contrib.admin.models import LogEntry

    page = erin_client.get(admin_url(LedgerEntry, "change", ledger_entry.pk))
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {name: ("" if value is None else value) for name, value in data.items()}
    data["posted_at_0"], data["posted_at_1"] = "2026-11-28", "09:30:00"  # the split date and time widget
    data.pop("posted_at")

    response = erin_client.post(admin_url(LedgerEntry, "change", ledger_entry.pk), {**data, "amount": "10.31"})

    assert response.status_code == 302
    ledger_entry.refresh_from_db()
    assert ledger_entry.amount == Decimal("10.31")
    entry = LogEntry.objects.get(object_id=str(ledger_entry.pk), user=erin)
    message = entry.get_change_message()
    assert message.startswith("Corrected: ") and "amount: 10.13 → 10.31" in message
    assert "posted_at: " in message and "→ 2026-11-28T09:30:00+08:00" in message


@pytest.mark.parametrize("fixture", ["ledger_entry", "settlement_record"])
def test_imported_records_can_be_corrected_but_not_deleted(erin_client, admin_client, request, fixture):
    record = request.getfixturevalue(fixture)
    model = type(record)
    for client in (erin_client, admin_client):
        assert client.get(admin_url(model, "delete", record.pk)).status_code == 403
        response = client.get(admin_url(model, "changelist"))
        assert "delete_selected" not in response.content.decode()
    assert model.objects.filter(pk=record.pk).exists()
    response = admin_client.get(admin_url(model, "changelist"), {"q": "100000000347" if fixture == "ledger_entry" else "S0000007"})
    assert list(response.context["cl"].result_list) == [record]
