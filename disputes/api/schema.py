"""What drf-spectacular cannot say from the views alone: response headers
(ETag, Location, Retry-After), OpenAPI links between operations (which
generated clients and Schemathesis' stateful tests follow), the 415 and 500
answers every operation may give, and the token's ``Token`` prefix.

The schema is the same bytes whatever ``Accept-Language`` asks for: it is
always generated in English (``EnglishSchemaGenerator``), so the names that
generators turn into classes (enum and component names, titles) never change
with the caller's language."""
from django.utils import translation
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import SchemaGenerator

SCHEMA_LANGUAGE = "en"


class EnglishSchemaGenerator(SchemaGenerator):
    """drf-spectacular's generator, always in English (SPECTACULAR_SETTINGS's
    DEFAULT_GENERATOR_CLASS: the schema view and ``manage.py spectacular``)."""

    def get_schema(self, request=None, public=False):
        with translation.override(SCHEMA_LANGUAGE):
            return super().get_schema(request=request, public=public)


class TokenScheme(OpenApiAuthenticationExtension):
    """DRF's TokenAuthentication, with the prefix spelled out for generators
    and readers (drf-spectacular's own extension, at a higher priority)."""

    target_class = "rest_framework.authentication.TokenAuthentication"
    name = "tokenAuth"
    match_subclasses = True
    priority = 1

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "The API token with its prefix: `Authorization: Token <key>` (the word Token, a space, "
            "the key that `manage.py api_client create` printed). In a generated client, set the prefix "
            "to `Token` (openapi-python-client: `AuthenticatedClient(..., prefix=\"Token\")`).",
            "x-token-prefix": "Token",
        }


CASE_LINKS = {
    "GetCase": {"operationId": "getCase", "parameters": {"reference": "$response.body#/reference"},
                "description": "The case just filed or changed."},
    "ListCaseEvents": {"operationId": "listCaseEvents", "parameters": {"reference": "$response.body#/reference"},
                       "description": "Its audit trail."},
    "AddCaseNote": {"operationId": "addCaseNote", "parameters": {"reference": "$response.body#/reference"},
                    "description": "Add a note to it."},
    "TransitionCase": {
        "operationId": "transitionCase",
        "parameters": {"reference": "$response.body#/reference", "header.If-Match": "$response.header.ETag"},
        "description": "Take a step on it, guarded by its current version.",
    },
}

HEADERS = {
    "ETag": {"description": 'The case version, quoted (e.g. "3"); send it back in If-Match.',
             "schema": {"type": "string"}},
    "Location": {"description": "The URL of what was made (the case, the webhook endpoint).",
                 "schema": {"type": "string", "format": "uri"}},
    "Retry-After": {"description": "Seconds to wait before the next request.", "schema": {"type": "integer"}},
    "Idempotent-Replayed": {"description": "Present (true) when this is the stored response to an earlier "
                            "request with the same Idempotency-Key.", "schema": {"type": "string", "enum": ["true"]}},
}


def _responses(schema: dict, operation_id: str) -> dict:
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                return operation["responses"]
    raise KeyError(operation_id)


# Answers any operation may give, besides those its view declares.
EVERY_OPERATION_PROBLEMS = {
    "415": "The body is not JSON in UTF-8: send `Content-Type: application/json` (no other charset).",
    "500": "Something went wrong on our side: nothing was changed, or the change is complete. Safe to retry "
    "with the same Idempotency-Key.",
    "503": "The database is briefly out of reach (a restart, a fail-over): nothing was changed, or the change is "
    "complete. Retry after the `Retry-After` seconds with the same Idempotency-Key.",
}
PROBLEM_SCHEMA = {"$ref": "#/components/schemas/Problem"}


def add_links(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS)."""
    for operation_id, code, headers, links in (
        ("createCase", "201", ["ETag", "Location", "Idempotent-Replayed"], CASE_LINKS),
        ("getCase", "200", ["ETag"], {k: v for k, v in CASE_LINKS.items() if k != "GetCase"}),
        ("transitionCase", "200", ["ETag", "Idempotent-Replayed"], CASE_LINKS),
        ("addCaseNote", "201", ["Idempotent-Replayed"], {}),
        ("registerWebhookEndpoint", "201", ["Location", "Idempotent-Replayed"], {}),
    ):
        response = _responses(result, operation_id)[code]
        response.setdefault("headers", {}).update({name: HEADERS[name] for name in headers})
        if links:
            response["links"] = links
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for code, response in operation.get("responses", {}).items():
                if code.startswith(("4", "5")) and "application/json" in response.get("content", {}):
                    # errors leave as RFC 9457 problem details
                    response["content"] = {"application/problem+json": response["content"]["application/json"]}
            if "429" in operation.get("responses", {}):
                operation["responses"]["429"].setdefault("headers", {})["Retry-After"] = HEADERS["Retry-After"]
            for code, description in EVERY_OPERATION_PROBLEMS.items():
                operation["responses"].setdefault(code, {
                    "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}},
                    "description": description,
                })
            operation["responses"] = dict(sorted(operation["responses"].items()))
    return result
