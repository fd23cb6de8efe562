"""The database out of reach (a restart, a fail-over, a cut connection): a clean
503 with Retry-After, never a 500, on the API and on the pages alike. The fault
is injected at the database connection itself (every query fails as psycopg2
fails when the server is gone); the live scenario is
tests/reliability/test_postgres_restart.py."""
from contextlib import contextmanager

import pytest
from django.db import InterfaceError, OperationalError, connection
from django.test import Client

from disputes.models import Case
from disputes.web import errors

from .conftest import CASES, assert_problem, case_body


@contextmanager
def database_gone(error=OperationalError):
    def fail(execute, sql, params, many, context):
        raise error("server closed the connection unexpectedly")

    with connection.execute_wrapper(fail):
        yield


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_the_api_answers_503_problem_with_retry_after(api, dave, error):
    client = api(dave)
    with database_gone(error):
        response = client.post(CASES, case_body(), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    body = assert_problem(response, 503)
    assert response["Retry-After"] == "5"
    assert body["type"] == "urn:dispute-desk:problem:unavailable"
    assert body["detail"] == "The service is briefly unavailable. Nothing was changed: try again in a few seconds."
    assert not Case.objects.exists()
    # Once the database is back the same request goes through.
    assert client.post(CASES, case_body(), format="json", HTTP_IDEMPOTENCY_KEY="k1").status_code == 201


def test_the_api_says_it_in_chinese(api, dave):
    client = api(dave, language="zh-hans")
    with database_gone():
        body = assert_problem(client.get(CASES), 503)
    assert (body["title"], body["detail"]) == ("服务暂时不可用", "服务暂时不可用，没有做任何更改：请几秒钟后再试。")


def test_a_staff_page_answers_a_503_page_without_touching_the_database(alice):
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(alice)
    with database_gone():
        response = client.get("/staff/")  # the session and the user are read from the database
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    page = response.content.decode()
    assert 'id="server-error" data-status="503"' in page
    assert "The service is briefly unavailable. Nothing was changed: try again in a few seconds." in page


def test_a_public_page_says_it_in_chinese(db):
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="zh-hans")
    with database_gone():
        response = client.post("/complaints/track/", {"reference": "DD250314-7K2M9Q", "tracking_code": "ABCD-EFGH"})
    assert response.status_code == 503
    assert "服务暂时不可用，没有做任何更改：请几秒钟后再试。" in response.content.decode()


def test_any_other_crash_is_still_a_500_page_that_reveals_nothing(alice):
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(alice)
    with database_gone(lambda message: RuntimeError("secret internals")):
        response = client.get("/staff/")
    assert response.status_code == 500
    assert "Retry-After" not in response
    page = response.content.decode()
    assert 'data-status="500"' in page and "secret" not in page


def test_the_page_of_last_resort_never_fails_in_turn(alice, monkeypatch):
    """Even when its template cannot be rendered (a static file missing from the manifest, say)."""
    def broken(*args, **kwargs):
        raise ValueError("Missing staticfiles manifest entry")

    monkeypatch.setattr(errors, "render_to_string", broken)
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(alice)
    with database_gone():
        response = client.get("/staff/")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert 'id="server-error" data-status="503"' in response.content.decode()
