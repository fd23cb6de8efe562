"""/healthz: what load balancers and CI poll. 200 when the database and the
broker answer, 503 (with what is down) otherwise; never redirected to https."""
import json
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import OperationalError, connection

from config.celery import app as celery_app

REDIS_TEST_BROKER = "redis://127.0.0.1:6379/15"
CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture
def broker(settings):
    """Point the Celery app (configured once, at import) at another broker for one test."""
    saved = celery_app.conf.broker_url, celery_app.conf.broker_transport_options

    def use(url: str) -> None:
        settings.CELERY_BROKER_URL = url
        celery_app.conf.broker_url = url
        celery_app.conf.broker_transport_options = {"visibility_timeout": 3600}

    yield use
    celery_app.conf.broker_url, celery_app.conf.broker_transport_options = saved


def test_it_answers_200_when_the_database_and_the_redis_broker_answer(client, db, broker):
    broker(REDIS_TEST_BROKER)

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["database"] == "ok" and body["broker"] == "ok"
    assert {"database": "ok", "broker": "ok"}.items() <= body.items()
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_it_answers_503_and_names_the_broker_when_the_broker_is_down(client, db, broker):
    broker(CLOSED_PORT_BROKER)

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["broker"] == "down"
    assert body["database"] == "ok"


def test_it_answers_503_when_the_database_is_down(client, db, broker, monkeypatch):
    broker(REDIS_TEST_BROKER)
    from disputes.web import public as views

    def no_database(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(views, "connection", type("DownConnection", (), {"cursor": staticmethod(no_database)})())

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "down", "broker": "ok"}


def test_it_only_answers_get(client, db):
    assert client.post("/healthz").status_code == 405


def _test_database_url() -> str:
    """The URL of the database this test run uses (pytest-django's test_<name>)."""
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.skip("production settings need PostgreSQL")
    user = db["USER"] or ""
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def test_it_is_not_redirected_to_https_under_production_settings(db, tmp_path):
    """A load balancer probes over plain HTTP: SECURE_REDIRECT_EXEMPT must cover
    /healthz, while every other page is still redirected to https."""
    from tests.test_settings_deploy import production_env

    script = (
        "import django, json\n"
        "django.setup()\n"
        "from django.test import Client\n"
        "c = Client(HTTP_HOST='disputes.bank.example')\n"
        "h = c.get('/healthz')\n"
        "home = c.get('/')\n"
        "print(json.dumps([h.status_code, h.get('Location'), home.status_code, home.get('Location')]))\n"
    )
    env = production_env(tmp_path, DATABASE_URL=_test_database_url(), CELERY_BROKER_URL=REDIS_TEST_BROKER)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    healthz_status, healthz_location, home_status, home_location = json.loads(result.stdout.strip().splitlines()[-1])
    assert (healthz_status, healthz_location) == (200, None), result.stderr
    assert (home_status, home_location) == (301, "https://disputes.bank.example/")
