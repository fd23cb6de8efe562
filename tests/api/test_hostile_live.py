"""The app as production runs it — gunicorn, DJANGO_DEBUG=false, collected
static files, PostgreSQL — under hostile requests: NUL characters in paths and
queries, lone surrogates with an Idempotency-Key, a 5 MB body, JSON nested
100 000 levels deep, forms in latin-1 or an unknown charset, badly written
amounts, a garbage cursor, absurd payment times. Every answer is a clear 4xx
(problem details on the API), none is a 5xx, nothing is stored, and the server
logs no crash.

Started as bin/schemathesis starts it, on the test database; the helpers of
tests/reliability/processes.py find a port and the database URL."""
from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from disputes.models import Case, CaseNote, IdempotencyKey
from tests.reliability.processes import ROOT, database_url, free_port, wait_for

from .conftest import case_body

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True), pytest.mark.slow]

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "hostile-live-test-only-not-a-secret",
    "DJANGO_SECURE_SSL_REDIRECT": "false",  # plain HTTP here; the front proxy terminates TLS in production
    "DISPUTE_API_THROTTLE_RATE": "100000/min",
    "DISPUTE_API_ANON_THROTTLE_RATE": "100000/min",
    # These tests file far more complaints from one address than a person would (the limits: their own tests).
    "DISPUTE_PUBLIC_FILINGS_PER_ADDRESS": "100000",
    "DISPUTE_PUBLIC_FILINGS_PER_EMAIL": "100000",
    "LOG_LEVEL": "WARNING",
}


@pytest.fixture(scope="module")
def static_root(tmp_path_factory) -> Path:
    """`collectstatic` as a deployment runs it: with DEBUG off the pages need the manifest."""
    root = tmp_path_factory.mktemp("static")
    env = {**os.environ, **PRODUCTION_ENV, "DJANGO_STATIC_ROOT": str(root),
           "DISPUTE_DESK_VAR_DIR": str(tmp_path_factory.mktemp("var"))}
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    return root


class Server:
    def __init__(self, port: int, log: Path):
        self.port, self.log = port, log

    def request(self, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None):
        """(status, headers, body bytes) of one real HTTP request, the path and headers sent as given."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.putrequest(method, path, skip_accept_encoding=True)
            all_headers = {"Accept-Language": "en", **(headers or {})}
            if body is not None:
                all_headers["Content-Length"] = str(len(body))
            for name, value in all_headers.items():
                connection.putheader(name, value)
            connection.endheaders(body)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()


@pytest.fixture
def server(transactional_db, static_root, tmp_path):
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = {**os.environ, **PRODUCTION_ENV, "DATABASE_URL": database_url(), "DATABASE_CONN_MAX_AGE": "0",
           "DJANGO_STATIC_ROOT": str(static_root), "DISPUTE_DESK_VAR_DIR": str(tmp_path / "var"), "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    with open(log, "wb") as out:
        proc = subprocess.Popen([GUNICORN, "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2", "--threads", "2",
                                 "--timeout", "60", "--log-level", "warning"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    live = Server(port, log)

    def answering() -> bool:
        try:
            return live.request("GET", "/")[0] == 200
        except OSError:
            return False

    try:
        wait_for(answering, 30, "gunicorn to answer")
        yield live
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def _assert_problem(answer, statuses: set[int]) -> dict:
    status, headers, body = answer
    assert status in statuses, (status, body[:300])
    assert headers["Content-Type"].startswith("application/problem+json"), headers
    problem = json.loads(body)
    assert problem["status"] == status and problem["type"].startswith("urn:dispute-desk:problem:")
    assert problem["title"] and problem["detail"]
    return problem


def _json(body) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


def _case_json_with(field: str, raw_json_value: str) -> bytes:
    body = case_body(**{field: "__HOSTILE__"})
    return _json(body).replace(b'"__HOSTILE__"', raw_json_value.encode())


def test_hostile_requests_get_clear_4xx_answers_and_store_nothing(server, dave, token_of):
    token = token_of(dave)
    api = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    status, _headers, filed = server.request("POST", "/api/v1/cases/", body=_json(case_body()), headers=api)
    assert status == 201, filed
    reference = json.loads(filed)["reference"]
    assert Case.objects.count() == 1

    # NUL in every kind of path parameter, GET and POST, with Idempotency-Key
    for method, path in [
        ("GET", "/api/v1/cases/DD26%00X/"), ("GET", "/api/v1/cases/DD26%00X/events/"),
        ("POST", "/api/v1/cases/DD26%00X/notes/"), ("POST", "/api/v1/cases/DD26%00X/transitions/withdraw/"),
        ("POST", f"/api/v1/cases/{reference}/transitions/with%00draw/"), ("POST", f"/api/v1/cases/{reference}%00/notes/"),
        ("GET", "/api/v1/merchants/1032876541%0010281/"),
    ]:
        body = _json({"body": "x", "note": "x"}) if method == "POST" else None
        _assert_problem(server.request(method, path, body=body, headers={**api, "Idempotency-Key": f"nul{path}"}), {404})

    # NUL in a query parameter, a look-up, a garbage cursor, an absurd filter date
    for path in ["/api/v1/cases/?assignee=al%00ice", "/api/v1/cases/?state=submitted%00", "/api/v1/customers/?phone=%2B86%00138",
                 "/api/v1/cases/?cursor=garbage", f"/api/v1/cases/{reference}/events/?cursor=garbage",
                 "/api/v1/cases/?created_after=0001-01-01T00:00:00%2B08:00",
                 "/api/v1/cases/?created_before=9999-12-31T23:59:59-08:00"]:
        _assert_problem(server.request("GET", path, headers=api), {400})

    # lone surrogates: in fields, with an Idempotency-Key (and without), and in the key itself
    for field in ("merchant_name", "description", "card_scheme", "amount"):
        for key in ({"Idempotency-Key": f"sur-{field}"}, {}):
            problem = _assert_problem(server.request("POST", "/api/v1/cases/", body=_case_json_with(field, '"x\\ud800y"'),
                                                     headers={**api, **key}), {400})
            assert list(problem["errors"]) == [field]
    _assert_problem(server.request("POST", f"/api/v1/cases/{reference}/notes/", body=b'{"body": "\\udfff"}',
                                   headers={**api, "Idempotency-Key": "sur-note"}), {400})
    _assert_problem(server.request("POST", "/api/v1/cases/", body=_json(case_body()),
                                   headers={**api, "Idempotency-Key": b"key-\xed\xa0\x80"}), {400})

    # a 5 MB body, JSON nested 100 000 levels deep
    big = _json(case_body(description="x" * (5 * 1024 * 1024)))
    _assert_problem(server.request("POST", "/api/v1/cases/", body=big, headers={**api, "Idempotency-Key": "big"}), {413})
    for deep in (b"[" * 100_000, b'{"a":' * 100_000):
        _assert_problem(server.request("POST", "/api/v1/cases/", body=deep, headers={**api, "Idempotency-Key": "deep"}), {400})

    # forms and bodies not in UTF-8
    latin1_form = urlencode(case_body() | {"customer_name": "René"}, encoding="latin-1", errors="replace").encode()
    for content_type in ("application/x-www-form-urlencoded; charset=latin-1",
                         "application/x-www-form-urlencoded; charset=x-nonsense"):
        _assert_problem(server.request("POST", "/api/v1/cases/", body=latin1_form,
                                       headers={**api, "Content-Type": content_type}), {415})
    _assert_problem(server.request("POST", "/api/v1/cases/", body=_json(case_body()),
                                   headers={**api, "Content-Type": "application/json; charset=x-nonsense"}), {415})

    # badly written amounts, absurd payment times
    for number, amount in enumerate(("1e3", "1E-2", "1_000.00", "１２８.５０", "١٢٨", "NaN", "Infinity", "+-1", "12 8.50")):
        problem = _assert_problem(server.request("POST", "/api/v1/cases/", body=_json(case_body(amount=amount)),
                                                 headers={**api, "Idempotency-Key": f"amount-{number}"}), {400})
        assert list(problem["errors"]) == ["amount"]
    for moment in ("0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59+08:00", "0001-01-01T00:00:00-23:59"):
        problem = _assert_problem(server.request("POST", "/api/v1/cases/", body=_json(case_body(transaction_at=moment)),
                                                 headers={**api, "Idempotency-Key": f"time-{moment}"}), {400})
        assert list(problem["errors"]) == ["transaction_at"]

    # nothing of all that was stored: no case, no note; of the keys, only the 400s of well-formed
    # requests (amounts, times), kept for replay; none of a request refused before its view
    assert Case.objects.count() == 1 and not CaseNote.objects.exists()
    assert sorted(IdempotencyKey.objects.values_list("response_status", flat=True)) == [400] * 12
    _assert_server_log_has_no_crash(server)


def _page_form(server) -> tuple[dict, str]:
    """What a browser holds after loading the complaint form: the CSRF cookie and token."""
    status, headers, html = server.request("GET", "/complaints/new/")
    assert status == 200
    cookie = re.search(r"csrftoken=([^;]+)", headers["Set-Cookie"]).group(1)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1).decode()
    return {"Cookie": f"csrftoken={cookie}"}, token


def _form_fields(**overrides) -> dict:
    fields = case_body()
    fields.pop("customer")
    fields |= {"customer_name": "张三", "phone": "+8613800138000", "email": "z@example.com",
               "transaction_at": timezone.localtime(timezone.now()).strftime("%Y-%m-%dT%H:%M")}
    return fields | overrides


def test_the_public_complaint_form_answers_hostile_posts_with_clear_pages(server, db):
    cookie, token = _page_form(server)
    form = {**cookie, "Content-Type": "application/x-www-form-urlencoded"}

    def post(fields: dict, *, headers: dict = form, encoding: str = "utf-8"):
        raw = urlencode(fields | {"csrfmiddlewaretoken": token}, encoding=encoding, errors="replace")
        return server.request("POST", "/complaints/new/", body=raw.encode(), headers=headers)

    status, headers, html = post(_form_fields(description="x" * (5 * 1024 * 1024)))
    assert status == 413 and b"Shorten the text and send it again." in html

    for charset in ("latin-1", "x-nonsense"):
        status, headers, html = post(_form_fields(customer_name="René"), encoding="latin-1",
                                     headers={**form, "Content-Type": f"application/x-www-form-urlencoded; charset={charset}"})
        assert status == 400 and b"Reload the page and send the form again." in html, (charset, status)

    for fields in (_form_fields(amount="１２８.５０"), _form_fields(amount="1e3"), _form_fields(description="a\x00b"),
                   _form_fields(transaction_at="0001-01-01T00:00"), _form_fields(transaction_at="9999-12-31T23:59")):
        status, headers, html = post(fields)
        assert status == 200 and b'class="error"' in html, (fields, status)  # the form again, with the field's error

    status, _headers, _html = server.request("GET", "/complaints/track/?another=%00")
    assert status == 400
    assert not Case.objects.exists()
    _assert_server_log_has_no_crash(server)


def _assert_server_log_has_no_crash(server) -> None:
    log = server.log.read_text(errors="replace")
    for sign_of_a_crash in ("Internal Server Error", "Error handling request", "Worker exiting", "WORKER TIMEOUT"):
        assert sign_of_a_crash not in log, log[-5000:]
