"""Content-Security-Policy (django-csp): every page carries the strict policy,
and no page relies on what it forbids (inline scripts, event-handler
attributes, inline styles, javascript: links). The browser's own verdict is in
tests/e2e/test_csp_pages.py."""
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from disputes import demo
from disputes.workflow.filing import case_file
from disputes.workflow.actors import CUSTOMER
from disputes.models import Case
from disputes.sla.sweep import sla_sweep
from disputes.workflow.names import Channel
from tests.conftest import filing_data

PUBLIC_PAGES = ["/", "/complaints/new/", "/complaints/track/", "/accounts/login/", "/admin/login/", "/api/v1/docs/",
                "/no-such-page/"]


def policy_of(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.request['PATH_INFO']}: no Content-Security-Policy header"
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_strict(response) -> None:
    policy = policy_of(response)
    script_src = policy.get("script-src", policy["default-src"])
    assert policy["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, script_src
    assert all(not source.startswith(("http:", "https:", "*")) for values in policy.values() for source in values), policy
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert "'unsafe-inline'" not in policy.get("style-src", []), "no page needs inline styles"


class InlineCode(HTMLParser):
    """Collects what a strict policy blocks: inline scripts, on* handlers, style attributes, javascript: URLs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if name == "style":
                self.found.append(f"<{tag} style=…>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:…>")
        if tag == "style":
            self.found.append("<style> element")
        # A JSON data block (json_script) is not run; anything else without src is inline code.
        self._in_script = tag == "script" and "src" not in attributes and attributes.get("type") != "application/json"

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.found.append(f"inline <script>: {data.strip()[:60]}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def test_the_parser_does_find_inline_code():
    """The checks below are not vacuous."""
    html = ('<script>alert(1)</script><script src="/a.js"></script><button onclick="x()">'
            '<p style="color:red"><a href="javascript:void(0)"><style>p{}</style>'
            '<script type="application/json">{"a": 1}</script>')
    assert len(inline_code(html)) == 5


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_every_public_page_carries_the_strict_policy_and_no_inline_code(client, db, path):
    response = client.get(path)

    assert response.status_code in (200, 404)
    assert response["Content-Type"].startswith("text/html")
    assert_strict(response)
    assert inline_code(response.content.decode()) == []


def test_the_api_docs_start_up_script_is_a_file_of_this_site(client, db):
    html = client.get("/api/v1/docs/").content.decode()
    assert '<script src="/api/v1/docs/?script="></script>' in html

    script = client.get("/api/v1/docs/?script=")

    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()


def test_the_refusal_pages_carry_the_policy_and_no_inline_code(alice, settings):
    settings.AXES_FAILURE_LIMIT = 1
    settings.DISPUTE_TRACKING_FAILURES_PER_ADDRESS = 1
    client = Client()

    locked = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    client.post("/complaints/track/", {"reference": "DD260101-NOSUCH", "tracking_code": "WRONGCODE1"})
    limited = client.post("/complaints/track/", {"reference": "DD260101-NOSUCH", "tracking_code": "WRONGCODE1"})

    for response in (locked, limited):
        assert response.status_code == 429
        assert_strict(response)
        assert inline_code(response.content.decode()) == []


def test_the_staff_pages_carry_the_policy_and_no_inline_code(alice, bob, client):
    case = case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data()).case
    for user, path in ((alice, "/staff/"), (alice, "/staff/?tab=unassigned&state=nonsense"),
                       (bob, "/staff/?tab=open"), (bob, f"/staff/cases/{case.reference}/"),
                       (bob, "/staff/dashboard/"), (bob, "/staff/imports/")):
        client.force_login(user)
        response = client.get(path)
        assert response.status_code in (200, 400), path
        assert_strict(response)
        assert inline_code(response.content.decode()) == [], path

    case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data(rrn="100000000348"))
    client.logout()
    filed = client.post("/complaints/new/", {})  # the form with its errors
    assert inline_code(filed.content.decode()) == []


@pytest.fixture
def demo_cases(db, django_capture_on_commit_callbacks):
    """The demo data, with clocks breached so every SLA status shows."""
    with django_capture_on_commit_callbacks(execute=False):
        demo.demo_users_ensure()
        demo.demo_data_create()
        sla_sweep(now=timezone.now() + timedelta(days=5))
    assert Case.objects.exists()


def test_every_admin_list_and_change_page_has_no_inline_code(demo_cases, admin_client):
    pages = [reverse("admin:index")]
    for model in admin.site._registry:
        pages.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
        obj = model._default_manager.order_by("-pk").first()
        if obj is not None:
            pages.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk]))
    case = Case.objects.order_by("pk").first()
    pages.append(reverse("admin:disputes_case_transition", args=[case.pk]) + "?name=withdraw")

    found = {}
    for path in pages:
        response = admin_client.get(path)
        assert response.status_code == 200, path
        assert_strict(response)
        if problems := inline_code(response.content.decode()):
            found[path] = problems
    assert found == {}


def test_no_project_template_has_inline_code():
    templates = sorted((Path(settings.BASE_DIR) / "templates").rglob("*.html"))
    assert templates
    found = {str(path.relative_to(settings.BASE_DIR)): problems
             for path in templates if (problems := inline_code(path.read_text(encoding="utf-8")))}
    assert found == {}


def test_every_staff_page_of_the_demo_has_no_inline_code(demo_cases, client):
    """Every case of the demo (every state, clocks breached) on its staff page,
    each queue tab and the dashboard, as a supervisor."""
    from django.contrib.auth.models import User

    client.force_login(User.objects.get(username="supervisor1"))
    pages = ["/staff/", "/staff/?tab=unassigned", "/staff/?tab=open", "/staff/?tab=ended", "/staff/dashboard/",
             "/staff/imports/"]
    pages += [f"/staff/cases/{reference}/" for reference in Case.objects.values_list("reference", flat=True)]
    found = {}
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_strict(response)
        if problems := inline_code(response.content.decode()):
            found[path] = problems
    assert found == {}
