"""The admin is a window on the data: every page answers within a bounded
number of queries, and a case changes only through the services."""
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.authtoken.models import Token

from disputes import demo
from disputes.workflow.casework import case_add_note, case_assign
from disputes.workflow.filing import case_file
from disputes.workflow.steps import case_transition
from disputes.delivery import webhooks
from disputes.admin.base import CASE_PAGE_EVENTS
from disputes.workflow.actors import CUSTOMER
from disputes.models import Attachment, CalendarOverride, Case, CaseEvent, CaseNote, Notification, Refund, SlaAlert
from disputes.sla.sweep import sla_sweep
from disputes.workflow.names import EventKind, State
from transactions.importing import records_import
from transactions.reconciliation import reconcile

# Every list and case page, whatever the number of rows: a per-row query would blow this.
MAX_QUERIES_PER_PAGE = 12
REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)
CASE_FILE_MODELS = {Case, CaseEvent, CaseNote, Attachment, Refund, Notification, SlaAlert}


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture(autouse=True)
def english(settings):
    """Pages in English (the messages below are matched as text)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def demo_data(db, django_capture_on_commit_callbacks, settings):
    """The demo data (fifty cases in every state), an e-mail and an attachment."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_capture_on_commit_callbacks(execute=False):
        # the API's records: a token, and a webhook endpoint that hears every filing and transition
        webhooks.webhook_endpoint_register(name="call center", url="https://callcenter.example/hooks")
        demo.demo_users_ensure()
        demo.demo_data_create()
        case = case_file(actor=CUSTOMER, channel="web", customer_name="张三", phone="+8613800138000",
                                  email="zhang@example.com", card_last4="1234", amount="128.50", currency="CNY",
                                  transaction_at=Case.objects.first().transaction_at).case
    Attachment.objects.create(case=case, file=f"cases/{case.reference}/0123456789abcdef", original_name="slip.jpg",
                              content_type="image/jpeg", size=1024, sha256="0123456789abcdef" * 4)
    CalendarOverride.objects.create(day=date(2026, 12, 31), is_working_day=False, note="Year-end closing")
    with django_capture_on_commit_callbacks(execute=False):
        sla_sweep(now=timezone.now() + timedelta(days=5))  # stage clocks breached; ended cases not yet quiet long enough to close
    Token.objects.create(user=User.objects.order_by("pk").first())
    assert Notification.objects.exists() and CaseNote.objects.exists() and Refund.objects.exists()
    assert SlaAlert.objects.exists()
    # the transaction records' history: an import of each sample file and a reconciliation
    for kind in ("ledger", "settlement"):
        with open(Path(settings.BASE_DIR) / "docs" / "samples" / f"{kind}.csv", "rb") as file:
            assert records_import(kind=kind, file=file, file_name=f"{kind}.csv").succeeded
    assert reconcile(as_of=timezone.now()).orphans


@pytest.fixture
def staff_bob(bob):
    bob.is_staff = True
    bob.save()
    return bob


@pytest.fixture
def bob_client(client, staff_bob):
    client.force_login(staff_bob)
    return client


# --- every page -------------------------------------------------------------------


def assert_every_page_answers(client, django_assert_max_num_queries, expected_status) -> None:
    failures = []
    for model in REGISTERED:
        obj = model._default_manager.order_by("-pk").first()
        for url in (admin_url(model, "changelist"), admin_url(model, "change", obj.pk)):
            with django_assert_max_num_queries(MAX_QUERIES_PER_PAGE, info=url):
                status = client.get(url).status_code
            if status != expected_status(model):
                failures.append(f"{url}: {status}")
    assert not failures, failures


def test_every_list_and_change_page_answers_a_superuser_within_bounded_queries(
    demo_data, admin_client, django_assert_max_num_queries
):
    assert_every_page_answers(admin_client, django_assert_max_num_queries, lambda model: 200)


def test_a_staff_supervisor_sees_the_case_file_and_nothing_else(demo_data, bob_client, django_assert_max_num_queries):
    assert_every_page_answers(
        bob_client, django_assert_max_num_queries, lambda model: 200 if model in CASE_FILE_MODELS else 403
    )


def test_the_case_list_searches_by_exact_reference_and_filters_by_state(demo_data, admin_client):
    case = Case.objects.filter(state=State.REFUNDED).exclude(rrn="").select_related("customer", "card").first()
    for term in (case.reference, case.reference.lower(), case.customer.phone, case.customer.phone.removeprefix("+86")):
        response = admin_client.get(admin_url(Case, "changelist"), {"q": term})
        assert case in response.context["cl"].result_list, term
        assert {c.customer.phone for c in response.context["cl"].result_list} == {case.customer.phone}, term
    for term, field in ((case.rrn, "rrn"), (case.merchant_id, "merchant_id")):
        response = admin_client.get(admin_url(Case, "changelist"), {"q": term})
        assert case in response.context["cl"].result_list
        assert {getattr(c, field) for c in response.context["cl"].result_list} == {term}
    response = admin_client.get(admin_url(Case, "changelist"), {"q": case.card.last4})
    assert case in response.context["cl"].result_list
    response = admin_client.get(admin_url(Case, "changelist"), {"state__exact": State.CLOSED})
    assert {c.state for c in response.context["cl"].result_list} == {State.CLOSED}


def test_the_case_page_links_to_all_its_events(case, admin_client, file_case):
    file_case()  # another case, whose events the link leaves out
    response = admin_client.get(admin_url(Case, "change", case.pk))
    content = response.content.decode()
    assert f"?case__id__exact={case.pk}" in content
    response = admin_client.get(admin_url(CaseEvent, "changelist"), {"case__id__exact": case.pk})
    assert response.status_code == 200
    assert {event.case_id for event in response.context["cl"].result_list} == {case.pk}


def test_the_case_page_lists_only_the_latest_events(case, admin_client, alice):
    for n in range(CASE_PAGE_EVENTS + 5):
        case_add_note(case=case, actor=alice, body=f"note {n}")
    response = admin_client.get(admin_url(Case, "change", case.pk))
    [events] = [f for f in response.context["inline_admin_formsets"] if f.opts.model is CaseEvent]
    shown = [form.instance for form in events.formset]
    assert len(shown) == CASE_PAGE_EVENTS
    assert shown[0] == CaseEvent.objects.filter(case=case).latest("created_at", "id")


# --- the case changes only through the services --------------------------------------------


def transition(client, case: Case, name: str, **data):
    data.setdefault("version", case.version)
    return client.post(admin_url(Case, "transition", case.pk), {"name": name, **data}, follow=True)


def test_the_case_page_offers_the_steps_the_user_may_take(case, bob_client):
    content = bob_client.get(admin_url(Case, "change", case.pk)).content.decode()
    assert 'data-transition="start_verification"' in content
    assert 'data-transition="withdraw"' in content
    assert 'data-transition="approve_refund"' not in content
    assert 'data-transition="close"' not in content
    response = bob_client.get(admin_url(Case, "transition", case.pk), {"name": "start_verification"})
    assert response.status_code == 200
    assert [name for name, _label in response.context["form"].fields["name"].widget.choices] == [
        "start_verification", "withdraw"]


def test_a_transition_goes_through_the_service_and_writes_its_event(case, bob_client, staff_bob):
    response = transition(bob_client, case, "start_verification", note="核实中")
    assert response.redirect_chain[-1][0] == admin_url(Case, "change", case.pk)
    case.refresh_from_db()
    assert (case.state, case.version) == (State.VERIFYING, 2)
    event = CaseEvent.objects.get(case=case, kind=EventKind.TRANSITION)
    assert (event.transition, event.actor, event.from_state, event.to_state, event.message) == (
        "start_verification", staff_bob, State.SUBMITTED, State.VERIFYING, "核实中")
    assert any("Start verification" in message for message in messages_of(response))


def test_a_refund_is_proposed_with_its_amount_and_a_rejection_needs_a_reason(case, bob_client):
    transition(bob_client, case, "start_verification")
    case.refresh_from_db()
    response = transition(bob_client, case, "reject")
    assert any("reason" in message for message in messages_of(response))
    case.refresh_from_db()
    assert case.state == State.VERIFYING
    transition(bob_client, case, "propose_refund", amount="100.00")
    case.refresh_from_db()
    assert (case.state, case.refund_amount) == (State.REFUND_PENDING, Decimal("100.00"))


def assert_unchanged(case: Case, response, expected_message: str) -> None:
    before = (case.state, case.version, CaseEvent.objects.filter(case=case).count())
    case.refresh_from_db()
    assert (case.state, case.version, CaseEvent.objects.filter(case=case).count()) == before
    assert any(expected_message in message for message in messages_of(response)), messages_of(response)


def test_a_step_the_role_may_not_take_shows_an_error_and_changes_nothing(case, client, erin):
    erin.is_staff = True
    erin.save()
    client.force_login(erin)  # the admin role views cases but does not work them
    response = transition(client, case, "start_verification")
    assert_unchanged(case, response, "You are not allowed to do this.")


def test_approving_ones_own_refund_shows_an_error_and_changes_nothing(case, bob_client, staff_bob):
    case_transition(case=case, name="start_verification", actor=staff_bob)
    case_transition(case=case, name="propose_refund", actor=staff_bob, amount="10.00")
    response = transition(bob_client, case, "approve_refund")
    assert_unchanged(case, response, "supervisor other than the one who proposed it")


def test_a_step_not_open_from_the_state_shows_an_error_and_changes_nothing(case, bob_client):
    response = transition(bob_client, case, "close")
    assert_unchanged(case, response, "not possible while the case is")


def test_a_step_from_a_stale_page_shows_an_error_and_changes_nothing(case, bob_client, alice):
    page_version = case.version
    case_assign(case=case, actor=alice, assignee=alice)
    case.refresh_from_db()
    response = transition(bob_client, case, "start_verification", version=page_version)
    assert_unchanged(case, response, "changed by someone else")


def test_posting_the_change_form_cannot_change_the_state(case, admin_client):
    response = admin_client.post(admin_url(Case, "change", case.pk),
                                 {"state": State.RESOLVED, "version": 7, "priority": 4})
    assert response.status_code == 403
    case.refresh_from_db()
    assert (case.state, case.version, case.priority) == (State.SUBMITTED, 1, 2)


def test_cases_cannot_be_added_or_deleted(case, admin_client):
    assert admin_client.get(admin_url(Case, "add")).status_code == 403
    assert admin_client.post(admin_url(Case, "delete", case.pk), {"post": "yes"}).status_code == 403
    assert Case.objects.filter(pk=case.pk).exists()


def test_the_assign_action_goes_through_the_service(case, bob_client, staff_bob):
    response = bob_client.post(admin_url(Case, "changelist"),
                               {"action": "assign_to_me", "_selected_action": [case.pk]}, follow=True)
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.assignee == staff_bob
    assert CaseEvent.objects.filter(case=case, kind=EventKind.ASSIGNMENT, actor=staff_bob).exists()


# --- the audit trail is read-only ------------------------------------------------------------


def test_a_case_event_cannot_be_changed_or_deleted(case, admin_client):
    event = CaseEvent.objects.get(case=case)
    before = (event.kind, event.message, event.created_at)
    assert admin_client.post(admin_url(CaseEvent, "change", event.pk), {"kind": "note", "message": "x"}).status_code == 403
    assert admin_client.get(admin_url(CaseEvent, "delete", event.pk)).status_code == 403
    assert admin_client.post(admin_url(CaseEvent, "delete", event.pk), {"post": "yes"}).status_code == 403
    assert admin_client.get(admin_url(CaseEvent, "add")).status_code == 403
    admin_client.post(admin_url(CaseEvent, "changelist"), {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"})
    event.refresh_from_db()
    assert (event.kind, event.message, event.created_at) == before


@pytest.fixture
def case_records(case, alice, django_capture_on_commit_callbacks):
    """One of each record a case's services write: a note, a refund, an e-mail; and an attachment."""
    with django_capture_on_commit_callbacks(execute=False):
        case_add_note(case=case, actor=alice, body="已联系商户")
        case_transition(case=case, name="start_verification", actor=alice)
        case_transition(case=case, name="propose_refund", actor=alice, amount="10.00")
    Attachment.objects.create(case=case, file=f"cases/{case.reference}/0123456789abcdef", original_name="slip.jpg",
                              content_type="image/jpeg", size=1024, sha256="0123456789abcdef" * 4)


@pytest.mark.parametrize("model", [CaseNote, Refund, Notification, Attachment], ids=lambda m: m._meta.label)
def test_the_records_written_by_services_are_read_only(case_records, admin_client, model):
    obj = model._default_manager.first()
    assert admin_client.get(admin_url(model, "add")).status_code == 403
    assert admin_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert admin_client.post(admin_url(model, "change", obj.pk), {}).status_code == 403
    assert model._default_manager.filter(pk=obj.pk).exists()



def test_the_event_list_names_states_and_steps_in_words(case, admin_client, alice):
    case_transition(case=case, name="start_verification", actor=alice)
    response = admin_client.get(admin_url(CaseEvent, "changelist"))
    content = response.content.decode()
    assert "Start verification" in content and "verifying" in content
    assert ">start_verification<" not in content
