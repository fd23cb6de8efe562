"""gunicorn as production runs it (DEBUG off, collected static files) on the
pytest test database, for the reliability scenarios that go through HTTP; and
what a browser or the call center's software does against it."""
from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

from django.utils import timezone

from .processes import ROOT, database_url, free_port, wait_for

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "reliability-live-test-only-not-a-secret",
    "DJANGO_SECURE_SSL_REDIRECT": "false",  # plain HTTP here; the front proxy terminates TLS in production
    "DISPUTE_API_THROTTLE_RATE": "100000/min",
    "DISPUTE_API_ANON_THROTTLE_RATE": "100000/min",
    "DISPUTE_TRACKING_FAILURES_PER_REFERENCE": "100000",
    "DISPUTE_TRACKING_FAILURES_PER_ADDRESS": "100000",
    "DISPUTE_LOGIN_FAILURE_LIMIT": "100000",
    # These tests file far more complaints from one address than a person would (the limits: their own tests).
    "DISPUTE_PUBLIC_FILINGS_PER_ADDRESS": "100000",
    "DISPUTE_PUBLIC_FILINGS_PER_EMAIL": "100000",
    "LOG_LEVEL": "WARNING",
}


class Server:
    def __init__(self, port: int, log: Path):
        self.port, self.log = port, log

    def request(self, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None):
        """(status, headers, body bytes) of one real HTTP request."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers={"Accept-Language": "en", **(headers or {})})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def crashes(self) -> str:
        """The server log, if it has an "Internal Server Error" (a request that crashed), else ""."""
        text = self.log.read_text(errors="replace")
        return text if "Internal Server Error" in text else ""

    def form_page(self, path: str, cookies: str = "") -> tuple[str, str]:
        """GET a page with a form: (the Cookie header to send back, the form's CSRF token)."""
        status, headers, html = self.request("GET", path, headers={"Cookie": cookies} if cookies else {})
        assert status == 200, (path, status)
        jar = dict(c.split("=", 1) for c in cookies.split("; ") if c)
        for cookie in re.findall(r"(?:^|, )(csrftoken|sessionid)=([^;]+)", headers.get("Set-Cookie", "")):
            jar[cookie[0]] = cookie[1]
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1).decode()
        return "; ".join(f"{k}={v}" for k, v in jar.items()), token

    def post_form(self, path: str, fields: dict, cookies: str, token: str, *, raw: bytes | None = None):
        body = raw if raw is not None else urlencode({**fields, "csrfmiddlewaretoken": token}).encode()
        return self.request("POST", path, body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies,
            "Referer": f"http://127.0.0.1:{self.port}{path}"})

    def log_in(self, username: str, password: str) -> str:
        """Log in through the login page; the Cookie header of the session."""
        cookies, token = self.form_page("/accounts/login/")
        status, headers, _ = self.post_form("/accounts/login/", {"username": username, "password": password},
                                            cookies, token)
        assert status == 302, status
        session = re.search(r"sessionid=([^;]+)", headers.get("Set-Cookie", "")).group(1)
        csrf = re.search(r"csrftoken=([^;]+)", headers.get("Set-Cookie", "") + "; " + cookies)
        return f"csrftoken={csrf.group(1)}; sessionid={session}"


def complaint_form_fields(**overrides) -> dict:
    fields = {
        "customer_name": "张三", "phone": "+8613800138000", "email": "z@example.com",
        "card_last4": "1234", "card_scheme": "unionpay", "amount": "128.50", "currency": "CNY",
        "transaction_at": timezone.localtime(timezone.now() - timezone.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "merchant_name": "好又多超市", "merchant_id": "103287654110281", "terminal_id": "41082857",
        "rrn": "100000000347", "stan": "508225", "auth_code": "340191",
        "description": "POS 显示交易失败，但银行卡被扣款。",
    }
    return fields | overrides


@contextmanager
def gunicorn(tmp: Path, **extra_env: str):
    """gunicorn on the test database (2 workers × 2 threads); yields a Server."""
    static = tmp / "static"
    env = {**os.environ, **PRODUCTION_ENV, "DATABASE_URL": database_url(), "DATABASE_CONN_MAX_AGE": "0",
           "DJANGO_STATIC_ROOT": str(static), "DISPUTE_DESK_VAR_DIR": str(tmp / "var"), "PYTHONPATH": str(ROOT),
           **extra_env}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    port = free_port()
    log = tmp / "gunicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([GUNICORN, "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2", "--threads", "2",
                                 "--timeout", "60", "--log-level", "warning"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    live = Server(port, log)

    def answering() -> bool:
        try:
            return live.request("GET", "/healthz")[0] == 200
        except OSError:
            return False

    try:
        wait_for(answering, 60, "gunicorn to answer")
        yield live
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
