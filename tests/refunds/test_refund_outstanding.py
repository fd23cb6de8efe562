"""A refund never exceeds what is still outstanding: the disputed amount less the
reversals and refunds the ledger posted for the matched debit, less the refunds
of this case and of every other case of the same debit. The service says so
clearly (400 in the API); the database refuses it too, also to two at once."""
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from disputes.models import Case, Refund, RefundStatus
from disputes.refunds.payment import refund_execute
from disputes.workflow.outstanding import refund_outstanding
from disputes.workflow.steps import case_transition
from transactions.models import LedgerEntry, LedgerKind
from transactions.reconciliation import orphan_debits, reconcile

OUTSTANDING = "A refund cannot exceed what is still outstanding: %s CNY"
OUTSTANDING_IN_FULL = OUTSTANDING + " (the disputed amount less reversals and earlier refunds)."


def _reversal(debit, amount: str, entry_id="V1") -> LedgerEntry:
    return LedgerEntry.objects.create(
        entry_id=entry_id, card_last4=debit.card_last4, amount=Decimal(amount), currency="CNY",
        posted_at=debit.posted_at + timedelta(hours=1), kind=LedgerKind.REVERSAL, rrn=debit.rrn)


def test_after_a_partial_reversal_only_the_rest_may_be_refunded(verifying, debit, alice):
    _reversal(debit, "28.50")
    case = verifying()
    assert refund_outstanding(case) == Decimal("100.00")
    with pytest.raises(ValidationError) as refused:
        case_transition(case=case, name="propose_refund", actor=alice, amount="100.01")
    assert refused.value.message_dict["amount"] == [OUTSTANDING_IN_FULL % "100.00"]
    assert not Refund.objects.exists() and Case.objects.get(pk=case.pk).state == "verifying"
    case_transition(case=case, name="propose_refund", actor=alice, amount="100.00")
    assert Refund.objects.get(case=case).debit == debit


def test_a_refund_paid_on_another_case_of_the_same_debit_counts(verifying, debit, alice, bob):
    first = verifying(phone="+8613800138001")
    case_transition(case=first, name="propose_refund", actor=alice, amount="100.00")
    case_transition(case=first, name="approve_refund", actor=bob)
    assert refund_execute(refund_id=Refund.objects.get(case=first).pk)
    second = verifying(phone="+8613800138002")
    # The ledger now holds our refund entry too: counted once, as the refund.
    assert LedgerEntry.objects.filter(kind=LedgerKind.REFUND, rrn=debit.rrn).count() == 1
    assert refund_outstanding(second) == Decimal("28.50")
    with pytest.raises(ValidationError):
        case_transition(case=second, name="propose_refund", actor=alice, amount="28.51")
    case_transition(case=second, name="propose_refund", actor=alice, amount="28.50")


def test_a_refund_not_yet_paid_on_another_case_of_the_same_debit_counts(verifying, debit, alice):
    first = verifying(phone="+8613800138001")
    case_transition(case=first, name="propose_refund", actor=alice, amount="100.00")
    second = verifying(phone="+8613800138002")
    assert refund_outstanding(second) == Decimal("28.50")  # 128.50 less the 100.00 proposed on the first case
    assert refund_outstanding(Case.objects.get(pk=first.pk)) == Decimal("28.50")


def test_without_a_matched_debit_the_cases_own_refunds_count_and_still_count_once_it_is_matched(
        file_case, debit, alice):
    case = case_transition(case=file_case(transaction_at=debit.posted_at), name="start_verification", actor=alice)
    assert case.ledger_entry is None
    case_transition(case=case, name="propose_refund", actor=alice, amount="40.00")
    other = case_transition(case=file_case(phone="+8613800138005"), name="start_verification", actor=alice)
    case_transition(case=other, name="propose_refund", actor=alice, amount="30.00")  # another case: not counted
    assert refund_outstanding(Case.objects.get(pk=case.pk)) == Decimal("88.50")  # 128.50 disputed less 40.00
    Case.objects.filter(pk=case.pk).update(ledger_entry=debit)  # matched after the proposal: its refund has no debit
    assert refund_outstanding(Case.objects.get(pk=case.pk)) == Decimal("88.50")


def test_the_database_refuses_refunds_of_one_debit_above_its_outstanding_amount(verifying, debit, alice):
    _reversal(debit, "28.50")
    case = verifying()
    Refund.objects.create(case=case, debit=debit, amount=Decimal("60.00"), currency="CNY", proposed_by=alice,
                          status=RefundStatus.EXECUTED, execution_reference="X1")
    with pytest.raises(IntegrityError, match="refund_within_outstanding"), transaction.atomic():
        Refund.objects.create(case=case, debit=debit, amount=Decimal("40.01"), currency="CNY", proposed_by=alice)
    Refund.objects.create(case=case, debit=debit, amount=Decimal("40.00"), currency="CNY", proposed_by=alice)
    declined = Refund.objects.create(case=Case.objects.exclude(pk=case.pk).first() or case, debit=debit,
                                     amount=Decimal("5.00"), currency="CNY", proposed_by=alice,
                                     status=RefundStatus.DECLINED)
    assert declined.pk  # a declined refund claims nothing


@pytest.mark.django_db(transaction=True)
def test_two_proposals_at_once_on_two_cases_of_one_debit_do_not_both_get_in(verifying, debit, alice):
    cases = [verifying(phone=f"+861380013800{n}") for n in (3, 4)]
    barrier = threading.Barrier(2)
    outcomes = []

    def propose(case):
        try:
            barrier.wait(5)
            case_transition(case=Case.objects.get(pk=case.pk), name="propose_refund", actor=alice, amount="100.00")
            outcomes.append("proposed")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=propose, args=(case,)) for case in cases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["proposed", "refused"]
    assert Refund.objects.filter(debit=debit).count() == 1


def test_the_ledger_gateways_refund_entry_is_seen_by_reconciliation(verifying, debit, alice, bob):
    assert [o.entry_id for o in orphan_debits(reconcile(as_of=timezone.now()))] == [debit.pk]
    case = verifying()
    case_transition(case=case, name="propose_refund", actor=alice, amount="128.50")
    case_transition(case=case, name="approve_refund", actor=bob)
    refund = Refund.objects.get(case=case)
    assert refund_execute(refund_id=refund.pk)
    entry = LedgerEntry.objects.get(entry_id=f"DDRF{refund.pk:012d}")
    assert (entry.kind, entry.amount, entry.rrn, entry.stan, entry.terminal_id, entry.card_last4) == (
        LedgerKind.REFUND, Decimal("128.50"), debit.rrn, debit.stan, debit.terminal_id, "1234")
    assert list(orphan_debits(reconcile(as_of=timezone.now()))) == []  # no longer an orphan
    assert refund_execute(refund_id=refund.pk) is False  # a retried task posts nothing more
    assert LedgerEntry.objects.filter(kind=LedgerKind.REFUND).count() == 1


def test_a_reversal_posted_after_the_proposal_stops_its_approval(verifying, debit, alice, bob):
    case = verifying()
    case = case_transition(case=case, name="propose_refund", actor=alice, amount="100.00")
    _reversal(debit, "30.00")  # imported meanwhile: 98.50 is outstanding now
    with pytest.raises(ValidationError) as refused:
        case_transition(case=case, name="approve_refund", actor=bob)
    assert refused.value.messages == ["Reversals or other refunds posted since this refund was proposed leave less "
                                      "outstanding than its amount: decline it and propose the right amount."]
    assert Refund.objects.get(case=case).status == RefundStatus.PROPOSED
    case = case_transition(case=Case.objects.get(pk=case.pk), name="decline_refund", actor=bob)
    case_transition(case=case, name="propose_refund", actor=alice, amount="98.50")


def test_the_api_and_the_staff_page_answer_400_with_the_outstanding_amount(verifying, debit, alice, client):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    _reversal(debit, "28.50")
    case = verifying()
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=alice).key}")
    response = api.post(f"/api/v1/cases/{case.reference}/transitions/propose_refund/", {"amount": "100.01"},
                        format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["amount"][0].startswith(OUTSTANDING % "100.00")
    client.force_login(alice)
    page = client.post(f"/staff/cases/{case.reference}/transitions/propose_refund/",
                       {"version": case.version, "amount": "100.01"}, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 400 and (OUTSTANDING % "100.00") in page.content.decode()
    assert not Refund.objects.exists()


def test_a_reversal_dated_ahead_counts_as_the_database_counts_it(verifying, debit, alice):
    """The service and the trigger agree: a reversal the ledger already holds, posted a few
    minutes ahead, leaves only the rest refundable, and the refusal names that rest."""
    reversal = _reversal(debit, "28.50")
    LedgerEntry.objects.filter(pk=reversal.pk).update(posted_at=timezone.now() + timedelta(minutes=5))
    case = verifying()
    assert refund_outstanding(case) == Decimal("100.00")
    with pytest.raises(ValidationError) as refused:
        case_transition(case=case, name="propose_refund", actor=alice, amount="128.50")
    assert refused.value.message_dict["amount"] == [OUTSTANDING_IN_FULL % "100.00"]
    case_transition(case=case, name="propose_refund", actor=alice, amount="100.00")
    assert Refund.objects.get(case=case).amount == Decimal("100.00")
