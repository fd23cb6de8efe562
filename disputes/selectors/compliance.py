"""The compliance team's list: cases whose payment processor holds no payment
licence (the "二清" machines), newest first, for supervisors. No customer's
identity is in it: the transaction, the merchant and the processor."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from disputes.models import Case
from disputes.selectors.dashboard import user_may_see_dashboard

UNLICENSED_COLUMNS = ("reference", "state", "created_at", "processor__name", "merchant_id", "merchant_name",
                      "terminal_id", "amount", "currency")


def unlicensed_cases(*, user) -> QuerySet:
    """Every case whose processor is not licensed (rows of UNLICENSED_COLUMNS), newest first."""
    if not user_may_see_dashboard(user):
        raise PermissionDenied
    return (Case.objects.filter(processor__licensed=False).order_by("-created_at", "-id")
            .values_list(*UNLICENSED_COLUMNS))
