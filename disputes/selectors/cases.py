"""Reads of cases: who may see them, one case, its events, customers and
merchants looked up by the API, and the customer's public pages."""
from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from customers.models import Card, Customer, normalize_phone, validate_phone
from disputes.models import Attachment, Case, CaseEvent, CaseNote, NoteVisibility
from disputes.sla import clocks as sla
from disputes.workflow.names import Role
from merchants.models import Merchant


def user_may_view_cases(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm("disputes.view_case"))


def user_may_work_cases(user) -> bool:
    """Agents and supervisors: the staff workspace (/staff/) is theirs."""
    return bool(user and user.is_authenticated and user.has_perm("disputes.work_case"))


def staff_assignees() -> QuerySet:
    """Who a case may be given to: active agents and supervisors, by username."""
    return (get_user_model().objects.filter(is_active=True, groups__name__in=[Role.AGENT, Role.SUPERVISOR])
            .distinct().order_by("username"))


def cases_visible_to(user) -> QuerySet[Case]:
    """Staff with the view permission see every case; anyone else none."""
    if not user.has_perm("disputes.view_case"):
        return Case.objects.none()
    return Case.objects.all()


def case_list(*, user) -> QuerySet[Case]:
    """The cases ``user`` may see, newest first, with what a list row shows
    joined in (the API's list; filters narrow it further)."""
    return (cases_visible_to(user).select_related("customer", "card", "assignee", "verification", "linked_to")
            .order_by("-created_at", "-id"))


def case_get(*, user, reference: str) -> Case:
    """One case by reference, or Http404 when it does not exist or is not visible."""
    case = case_list(user=user).filter(reference=reference).first()
    if case is None:
        raise Http404(reference)
    return case


def case_search_q(term: str) -> Q:
    """The cases a search term names, read by its shape so that one indexed
    column answers it (never an OR over joined columns, which would scan
    millions of cases): a phone number (+86… or 11 digits), a card's last 4
    digits, an RRN (12 digits), a merchant id (15 digits), else a reference."""
    term = "".join((term or "").split())
    phone = normalize_phone(term)
    if phone.startswith("+") or (phone.isdigit() and len(phone) == 11):
        phones = [phone] if phone.startswith("+") else [phone, f"+86{phone}"]
        return Q(customer__in=Customer.objects.filter(phone__in=phones).values("pk"))
    if term.isdigit() and len(term) == 4:
        return Q(card__in=Card.objects.filter(last4=term).values("pk"))
    if term.isdigit() and len(term) == 12:
        return Q(rrn=term)
    if term.isdigit() and len(term) == 15:
        return Q(merchant_id=term)
    return Q(reference=term.upper())


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


# --- the call center's webhook endpoints ------------------------------------------


def case_for_customer_session(case_id) -> Case | None:
    """The case a customer looked up earlier in this session (its id is kept there)."""
    if not isinstance(case_id, int):
        return None
    return Case.objects.select_related("customer", "card", "verification").filter(pk=case_id).first()


def case_customer_notes(*, case: Case) -> QuerySet[CaseNote]:
    """Only the notes meant for the customer, oldest first."""
    return case.notes.filter(visibility=NoteVisibility.CUSTOMER).order_by("created_at", "id")


def case_customer_evidence(*, case: Case) -> QuerySet[Attachment]:
    """The files the customer sent (the public pages), oldest first: names and sizes only."""
    return case.attachments.filter(uploaded_by__isnull=True).order_by("uploaded_at", "id").only(
        "original_name", "size", "uploaded_at")
