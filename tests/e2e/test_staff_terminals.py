"""A supervisor reads terminal health in the browser (Playwright driving Debian's
Chromium): from the staff nav to /staff/terminals/, a lower threshold lists a
quieter terminal too, and the CSV link carries the same window and threshold.
No Content-Security-Policy violation, no serious or critical axe-core finding."""
import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.transactions.records import MERCHANT, record
from transactions.models import SettlementStatus

from .conftest import axe_violations
from .test_staff_workspace import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def terminals(db):
    """BUSY0001: two timeouts and a decline (3 incidents); QUIET001: one timeout."""
    at = timezone.now() - timedelta(days=1)
    record("BUSY-T1", at, status=SettlementStatus.TIMEOUT, terminal_id="BUSY0001")
    record("BUSY-T2", at, status=SettlementStatus.TIMEOUT, terminal_id="BUSY0001")
    record("BUSY-D1", at, status=SettlementStatus.DECLINED, terminal_id="BUSY0001")
    record("QUIET-T1", at, status=SettlementStatus.TIMEOUT, terminal_id="QUIET001")


def listed(page) -> list[str]:
    return [row.get_attribute("data-terminal") for row in page.locator("#terminals tbody tr").all()]


def test_a_supervisor_opens_terminal_health_and_lowers_the_threshold(live_server, page, violations, artifacts, bob,
                                                                    terminals):
    log_in(page, live_server, "bob")
    with page.expect_navigation():
        page.locator("nav.staff-nav a", has_text="终端健康度").click()
    assert page.url.endswith("/staff/terminals/")
    assert page.locator("nav.staff-nav a[aria-current=page]").inner_text() == "终端健康度"
    assert listed(page) == ["BUSY0001"]  # 3 incidents reach the default threshold of 3; QUIET001's 1 does not

    page.fill("#terminals-form input[name=threshold]", "1")
    with page.expect_navigation():
        page.locator("#terminals-form button[type=submit]").click()
    assert "threshold=1" in page.url and "days=7" in page.url
    assert listed(page) == ["BUSY0001", "QUIET001"]
    assert page.locator("tr[data-terminal=QUIET001] td").all_inner_texts() == [
        "QUIET001", MERCHANT, "1", "0", "0", "1", "0", "1"]
    assert page.locator("#terminals-window").inner_text().startswith("时间范围：")
    assert page.locator("#terminals-csv").get_attribute("href") == "/staff/terminals.csv?days=7&threshold=1"
    page.screenshot(path=artifacts / "terminals.png", full_page=True)

    with page.expect_download() as download:
        page.locator("#terminals-csv").click()
    assert download.value.suggested_filename == f"terminal-health-{timezone.localdate().isoformat()}.csv"
    with open(download.value.path(), encoding="utf-8-sig") as handle:
        rows = list(csv.reader(io.StringIO(handle.read())))
    assert rows[0][0] == "终端编号" and [row[0] for row in rows[1:]] == ["BUSY0001", "QUIET001"]

    assert axe_violations(page) == []
    assert violations == [], "\n".join(violations)
