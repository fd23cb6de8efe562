"""The public form's limits: complaints per client address in an hour and per
e-mail address in a day (each one e-mails that address), 429 past either,
nothing written; a refused or failed filing is not counted; a cache out of
reach does not stop customers filing."""
import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from disputes.models import Case, Notification
from tests.disputes.test_public_pages import form_data

pytestmark = pytest.mark.django_db

LIMITED = ("Too many complaints were filed from this connection or for this e-mail address. Try again in "
           "{minutes} minutes, or call the bank.")


def file_complaint(client, *, address="198.51.100.1", **fields):
    return client.post("/complaints/new/", form_data(**fields), REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="en")


def refused_with_429(response) -> None:
    assert response.status_code == 429
    retry_after = int(response["Retry-After"])
    minutes = -(-retry_after // 60)
    assert 0 < retry_after <= 86400
    assert LIMITED.format(minutes=minutes) in response.content.decode()


def test_past_the_filings_for_one_email_a_day_the_form_is_429_and_nothing_is_sent(client, settings):
    """Without it, anyone could have the bank e-mail someone else's inbox a thousand times."""
    settings.DISPUTE_PUBLIC_FILINGS_PER_EMAIL = 2
    for _ in range(2):
        assert file_complaint(client, email="victim@example.com").status_code == 302
    cases, mails = Case.objects.count(), Notification.objects.count()
    refused_with_429(file_complaint(client, email="Victim@Example.com "))
    assert (Case.objects.count(), Notification.objects.count()) == (cases, mails)
    assert file_complaint(client, email="someone.else@example.com").status_code == 302


def test_past_the_filings_from_one_address_an_hour_the_form_is_429(client, settings):
    settings.DISPUTE_PUBLIC_FILINGS_PER_ADDRESS = 2
    for n in range(2):
        assert file_complaint(client, email=f"c{n}@example.com", address="203.0.113.7").status_code == 302
    refused_with_429(file_complaint(client, email="c2@example.com", address="203.0.113.7"))
    assert Case.objects.count() == 2
    assert file_complaint(client, email="c2@example.com", address="203.0.113.8").status_code == 302


def test_a_refused_filing_is_not_counted(client, settings):
    settings.DISPUTE_PUBLIC_FILINGS_PER_EMAIL = 1
    assert file_complaint(client, email="a@example.com", amount="-1").status_code == 200  # the form refuses it
    assert file_complaint(client, email="a@example.com", terminal_id="4108").status_code == 200
    assert file_complaint(client, email="a@example.com").status_code == 302
    assert file_complaint(client, email="a@example.com").status_code == 429


def test_a_filing_whose_evidence_is_refused_is_not_counted(client, settings, tmp_path):
    """The files are checked after the complaint is written (``case_attach``, as every
    attachment): a customer who picked the wrong file may try again as often as needed."""
    settings.DISPUTE_PUBLIC_FILINGS_PER_EMAIL = settings.DISPUTE_PUBLIC_FILINGS_PER_ADDRESS = 1
    settings.MEDIA_ROOT = tmp_path
    for _ in range(3):
        fake = SimpleUploadedFile("slip.pdf", b"MZ\x90\x00 not a PDF at all", content_type="application/pdf")
        response = client.post("/complaints/new/", {**form_data(email="a@example.com"), "evidence": fake},
                               REMOTE_ADDR="198.51.100.9", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200 and "not what its type says" in response.content.decode()
    assert Case.objects.count() == 0
    assert file_complaint(client, email="a@example.com", address="198.51.100.9").status_code == 302
    assert file_complaint(client, email="a@example.com", address="198.51.100.9").status_code == 429


def test_a_filing_without_an_email_counts_for_its_address_only(client, settings):
    settings.DISPUTE_PUBLIC_FILINGS_PER_EMAIL = 1
    for _ in range(3):
        assert file_complaint(client, email="").status_code == 302


def test_with_the_cache_out_of_reach_customers_still_file(client, settings, monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("the cache is down")

    monkeypatch.setattr(cache, "add", down)
    monkeypatch.setattr(cache, "incr", down)
    settings.DISPUTE_PUBLIC_FILINGS_PER_EMAIL = 1
    for _ in range(2):
        assert file_complaint(client, email="a@example.com").status_code == 302
