"""Attachments on the staff case page: uploaded through ``case_attach`` (PDF,
images, text; size-limited; stored under a hashed name), listed, and served
only to staff, only as a download: never inline from the site's origin."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from disputes.models import Attachment
from disputes.workflow.casework import case_attach

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n% a receipt\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 20


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def upload(client, case, name: str, data: bytes, content_type: str):
    return client.post(f"/staff/cases/{case.reference}/attachments/",
                       {"version": case.version, "file": SimpleUploadedFile(name, data, content_type=content_type)},
                       HTTP_ACCEPT_LANGUAGE="en")


def test_an_agent_uploads_a_pdf_kept_under_its_hash(client, alice, case):
    client.force_login(alice)
    response = upload(client, case, "slip.pdf", PDF, "application/pdf")
    assert response.status_code == 302
    attachment = Attachment.objects.get(case=case)
    assert attachment.original_name == "slip.pdf" and "slip" not in attachment.file.name
    assert attachment.file.name.endswith(attachment.sha256[:16] + ".pdf")
    html = client.get(f"/staff/cases/{case.reference}/").content.decode()
    assert f'/staff/cases/{case.reference}/attachments/{attachment.pk}/' in html


@pytest.mark.parametrize(("name", "data", "content_type"), [
    ("page.html", b"<script>alert(1)</script>", "text/html"),
    ("fake.pdf", b"<html><script>alert(1)</script>", "application/pdf"),  # not what its type says
    ("fake.png", PDF, "image/png"),
    ("binary.txt", b"MZ\0\0\0", "text/plain"),
    ("empty.pdf", b"", "application/pdf"),
])
def test_a_file_that_is_not_a_pdf_image_or_text_is_refused_with_a_400(client, alice, case, name, data, content_type):
    client.force_login(alice)
    response = upload(client, case, name, data, content_type)
    assert response.status_code == 400
    assert 'id="case-problem" data-status="400"' in response.content.decode()
    assert not Attachment.objects.exists()


def test_a_file_above_the_size_limit_is_refused(client, alice, case, settings):
    settings.DISPUTE_ATTACHMENT_MAX_BYTES = 1024 * 1024
    client.force_login(alice)
    response = upload(client, case, "big.pdf", PDF + b"x" * (1024 * 1024), "application/pdf")
    assert response.status_code == 400 and "The file is larger than 1 MB." in response.content.decode()
    assert not Attachment.objects.exists()


def test_the_download_is_an_attachment_never_sniffed_or_run_on_this_origin(client, alice, case):
    attachment = case_attach(case=case, actor=alice, upload=SimpleUploadedFile("收据 slip.png", PNG),
                             content_type="image/png")
    client.force_login(alice)
    response = client.get(f"/staff/cases/{case.reference}/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''%E6%94%B6%E6%8D%AE%20slip.png" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "image/png"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == PNG


@pytest.mark.parametrize("who", ["mallory", "dave", "erin"])
def test_only_workspace_staff_download(client, request, alice, case, who):
    attachment = case_attach(case=case, actor=alice, upload=SimpleUploadedFile("a.pdf", PDF), content_type="application/pdf")
    url = f"/staff/cases/{case.reference}/attachments/{attachment.pk}/"
    assert client.get(url).status_code == 302  # anonymous: to the login page
    client.force_login(request.getfixturevalue(who))
    assert client.get(url).status_code == 403


def test_an_attachment_is_only_reached_through_its_own_case(client, alice, file_case):
    first, second = file_case(), file_case()
    attachment = case_attach(case=first, actor=alice, upload=SimpleUploadedFile("a.pdf", PDF), content_type="application/pdf")
    client.force_login(alice)
    assert client.get(f"/staff/cases/{second.reference}/attachments/{attachment.pk}/").status_code == 404


def test_media_files_are_not_served_by_url(client, alice, case):
    attachment = case_attach(case=case, actor=alice, upload=SimpleUploadedFile("a.pdf", PDF), content_type="application/pdf")
    client.force_login(alice)
    assert client.get("/media/" + attachment.file.name).status_code == 404
