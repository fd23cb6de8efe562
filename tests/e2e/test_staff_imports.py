"""Verification against the records, in the browser (issue 9): a supervisor
uploads the sample ledger, then the sample settlement file, on /staff/imports/
and watches each import's progress bar fill to 100 % in place (htmx polling,
no reload) while a real Celery worker imports it; the result and the history
follow. The imports re-check the open cases, so an agent who then opens a
complaint about one of the sample debits reads its diagnosis (settled) with
the ledger entry and settlement record behind it. No CSP violation, no serious
accessibility problem; screenshots in ``artifacts``."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from playwright.sync_api import expect

from disputes.models import Case
from transactions.models import ImportRun, LedgerEntry, SettlementRecord
from tests.reliability.processes import Processes, celery_publishing_to, wait_for

from .conftest import axe_violations
from .test_staff_workspace import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BROKER = "redis://127.0.0.1:6379/8"
SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
CHINA = timezone(timedelta(hours=8))


@pytest.fixture
def worker(tmp_path, settings):
    upload_dir = tmp_path / "imports"
    settings.DISPUTE_IMPORT_UPLOAD_DIR = upload_dir
    redis.Redis.from_url(BROKER).flushdb()
    procs = Processes(tmp_path, BROKER, DISPUTE_IMPORT_UPLOAD_DIR=str(upload_dir))
    with celery_publishing_to(BROKER):
        procs.worker()
        yield procs
        procs.stop_all()
    redis.Redis.from_url(BROKER).flushdb()


def rows_in(sample: Path) -> int:
    return len(sample.read_text(encoding="utf-8").splitlines()) - 1


def upload_and_watch(page, kind: str, sample: Path) -> None:
    page.select_option("select[name=kind]", kind)
    page.set_input_files("input[name=file]", str(sample))
    with page.expect_navigation():
        page.locator("#upload-form button[type=submit]").click()
    assert "?run=" in page.url
    page.evaluate("window.sameDocument = true")  # gone if the page reloads instead of swapping the panel
    panel = page.locator("#import-run")
    expect(panel).to_have_attribute("data-status", "succeeded", timeout=60_000)
    expect(page.locator("#import-progress")).to_have_attribute("value", "100")
    assert page.evaluate("window.sameDocument === true")
    rows = rows_in(sample)
    expect(page.locator("#import-result")).to_contain_text(f"文件共 {rows} 行：导入 {rows} 行，0 行已存在。")
    # The history reloads itself once the import is done: the newest run first, finished.
    newest = page.locator("#import-history tbody tr").first
    expect(newest).to_have_attribute("data-status", "succeeded")
    expect(newest).to_contain_text(sample.name)
    expect(newest).to_contain_text("bob")


def test_a_supervisor_imports_both_files_and_an_agent_reads_the_diagnosis(
        live_server, browser, page, violations, artifacts, worker, alice, bob, file_case):
    # A complaint about the sample ledger's debit L0000004, which settlement record S0000004 settled.
    case = file_case(card_last4="0467", amount=Decimal("10.04"),
                     transaction_at=datetime(2026, 11, 6, 5, 18, tzinfo=CHINA), merchant_id="105116654110196",
                     terminal_id="33005178", rrn="100000000056", stan="663353", auth_code="449967")

    log_in(page, live_server, "bob")
    page.locator("nav.staff-nav a", has_text="导入").click()
    page.wait_for_url("**/staff/imports/")
    problems = axe_violations(page)
    assert problems == [], "\n".join(problems)
    try:
        upload_and_watch(page, "ledger", SAMPLES / "ledger.csv")
        upload_and_watch(page, "settlement", SAMPLES / "settlement.csv")
    except AssertionError:
        print(worker.logs())
        raise
    page.screenshot(path=artifacts / "imports.png", full_page=True)
    problems = axe_violations(page)
    assert problems == [], "\n".join(problems)
    assert LedgerEntry.objects.count() == rows_in(SAMPLES / "ledger.csv")
    assert SettlementRecord.objects.count() == rows_in(SAMPLES / "settlement.csv")
    assert list(ImportRun.objects.order_by("pk").values_list("kind", "status", "user__username")) == [
        ("ledger", "succeeded", "bob"), ("settlement", "succeeded", "bob")]

    # Each import that brought new rows re-checks the open cases, in the worker.
    wait_for(lambda: Case.objects.filter(pk=case.pk, verification__outcome="settled").exists(), 60,
             "the worker to diagnose the case as settled")
    agent = browser.new_context(locale="zh-CN")
    try:
        agent_page = agent.new_page()
        log_in(agent_page, live_server, "alice")
        agent_page.goto(f"{live_server.url}/staff/cases/{case.reference}/")
        expect(agent_page.locator("#diagnosis")).to_have_attribute("data-diagnosis", "settled")
        records = agent_page.locator("#verification")
        expect(records).to_contain_text("L0000004")
        expect(records).to_contain_text("S0000004")
        # The step the diagnosis suggests, as its button says it.
        expect(records.locator("[data-step]")).to_have_attribute("data-step", "confirm_debit")
        expect(records.locator("[data-step]")).to_have_text("确认已扣款：联系商户")
        agent_page.screenshot(path=artifacts / "case-diagnosis.png", full_page=True)
    finally:
        agent.close()
    assert violations == [], "\n".join(violations)
