"""What the staff case page posts about the other parties: a merchant contact
attempt (and its answer link), a processor inquiry and its answer. Thin, like
``case_page``: the rules are in ``workflow.merchant`` and ``workflow.processor``."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from disputes.selectors.case_page import case_for_staff
from disputes.selectors.queue import payment_processors
from disputes.web.case_page import changed_meanwhile, invalid, outcome
from disputes.web.staff_forms import InquiryAnswerForm, InquirySendForm, MerchantContactForm
from disputes.web.workspace import workspace_view
from disputes.workflow.merchant import merchant_contact_record
from disputes.workflow.processor import processor_inquiry_answer, processor_inquiry_send


@require_POST
@workspace_view
def merchant_contact(request: HttpRequest, reference: str) -> HttpResponse:
    case = case_for_staff(user=request.user, reference=reference)
    form = MerchantContactForm(request.POST)
    if not form.is_valid():
        return invalid(request, reference, "contact", form)
    changed_meanwhile(request, form, case)
    data = form.cleaned_data

    def done() -> str:
        return (_("Contact recorded; the answer link is sent to the merchant.") if data["send_link"]
                else _("Contact recorded."))

    return outcome(request, reference, "contact", lambda: merchant_contact_record(
        case=case, actor=request.user, channel=data["channel"], asked=data["asked"], outcome=data["outcome"],
        send_link=data["send_link"]), done)


@require_POST
@workspace_view
def inquiry_send(request: HttpRequest, reference: str) -> HttpResponse:
    case = case_for_staff(user=request.user, reference=reference)
    form = InquirySendForm(request.POST, processors=payment_processors())
    if not form.is_valid():
        return invalid(request, reference, "inquiry", form)
    changed_meanwhile(request, form, case)
    data = form.cleaned_data
    return outcome(request, reference, "inquiry", lambda: processor_inquiry_send(
        case=case, actor=request.user, processor=data["processor"], our_reference=data["our_reference"],
        question=data["question"]), lambda: _("Inquiry recorded."))


@require_POST
@workspace_view
def inquiry_answer(request: HttpRequest, reference: str) -> HttpResponse:
    case = case_for_staff(user=request.user, reference=reference)
    form = InquiryAnswerForm(request.POST)
    if not form.is_valid():
        return invalid(request, reference, "inquiry-answer", form)
    changed_meanwhile(request, form, case)
    return outcome(request, reference, "inquiry-answer", lambda: processor_inquiry_answer(
        case=case, actor=request.user, answer=form.cleaned_data["answer"]), lambda: _("The processor's answer is recorded."))
