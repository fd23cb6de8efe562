"""The customer's printable resolution letter, as a PDF (reportlab): how the
complaint ended — refunded (amount, payment date and reference, the date the
money should be on the card), resolved, or rejected with the reason — in the
customer's language (zh-hans or en). The card is named by its last 4 digits
only. Chinese is set in reportlab's built-in CID font ``STSong-Light`` (no font
file to ship); it sets Latin text too, so one font serves both languages.
"""
from __future__ import annotations

from io import BytesIO
from xml.sax.saxutils import escape

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from disputes.models import Case, CaseEvent, Refund, RefundStatus
from disputes.workflow.names import EventKind, State

FONT = "STSong-Light"
LETTER_STATES = (State.REFUNDED, State.RESOLVED, State.REJECTED)


def letter_outcome(case: Case) -> str | None:
    """How the case ended, if a letter tells it: its state, or for a closed case
    the ended state it was closed from; None for an open or withdrawn case."""
    if case.state in LETTER_STATES:
        return case.state
    if case.state != State.CLOSED:
        return None
    ended = (CaseEvent.objects.filter(case=case, kind=EventKind.TRANSITION, to_state__in=LETTER_STATES + (State.WITHDRAWN,))
             .order_by("-id").values_list("to_state", flat=True).first())
    return ended if ended in LETTER_STATES else None


def _outcome_lines(case: Case, outcome: str) -> list[str]:
    if outcome == State.REFUNDED:
        refund = Refund.objects.filter(case=case, status=RefundStatus.EXECUTED).order_by("-executed_at").first()
        if refund is not None:
            return [_("We have refunded %(amount)s %(currency)s to your card ending %(last4)s on %(paid)s "
                      "(payment reference %(reference)s). You should see the money on your card by %(date)s.")
                    % {"amount": refund.amount, "currency": refund.currency, "last4": case.card.last4,
                       "paid": timezone.localtime(refund.executed_at).date().isoformat(),
                       "reference": refund.execution_reference, "date": refund.expected_credit_on}]
    if outcome == State.RESOLVED:
        lines = [_("Your complaint is resolved: the money has been returned to your card.")]
        if case.verification is not None and case.verification.money_back_on:
            lines.append(_("Our records show it back on your card since %(date)s.")
                         % {"date": case.verification.money_back_on})
        return lines
    return [_("We could not uphold your complaint."),
            _("Reason: %(reason)s") % {"reason": case.rejection_reason}]


def resolution_letter_pdf(case: Case) -> bytes:
    """The letter for an ended ``case`` (``letter_outcome`` not None), as PDF bytes."""
    outcome = letter_outcome(case)
    if outcome is None:
        raise ValueError("no resolution letter for a case that has not ended in a resolution")
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    body = ParagraphStyle("body", fontName=FONT, fontSize=11, leading=17, wordWrap="CJK", spaceAfter=6)
    title = ParagraphStyle("title", parent=body, fontSize=16, leading=22, spaceAfter=12)
    with translation.override(case.customer.preferred_language):
        lines = [
            _("Dear %(name)s,") % {"name": case.customer.name},
            _("You told us about a card payment of %(amount)s %(currency)s on %(date)s at %(merchant)s, "
              "with your card ending %(last4)s.")
            % {"amount": case.amount, "currency": case.currency,
               "date": timezone.localtime(case.transaction_at).strftime("%Y-%m-%d %H:%M"),
               "merchant": case.merchant_name or case.merchant_id or "-", "last4": case.card.last4},
            *_outcome_lines(case, outcome),
            _("Case reference: %(reference)s") % {"reference": case.reference},
            _("Date of this letter: %(date)s") % {"date": timezone.localdate().isoformat()},
        ]
        heading = _("Resolution of your complaint")
        author = _("Card Disputes Team")
    out = BytesIO()
    document = SimpleDocTemplate(out, pagesize=A4, leftMargin=25 * mm, rightMargin=25 * mm, topMargin=25 * mm,
                                 bottomMargin=25 * mm, title=heading, author=author)
    story = [Paragraph(escape(heading), title)]
    story += [Paragraph(escape(str(line)), body) for line in lines]
    story += [Spacer(1, 10 * mm), Paragraph(escape(author), body)]
    document.build(story)
    return out.getvalue()
