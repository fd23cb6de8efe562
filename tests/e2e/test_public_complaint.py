"""A customer files a complaint in the browser, tracks it, and answers the
bank's request for information."""
from datetime import timedelta

import pytest
from django.utils import timezone

from disputes.workflow.casework import case_add_note
from disputes.workflow.steps import case_transition
from disputes.models import Case, NoteVisibility
from disputes.workflow.names import State

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fill_complaint(page):
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


def file_and_track(live_server, page) -> tuple[str, str]:
    page.goto(live_server.url + "/complaints/new/")
    fill_complaint(page)
    with page.expect_navigation():
        page.locator("form[action='/complaints/new/'] button[type=submit]").click()
    reference = page.locator("#case-reference").inner_text().strip()
    code = page.locator("#tracking-code").inner_text().strip()
    assert reference and code
    assert code not in page.url

    page.goto(live_server.url + "/complaints/track/")
    page.fill("input[name=reference]", reference)
    page.fill("input[name=tracking_code]", code)
    with page.expect_navigation():
        page.locator("form[action='/complaints/track/'] button[type=submit]").click()
    return reference, code


def test_a_customer_files_a_complaint_and_tracks_it(live_server, page):
    reference, code = file_and_track(live_server, page)

    state = page.locator("#case-state")
    assert state.get_attribute("data-state") == "submitted"
    assert state.inner_text().strip() == "我们已收到您的投诉。"
    assert code not in page.url
    case = Case.objects.get(reference=reference)
    assert case.channel == "web" and case.card.last4 == "1234"


def test_the_customer_answers_a_request_for_information_and_the_case_goes_on(live_server, page, alice):
    reference, _code = file_and_track(live_server, page)
    case = Case.objects.get(reference=reference)
    case = case_transition(case=case, name="start_verification", actor=alice)
    case = case_transition(case=case, name="request_customer_info", actor=alice)
    case_add_note(case=case, actor=alice, body="请上传或描述POS小票。", visibility=NoteVisibility.CUSTOMER)

    page.reload()
    assert page.locator("#case-state").get_attribute("data-state") == "awaiting_customer"
    assert page.get_by_text("请上传或描述POS小票。").is_visible()
    page.fill("textarea[name=message]", "小票显示“交易失败”，参考号 100000000347。")
    with page.expect_navigation():
        page.locator("form[action='/complaints/track/reply/'] button[type=submit]").click()

    assert page.locator("#case-state").get_attribute("data-state") == "verifying"
    assert page.get_by_text("参考号 100000000347").is_visible()
    case.refresh_from_db()
    assert case.state == State.VERIFYING
