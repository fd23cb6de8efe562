"""Requests the pages cannot read get a clear 4xx page, never a 500, and store
nothing: a body too large (413), a form not in UTF-8 (400), a NUL character
in the URL (400 in the query, 404 in the path), a form without its CSRF
token (403, what to do, in the user's language)."""
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from disputes.models import Case
from tests.conftest import filing_data

pytestmark = pytest.mark.django_db

NEW = "/complaints/new/"


def _form(**overrides) -> dict:
    data = filing_data(amount="128.50", **overrides)
    data["transaction_at"] = timezone.localtime(timezone.now() - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    return data


def _with_csrf() -> tuple[Client, str]:
    """A browser that loaded the form first: it holds the CSRF cookie and token."""
    browser = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    html = browser.get(NEW).content.decode()
    return browser, re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def _error_page(response, status: int) -> str:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert f'id="request-error" data-status="{status}"' in html
    return html


def test_a_five_megabyte_complaint_is_a_clear_413_page(db):
    browser, token = _with_csrf()
    response = browser.post(NEW, _form(description="x" * (5 * 1024 * 1024), csrfmiddlewaretoken=token))
    html = _error_page(response, 413)
    assert "What you sent is too large (more than 1024 kB). Shorten the text and send it again." in html
    assert not Case.objects.exists()


def test_the_413_page_is_in_chinese_for_a_chinese_browser(client):
    response = client.post(NEW, _form(description="x" * (2 * 1024 * 1024)), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "您提交的内容过大（超过 1024 kB）。请缩短文字后重新提交。" in _error_page(response, 413)


@pytest.mark.parametrize("charset", ["latin-1", "iso-8859-1", "x-nonsense", "utf-16"])
def test_a_form_not_in_utf8_is_a_clear_400_page(charset):
    browser, token = _with_csrf()
    body = "&".join(f"{k}={v}" for k, v in _form(csrfmiddlewaretoken=token, customer_name="Ren\xe9").items())
    response = browser.generic("POST", NEW, body.encode("latin-1", "replace"),
                               content_type=f"application/x-www-form-urlencoded; charset={charset}")
    html = _error_page(response, 400)
    assert "Your browser sent something we could not read. Reload the page and send the form again." in html
    assert not Case.objects.exists()


def test_a_form_declared_as_utf8_is_read(client):
    body = "&".join(f"{k}={v}" for k, v in _form().items())
    response = client.generic("POST", NEW, body.encode(), content_type="application/x-www-form-urlencoded; charset=UTF-8")
    assert response.status_code == 302 and Case.objects.count() == 1


def test_a_nul_in_a_page_query_is_400_and_in_a_page_path_is_404(client):
    _error_page(client.get("/complaints/track/?another=1%00"), 400)
    assert client.get("/complaints/tr%00ack/").status_code == 404


def test_a_refused_query_is_logged_in_one_line_without_a_traceback(client, caplog):
    with caplog.at_level("WARNING", logger="django.request"):
        _error_page(client.get("/complaints/track/?reference=DD%00"), 400)
        _error_page(client.generic("POST", NEW, b"a=1", content_type="application/x-www-form-urlencoded; charset=latin-1"),
                    400)

    refused = [record for record in caplog.records if record.name == "django.request"]
    assert [(record.levelname, record.getMessage()) for record in refused] == [
        ("WARNING", "Bad Request: /complaints/track/"), ("WARNING", "Bad Request: /complaints/new/")]
    assert all(record.exc_info is None for record in refused)


def test_a_nul_in_the_admin_search_is_400_not_a_database_error(client, erin):
    erin.is_staff = True
    erin.save()
    client.force_login(erin)
    assert client.get("/admin/disputes/case/?q=DD%00").status_code == 400
    assert client.get("/admin/disputes/case/?q=DD").status_code == 200


def test_a_complaint_sent_without_its_csrf_token_is_a_clear_403_page_and_files_nothing():
    # A form left open past a login, or cookies refused: Django's own page would
    # explain CSRF in technical terms; the customer needs to know what to do.
    browser, token = _with_csrf()
    response = browser.post(NEW, _form(csrfmiddlewaretoken=token[::-1]))
    html = _error_page(response, 403)
    assert "This form could not be accepted: it was open too long, or your browser did not send our cookie." in html
    assert "CSRF" not in html
    assert not Case.objects.exists()


def test_the_csrf_page_is_in_chinese_for_a_chinese_browser_that_sent_no_cookie():
    browser = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = _error_page(browser.post(NEW, _form()), 403)
    assert "无法受理此表单：页面打开时间过长，或浏览器未发送本站的 Cookie。" in html
    assert not Case.objects.exists()


def test_the_form_sent_again_with_its_token_is_filed():
    # The page's advice works: the same browser, the form loaded again.
    browser, token = _with_csrf()
    assert browser.post(NEW, _form(csrfmiddlewaretoken="x" * 64)).status_code == 403
    browser, token = _with_csrf()
    assert browser.post(NEW, _form(csrfmiddlewaretoken=token)).status_code == 302
    assert Case.objects.count() == 1
