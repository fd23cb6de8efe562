"""The customer's evidence: the public complaint form and the tracking page
accept files (a photo of the POS slip, a screenshot of the debit SMS) under the
rules of every attachment, limited in number and total size per case; staff
see them on the case page."""
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from disputes.models import Attachment, Case
from disputes.web.public import TRACKED_SESSION_KEY
from disputes.workflow.actors import CUSTOMER
from disputes.workflow.casework import case_attach
from disputes.workflow.steps import case_transition
from tests.conftest import filing_data

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 64


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def photo(name="slip.jpg", data=JPEG, content_type="image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def form_data(**files):
    data = filing_data(amount="128.50")
    data["transaction_at"] = timezone.localtime(timezone.now() - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    data.update(files)
    return data


def tracking(client, case):
    session = client.session
    session[TRACKED_SESSION_KEY] = case.pk
    session.save()


def test_the_complaint_form_takes_evidence_with_the_complaint(client):
    response = client.post("/complaints/new/", form_data(evidence=[photo(), photo("sms.png", b"\x89PNG\r\n\x1a\n!", "image/png")]))
    assert response.status_code == 302
    case = Case.objects.get()
    assert sorted(case.attachments.values_list("original_name", flat=True)) == ["slip.jpg", "sms.png"]
    assert all(a.uploaded_by is None for a in case.attachments.all())


def test_a_bad_evidence_file_files_nothing(client):
    response = client.post("/complaints/new/", form_data(evidence=[photo(), photo("x.exe", b"MZ", "application/x-msdownload")]),
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Attach a PDF, JPEG, PNG, CSV or text file." in response.content.decode()
    assert not Case.objects.exists() and not Attachment.objects.exists()


def test_too_many_files_at_once_are_refused(client, settings):
    settings.DISPUTE_CUSTOMER_EVIDENCE_MAX_FILES = 2
    response = client.post("/complaints/new/", form_data(evidence=[photo(), photo(), photo()]), HTTP_ACCEPT_LANGUAGE="en")
    assert "Send at most 2 files." in response.content.decode()
    assert not Case.objects.exists()


def test_the_tracking_page_takes_more_evidence_and_lists_it(client, case):
    tracking(client, case)
    page = client.get("/complaints/track/").content.decode()
    assert 'action="/complaints/track/evidence/"' in page
    response = client.post("/complaints/track/evidence/", {"evidence": [photo()]}, follow=True)
    assert "slip.jpg" in response.content.decode()
    assert case.attachments.get().uploaded_by is None


def test_evidence_is_limited_in_number_and_total_size_per_case(client, case, settings):
    settings.DISPUTE_CUSTOMER_EVIDENCE_MAX_FILES = 2
    settings.DISPUTE_CUSTOMER_EVIDENCE_MAX_BYTES = 150
    tracking(client, case)
    client.post("/complaints/track/evidence/", {"evidence": [photo()]})
    too_big = client.post("/complaints/track/evidence/", {"evidence": [photo(data=JPEG + b"\0" * 100)]},
                          follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "The files for this complaint may add up to 150 bytes at most." in too_big.content.decode()
    assert case.attachments.count() == 1
    client.post("/complaints/track/evidence/", {"evidence": [photo()]})
    third = client.post("/complaints/track/evidence/", {"evidence": [photo()]}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "You have already sent 2 files for this complaint, the most we accept." in third.content.decode()
    assert case.attachments.count() == 2


def test_staff_files_do_not_count_against_the_customers_limit(alice, case, settings):
    settings.DISPUTE_CUSTOMER_EVIDENCE_MAX_FILES = 1
    case_attach(case=case, actor=alice, upload=photo(), content_type="image/jpeg")
    case_attach(case=case, actor=CUSTOMER, upload=photo(), content_type="image/jpeg")
    assert case.attachments.count() == 2


def test_no_evidence_once_the_case_has_ended(client, case):
    case_transition(case=case, name="withdraw", actor=CUSTOMER)
    tracking(client, case)
    assert 'action="/complaints/track/evidence/"' not in client.get("/complaints/track/").content.decode()
    response = client.post("/complaints/track/evidence/", {"evidence": [photo()]}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "Evidence can only be added while the complaint is open." in response.content.decode()
    assert not Attachment.objects.exists()


def test_evidence_needs_the_tracked_case(client):
    response = client.post("/complaints/track/evidence/", {"evidence": [photo()]})
    assert response.status_code == 302 and not Attachment.objects.exists()


def test_staff_see_the_customers_evidence_on_the_case_page(client, alice, case):
    case_attach(case=case, actor=CUSTOMER, upload=photo(), content_type="image/jpeg")
    client.force_login(alice)
    html = client.get(f"/staff/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    item = re.search(r'<li data-attachment="\d+">.*?</li>', html, re.S).group(0)
    assert "slip.jpg" in item and "from the customer" in item
