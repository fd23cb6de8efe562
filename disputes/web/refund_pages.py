"""What the staff case page offers about a refund beyond the workflow steps: a
supervisor retries a failed payment (``/staff/cases/<reference>/refund/retry/``),
and the customer's resolution letter of an ended case as a PDF
(``/staff/cases/<reference>/letter.pdf``). Thin: the services decide."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from disputes.refunds.letters import letter_outcome, resolution_letter_pdf
from disputes.refunds.payment import refund_retry
from disputes.selectors.case_page import case_for_staff
from disputes.web.case_page import outcome
from disputes.web.workspace import refusal, workspace_view


@require_POST
@workspace_view
def case_retry_payment(request: HttpRequest, reference: str) -> HttpResponse:
    case = case_for_staff(user=request.user, reference=reference)
    return outcome(request, reference, "retry", lambda: refund_retry(case=case, actor=request.user),
                    lambda: _("The refund payment is being tried again."))


@require_GET
@workspace_view
def case_letter(request: HttpRequest, reference: str) -> HttpResponse:
    """The customer's resolution letter (refunded, resolved, rejected), to print or send."""
    case = case_for_staff(user=request.user, reference=reference)
    if letter_outcome(case) is None:
        return refusal(request, 409, _("A resolution letter exists only for a case refunded, resolved or rejected."))
    response = HttpResponse(resolution_letter_pdf(case), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="letter-{case.reference}.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
