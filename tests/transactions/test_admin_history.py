"""The admin shows imports, reconciliations and orphan debits, and changes none of them."""
from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from tests.transactions.files import csv_text, ledger_row
from tests.transactions.records import T, debit
from transactions.importing import records_import
from transactions.models import ImportRun, LedgerEntry, OrphanDebit, ReconciliationRun
from transactions.reconciliation import reconcile


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def test_a_failed_import_shows_its_bad_lines_read_only(db, admin_client):
    data = csv_text("ledger", [ledger_row("L1"), ledger_row("L2", amount="1e3")]).encode()
    report = records_import(kind="ledger", file=io.BytesIO(data), file_name="bad.csv")

    response = admin_client.get(reverse("admin:transactions_importrun_change", args=[report.run_id]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "line 3: amount: Write the amount as a plain decimal number, such as 128.50." in html
    assert 'name="_save"' not in html
    assert admin_client.post(reverse("admin:transactions_importrun_delete", args=[report.run_id])).status_code == 403
    assert ImportRun.objects.filter(pk=report.run_id).exists()


def test_a_reconciliation_links_to_its_orphan_debits(db, admin_client):
    debit("L1", T)
    run = reconcile(as_of=T.replace(day=T.day + 2))

    page = admin_client.get(reverse("admin:transactions_reconciliationrun_change", args=[run.pk])).content.decode()
    orphans = admin_client.get(reverse("admin:transactions_orphandebit_changelist"),
                               {"reconciliation__id__exact": run.pk})

    assert f"?reconciliation__id__exact={run.pk}" in page and "1 orphan debits" in page
    assert [orphan.entry.entry_id for orphan in orphans.context["cl"].result_list] == ["L1"]
    assert admin_client.get(reverse("admin:transactions_reconciliationrun_add")).status_code == 403
    assert ReconciliationRun.objects.count() == 1 and OrphanDebit.objects.count() == 1


def test_the_admin_refuses_a_card_number_as_customer_reference(db, admin_client):
    """The same rule as the import's: the model field's validator, which the admin's form runs
    (on a correction: records are never added by hand)."""
    entry = LedgerEntry.objects.create(entry_id="ADM1", customer_ref="CIF000000001", card_last4="1111",
                                       amount=Decimal("10.00"), currency="CNY", kind="debit",
                                       posted_at=datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    url = reverse("admin:transactions_ledgerentry_change", args=[entry.pk])
    data = {"entry_id": "ADM1", "customer_ref": "4111 1111 1111 1111", "card_last4": "1111", "amount": "10.00",
            "currency": "CNY", "posted_at_0": "2026-11-20", "posted_at_1": "10:00:00", "kind": "debit",
            "rrn": "", "stan": "", "auth_code": "", "merchant_id": "", "terminal_id": ""}
    response = admin_client.post(url, data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "customer_ref" in response.context["adminform"].form.errors
    assert LedgerEntry.objects.get().customer_ref == "CIF000000001"
    data["customer_ref"] = "CIF000123456"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert LedgerEntry.objects.get().customer_ref == "CIF000123456"
