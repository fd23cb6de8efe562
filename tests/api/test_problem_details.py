"""One error shape for every failure (RFC 9457), in the language asked for."""
import pytest

from .conftest import CASES, assert_problem, case_body

pytestmark = pytest.mark.django_db


def test_an_unknown_api_path_is_a_problem_too(api, dave):
    assert_problem(api(dave).get("/api/v1/nothing-here/"), 404)
    assert_problem(api(dave).get("/api/v2/cases/"), 404)


def test_a_wrong_method_is_405_with_allow(api, dave, filed):
    response = api(dave).delete(f"{CASES}{filed['reference']}/")
    assert_problem(response, 405)
    assert "GET" in response["Allow"]


def test_a_validation_problem_carries_the_instance_and_errors(api, dave):
    body = assert_problem(api(dave).post(CASES, case_body(card_last4="x"), format="json"), 400)
    assert body["instance"] == CASES
    assert body["type"] == "urn:dispute-desk:problem:validation"
    assert isinstance(body["errors"]["card_last4"], list)


def test_drf_messages_come_in_chinese_by_default(api, dave):
    body = assert_problem(api(language="zh-hans").get(CASES), 401)
    assert body["detail"] == "身份认证信息未提供。"
    body = assert_problem(api(dave, language="zh-hans").post(CASES, {}, format="json"), 400)
    assert body["errors"]["card_last4"] == ["该字段是必填项。"]


def test_messages_come_in_english_when_asked(api, dave):
    body = assert_problem(api(language="en").get(CASES), 401)
    assert body["detail"] == "Authentication credentials were not provided."
    assert body["title"] == "Authentication required"
    body = assert_problem(api(dave, language="en").post(CASES, case_body(amount=1.5), format="json"), 400)
    assert body["errors"]["amount"] == ["Give the amount as a decimal string, not a binary float."]


def test_a_crash_is_a_500_problem_that_reveals_nothing(api, dave, monkeypatch):
    from disputes.api import views as api_module

    def boom(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(api_module.selectors, "case_get", boom)
    response = api(dave).get(f"{CASES}DD000000-ANY/")
    assert_problem(response, 500)
    assert "secret" not in response.content.decode()


def test_our_own_problem_texts_come_in_chinese_by_default(api, dave):
    body = assert_problem(api(language="zh-hans").get(CASES), 401)
    assert body["title"] == "需要身份认证"
    client = api(dave, language="zh-hans")
    client.post(CASES, case_body(), format="json", HTTP_IDEMPOTENCY_KEY="zh")
    body = assert_problem(client.post(CASES, case_body(amount="1.00"), format="json", HTTP_IDEMPOTENCY_KEY="zh"), 422)
    assert (body["title"], body["detail"]) == ("无法处理的请求", "此 Idempotency-Key 已用于另一个不同的请求。新请求请使用新的键。")
    body = assert_problem(client.get("/api/v1/nothing/"), 404)
    assert body["detail"] == "没有这个接口地址。"


def test_a_bad_amount_is_reported_together_with_the_other_bad_fields(client, dave):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=dave)
    body = {"customer": {"name": "张三", "phone": "+8613800138000"}, "card_last4": "12345", "amount": "-1",
            "currency": "CNY", "transaction_at": "2026-11-20T14:03:00+08:00", "rrn": "12"}
    response = client.post("/api/v1/cases/", body, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"amount", "card_last4", "rrn"}
    assert response.json()["errors"]["amount"] == ["The amount must be greater than zero."]


@pytest.mark.parametrize("method, path", [("delete", "/api/v1/webhooks/null%2Cnull/"),
                                          ("post", "/api/v1/webhooks/null%2Cnull/ping/"),
                                          ("post", "/api/v1/nothing-here/")])
def test_an_unknown_path_is_a_404_problem_even_for_a_session_without_csrf_token(db, bob, method, path):
    # A signed-in browser session posting without a CSRF token to a path that does not
    # exist: the API's 404 problem, not Django's CSRF page in HTML (Schemathesis found it).
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    body = assert_problem(getattr(client, method)(path), 404)
    assert body["status"] == 404
