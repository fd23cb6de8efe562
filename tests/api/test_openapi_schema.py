"""The OpenAPI 3 schema: valid, complete enough for a generated client, and
interactive docs served from vendored assets."""
import json
import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.utils import translation

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def test_the_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert yaml.safe_load((tmp_path / "schema.yaml").read_text())["openapi"].startswith("3.")


def test_it_is_served_at_the_fixed_path_without_a_token(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert "/api/v1/cases/{reference}/transitions/{name}/" in response.json()["paths"]


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_endpoint_of_the_design_has_an_operation_id(schema):
    ids = {operation["operationId"] for _path, _method, operation in operations(schema)}
    assert ids == {"listCases", "createCase", "getCase", "listCaseEvents", "addCaseNote", "transitionCase",
                   "retryRefundPayment", "lookupCustomers", "getMerchant", "listWebhookEndpoints", "registerWebhookEndpoint",
                   "getWebhookEndpoint", "removeWebhookEndpoint", "pingWebhookEndpoint", "listWebhookDeliveries"}


def test_every_error_is_described_as_a_problem(schema):
    for path, method, operation in operations(schema):
        for code, response in operation["responses"].items():
            if code.startswith(("4", "5")):
                ref = response["content"]["application/problem+json"]["schema"]["$ref"]
                assert ref.endswith("/Problem"), (path, method, code)
        assert {"401", "415", "429", "500"} <= set(operation["responses"]), (path, method)


def test_the_headers_of_the_contract_are_declared(schema):
    create = schema["paths"]["/api/v1/cases/"]["post"]
    transition = schema["paths"]["/api/v1/cases/{reference}/transitions/{name}/"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in create["parameters"] if p["in"] == "header"}
    assert {"If-Match", "Idempotency-Key"} <= {p["name"] for p in transition["parameters"] if p["in"] == "header"}
    assert "ETag" in create["responses"]["201"]["headers"]
    assert "ETag" in transition["responses"]["200"]["headers"]
    assert "Retry-After" in transition["responses"]["429"]["headers"]
    assert set(transition["responses"]) >= {"200", "400", "401", "403", "404", "409", "412", "422", "429"}


def test_states_and_transitions_are_enums(schema):
    components = schema["components"]["schemas"]
    assert "refund_pending" in components["CaseStateEnum"]["enum"]
    assert "withdraw" in components["TransitionNameEnum"]["enum"]
    assert components["CaseCreateRequest"]["properties"]["amount"]["type"] == "string"


def test_create_links_to_the_case_it_made(schema):
    links = schema["paths"]["/api/v1/cases/"]["post"]["responses"]["201"]["links"]
    assert links["GetCase"] == {"operationId": "getCase", "parameters": {"reference": "$response.body#/reference"},
                                "description": "The case just filed or changed."}
    assert {"ListCaseEvents", "AddCaseNote", "TransitionCase"} <= set(links)


@pytest.mark.parametrize("url", ["/api/v1/docs/"])
def test_the_docs_load_only_local_assets(client, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, html
    for source in sources:
        if source == url + "?script=":  # the start-up script, from the docs view itself (the CSP forbids inline)
            continue
        assert source.startswith("/static/"), source
        assert finders.find(source.removeprefix("/static/").split("?")[0]), source


def test_the_schema_is_served_as_json_too(client):
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Dispute Desk API"


def test_read_only_fields_that_may_be_empty_claim_no_format(schema):
    """An empty e-mail is a valid answer: a response field with a format must not be blank-able."""
    components = schema["components"]["schemas"]
    for name in ("Customer", "CustomerSummary", "Merchant"):
        for field, spec in components[name]["properties"].items():
            assert spec.get("format") != "email", (name, field)


def _served(client, language: str) -> bytes:
    response = client.get("/api/v1/schema/?format=json", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content


def test_the_schema_is_the_same_bytes_whatever_the_language_asked_for(client):
    """Generated clients name classes after enum and component names and titles:
    a Chinese schema made ``ListCases状态`` out of the state filter."""
    english = _served(client, "en")
    assert _served(client, "zh-hans") == english
    assert _served(client, "zh-hans;q=0.9, en;q=0.1") == english
    assert re.search(r"[\u4e00-\u9fff]", json.loads(english)["components"]["schemas"]["CaseStateEnum"]["description"]) is None


def test_the_command_writes_that_same_schema_under_a_chinese_default(tmp_path, settings, client):
    settings.LANGUAGE_CODE = "zh-hans"
    with translation.override("zh-hans"):
        call_command("spectacular", "--format", "openapi-json", "--file", str(tmp_path / "schema.json"))
    assert json.loads((tmp_path / "schema.json").read_text()) == json.loads(_served(client, "en"))


def test_the_token_scheme_says_authorization_token_key(schema):
    token = schema["components"]["securitySchemes"]["tokenAuth"]
    assert (token["type"], token["in"], token["name"]) == ("apiKey", "header", "Authorization")
    assert "`Authorization: Token <key>`" in token["description"]
    assert token["x-token-prefix"] == "Token"
    for _path, _method, operation in operations(schema):
        assert {"tokenAuth": []} in operation["security"]


def test_415_500_and_503_are_problems_on_every_operation(schema):
    for path, method, operation in operations(schema):
        for code in ("415", "500", "503"):
            ref = operation["responses"][code]["content"]["application/problem+json"]["schema"]["$ref"]
            assert ref == "#/components/schemas/Problem", (path, method, code)
