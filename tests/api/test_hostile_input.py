"""Hostile input gets a clear 4xx problem, never a 500, and stores nothing:
NUL characters and lone surrogates in URLs and bodies, bodies too large or
nested too deep, bodies not in UTF-8, broken cursors."""
import json

import pytest
from django.test import RequestFactory
from django.urls import URLPattern, reverse
from django.urls.converters import IntConverter

from disputes.api import urls as api_urls
from disputes.api.parsers import MAX_DEPTH
from disputes.web.middleware import RequestTextGuardMiddleware
from disputes.models import Case, CaseEvent, CaseNote, IdempotencyKey

from .conftest import CASES, assert_problem, case_body

pytestmark = pytest.mark.django_db

NUL = "\x00"
LONE_SURROGATE = "\\ud800"  # as written in JSON: the escape of half a UTF-16 pair


def _nothing_stored(*, cases: int = 0) -> None:
    assert Case.objects.count() == cases
    assert not IdempotencyKey.objects.exists()


def _api_routes_with_parameters() -> list[URLPattern]:
    """Routes with text parameters (an <int:…> one cannot even be reversed with a NUL: see below)."""
    return [p for p in api_urls.urlpatterns if isinstance(p, URLPattern) and p.pattern.converters
            and not all(isinstance(c, IntConverter) for c in p.pattern.converters.values())]


# --- NUL and lone surrogates in the URL --------------------------------------------------------


@pytest.mark.parametrize("route", _api_routes_with_parameters(), ids=lambda p: p.name)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_nul_in_any_path_parameter_of_the_api_is_404_and_stores_nothing(api, dave, filed, route, method):
    """Every route, every parameter (reference, step name, merchant id), GET and POST, with an Idempotency-Key."""
    client = api(dave)
    valid = {"reference": filed["reference"], "name": "withdraw", "merchant_id": "103287654110281"}
    for hostile in route.pattern.converters:
        kwargs = {name: valid[name] for name in route.pattern.converters}
        kwargs[hostile] = f"{kwargs[hostile][:4]}{NUL}{kwargs[hostile][4:]}"
        url = reverse(route.name, kwargs=kwargs)
        assert "%00" in url
        response = getattr(client, method)(url, {"body": "x", "note": "x"}, format="json", HTTP_IDEMPOTENCY_KEY=f"nul-{hostile}")
        assert_problem(response, 404)
    _nothing_stored(cases=1)
    assert CaseEvent.objects.count() == 1 and not CaseNote.objects.exists()


def test_a_nul_in_a_case_reference_is_404_on_every_case_url(api, dave, filed):
    client, ref = api(dave), "DD261120%00-7K3M9Q"
    assert_problem(client.get(f"{CASES}{ref}/"), 404)
    assert_problem(client.get(f"{CASES}{ref}/events/"), 404)
    assert_problem(client.post(f"{CASES}{ref}/notes/", {"body": "x"}, format="json"), 404)
    assert_problem(client.post(f"{CASES}{ref}/transitions/withdraw/", {}, format="json"), 404)
    assert_problem(client.get("/api/v1/merchants/10328765411%000281/"), 404)
    assert_problem(client.get("/api/v1/webhooks/1%002/"), 404)
    assert_problem(client.post("/api/v1/webhooks/1%002/ping/", {}, format="json"), 404)


@pytest.mark.parametrize("param", ["state", "assignee", "phone", "card_last4", "merchant_id", "overdue",
                                   "created_after", "created_before", "cursor", "page_size", "anything"])
def test_a_nul_in_any_query_parameter_is_400_naming_it(api, dave, param):
    body = assert_problem(api(dave).get(f"{CASES}?{param}=12%0034"), 400)
    assert body["errors"] == {param: ["This parameter contains a character that is not allowed (NUL or a lone surrogate)."]}


def test_a_nul_in_a_query_parameter_name_or_a_look_up_is_400(api, dave):
    body = assert_problem(api(dave).get(f"{CASES}?sta%00te=submitted"), 400)
    assert list(body["errors"]) == ["sta\ufffdte"]
    assert_problem(api(dave).get("/api/v1/customers/?phone=%2B86138%0000138000"), 400)


def test_a_lone_surrogate_in_the_path_or_the_query_never_reaches_a_view():
    """No HTTP client can put one there (Django decodes URLs as UTF-8 with
    replacement), but if anything ever did, the guard stops it."""
    reached = []
    guard = RequestTextGuardMiddleware(lambda request: reached.append(request))
    request = RequestFactory().get("/api/v1/cases/")
    request.GET = request.GET.copy()
    request.GET["state"] = "sub\ud800mitted"
    assert guard(request).status_code == 400
    request = RequestFactory().get("/api/v1/cases/x/")
    request.path_info = "/api/v1/cases/\ud800/"
    assert guard(request).status_code == 404
    assert reached == []


# --- lone surrogates in the body and in the Idempotency-Key --------------------------------------


def _raw_body_with(field_path: str, value: str) -> str:
    """The case body as JSON text, with ``value`` (raw JSON text) at ``field_path``."""
    marker = "__HOSTILE__"
    body = case_body()
    target, *rest = field_path.split(".")
    if rest:
        body[target][rest[0]] = marker
    else:
        body[target] = marker
    return json.dumps(body, ensure_ascii=False).replace(f'"{marker}"', value)


@pytest.mark.parametrize("field", ["merchant_name", "description", "customer.name", "card_scheme", "amount",
                                   "transaction_at", "currency", "rrn"])
@pytest.mark.parametrize("with_key", [True, False])
def test_a_lone_surrogate_in_any_field_is_400_naming_it_and_stores_nothing(client, dave, token_of, field, with_key):
    headers = {"HTTP_IDEMPOTENCY_KEY": f"sur-{field}"} if with_key else {}
    response = client.post(CASES, _raw_body_with(field, f'"ab{LONE_SURROGATE}cd"'), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Token {token_of(dave)}", HTTP_ACCEPT_LANGUAGE="en", **headers)
    body = assert_problem(response, 400)
    assert list(body["errors"]) == [field]
    assert "surrogate" in body["errors"][field][0]
    _nothing_stored()


def test_a_lone_surrogate_in_a_field_name_is_400_too(client, dave, token_of):
    raw = json.dumps(case_body()).replace('"description"', f'"descr{LONE_SURROGATE}iption"')
    response = client.post(CASES, raw, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token_of(dave)}",
                           HTTP_IDEMPOTENCY_KEY="sur-key-name")
    body = assert_problem(response, 400)
    assert list(body["errors"]) == ["descr\ufffdiption"]
    _nothing_stored()


def test_a_lone_surrogate_in_a_note_or_a_transition_is_400(client, dave, token_of, filed):
    auth = {"HTTP_AUTHORIZATION": f"Token {token_of(dave)}", "HTTP_IDEMPOTENCY_KEY": "sur-note"}
    url = f"{CASES}{filed['reference']}/"
    assert_problem(client.post(f"{url}notes/", f'{{"body": "{LONE_SURROGATE}"}}', content_type="application/json", **auth), 400)
    auth["HTTP_IDEMPOTENCY_KEY"] = "sur-withdraw"
    assert_problem(client.post(f"{url}transitions/withdraw/", f'{{"note": "x{LONE_SURROGATE}"}}',
                               content_type="application/json", **auth), 400)
    assert not IdempotencyKey.objects.exists() and not CaseNote.objects.exists()
    assert Case.objects.get().state == "submitted"


def test_a_valid_surrogate_pair_is_ordinary_text(client, dave, token_of):
    """An emoji written as its JSON escape pair is one character, not an error."""
    response = client.post(CASES, _raw_body_with("description", '"\\ud83d\\ude00"'), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Token {token_of(dave)}", HTTP_IDEMPOTENCY_KEY="emoji")
    assert response.status_code == 201, response.content
    assert Case.objects.get().description == "\U0001F600"


def test_a_lone_surrogate_in_the_idempotency_key_is_400_and_stores_nothing(api, dave):
    body = assert_problem(api(dave).post(CASES, case_body(), format="json", HTTP_IDEMPOTENCY_KEY="key-\ud800"), 400)
    assert list(body["errors"]) == ["Idempotency-Key"]
    _nothing_stored()


# --- size, depth and charset of the body ---------------------------------------------------------


def test_a_five_megabyte_body_is_413_and_stores_nothing(client, dave, token_of):
    raw = json.dumps(case_body(description="x" * (5 * 1024 * 1024)))
    response = client.post(CASES, raw, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token_of(dave)}",
                           HTTP_IDEMPOTENCY_KEY="big", HTTP_ACCEPT_LANGUAGE="en")
    body = assert_problem(response, 413)
    assert body["type"] == "urn:dispute-desk:problem:request-too-large"
    assert body["detail"] == "The request body is too large: at most 1024 kB are accepted."
    _nothing_stored()


def test_a_body_just_under_the_limit_is_read(client, dave, token_of, settings):
    raw = json.dumps(case_body(description="x" * 4000))
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(raw.encode())
    response = client.post(CASES, raw, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token_of(dave)}")
    assert response.status_code == 201


def test_json_nested_a_hundred_thousand_levels_deep_is_400(client, dave, token_of):
    for raw in ("[" * 100_000, "[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000):
        response = client.post(CASES, raw, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token_of(dave)}",
                               HTTP_IDEMPOTENCY_KEY="deep", HTTP_ACCEPT_LANGUAGE="en")
        body = assert_problem(response, 400)
        assert "nested more than 32 levels" in body["detail"] or "JSON parse error" in body["detail"]
    _nothing_stored()


def _nested(levels: int):
    value = "leaf"
    for _ in range(levels):
        value = [value]
    return value


def test_nesting_is_allowed_up_to_the_limit_and_refused_one_level_beyond(api, dave):
    client = api(dave)
    # the body object itself is one level; "extra" (ignored by the API) adds the rest
    assert client.post(CASES, case_body() | {"extra": _nested(MAX_DEPTH - 1)}, format="json").status_code == 201
    body = assert_problem(client.post(CASES, case_body() | {"extra": _nested(MAX_DEPTH)}, format="json"), 400)
    assert body["detail"] == f"The JSON body is nested more than {MAX_DEPTH} levels deep."
    assert Case.objects.count() == 1


@pytest.mark.parametrize("content_type", [
    "application/x-www-form-urlencoded; charset=latin-1",
    "application/x-www-form-urlencoded; charset=x-nonsense",
    "application/x-www-form-urlencoded",
    "application/json; charset=latin-1",
    "application/json; charset=x-nonsense",
])
def test_a_form_or_a_body_not_in_utf8_is_415(client, dave, token_of, content_type):
    raw = "customer_name=%E9t%E9&amount=128.50" if "form" in content_type else json.dumps(case_body(), ensure_ascii=False)
    response = client.generic("POST", CASES, raw.encode("latin-1", "replace"), content_type=content_type,
                              HTTP_AUTHORIZATION=f"Token {token_of(dave)}", HTTP_IDEMPOTENCY_KEY="charset")
    assert_problem(response, 415)
    _nothing_stored()


def test_json_declared_as_utf8_in_any_spelling_is_read(client, dave, token_of):
    for number, content_type in enumerate(["application/json; charset=utf-8", "application/json; charset=UTF8"]):
        response = client.generic("POST", CASES, json.dumps(case_body(), ensure_ascii=False).encode(),
                                  content_type=content_type, HTTP_AUTHORIZATION=f"Token {token_of(dave)}")
        assert response.status_code == 201, (content_type, response.content)
    assert Case.objects.count() == 2


# --- cursors -------------------------------------------------------------------------------------


def _cursor(raw: str) -> str:
    import base64
    from urllib.parse import quote

    return quote(base64.b64encode(raw.encode()).decode())


@pytest.mark.parametrize("cursor", ["garbage", "%FF%FE", _cursor("o=-5"), _cursor("p=not-a-time"),
                                    _cursor("p=0001-01-01 00:00:00+08:00"), _cursor("p=9999-12-31 23:59:59-08:00"),
                                    _cursor("p=2026-02-30 00:00:00+00:00")])
def test_a_broken_cursor_is_400_on_every_list(api, dave, filed, cursor):
    client = api(dave)
    for url in (CASES, f"{CASES}{filed['reference']}/events/"):
        body = assert_problem(client.get(f"{url}?cursor={cursor}"), 400)
        assert list(body["errors"]) == ["cursor"]


def test_the_next_link_of_a_page_still_works(api, dave, file_case):
    for i in range(3):
        file_case(phone=f"+861390000000{i}")
    client = api(dave)
    first = client.get(f"{CASES}?page_size=2").json()
    second = client.get(first["next"]).json()
    assert len(first["results"]) == 2 and len(second["results"]) == 1
