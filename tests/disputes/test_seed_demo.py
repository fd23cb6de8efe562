import re
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from customers.models import Card, Customer, normalize_phone
from disputes import demo
from disputes.models import Case, CaseEvent, DebitCase, Notification, Refund, RefundStatus
from disputes.verification.checks import case_verify
from disputes.workflow.names import EventKind, Role, State
from merchants.models import Merchant, PaymentProcessor, Terminal, TerminalStatus
from transactions.models import LedgerEntry, OrphanDebit, SettlementRecord
from core.slip import validate_merchant_id, validate_terminal_id


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(*args: str) -> str:
    """The command as on a staging server (the tests run with DEBUG off, as production)."""
    out = StringIO()
    with translation.override("en"):
        call_command("seed_demo", "--even-with-debug-off", *args, stdout=out)
    return out.getvalue()


def test_with_debug_off_it_refuses_and_creates_nothing(db):
    """Production runs with DJANGO_DEBUG off: demo users of known names (a superuser among
    them) and made-up cases and ledger rows have no place there."""
    with translation.override("en"), pytest.raises(CommandError, match="DJANGO_DEBUG is off"):
        call_command("seed_demo", stdout=StringIO())
    with translation.override("en"), pytest.raises(CommandError, match="DJANGO_DEBUG is off"):
        call_command("seed_demo", "--reset-passwords", stdout=StringIO())
    assert not User.objects.filter(username__in=["root", "agent1", "supervisor1"]).exists()
    assert not Case.objects.exists() and not LedgerEntry.objects.exists()


def test_with_debug_on_it_seeds_without_being_told(db, settings, django_capture_on_commit_callbacks):
    settings.DEBUG = True  # the embedded demo of `make run`
    with django_capture_on_commit_callbacks(execute=False), translation.override("en"):
        call_command("seed_demo", stdout=StringIO())
    assert User.objects.filter(username="supervisor1").exists() and Case.objects.exists()


@pytest.fixture
def seeded(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        return seed()


def test_it_creates_a_user_of_each_role_and_prints_their_passwords(seeded):
    roles = {
        "agent1": Role.AGENT, "agent2": Role.AGENT, "supervisor1": Role.SUPERVISOR,
        "supervisor2": Role.SUPERVISOR, "callcenter1": Role.CALL_CENTER, "admin1": Role.ADMIN,
    }
    for username, role in roles.items():
        user = User.objects.get(username=username)
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert user.is_staff == (role != Role.CALL_CENTER)
        assert not user.is_superuser
        [line] = [line for line in seeded.splitlines() if line.split()[:1] == [username]]
        password = line.split()[-1]
        assert user.check_password(password)
    root = User.objects.get(username="root")
    assert root.is_superuser and root.is_staff


def test_it_files_fifty_cases_spread_over_every_state(seeded):
    assert Case.objects.count() == 50 + 1  # and the API guide's example case
    for state in State:
        assert Case.objects.filter(state=state).count() >= 3, state
    assert all(demo.DEMO_TAG in description for description in Case.objects.values_list("description", flat=True))


def test_every_case_has_its_filed_event_and_the_trail_of_its_transitions(seeded):
    for case in Case.objects.prefetch_related("events"):
        events = list(case.events.all())
        assert (events[0].kind, events[0].to_state) == (EventKind.FILED, State.SUBMITTED)
        state = State.SUBMITTED
        for event in events:
            if event.kind == EventKind.TRANSITION:
                assert event.from_state == state, case.reference
                state = event.to_state
        assert state == case.state, case.reference
        assert events[-1].case_version <= case.version


def test_the_workflow_steps_are_taken_by_the_actors_the_design_names(seeded):
    transitions = CaseEvent.objects.filter(kind=EventKind.TRANSITION)
    labels = lambda name: set(transitions.filter(transition=name).values_list("actor_label", flat=True))  # noqa: E731
    assert labels("start_verification") <= {"agent1", "agent2"}
    # Supervisors approve; the system's last approve_refund marks the refund paid (refund_pending → refunded).
    approvals = transitions.filter(transition="approve_refund")
    assert set(approvals.filter(to_state=State.REFUND_PENDING).values_list("actor_label", flat=True)) | labels(
        "decline_refund") | labels("reopen") <= {"supervisor1", "supervisor2"}
    assert set(approvals.filter(to_state=State.REFUNDED).values_list("actor_label", flat=True)) == {"system"}
    assert "customer" in labels("customer_info_received")
    assert "customer" in labels("withdraw") and "callcenter1" in labels("withdraw")
    assert "system" in labels("reversal_found") and "system" in labels("close")
    for refund in Refund.objects.exclude(decided_by=None):
        assert refund.decided_by_id != refund.proposed_by_id
    # Approved refunds are paid while seeding, as the worker would have.
    refunded = Case.objects.filter(state__in=[State.REFUNDED, State.CLOSED], refunds__isnull=False)
    assert refunded.exists()
    assert not Refund.objects.filter(status=RefundStatus.APPROVED).exists()
    assert Refund.objects.filter(status=RefundStatus.EXECUTED).count() >= refunded.count()


def test_it_makes_reference_data_and_transaction_records_of_the_fixed_shapes(seeded):
    assert Merchant.objects.count() == len(demo.MERCHANTS) + 1  # and the API guide's example merchant
    for merchant in Merchant.objects.all():
        validate_merchant_id(merchant.merchant_id)
    for terminal in Terminal.objects.all():
        validate_terminal_id(terminal.terminal_id)
    assert Terminal.objects.filter(status=TerminalStatus.FAULTY).exists()
    assert set(PaymentProcessor.objects.values_list("name", flat=True)) >= {"银联商务", "拉卡拉", "通联支付", "Sumpay"}
    assert all(len(licence) == 14 for licence in PaymentProcessor.objects.values_list("licence_number", flat=True))
    assert LedgerEntry.objects.filter(kind="debit").count() >= 50
    assert SettlementRecord.objects.filter(status="approved").exists()
    assert SettlementRecord.objects.filter(status="timeout").exists()


def test_seeding_queues_no_email(seeded):
    assert not Customer.objects.exclude(email="").exists()
    assert not Notification.objects.exists()


def test_a_second_run_creates_nothing_new_and_says_so(seeded, django_capture_on_commit_callbacks):
    tables = (User, Customer, Merchant, Terminal, PaymentProcessor, LedgerEntry, SettlementRecord, Case, CaseEvent)
    before = {model: model.objects.count() for model in tables}
    passwords = dict(User.objects.values_list("username", "password"))
    with django_capture_on_commit_callbacks(execute=False):
        output = seed()
    assert {model: model.objects.count() for model in tables} == before
    assert dict(User.objects.values_list("username", "password")) == passwords
    assert output.count("already exists, password unchanged") == len(demo.DEMO_USERS)
    assert "Demo data already present: nothing new created." in output


def test_reset_passwords_gives_the_existing_users_new_passwords(seeded, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        output = seed("--reset-passwords")
    [line] = [line for line in output.splitlines() if line.split()[:1] == ["agent1"]]
    assert "new password" in line
    assert User.objects.get(username="agent1").check_password(line.split()[-1])
    assert Case.objects.count() == 50 + 1


GUIDE = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_every_example_id_of_the_api_guide_exists_in_the_demo(seeded):
    """docs/api.md's requests work on a fresh demo as written: its merchant,
    terminal, customer, card, payment and case references are all there."""
    guide = GUIDE.read_text(encoding="utf-8")
    merchant_ids = set(re.findall(r"(?<![0-9])[0-9]{15}(?![0-9])", guide))
    references = set(re.findall(r"\bDD[0-9]{6}-[0-9A-Z]{6}\b", guide))
    phones = {normalize_phone(phone) for phone in re.findall(r"\+86[0-9 -]{11,15}[0-9]", guide)}
    terminals = set(re.findall(r'"terminal_id": "([0-9A-Za-z]{8})"', guide))
    rrns = set(re.findall(r'"rrn": "([0-9]{12})"', guide))
    last4s = set(re.findall(r'"card_last4": "([0-9]{4})"', guide)) | set(re.findall(r"card_last4=([0-9]{4})", guide))
    assert merchant_ids and references and phones and terminals and rrns and last4s, "the patterns find the examples"

    assert {m for m in merchant_ids if not Merchant.objects.filter(merchant_id=m).exists()} == set()
    assert {r for r in references if not Case.objects.filter(reference=r).exists()} == set()
    assert {p for p in phones if not Customer.objects.filter(phone=p).exists()} == set()
    assert {t for t in terminals if not Terminal.objects.filter(terminal_id=t, merchant__merchant_id__in=merchant_ids).exists()} == set()
    assert {r for r in rrns if not LedgerEntry.objects.filter(rrn=r, kind="debit").exists()} == set()
    assert {n for n in last4s if not Card.objects.filter(last4=n, customer__phone__in=phones).exists()} == set()
    case = Case.objects.get(reference__in=references)
    assert (case.state, case.version, case.channel) == (State.WITHDRAWN, 2, "api")


def test_the_demo_customers_have_the_bank_references_of_the_demo_ledger(seeded):
    refs = set(LedgerEntry.objects.filter(kind="debit").exclude(customer_ref__startswith="C000")
               .values_list("customer_ref", flat=True))
    known = set(Customer.objects.filter(verified=True, bank_ref__in=refs).values_list("bank_ref", flat=True))
    assert refs and refs == known


def test_reconcile_open_cases_on_the_demo_opens_the_orphans_nobody_complained_about(
        seeded, system, django_capture_on_commit_callbacks):
    complaints = list(Case.objects.values_list("pk", flat=True))
    for case in Case.objects.select_related("card", "customer"):
        case_verify(case=case, actor=system)  # what the worker does after each filing
    out = StringIO()
    with translation.override("en"), django_capture_on_commit_callbacks(execute=False):
        call_command("reconcile", "--as-of", timezone.now().isoformat(), "--open-cases", stdout=out)
    opened = Case.objects.exclude(pk__in=complaints)
    # The background orphans of demo customers; every complaint's debit already had its case.
    orphans = set(OrphanDebit.objects.values_list("entry__entry_id", flat=True))
    of_complaints = set(DebitCase.objects.filter(case__in=complaints).values_list("entry__entry_id", flat=True))
    assert set(opened.values_list("ledger_entry__entry_id", flat=True)) == orphans - of_complaints
    assert f"Cases: {opened.count()} opened, {len(orphans & of_complaints)} already open, 0 failed." in out.getvalue()
    assert opened.exists() and orphans & of_complaints
    assert all(case.channel == "auto" and case.verification.outcome == "orphan" and case.customer.verified
               for case in opened)
