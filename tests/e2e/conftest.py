"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium)
against pytest-django's live server."""
import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Playwright's sync API runs an event loop in this thread; the ORM calls the
# tests make between page actions are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium package as root "
                    "(bin/system-packages; without root it prints the apt-get command), or set CHROMIUM_PATH")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


# Reports every violation to the test, on every page the tab opens.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolation([event.violatedDirective, event.blockedURI, event.sourceFile, event.lineNumber].join(" "));
});
"""


@pytest.fixture
def violations(page) -> list[str]:
    """CSP violations seen by the page: its securitypolicyviolation events and the console's reports."""
    seen: list[str] = []
    page.expose_function("cspViolation", lambda text: seen.append(f"event: {text}"))
    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", lambda message: seen.append(f"console: {message.text}")
            if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text else None)
    return seen


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where browser tests keep their screenshots: E2E_ARTIFACTS_DIR, or var/e2e-artifacts."""
    folder = Path(os.environ.get("E2E_ARTIFACTS_DIR", Path(settings.VAR_DIR) / "e2e-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


AXE = Path(__file__).parent / "vendor" / "axe.min.js"  # axe-core, vendored (see vendor/README.md)


def axe_violations(page, *, impacts=("serious", "critical")) -> list[str]:
    """Run axe-core on the page as it is and return its serious and critical findings.

    The script is served from the page's own origin (a routed URL), so the page's
    Content-Security-Policy lets it run unchanged."""
    origin = "/".join(page.url.split("/", 3)[:3])
    url = f"{origin}/__axe-core.js"
    page.route(url, lambda route: route.fulfill(body=AXE.read_text(encoding="utf-8"),
                                                content_type="application/javascript"))
    page.add_script_tag(url=url)
    found = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                                             targets: v.nodes.map((n) => n.target.join(" ")).slice(0, 5)}));
    }""")
    return [f"{v['impact']} {v['id']}: {v['help']} {v['targets']}" for v in found if v["impact"] in impacts]
