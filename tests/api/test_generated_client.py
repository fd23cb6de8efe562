"""A client generated from the schema (openapi-python-client, pinned in
requirements-dev.txt) has the same classes whatever Accept-Language the
schema was fetched in, sends the token with its ``Token`` prefix, and files a
case, reads it and withdraws it against a live server."""
from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest

from disputes.models import Case

from .conftest import case_body

GENERATOR = Path(sys.executable).with_name("openapi-python-client")


def fetch_schema(base_url: str, language: str) -> bytes:
    request = urllib.request.Request(f"{base_url}/api/v1/schema/?format=json", headers={"Accept-Language": language})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


def generate(schema: bytes, directory: Path, package: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{package}.json").write_bytes(schema)
    env = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ['PATH']}"}  # its ruff post-hook
    result = subprocess.run([str(GENERATOR), "generate", "--path", f"{package}.json", "--output-path", package,
                             "--meta", "none"], cwd=directory, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    return directory / package


def class_names(package: Path) -> set[str]:
    names = set()
    for module in package.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                names.add(".".join([*module.relative_to(package).with_suffix("").parts, node.name]))
    return names


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_client_generated_in_any_language_has_the_same_classes_and_files_a_case(live_server, dave, token_of,
                                                                                   tmp_path):
    packages = {language: generate(fetch_schema(live_server.url, language), tmp_path, f"dd_client_{suffix}")
                for language, suffix in (("zh-hans", "zh"), ("en", "en"))}

    chinese, english = (class_names(packages[language]) for language in ("zh-hans", "en"))
    assert chinese == english
    assert all(name.isascii() for name in chinese), sorted(name for name in chinese if not name.isascii())
    assert {"models.case_state_enum.CaseStateEnum", "models.problem.Problem",
            "models.case_create_request.CaseCreateRequest"} <= chinese

    # The call center's software, on the Chinese default: file, read, withdraw.
    sys.path.insert(0, str(tmp_path))
    try:
        client_package = importlib.import_module("dd_client_zh")
        cases = importlib.import_module("dd_client_zh.api.cases")
        models = importlib.import_module("dd_client_zh.models")
        for name in ("create_case", "get_case", "transition_case"):
            importlib.import_module(f"dd_client_zh.api.cases.{name}")
        client = client_package.AuthenticatedClient(base_url=live_server.url, token=token_of(dave), prefix="Token",
                                                    headers={"Accept-Language": "zh-hans"})

        filed = cases.create_case.sync_detailed(client=client, body=models.CaseCreateRequest.from_dict(case_body()),
                                                idempotency_key=str(uuid.uuid4()))
        assert filed.status_code == 201, filed.content
        case = filed.parsed
        assert isinstance(case, models.CaseCreated)
        assert case.state == models.CaseStateEnum.SUBMITTED and case.tracking_code
        assert Case.objects.filter(reference=case.reference, channel="api").exists()

        read = cases.get_case.sync(case.reference, client=client)
        assert isinstance(read, models.CaseDetail) and read.version == 1 and read.clocks is not None
        withdrawn = cases.transition_case.sync(case.reference, models.TransitionCaseName.WITHDRAW, client=client,
                                               body=models.TransitionRequest(note="客户来电撤销"), if_match='"1"')
        assert isinstance(withdrawn, models.CaseDetail)
        assert (withdrawn.state, withdrawn.clocks) == (models.CaseStateEnum.WITHDRAWN, None)

        # Its webhook endpoint: every answer parses into the generated models (the schema tells the truth).
        hooks = importlib.import_module("dd_client_zh.api.webhooks")
        for name in ("register_webhook_endpoint", "ping_webhook_endpoint", "get_webhook_endpoint",
                     "list_webhook_endpoints", "list_webhook_deliveries", "remove_webhook_endpoint"):
            importlib.import_module(f"dd_client_zh.api.webhooks.{name}")
        registered = hooks.register_webhook_endpoint.sync(client=client, body=models.WebhookEndpointRegisterRequest(
            name="call center", url="https://127.0.0.1:9/hooks"))  # nobody listens there
        assert isinstance(registered, models.WebhookEndpointRegistered) and registered.secret
        ping = hooks.ping_webhook_endpoint.sync(registered.id, client=client)
        assert isinstance(ping, models.WebhookDelivery)
        assert (ping.status, ping.case, ping.attempt_log[0].replay) == (models.WebhookDeliveryStatusEnum.FAILED, None,
                                                                        False)
        [endpoint] = hooks.list_webhook_endpoints.sync(client=client)
        assert isinstance(endpoint.last_delivery, models.WebhookDelivery) and endpoint.last_delivery.last_error
        log = hooks.list_webhook_deliveries.sync(registered.id, client=client)
        assert [delivery.id for delivery in log.results] == [ping.id]
        assert hooks.remove_webhook_endpoint.sync_detailed(registered.id, client=client).status_code == 204

        missing = cases.get_case.sync_detailed("DD000000-NOSUCH", client=client)
        assert missing.status_code == 404 and isinstance(missing.parsed, models.Problem)
        unauthenticated = client_package.AuthenticatedClient(base_url=live_server.url, token="wrong", prefix="Token")
        assert isinstance(cases.get_case.sync(case.reference, client=unauthenticated), models.Problem)
    finally:
        sys.path.remove(str(tmp_path))
        for module in [name for name in sys.modules if name.startswith("dd_client_")]:
            del sys.modules[module]
