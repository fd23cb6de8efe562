"""Bank staff work cases in the browser (Playwright driving Debian's Chromium):
an agent finds a case by search and works it from ``submitted`` to
``refund_pending`` with a note and an attachment; a supervisor approves the
refund while a second browser acting on the same case is told it changed
meanwhile; a supervisor assigns in bulk and reads the dashboard's charts. No
page reports a Content-Security-Policy violation, axe-core finds no serious or
critical accessibility problem, and the queue works without JavaScript too.
Screenshots of the queue, the case page and the dashboard are kept in
``artifacts`` (E2E_ARTIFACTS_DIR, default var/e2e-artifacts)."""
from decimal import Decimal

import pytest

from disputes.models import Case, CaseNote, Refund
from disputes.refunds.payment import refund_execute
from disputes.workflow.casework import case_assign
from disputes.workflow.names import State
from disputes.workflow.steps import case_transition
from tests.disputes.workflow import bring_to

from .conftest import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"  # tests/conftest.py's cast
PDF = b"%PDF-1.4\n% the POS slip\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def log_in(page, live_server, username: str) -> None:
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.locator("button[type=submit]").click()
    assert page.url.endswith("/staff/")


def state_of(page) -> str:
    return page.locator("#case-state").get_attribute("data-state")


def take_step(page, name: str, **fields) -> None:
    form = page.locator(f"form[data-step={name}]")
    for field, value in fields.items():
        if field == "note":
            form.locator("summary").click()
        form.locator(f"[name={field}]").fill(value)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def test_an_agent_finds_a_case_and_works_it_to_refund_pending(live_server, page, violations, artifacts, alice,
                                                             file_case):
    file_case(phone="+8613900002222")
    case = file_case(phone="+8613900001111", rrn="200000000001")
    log_in(page, live_server, "alice")
    assert_no_axe_problem(page)

    page.keyboard.press("/")  # the search shortcut
    page.keyboard.type("13900001111")
    page.keyboard.press("Enter")  # htmx: the results change, the URL follows
    page.wait_for_url("**/staff/?**q=13900001111**")
    page.wait_for_selector(f"tr[data-reference='{case.reference}']")
    assert page.locator("tr[data-reference]").count() == 1
    page.screenshot(path=artifacts / "queue.png", full_page=True)

    page.keyboard.press("Escape")
    page.keyboard.press("j")  # the first row
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/staff/cases/{case.reference}/")
    with page.expect_navigation():
        page.keyboard.press("a")  # assign to me
    assert page.locator("#case-assignee").inner_text().strip() == "alice"

    take_step(page, "start_verification", note="Checking the ledger.")
    assert state_of(page) == State.VERIFYING
    take_step(page, "confirm_debit")
    assert state_of(page) == State.MERCHANT_CONTACT

    page.fill("#note-form textarea[name=body]", "The merchant's POS log shows a timeout.")
    with page.expect_navigation():
        page.locator("#note-form button[type=submit]").click()
    assert page.locator("article.note[data-visibility=internal]").count() == 1

    page.set_input_files("#attach-form input[name=file]",
                         files=[{"name": "pos-slip.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    with page.expect_navigation():
        page.locator("#attach-form button[type=submit]").click()
    link = page.locator("ul.attachments a", has_text="pos-slip.pdf")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "pos-slip.pdf"
    with open(download.value.path(), "rb") as handle:
        assert handle.read() == PDF

    take_step(page, "propose_refund", amount="100.00")
    assert state_of(page) == State.REFUND_PENDING
    page.screenshot(path=artifacts / "case.png", full_page=True)
    assert_no_axe_problem(page)

    case = Case.objects.get(pk=case.pk)
    assert case.state == State.REFUND_PENDING and case.assignee == alice and case.refund_amount == Decimal("100.00")
    assert CaseNote.objects.filter(case=case).count() == 1 and case.attachments.count() == 1
    assert violations == [], "\n".join(violations)


def test_a_supervisor_approves_while_a_second_browser_is_told_the_case_changed(live_server, browser, page, violations,
                                                                            alice, bob, carol, file_case):
    cast = {"alice": alice, "bob": bob, "carol": carol}
    case = bring_to(file_case(), State.MERCHANT_CONTACT, cast)
    case_transition(case=case, name="propose_refund", actor=alice, amount=Decimal("100.00"))
    log_in(page, live_server, "bob")
    page.goto(f"{live_server.url}/staff/cases/{case.reference}/")

    other_context = browser.new_context(locale="zh-CN")
    other = other_context.new_page()
    try:
        log_in(other, live_server, "carol")
        other.goto(f"{live_server.url}/staff/cases/{case.reference}/")
        other.locator("form[data-step=decline_refund] summary").click()
        other.fill("form[data-step=decline_refund] textarea[name=note]", "Not convinced yet.")

        take_step(page, "approve_refund")  # bob, first: approved, its payment queued
        assert state_of(page) == State.REFUND_PENDING
        assert page.locator("#refunds .refund").get_attribute("data-status") == "approved"

        with other.expect_navigation():
            other.locator("form[data-step=decline_refund] button[type=submit]").click()
        problem = other.locator("#case-problem")
        assert problem.get_attribute("data-stale") == "true" and problem.is_visible()
        assert state_of(other) == State.REFUND_PENDING  # the fresh case: nothing left to decline
        assert "Not convinced yet." in other.locator("#kept-input").inner_text()  # what carol typed, not lost
    finally:
        other_context.close()
    # The worker pays it (here in this process, through the default ledger gateway): refunded, with its letter.
    assert refund_execute(refund_id=Refund.objects.get(case=case).pk)
    page.reload()
    assert state_of(page) == State.REFUNDED
    assert page.locator("#resolution-letter").is_visible()
    assert page.locator("#refunds .money-back-by").inner_text() == Refund.objects.get(case=case).expected_credit_on.isoformat()
    assert violations == [], "\n".join(violations)


def test_a_supervisor_assigns_in_bulk_and_reads_the_dashboard(live_server, page, violations, artifacts, alice, bob,
                                                             file_case):
    cases = [file_case() for _ in range(3)]
    case_transition(case=cases[2], name="start_verification", actor=bob)
    log_in(page, live_server, "bob")
    page.goto(live_server.url + "/staff/?tab=open")
    page.evaluate("window.noReload = true")  # gone if the page reloads

    page.locator("details.filters summary").click()
    page.select_option("#queue-filters select[name=state]", State.SUBMITTED)  # htmx, on change
    page.wait_for_url("**state=submitted**")
    page.wait_for_function("document.querySelectorAll('tr[data-reference]').length === 2")
    assert page.evaluate("window.noReload") is True

    for case in cases[:2]:
        page.check(f"tr[data-reference='{case.reference}'] input[name=cases]")
    page.select_option("#bulk-assign select[name=assignee]", label="alice")
    with page.expect_navigation():
        page.locator("#bulk-assign button[type=submit]").click()
    assert "state=submitted" in page.url
    assert [Case.objects.get(pk=c.pk).assignee for c in cases] == [alice, alice, None]

    page.goto(live_server.url + "/staff/dashboard/")
    page.wait_for_selector("canvas[data-drawn=true]")
    assert page.locator("canvas[data-drawn=true]").count() == page.locator("canvas[data-chart]").count() >= 3
    page.screenshot(path=artifacts / "dashboard.png", full_page=True)
    assert_no_axe_problem(page)
    assert violations == [], "\n".join(violations)


def test_the_queue_works_without_javascript(live_server, browser, alice, bob, file_case):
    mine, other = file_case(), file_case()
    case_transition(case=other, name="start_verification", actor=alice)
    case_assign(case=mine, actor=alice, assignee=alice)
    context = browser.new_context(locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, live_server, "alice")
        assert page.locator("tr[data-reference]").count() == 1
        page.locator("a[data-tab=unassigned]").click()
        page.wait_for_url("**tab=unassigned**")
        page.locator("details.filters summary").click()
        page.select_option("select[name=state]", State.VERIFYING)
        with page.expect_navigation():
            page.locator("details.filters button[type=submit]").click()
        assert "state=verifying" in page.url and "tab=unassigned" in page.url
        assert [r.get_attribute("data-reference") for r in page.locator("tr[data-reference]").all()] == [other.reference]
    finally:
        context.close()


def assert_no_axe_problem(page) -> None:
    problems = axe_violations(page)
    assert problems == [], "\n".join(problems)




@pytest.mark.parametrize("width", [1920, 1280, 768])
def test_button_and_menu_labels_stay_on_one_line_and_uncovered(live_server, page, bob, file_case, width):
    """In Chinese the search button's "搜索" and the case page's "分配" stood as a
    column of one character a line; the language menu's chevron covered the
    last letter of its choice."""
    case = file_case()
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server, "bob")
    for path, selector, label in (("/staff/", ".search-row button[type=submit]", "搜索"),
                                  (f"/staff/cases/{case.reference}/", "#assign-to button[type=submit]", "分配")):
        page.goto(live_server.url + path)
        button = page.locator(selector)
        assert button.inner_text() == label
        lines = button.evaluate("b => { const r = document.createRange(); r.selectNodeContents(b); "
                                "return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; }")
        assert lines == 1, f"{path}: the button's label {label} takes {lines} lines at {width}px"
    # The chevron is drawn in the select's right padding: the text must end before it.
    room = page.locator("select[name=language]").evaluate(
        "s => { const style = getComputedStyle(s); const right = style.backgroundPositionX.match(/([0-9.]+)px[)]?$/);"
        " return parseFloat(style.paddingRight) - parseFloat(style.backgroundSize) - parseFloat(right[1]); }")
    assert room >= 0, f"the language menu's chevron covers {-room}px of its text"


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 768, "height": 1024}],
                         ids=["1280px", "tablet"])
def test_the_pages_fit_a_1280_px_screen_and_a_tablet(live_server, page, alice, bob, carol, file_case, viewport):
    case = file_case(description="POS 显示交易失败，但银行卡被扣款。" * 5)
    # The queue's widest cells: a paused clock's words, a long merchant and customer name.
    bring_to(file_case(merchant_name="中国石油化工股份有限公司北京海淀区五道口加油站", customer_name="欧阳诸葛明远"),
             State.AWAITING_CUSTOMER, {"alice": alice, "bob": bob, "carol": carol})
    page.set_viewport_size(viewport)
    log_in(page, live_server, "bob")
    for path in ("/staff/?tab=open", f"/staff/cases/{case.reference}/", "/staff/dashboard/"):
        page.goto(live_server.url + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} is {overflow}px wider than a {viewport['width']}px screen"
        if path.startswith("/staff/?") and viewport["width"] >= 1280:
            # The queue's own box scrolls sideways on a narrow screen; on a desktop every
            # column shows, the one with the Take button included.
            hidden = page.evaluate("(t => t.scrollWidth - t.parentElement.clientWidth)(document.querySelector('table.queue'))")
            assert hidden <= 1, f"the queue's table hides {hidden}px on a {viewport['width']}px screen"
