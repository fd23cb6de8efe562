"""Under the Content-Security-Policy (no inline script or style, everything
from this site) the pages still work in a real browser, and the browser
reports no violation: the public pages, the staff pages, the admin and the
API docs (Swagger UI)."""
from datetime import timedelta

import pytest
from django.utils import timezone

from disputes.workflow.filing import case_file
from disputes.workflow.actors import CUSTOMER
from disputes.workflow.names import Channel
from tests.conftest import filing_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"  # tests/conftest.py's cast


def assert_csp_header(response) -> None:
    policy = response.headers.get("content-security-policy", "")
    assert "default-src 'self'" in policy and "'unsafe-inline'" not in policy, policy


def fill_complaint(page) -> None:
    paid_at = timezone.localtime(timezone.now() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    page.fill("input[name=customer_name]", "张三")
    page.fill("input[name=phone]", "+86 138 0013 8000")
    page.fill("input[name=email]", "zhang@example.com")
    page.fill("input[name=card_last4]", "1234")
    page.fill("input[name=amount]", "128.50")
    page.fill("input[name=transaction_at]", paid_at)
    page.fill("input[name=merchant_name]", "好又多超市")
    page.fill("input[name=rrn]", "100000000347")
    page.fill("input[name=stan]", "508225")
    page.fill("textarea[name=description]", "POS 显示交易失败，但银行卡被扣款。")


def test_the_public_pages_work_with_no_violation(live_server, page, violations):
    assert_csp_header(page.goto(live_server.url + "/"))
    with page.expect_navigation():  # the language switch: its script is a file now, not an onchange attribute
        page.select_option("select[name=language]", "en")
    assert page.locator("html").get_attribute("lang") == "en"

    assert_csp_header(page.goto(live_server.url + "/complaints/new/"))
    fill_complaint(page)
    with page.expect_navigation():
        page.locator("form[action='/complaints/new/'] button[type=submit]").click()
    reference = page.locator("#case-reference").inner_text().strip()
    code = page.locator("#tracking-code").inner_text().strip()

    page.goto(live_server.url + "/complaints/track/")
    page.fill("input[name=reference]", reference)
    page.fill("input[name=tracking_code]", "WRONGCODE1")
    with page.expect_navigation():  # the refusal is a new page: wait for it, not for the old one
        page.locator("form[action='/complaints/track/'] button[type=submit]").click()
    assert page.locator("#track-error").is_visible()
    page.fill("input[name=reference]", reference)
    page.fill("input[name=tracking_code]", code)
    with page.expect_navigation():
        page.locator("form[action='/complaints/track/'] button[type=submit]").click()
    assert page.locator("#case-state").get_attribute("data-state") == "submitted"

    assert violations == [], "\n".join(violations)


def test_the_refusal_pages_show_with_no_violation(live_server, page, violations, alice, settings):
    settings.DISPUTE_TRACKING_FAILURES_PER_ADDRESS = 1
    page.goto(live_server.url + "/complaints/track/")
    for _ in range(2):
        page.fill("input[name=reference]", "DD260101-NOSUCH")
        page.fill("input[name=tracking_code]", "WRONGCODE1")
        with page.expect_navigation():
            page.locator("form[action='/complaints/track/'] button[type=submit]").click()
    assert page.locator("#track-limited").is_visible()

    settings.AXES_FAILURE_LIMIT = 1
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "wrong password")
    with page.expect_navigation():
        page.locator("button[type=submit]").click()
    assert page.locator("#login-locked-out").is_visible()

    assert violations == [], "\n".join(violations)


def test_the_staff_login_and_queue_work_with_no_violation(live_server, page, violations, alice):
    case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data())

    assert_csp_header(page.goto(live_server.url + "/accounts/login/"))
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.locator("button[type=submit]").click()
    assert page.url.endswith("/staff/")
    assert page.locator("tr[data-reference]").count() == 0  # "my cases": none yet
    page.locator("a[data-tab=unassigned]").click()
    page.wait_for_url("**/staff/?tab=unassigned")
    assert page.locator("tr[data-reference]").count() == 1

    assert violations == [], "\n".join(violations)


def test_the_admin_login_and_a_change_list_work_with_no_violation(live_server, page, violations, admin_user):
    case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data())

    assert_csp_header(page.goto(live_server.url + "/admin/login/"))
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "password")
    with page.expect_navigation():
        page.locator("input[type=submit]").click()
    assert page.locator("#site-name").is_visible()

    assert_csp_header(page.goto(live_server.url + "/admin/disputes/case/"))
    assert page.locator("#result_list tbody tr").count() == 1
    page.locator("#action-toggle").check()  # the admin's own scripts run: "select all" ticks every row
    assert page.locator("#result_list tbody input.action-select").first.is_checked()
    page.locator("#changelist-filter").first.is_visible()

    page.locator("#result_list tbody tr th a").first.click()
    page.wait_for_selector("#case-workflow")

    assert violations == [], "\n".join(violations)


def test_swagger_ui_works_with_no_violation(live_server, page, violations):
    assert_csp_header(page.goto(live_server.url + "/api/v1/docs/"))
    page.wait_for_selector("#operations-cases-createCase")
    page.locator("#operations-cases-createCase .opblock-summary").first.click()  # open one operation
    page.wait_for_selector("#operations-cases-createCase .opblock-body")

    operation = page.locator("#operations-cases-listCases")  # try one: the request goes to this site
    operation.locator(".opblock-summary").first.click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    assert status.inner_text().strip().startswith("401")  # no token given: the API's answer, shown

    assert violations == [], "\n".join(violations)
