"""Extending a case's overall deadline (a supervisor's step with rules of its own)."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.cardguard import mask_card_numbers
from disputes.delivery.notifications import notify_customer
from disputes.models import Case
from disputes.sla import clocks as sla
from disputes.workflow.errors import ActionForbidden, TransitionNotAvailable
from disputes.workflow.events import record_event
from disputes.workflow.names import NOTE_MAX_LENGTH, EventKind, State
from disputes.workflow.transitions import case_change, case_save


def case_extend_deadline(*, case: Case, actor, reason: str, expected_version: int | None = None) -> Case:
    """Extend the overall deadline (a supervisor, with a reason): first up to the
    extended length for complex cases (30 days), then once more by a further 30
    days with internal approval — a supervisor other than the one who granted the
    first. Recorded as a ``deadline_extended`` event; the customer is told why."""
    if not actor.has_perm("disputes.supervise_case"):
        raise ActionForbidden(_("Only a supervisor may extend the deadline."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for extending the deadline.")})
    if len(reason) > NOTE_MAX_LENGTH:
        raise ValidationError({"reason": _("A reason has at most %(n)s characters.") % {"n": NOTE_MAX_LENGTH}})
    reason = mask_card_numbers(reason)
    with case_change(case, expected_version=expected_version):
        if not case.is_open or case.final_due_at is None:
            raise TransitionNotAvailable(_("Only the deadline of an open case can be extended."))
        if case.deadline_extensions >= 2:
            raise TransitionNotAvailable(_("The deadline has already been extended twice."))
        extension = case.deadline_extensions + 1
        if extension == 2:
            first = case.events.filter(kind=EventKind.DEADLINE_EXTENDED).order_by("-id").first()
            if first is not None and first.actor_id == actor.pk:
                raise ActionForbidden(_("The second extension must be approved by another supervisor."))
        before = case.final_due_at
        now = timezone.now()
        after = sla.extended_final_due_at(case, extension=extension)
        if case.state == State.AWAITING_CUSTOMER and case.final_remaining is not None:
            # Paused: lengthen what is left; the deadline is set again on resume.
            case.final_remaining += sla.extension_length(extension)
        else:
            case.final_alert_at = sla.final_alert_at(after, now)
        case.final_due_at = after
        case.deadline_extensions = extension
        case_save(case)
        record_event(
            case, kind=EventKind.DEADLINE_EXTENDED, actor=actor, message=reason,
            payload={"extension": extension, "from": before.isoformat(), "to": after.isoformat(), "reason": reason},
        )
        with translation.override(case.customer.preferred_language):
            due_text = timezone.localtime(after, sla.business_calendar().tz).strftime("%Y-%m-%d")
            notify_customer(
                case, _("We need more time for your complaint"),
                [_("We need more time to answer your complaint. We will answer by %(due)s.") % {"due": due_text},
                 _("The reason: %(reason)s") % {"reason": reason}],
            )
    return case
