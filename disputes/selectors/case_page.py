"""Everything the staff case page (/staff/cases/<reference>/) shows, in a fixed
number of queries whatever the length of the case's history: the case with
what it was matched to, its events, notes, attachments, refunds, merchant
contacts and processor inquiries."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from disputes.models import Attachment, Case, CaseEvent, CaseNote, MerchantContact, ProcessorInquiry, Refund
from disputes.selectors.cases import cases_visible_to, user_may_work_cases
from disputes.sla import clocks as sla
from disputes.workflow.names import EventKind

# What the page shows beside the case, joined in its one query.
CASE_PAGE_RELATED = (
    "customer", "card", "assignee", "resolved_merchant", "resolved_terminal__merchant", "processor",
    "ledger_entry", "settlement_record", "refund_proposed_by", "verification", "linked_to",
)


@dataclass
class CasePage:
    case: Case
    clocks: sla.CaseClocks
    events: list[CaseEvent]
    notes: list[CaseNote]
    attachments: list[Attachment]
    refunds: list[Refund]
    merchant_contacts: list[MerchantContact] = field(default_factory=list)
    processor_inquiries: list[ProcessorInquiry] = field(default_factory=list)
    extensions: list[CaseEvent] = field(default_factory=list)
    # The other complaints about the same debit that joined this case (one debit, one case).
    joined_by: list[Case] = field(default_factory=list)

    @property
    def merchant_attachment_ids(self) -> set[int]:
        """The files the merchant sent with its answer (its ``merchant_response`` events name them)."""
        return {attachment_id for event in self.events if event.kind == EventKind.MERCHANT_RESPONSE
                for attachment_id in event.payload.get("attachment_ids", [])}

    @property
    def first_extension_by_id(self) -> int | None:
        return self.extensions[0].actor_id if self.extensions else None


def case_for_staff(*, user, reference: str) -> Case:
    """The case to work on, for a staff page: PermissionDenied for someone outside
    the workspace, Http404 when no case has that reference."""
    if not user_may_work_cases(user):
        raise PermissionDenied
    case = cases_visible_to(user).select_related(*CASE_PAGE_RELATED).filter(reference=reference).first()
    if case is None:
        raise Http404(reference)
    return case


def case_page(*, user, reference: str, now: datetime | None = None) -> CasePage:
    case = case_for_staff(user=user, reference=reference)
    events = list(case.events.order_by("created_at", "id"))
    return CasePage(
        case=case,
        clocks=sla.case_clocks(case, now or timezone.now()),
        events=events,
        notes=list(case.notes.order_by("created_at", "id")),
        attachments=list(case.attachments.select_related("uploaded_by").order_by("uploaded_at", "id")),
        refunds=list(case.refunds.select_related("proposed_by", "first_approved_by", "decided_by").order_by("proposed_at", "id")),
        merchant_contacts=list(case.merchant_contacts.select_related("contacted_by").order_by("contacted_at", "id")),
        processor_inquiries=list(case.processor_inquiries.select_related("processor", "sent_by", "answered_by")
                                 .order_by("sent_at", "id")),
        extensions=[event for event in events if event.kind == EventKind.DEADLINE_EXTENDED],
        joined_by=list(case.linked_cases.only("pk", "reference", "state").order_by("created_at", "id")),
    )


def case_attachment(*, user, reference: str, attachment_id: int) -> Attachment:
    """One attachment of a case, for a staff download; Http404 if it is not that case's."""
    case = case_for_staff(user=user, reference=reference)
    attachment = case.attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404(attachment_id)
    return attachment
