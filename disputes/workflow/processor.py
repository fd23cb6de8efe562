"""Processor inquiries: the bank asks the acquirer or payment institution
about a debit, and records its answer (docs/design.md, "Processor inquiry").

The due date is the processor's promised response time counted in business
days on the business calendar: ``PaymentProcessor.promised_response_hours``
rounded up to whole days of 24 hours (48 h → 2 business days, 36 h → 2), at
least one. The SLA sweep reminds DISPUTE_PROCESSOR_INQUIRY_REMINDER_LEAD
before it and raises the breach at it, each once (``sla.sweep``).
"""
from __future__ import annotations

import math
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from disputes.models import Case, ProcessorInquiry
from disputes.sla import clocks as sla
from disputes.workflow.actors import require_permission
from disputes.workflow.errors import TransitionNotAvailable
from disputes.workflow.events import record_event
from disputes.workflow.names import EventKind, State
from disputes.workflow.transitions import case_change, case_save, clean_note
from merchants.models import PaymentProcessor

REFERENCE_MAX_LENGTH = 40


def inquiry_business_days(processor: PaymentProcessor) -> int:
    """The processor's promised response time in whole business days (at least one)."""
    return max(1, math.ceil(processor.promised_response_hours / 24))


def inquiry_due_at(processor: PaymentProcessor, sent_at: datetime) -> datetime:
    return sla.business_calendar().add_working_days(sent_at, inquiry_business_days(processor))


def inquiry_alert_at(sent_at: datetime, due_at: datetime) -> datetime:
    """When the sweep first looks: the reminder, never before the inquiry was sent."""
    return max(sent_at, due_at - settings.DISPUTE_PROCESSOR_INQUIRY_REMINDER_LEAD)


def processor_inquiry_send(*, case: Case, actor, our_reference: str, question: str = "",
                           processor: PaymentProcessor | None = None) -> ProcessorInquiry:
    """Record an inquiry sent to the processor (the case's, or the one chosen,
    which then becomes the case's), while the case is in ``processor_inquiry``
    and no earlier inquiry waits for its answer."""
    require_permission(actor, "disputes.work_case")
    if case.state != State.PROCESSOR_INQUIRY:
        raise TransitionNotAvailable(_("An inquiry is sent while the case is in processor inquiry."))
    processor = processor or case.processor
    our_reference = (our_reference or "").strip()
    question = clean_note(question, field="question")
    errors = {}
    if processor is None:
        errors["processor"] = _("Choose the payment processor to ask.")
    if not our_reference:
        errors["our_reference"] = _("Enter our reference for this inquiry.")
    elif len(our_reference) > REFERENCE_MAX_LENGTH:
        errors["our_reference"] = _("A reference has at most %(n)s characters.") % {"n": REFERENCE_MAX_LENGTH}
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    due = inquiry_due_at(processor, now)
    try:
        with case_change(case):
            if case.processor_id is None:
                case.processor = processor
            case_save(case)
            with transaction.atomic():
                inquiry = ProcessorInquiry.objects.create(
                    case=case, processor=processor, our_reference=our_reference, question=question, sent_by=actor,
                    sent_at=now, due_at=due, alert_at=inquiry_alert_at(now, due))
            record_event(case, kind=EventKind.PROCESSOR_INQUIRY, actor=actor, message=question, payload={
                "inquiry_id": inquiry.pk, "processor": processor.name, "our_reference": inquiry.our_reference,
                "due_at": due.isoformat()})
    except IntegrityError:
        raise ValidationError({"our_reference": _("An earlier inquiry on this case still waits for its answer: "
                                                  "record that answer first.")}) from None
    return inquiry


def processor_inquiry_answer(*, case: Case, actor, answer: str) -> ProcessorInquiry:
    """Record the processor's answer to the case's open inquiry (while the case is open)."""
    require_permission(actor, "disputes.work_case")
    if not case.is_open:
        raise TransitionNotAvailable(_("Answers are recorded while the case is open."))
    answer = clean_note(answer, field="answer")
    if not answer:
        raise ValidationError({"answer": _("Enter what the processor answered.")})
    with case_change(case):
        inquiry = (ProcessorInquiry.objects.select_for_update()
                   .filter(case=case, answered_at__isnull=True).select_related("processor").first())
        if inquiry is None:
            raise TransitionNotAvailable(_("No inquiry of this case waits for an answer."))
        inquiry.answer, inquiry.answered_by, inquiry.answered_at, inquiry.alert_at = answer, actor, timezone.now(), None
        inquiry.save(update_fields=["answer", "answered_by", "answered_at", "alert_at"])
        case_save(case)
        record_event(case, kind=EventKind.PROCESSOR_RESPONSE, actor=actor, message=answer, payload={
            "inquiry_id": inquiry.pk, "processor": inquiry.processor.name, "our_reference": inquiry.our_reference,
            "late": inquiry.answered_at > inquiry.due_at})
    return inquiry
