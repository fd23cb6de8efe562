"""A case walked through merchant contact, processor inquiry and refund in
real browsers: an agent records a contact and the answer link is e-mailed to
the merchant; the merchant opens the link from that e-mail in a second
browser (no account) and answers "did not receive", with evidence; the agent
sends the processor inquiry and records its answer, then proposes a refund,
which a different supervisor approves, each through the case page's forms.
No page reports a Content-Security-Policy violation; axe-core finds no serious
problem on the merchant's page. Screenshots are kept in ``artifacts``
(E2E_ARTIFACTS_DIR, default var/e2e-artifacts; under `make test`
$DISPUTE_DESK_VAR_DIR/e2e-artifacts), named merchant-flow-*.png."""
import pytest

from disputes.models import Case, CaseEvent, MerchantContact, ProcessorInquiry, Refund
from disputes.refunds.payment import refund_execute
from disputes.workflow.names import EventKind, State
from merchants.models import PaymentProcessor
from tests.disputes.merchants import link_from_email, merchant_on_record

from .conftest import REPORT_VIOLATIONS, axe_violations
from .test_staff_workspace import log_in, state_of, take_step

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n% settlement report: no such payment\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def watch_csp(page) -> list[str]:
    seen: list[str] = []
    page.expose_function("cspViolation", lambda text: seen.append(f"event: {text}"))
    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", lambda message: seen.append(f"console: {message.text}")
            if "Content Security Policy" in message.text else None)
    return seen


def test_merchant_contact_then_processor_inquiry_then_refund(live_server, browser, page, violations, artifacts,
                                                             settings, alice, bob, file_case):
    settings.DISPUTE_PUBLIC_BASE_URL = live_server.url  # the link in the e-mail points at this server
    merchant_on_record()
    PaymentProcessor.objects.create(name="银联商务", licence_number="Z2000131000011", promised_response_hours=48)
    case = file_case(card_last4="6688", customer_name="王五", phone="+8613922223333")

    # The agent takes the case to merchant contact and records an e-mail contact with the link.
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/staff/cases/{case.reference}/")
    take_step(page, "start_verification")
    take_step(page, "confirm_debit")
    assert state_of(page) == State.MERCHANT_CONTACT
    page.select_option("#merchant-contact-form select[name=channel]", "email")
    page.fill("#merchant-contact-form textarea[name=asked]", "请确认 11 月 30 日这笔交易是否已结算给贵店。")
    assert page.locator("#merchant-contact-form input[name=send_link]").is_checked()
    with page.expect_navigation():
        page.locator("#merchant-contact-form button[type=submit]").click()
    contact_row = page.locator("#merchant-contacts article.contact")
    assert contact_row.count() == 1 and "shop@merchant.example" in contact_row.inner_text()
    page.screenshot(path=artifacts / "merchant-flow-1-contact-recorded.png", full_page=True)

    # The e-mail is delivered; the merchant opens its link in another browser, without an account.
    link = link_from_email(MerchantContact.objects.get(case=case))
    assert link.startswith(live_server.url + "/merchant/respond/")
    merchant_context = browser.new_context(locale="en-US")
    merchant = merchant_context.new_page()
    merchant.set_default_timeout(10_000)
    merchant_violations = watch_csp(merchant)
    try:
        merchant.goto(link)
        facts = merchant.locator("#merchant-transaction").inner_text()
        assert "····6688" in facts and "128.50 CNY" in facts and case.terminal_id in facts
        assert "王五" not in merchant.content() and "13922223333" not in merchant.content()
        problems = axe_violations(merchant)
        assert problems == [], "\n".join(problems)
        merchant.check("input[name=answer][value=not_received]")
        merchant.fill("textarea[name=comment]", "No such payment in our settlement of that day.")
        merchant.set_input_files("input[name=evidence]", files=[
            {"name": "settlement.pdf", "mimeType": "application/pdf", "buffer": PDF}])
        merchant.screenshot(path=artifacts / "merchant-flow-2-merchant-answers.png", full_page=True)
        with merchant.expect_navigation():
            merchant.locator("#merchant-answer button[type=submit]").click()
        assert merchant.locator("#merchant-answered").get_attribute("data-answer") == "not_received"
        merchant.screenshot(path=artifacts / "merchant-flow-3-merchant-thanked.png", full_page=True)
        merchant.goto(link)  # the same link again: answered already, refused
        assert merchant.locator("#merchant-refused").get_attribute("data-reason") == "answered"
        assert merchant_violations == [], "\n".join(merchant_violations)
    finally:
        merchant_context.close()

    # The agent sees the answer and the escalation, sends the inquiry and records its answer.
    page.reload()
    assert state_of(page) == State.PROCESSOR_INQUIRY
    assert page.locator("li[data-kind=merchant_response]").count() == 1
    assert page.locator("#merchant-contacts article.contact[data-answer=not_received]").count() == 1
    page.select_option("#inquiry-form select[name=processor]", label="银联商务")
    page.fill("#inquiry-form input[name=our_reference]", "INQ-2026-1130")
    page.fill("#inquiry-form textarea[name=question]", "请核实该笔交易的清算状态。")
    with page.expect_navigation():
        page.locator("#inquiry-form button[type=submit]").click()
    page.fill("#inquiry-answer-form textarea[name=answer]", "交易未清算，资金滞留在收单机构，同意退款。")
    with page.expect_navigation():
        page.locator("#inquiry-answer-form button[type=submit]").click()
    assert page.locator("#processor-inquiries article.inquiry[data-answered=true]").count() == 1
    page.screenshot(path=artifacts / "merchant-flow-4-inquiry-answered.png", full_page=True)

    take_step(page, "propose_refund", amount="128.50")
    assert state_of(page) == State.REFUND_PENDING

    # A supervisor other than the proposer approves, in a browser of their own.
    supervisor_context = browser.new_context(locale="zh-CN")
    supervisor = supervisor_context.new_page()
    supervisor.set_default_timeout(10_000)
    try:
        log_in(supervisor, live_server, "bob")
        supervisor.goto(f"{live_server.url}/staff/cases/{case.reference}/")
        take_step(supervisor, "approve_refund")  # approved: its payment queued for the worker
        assert state_of(supervisor) == State.REFUND_PENDING
        assert supervisor.locator("#refunds .refund").get_attribute("data-status") == "approved"
        supervisor.screenshot(path=artifacts / "merchant-flow-5-refund-approved.png", full_page=True)
        # The worker pays it (here in this process, through the default ledger gateway).
        assert refund_execute(refund_id=Refund.objects.get(case=case).pk)
        supervisor.reload()
        assert state_of(supervisor) == State.REFUNDED
        assert supervisor.locator("#resolution-letter").is_visible()
        supervisor.screenshot(path=artifacts / "merchant-flow-6-refund-paid.png", full_page=True)
    finally:
        supervisor_context.close()

    case = Case.objects.get(pk=case.pk)
    assert case.state == State.REFUNDED
    kinds = list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
    for kind in (EventKind.MERCHANT_CONTACT, EventKind.MERCHANT_RESPONSE, EventKind.PROCESSOR_INQUIRY,
                 EventKind.PROCESSOR_RESPONSE):
        assert kinds.count(kind) == 1, kind
    assert ProcessorInquiry.objects.get(case=case).answered_at is not None
    assert case.attachments.get().original_name == "settlement.pdf"
    assert violations == [], "\n".join(violations)
