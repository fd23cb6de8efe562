"""Reads: what a user may see, shaped for the page or API that shows it.

Views and the API never query ``Case`` directly; they start from here.
"""
from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import Http404

from customers.models import Customer, normalize_phone, validate_phone
from disputes.models import Case, CaseEvent, CaseNote, NoteVisibility
from disputes.sla import clocks as sla
from disputes.workflow.names import OPEN_STATES
from merchants.models import Merchant


def user_may_view_cases(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm("disputes.view_case"))


def cases_visible_to(user) -> QuerySet[Case]:
    """Staff with the view permission see every case; anyone else none."""
    if not user.has_perm("disputes.view_case"):
        return Case.objects.none()
    return Case.objects.all()


def open_case_queue(user, *, limit: int = 50) -> QuerySet[Case]:
    """The open cases, the most urgent stage deadline first (one query)."""
    return (
        cases_visible_to(user)
        .filter(state__in=OPEN_STATES)
        .select_related("customer", "card", "assignee")
        .order_by("sla_due_at", "id")[:limit]
    )


def case_list(*, user) -> QuerySet[Case]:
    """The cases ``user`` may see, newest first, with what a list row shows
    joined in (the API's list; filters narrow it further)."""
    return (cases_visible_to(user).select_related("customer", "card", "assignee", "verification")
            .order_by("-created_at", "-id"))


def case_get(*, user, reference: str) -> Case:
    """One case by reference, or Http404 when it does not exist or is not visible."""
    case = case_list(user=user).filter(reference=reference).first()
    if case is None:
        raise Http404(reference)
    return case


def case_filter_overdue(queryset: QuerySet[Case], overdue: bool, *, now: datetime | None = None) -> QuerySet[Case]:
    """Overdue as the SLA clocks read it (``sla.overdue_q``): open, not paused, past a deadline."""
    condition = sla.overdue_q(now)
    return queryset.filter(condition) if overdue else queryset.exclude(condition)


def case_events(*, case: Case) -> QuerySet[CaseEvent]:
    return case.events.order_by("created_at", "id")


def customer_lookup(*, user, phone: str) -> QuerySet[Customer]:
    """Customers with this phone number (normalised as at filing), their cards
    and cases. Raises ValidationError when ``phone`` is not a phone number."""
    if not user_may_view_cases(user):
        return Customer.objects.none()
    phone = normalize_phone(phone)
    try:
        validate_phone(phone)
    except ValidationError as exc:
        raise ValidationError({"phone": exc.messages}) from None
    return Customer.objects.filter(phone=phone).prefetch_related(
        "cards", Prefetch("cases", queryset=Case.objects.order_by("-created_at", "-id")))


def merchant_get(*, user, merchant_id: str) -> Merchant:
    if not user_may_view_cases(user):
        raise Http404(merchant_id)
    merchant = Merchant.objects.filter(merchant_id=merchant_id).prefetch_related("terminals").first()
    if merchant is None:
        raise Http404(merchant_id)
    return merchant


# --- the customer's public pages -------------------------------------------------



def case_for_customer_session(case_id) -> Case | None:
    """The case a customer looked up earlier in this session (its id is kept there)."""
    if not isinstance(case_id, int):
        return None
    return Case.objects.select_related("customer", "card", "verification").filter(pk=case_id).first()


def case_customer_notes(*, case: Case) -> QuerySet[CaseNote]:
    """Only the notes meant for the customer, oldest first."""
    return case.notes.filter(visibility=NoteVisibility.CUSTOMER).order_by("created_at", "id")
