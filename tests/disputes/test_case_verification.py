"""What the records say about a complaint: each diagnosis, from rows built here
(the oracle is how each test builds its ledger, not the code under test)."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from rest_framework.test import APIClient

from disputes.models import CaseEvent, Notification, Outcome, Verification
from disputes.verification.checks import case_verify, cases_verify_open
from disputes.workflow.actors import CUSTOMER
from disputes.workflow.errors import ActionForbidden
from disputes.workflow.filing import case_file
from disputes.workflow.names import Channel, EventKind, State
from disputes.workflow.steps import case_transition
from tests.conftest import assert_system_note, filing_data
from transactions.models import LedgerEntry, SettlementRecord

pytestmark = pytest.mark.django_db

PAID_AT = timezone.now().replace(microsecond=0) - timedelta(days=2)
SLIP = dict(merchant_id="103287654110281", terminal_id="41082857", rrn="100000000347", stan="508225")


def ledger(entry_id, *, kind="debit", at=PAID_AT, amount="128.50", last4="1234", **slip):
    fields = {**SLIP, "auth_code": "340191", **slip}
    return LedgerEntry.objects.create(entry_id=entry_id, customer_ref="C1", card_last4=last4, amount=Decimal(amount),
                                      currency="CNY", posted_at=at, kind=kind, **fields)


def settlement(record_id, *, status="approved", at=PAID_AT, amount="128.50", **slip):
    fields = {**SLIP, "auth_code": "340191", **slip}
    return SettlementRecord.objects.create(record_id=record_id, processor="银联商务", amount=Decimal(amount),
                                           currency="CNY", transacted_at=at, status=status, **fields)


@pytest.fixture
def complaint(db):
    return case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data(
        customer_name="张三", email="zhang@example.com", transaction_at=PAID_AT, **SLIP)).case


@pytest.fixture
def checked(complaint, system):
    def _check(**kwargs):
        return case_verify(case=complaint, actor=system, **kwargs)
    return _check


def test_no_debit_at_all_is_not_found(checked):
    assert checked().outcome == Outcome.NOT_FOUND


def test_a_hold_without_a_debit_is_hold_only(checked):
    ledger("H1", kind="hold")
    verification = checked()
    assert (verification.outcome, verification.ledger_entries) == (Outcome.HOLD_ONLY, ["H1"])


def test_a_hold_followed_by_its_debit_is_judged_by_the_debit(checked):
    """The usual card payment: an authorisation hold, then the debit of the same
    amount. The debit is the one the complaint describes; the hold is not a
    second candidate (not ``ambiguous``) and not the outcome (not ``hold_only``)."""
    ledger("H1", kind="hold", at=PAID_AT - timedelta(seconds=30))
    ledger("L1")
    verification = checked()
    assert (verification.outcome, verification.ledger_entries) == (Outcome.ORPHAN, ["L1"])


# The check that follows every filing, as the worker runs it (issue 12: a filing's
# CPU is shared with the worker): the case with its card, customer and last
# check; the system user with its permissions (one statement); the ledger's
# debits and holds (one); the result, the case's link to it, and the event.
CHECK_STATEMENTS = 6


def test_the_check_of_a_new_case_costs_six_statements(complaint, django_assert_num_queries):
    from disputes.verification.checks import case_verify_by_id

    with django_assert_num_queries(CHECK_STATEMENTS + 2):  # + the SAVEPOINT/RELEASE of the test's transaction
        case_verify_by_id(case_id=complaint.pk)
    assert Verification.objects.get(case=complaint).outcome == Outcome.NOT_FOUND
    assert CaseEvent.objects.filter(case=complaint, kind=EventKind.VERIFICATION).count() == 1


def test_a_debit_settled_with_an_approved_record_is_settled(checked, complaint):
    ledger("L1")
    settlement("S1")
    verification = checked()
    assert verification.outcome == Outcome.SETTLED
    assert verification.settlement_records == ["S1"]
    assert verification.suggested_step == "confirm_debit"
    complaint.refresh_from_db()
    assert complaint.ledger_entry.entry_id == "L1" and complaint.settlement_record.record_id == "S1"


def test_a_timed_out_or_declined_record_does_not_settle_it(checked):
    ledger("L1")
    settlement("S1", status="timeout")
    settlement("S2", status="declined", stan="508226", rrn="100000000348")
    verification = checked()
    assert (verification.outcome, verification.outstanding_amount) == (Outcome.ORPHAN, Decimal("128.50"))
    assert verification.suggested_step == "propose_refund"


def test_a_debit_reversed_in_full_is_reversed_and_the_customer_is_told_when(checked):
    ledger("L1")
    ledger("R1", kind="reversal", at=PAID_AT + timedelta(hours=20))
    Notification.objects.all().delete()
    verification = checked()
    assert verification.outcome == Outcome.REVERSED
    assert verification.ledger_entries == ["L1", "R1"]
    assert verification.money_back_on == timezone.localtime(PAID_AT + timedelta(hours=20)).date()
    told = Notification.objects.get()
    assert told.recipient == "zhang@example.com" and str(verification.money_back_on) in told.body


def test_a_reversal_without_rrn_names_its_debit_by_terminal_and_stan(checked):
    ledger("L1", rrn="")
    ledger("R1", kind="refund", rrn="", at=PAID_AT + timedelta(days=1))
    assert checked().outcome == Outcome.REVERSED


def test_a_partial_reversal_leaves_an_orphan_for_what_is_outstanding(checked):
    ledger("L1")
    ledger("R1", kind="reversal", amount="100.00", at=PAID_AT + timedelta(hours=1))
    verification = checked()
    assert (verification.outcome, verification.outstanding_amount) == (Outcome.ORPHAN, Decimal("28.50"))


def test_a_reversal_posted_after_the_check_does_not_count(checked):
    ledger("L1")
    ledger("R1", kind="reversal", at=PAID_AT + timedelta(days=1))
    assert checked(as_of=PAID_AT + timedelta(hours=1)).outcome == Outcome.ORPHAN


def test_two_candidate_debits_are_ambiguous_and_an_agent_chooses_one(checked, complaint, alice):
    ledger("L1", rrn="", stan="", terminal_id="")
    ledger("L2", rrn="", stan="", terminal_id="", at=PAID_AT + timedelta(minutes=3))
    assert checked().ledger_entries == ["L1", "L2"]
    assert complaint.verification.outcome == Outcome.AMBIGUOUS

    case_transition(case=complaint, name="start_verification", actor=alice)
    chosen = case_verify(case=complaint, actor=alice, entry_id="L2")
    assert (chosen.outcome, chosen.ledger_entries, chosen.chosen_by_hand) == (Outcome.ORPHAN, ["L2"], True)
    event = CaseEvent.objects.filter(case=complaint, kind=EventKind.VERIFICATION).latest("id")
    assert event.payload["chosen_entry_id"] == "L2" and event.actor == alice


def test_an_agent_cannot_choose_a_debit_of_another_card(checked, complaint, alice):
    ledger("L9", last4="9999")
    with pytest.raises(ValidationError):
        case_verify(case=complaint, actor=alice, entry_id="L9")
    assert not Verification.objects.exists()


@pytest.mark.parametrize("entry_id", ["L1\x00", "L\x001", "L1 ", "L\ud8001", "L" * 33, "Ｌ1"])
def test_a_choice_no_ledger_id_can_be_is_refused_and_changes_nothing(checked, complaint, alice, entry_id):
    # The import takes ids of 1 to 32 printable ASCII characters without spaces
    # (docs/design.md); a NUL once reached PostgreSQL and answered 500.
    ledger("L1")
    with pytest.raises(ValidationError) as refused:
        case_verify(case=complaint, actor=alice, entry_id=entry_id)
    assert "entry_id" in refused.value.message_dict
    assert not Verification.objects.exists()
    assert not CaseEvent.objects.filter(case=complaint, kind=EventKind.VERIFICATION).exists()


def test_the_call_center_may_not_run_a_check(complaint, dave):
    with pytest.raises(ActionForbidden):
        case_verify(case=complaint, actor=dave)


@pytest.mark.parametrize("field, value", [("rrn", "100000000999"), ("terminal_id", "41082858"),
                                          ("merchant_id", "103287654110282"), ("last4", "4321")])
def test_a_debit_that_disagrees_with_what_the_customer_gave_is_not_theirs(checked, field, value):
    ledger("L1", **{field: value})
    assert checked().outcome == Outcome.NOT_FOUND


@pytest.mark.parametrize("offset, found", [(-timedelta(hours=24), True), (-timedelta(hours=24, seconds=1), False),
                                           (timedelta(days=3), True), (timedelta(days=3, seconds=1), False)])
def test_the_debit_is_looked_for_from_a_day_before_to_three_days_after(checked, offset, found):
    ledger("L1", at=PAID_AT + offset)
    assert (checked(as_of=PAID_AT + timedelta(days=10)).outcome == Outcome.ORPHAN) is found


def test_the_check_is_an_event_whose_payload_is_the_apis_verification(checked, complaint, dave):
    ledger("L1")
    settlement("S1")
    verification = checked()
    event = CaseEvent.objects.get(case=complaint, kind=EventKind.VERIFICATION)
    client = APIClient()
    client.force_authenticate(dave)
    body = client.get(f"/api/v1/cases/{complaint.reference}/").json()
    assert body["verification"] == {key: event.payload[key] for key in body["verification"]}
    assert body["verification"] == {"outcome": "settled", "ledger_entries": ["L1"], "settlement_records": ["S1"],
                                    "outstanding_amount": "128.50",
                                    "checked_at": body["verification"]["checked_at"]}
    assert body["version"] == complaint.version and verification.case_id == complaint.pk


def test_the_api_says_null_until_the_first_check(complaint, dave):
    client = APIClient()
    client.force_authenticate(dave)
    body = client.get(f"/api/v1/cases/{complaint.reference}/").json()
    assert (body["verification"], body["money_back_by"]) == (None, None)


def test_a_clear_answer_takes_its_step_only_where_the_policy_allows(checked, complaint, alice, settings):
    ledger("L1")
    ledger("R1", kind="reversal", at=PAID_AT + timedelta(hours=1))
    case_transition(case=complaint, name="start_verification", actor=alice)
    settings.DISPUTE_VERIFICATION_AUTO_STEPS = False
    checked()
    assert complaint.state == State.VERIFYING
    settings.DISPUTE_VERIFICATION_AUTO_STEPS = True
    checked()
    complaint.refresh_from_db()
    assert complaint.state == State.RESOLVED
    assert_system_note(CaseEvent.objects.get(case=complaint, transition="reversal_found"), "records",
                       "Automatic: the transaction records say so.", "自动：依据交易记录。")


def test_after_an_import_the_open_unanswered_cases_are_checked_again(complaint, system):
    case_verify(case=complaint, actor=system)
    assert complaint.verification.outcome == Outcome.NOT_FOUND
    ledger("L1")
    settlement("S1")
    assert cases_verify_open() == 1
    complaint.refresh_from_db()
    assert complaint.verification.outcome == Outcome.SETTLED
    assert cases_verify_open() == 0  # settled is an answer: not checked again


def verification_events(case):
    return list(CaseEvent.objects.filter(case=case, kind=EventKind.VERIFICATION).order_by("pk")
                .values_list("actor__username", "payload__outcome", "payload__outstanding_amount"))


def test_a_recheck_by_the_system_that_changes_nothing_keeps_the_check_but_writes_no_event(complaint, system):
    """After every import the open cases are checked again: a timeline of the
    same answer import after import would bury the changes. Only a changed
    answer is an event; the check itself is kept (the API's checked_at moves)."""
    ledger("L1")
    first = case_verify(case=complaint, actor=system)
    again = case_verify(case=complaint, actor=system)
    assert (first.outcome, again.outcome) == (Outcome.ORPHAN, Outcome.ORPHAN)
    assert Verification.objects.filter(case=complaint).count() == 2
    complaint.refresh_from_db()
    assert complaint.verification == again and again.checked_at >= first.checked_at
    assert verification_events(complaint) == [("system", "orphan", "128.50")]


def test_a_partial_reversal_arriving_between_two_checks_is_an_event(complaint, system):
    ledger("L1")
    case_verify(case=complaint, actor=system)
    ledger("R1", kind="reversal", amount="28.50", at=PAID_AT + timedelta(hours=3))  # a partial reversal arrives
    assert case_verify(case=complaint, actor=system).outcome == Outcome.ORPHAN
    assert verification_events(complaint) == [("system", "orphan", "128.50"), ("system", "orphan", "100.00")]


def test_an_agents_check_is_an_event_even_when_the_answer_is_the_same(complaint, system, alice):
    complaint.assignee = alice
    complaint.save(update_fields=["assignee"])
    case_verify(case=complaint, actor=system)
    case_verify(case=complaint, actor=alice)
    case_verify(case=complaint, actor=system)
    assert verification_events(complaint) == [("system", "not_found", None), ("alice", "not_found", None)]


def test_the_tracking_page_says_in_plain_words_what_the_records_show(db, system):
    from django.test import Client

    from disputes.workflow.filing import case_file as file_

    filed = file_(actor=CUSTOMER, channel=Channel.WEB, **filing_data(transaction_at=PAID_AT, **SLIP))
    ledger("L1")
    ledger("R1", kind="reversal", at=PAID_AT + timedelta(hours=5))
    case_verify(case=filed.case, actor=system)
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = client.post("/complaints/track/", {"reference": filed.case.reference,
                                              "tracking_code": filed.tracking_code}, follow=True).content.decode()
    back_on = str(timezone.localtime(PAID_AT + timedelta(hours=5)).date())
    assert 'id="case-records" data-outcome="reversed"' in html
    assert back_on in html and "退回" in html


def test_an_agent_sees_the_diagnosis_with_its_records_and_checks_again_from_the_case_page(complaint, alice, client):
    ledger("L1", rrn="", stan="", terminal_id="")
    ledger("L2", rrn="", stan="", terminal_id="", at=PAID_AT + timedelta(minutes=3))
    settlement("S2", rrn="", stan="", terminal_id="", at=PAID_AT + timedelta(minutes=3))
    client.force_login(alice)
    page = f"/staff/cases/{complaint.reference}/"
    assert 'data-diagnosis=""' in client.get(page).content.decode()

    response = client.post(f"{page}verify/", follow=True)
    html = response.content.decode()
    assert 'data-diagnosis="ambiguous"' in html and "L1, L2" in html and 'id="choose-debit"' in html

    html = client.post(f"{page}verify/", {"entry_id": "L2"}, follow=True).content.decode()
    assert 'data-diagnosis="settled"' in html and "S2" in html
    assert complaint.verifications.count() == 2
    assert CaseEvent.objects.filter(case=complaint, kind=EventKind.VERIFICATION, actor=alice).count() == 2


def test_a_nul_in_the_chosen_debit_is_a_clear_error_on_the_case_page(complaint, alice, client):
    client.force_login(alice)
    response = client.post(f"/staff/cases/{complaint.reference}/verify/", {"entry_id": "L\x001"})
    assert response.status_code == 400
    assert "请选择这张卡上与争议金额相符的一笔扣款。" in response.content.decode()  # the staff default, zh-hans
    assert not Verification.objects.exists()


def test_the_call_center_cannot_check_from_the_case_page(complaint, dave, client):
    client.force_login(dave)
    assert client.post(f"/staff/cases/{complaint.reference}/verify/").status_code == 403
    assert not Verification.objects.exists()


def test_a_check_in_the_background_does_not_spoil_the_callers_if_match(checked, complaint):
    version = complaint.version
    ledger("L1")
    checked()
    complaint.refresh_from_db()
    assert complaint.version == version and complaint.verification.outcome == Outcome.ORPHAN


def test_the_case_page_says_the_check_and_its_suggested_step_in_the_readers_language(complaint, system, alice, client):
    """The worker writes a check's event in the site's language (Chinese): an
    agent reading in English saw it in Chinese, and the suggested step as the
    code name of a button labelled otherwise."""
    ledger("L1")  # debited, never settled: an orphan
    with translation.override("zh-hans"):
        case_verify(case=complaint, actor=system)
    assert CaseEvent.objects.get(case=complaint, kind=EventKind.VERIFICATION).message == "孤立扣款：已扣款、未清算、未全额冲正"
    client.force_login(alice)
    page = f"/staff/cases/{complaint.reference}/"

    english = client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get(page, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    timeline_en, timeline_zh = (html.split('id="timeline"')[1] for html in (english, chinese))
    assert "<p>orphan: debited, not settled, not fully reversed</p>" in timeline_en
    assert "孤立扣款" not in timeline_en
    assert "<p>孤立扣款：已扣款、未清算、未全额冲正</p>" in timeline_zh
    assert 'suggested step: <span data-step="propose_refund">Propose a refund</span>' in english
