"""API test helpers: a client per member of the cast, holding their token,
and the JSON body of POST /api/v1/cases/ (docs/design.md, "REST API v1")."""
import copy
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

CASES = "/api/v1/cases/"


def case_body(**overrides) -> dict:
    body = {
        "customer": {"name": "张三", "phone": "+8613800138000", "email": "z@example.com"},
        "card_last4": "1234",
        "card_scheme": "unionpay",
        "amount": "128.50",
        "currency": "CNY",
        "transaction_at": (timezone.now() - timedelta(hours=2)).isoformat(),
        "merchant_name": "好又多超市",
        "merchant_id": "103287654110281",
        "terminal_id": "41082857",
        "rrn": "100000000347",
        "stan": "508225",
        "auth_code": "340191",
        "description": "POS 显示交易失败，但银行卡被扣款。",
    }
    body = copy.deepcopy(body)
    for key, value in overrides.items():
        if key == "customer":
            body["customer"].update(value)
        else:
            body[key] = value
    return body


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api():
    """api(user) -> an APIClient authenticated with that user's token (Accept-Language: en)."""

    def _client(user=None, language="en") -> APIClient:
        client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
        if user is not None:
            token, _created = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return _client


@pytest.fixture
def filed(api, dave):
    """A case filed through the API by dave (call center); the response JSON."""
    response = api(dave).post(CASES, case_body(), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:dispute-desk:problem:")
    assert body["title"] and body["detail"] and body["instance"]
    return body


def http(method: str, url: str, *, token: str | None = None, body=None, headers: dict | None = None):
    """One real HTTP request (for live-server tests): (status, headers, JSON body)."""
    import json
    import urllib.error
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    request.add_header("Accept-Language", "en")
    if token:
        request.add_header("Authorization", f"Token {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")


@pytest.fixture
def token_of():
    def _token(user) -> str:
        return Token.objects.get_or_create(user=user)[0].key

    return _token


def filing_data_for_service(**overrides) -> dict:
    from tests.conftest import filing_data

    return filing_data(**overrides)
