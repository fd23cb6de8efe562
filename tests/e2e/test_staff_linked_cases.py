"""One debit, one case, in the browser: the queue marks the complaint that
joined another case, and each case page leads to the other."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from disputes.verification.checks import case_verify
from disputes.workflow.actors import system_user
from transactions.models import LedgerEntry

from .conftest import axe_violations
from .test_staff_workspace import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_agent_follows_the_link_between_two_complaints_about_one_debit(live_server, page, violations, artifacts,
                                                                           alice, file_case):
    paid_at = timezone.now().replace(microsecond=0) - timedelta(days=1)
    LedgerEntry.objects.create(entry_id="L1", customer_ref="C1", card_last4="1234", amount=Decimal("128.50"),
                               currency="CNY", posted_at=paid_at, kind="debit", rrn="100000000347", stan="508225",
                               merchant_id="103287654110281", terminal_id="41082857")
    first = file_case(transaction_at=paid_at)
    second = file_case(transaction_at=paid_at, phone="+8613900139000")
    case_verify(case=first, actor=system_user())
    case_verify(case=second, actor=system_user())

    log_in(page, live_server, "alice")
    page.goto(live_server.url + "/staff/?tab=unassigned")
    row = page.locator(f"tr[data-reference='{second.reference}']")
    assert row.locator(".linked").inner_text().strip().endswith(first.reference)
    assert page.locator(f"tr[data-reference='{first.reference}'] .linked").count() == 0
    with page.expect_navigation():
        row.locator("a.case-link").click()

    assert page.locator("#linked-to").is_visible()
    page.screenshot(path=artifacts / "linked-case.png", full_page=True)
    assert axe_violations(page) == []
    with page.expect_navigation():
        page.locator(f"#linked-to a[data-reference='{first.reference}']").click()
    assert page.url.endswith(f"/staff/cases/{first.reference}/")
    assert page.locator(f"#joined-by a[data-reference='{second.reference}']").is_visible()
    assert violations == [], "\n".join(violations)
