"""Reads: what a user may see, shaped for the page or API that shows it."""
from __future__ import annotations

from django.db.models import QuerySet

from .models import Case
from .workflow import OPEN_STATES


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
