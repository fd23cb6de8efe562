"""Two answers through the same link at the same moment (two connections):
exactly one is recorded, one step is taken; the other is refused."""
import pytest

from disputes.models import Case, CaseEvent, MerchantContact
from disputes.workflow.merchant import MerchantLinkRefused, merchant_answer
from disputes.workflow.names import EventKind, State
from tests.at_once import at_once
from tests.disputes.merchants import (
    case_in_merchant_contact,
    contact_with_link,
    link_from_email,
    merchant_on_record,
    token_of,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _race(token: str, answers: list[str]) -> list[object]:
    def answer(index: int, choice: str):
        merchant_answer(token=token, answer=choice, client_address=f"10.0.0.{index + 1}")
        return "ok"

    return at_once([lambda index=index, choice=choice: answer(index, choice) for index, choice in enumerate(answers)])


@pytest.mark.parametrize("answers", [["not_received", "refunded"], ["received", "received"], ["refunded", "refunded"]])
def test_two_answers_at_once_one_wins(file_case, alice, bob, carol, answers):
    merchant_on_record()
    case = case_in_merchant_contact(file_case, {"alice": alice, "bob": bob, "carol": carol})
    contact = contact_with_link(case, alice)
    token = token_of(link_from_email(contact))

    results = _race(token, answers)

    assert results.count("ok") == 1, results
    loser = next(r for r in results if r != "ok")
    assert isinstance(loser, MerchantLinkRefused) and loser.reason in ("answered", "stage"), results
    winner = answers[results.index("ok")]
    assert CaseEvent.objects.filter(case=case, kind=EventKind.MERCHANT_RESPONSE).count() == 1
    assert MerchantContact.objects.get(pk=contact.pk).answer == winner
    expected = {"not_received": State.PROCESSOR_INQUIRY, "refunded": State.RESOLVED, "received": State.MERCHANT_CONTACT}
    assert Case.objects.get(pk=case.pk).state == expected[winner]
    assert CaseEvent.objects.filter(case=case, kind=EventKind.TRANSITION, actor_label="merchant").count() == (
        0 if winner == "received" else 1)
