"""Paying an approved refund, once."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from disputes.models import Refund, RefundStatus
from disputes.workflow.actors import system_user
from disputes.workflow.events import record_event
from disputes.workflow.names import EventKind


def refund_execute(*, refund_id: int) -> bool:
    """Pay an approved refund, once. The payment reference is derived from the
    refund id, so the bank's payment system can de-duplicate a retry."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().filter(pk=refund_id, status=RefundStatus.APPROVED).first()
        if refund is None:
            return False
        refund.status = RefundStatus.EXECUTED
        refund.executed_at = timezone.now()
        refund.execution_reference = f"RF{refund.pk:012d}"
        refund.save(update_fields=["status", "executed_at", "execution_reference"])
        record_event(
            refund.case, kind=EventKind.REFUND, actor=system_user(),
            message=_("Refund paid"),
            payload={"refund_id": refund.pk, "amount": str(refund.amount), "currency": refund.currency,
                     "execution_reference": refund.execution_reference},
        )
    return True
