"""Merchant contact: each attempt to reach the merchant, its signed answer
link, and the merchant's answer (docs/design.md, "Merchant contact").

- ``merchant_contact_record``: an agent records an attempt (channel, what was
  asked, outcome) while the case is in ``merchant_contact``; the merchant's
  response deadline is DISPUTE_MERCHANT_RESPONSE_DAYS business days later on
  the business calendar. A ``merchant_contact`` event. With ``send_link`` the
  merchant's contact address on record is e-mailed a signed link (outbox,
  sent after commit).
- The link ``/merchant/respond/<token>/``: ``django.core.signing`` with its own
  salt, carrying the case's and the attempt's ids, valid for
  DISPUTE_MERCHANT_LINK_MAX_AGE. ``merchant_link_open`` refuses (``MerchantLinkRefused``)
  a tampered token, an expired one, one whose attempt is not of the case it
  names, an attempt already answered, or a case no longer in
  ``merchant_contact``; refusals are counted per client address, and past
  DISPUTE_MERCHANT_LINK_FAILURES_PER_ADDRESS in the tracking page's window the
  address is refused before anything is checked (``MerchantLinkLimited``).
- ``merchant_answer``: the answer, once per attempt (the attempt's row is
  locked, then the case's), with a comment and evidence files (the rules of
  every attachment): a ``merchant_response`` event, an e-mail to the case's
  assignee, then the step it drives,
  taken as the merchant: "already refunded" → ``merchant_refunded``; "did not
  receive" → ``escalate_to_processor``; "received" → no step: the merchant
  holds the money and the case stays with its agent, who follows it up (a
  refund by the merchant, or a refund proposal).
"""
from __future__ import annotations

import hashlib
import math
import time
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from disputes.delivery import outbox
from disputes.delivery.outbox import enqueue_after_commit
from disputes.models import Case, ContactChannel, MerchantAnswer, MerchantContact, Notification
from disputes.sla import clocks as sla
from disputes.workflow.actors import MERCHANT, require_permission
from disputes.workflow.casework import case_attach
from disputes.workflow.errors import CaseError, TransitionNotAvailable
from disputes.workflow.events import record_event
from disputes.workflow.names import NOTE_MAX_LENGTH, EventKind, State
from disputes.workflow.transitions import case_change, case_save, clean_note, take_step

LINK_SALT = "disputes.merchant-respond"
# The step each answer drives; "received" drives none (the agent follows up).
ANSWER_STEPS = {MerchantAnswer.REFUNDED: "merchant_refunded", MerchantAnswer.NOT_RECEIVED: "escalate_to_processor"}


class MerchantLinkRefused(CaseError):
    """The merchant's link cannot be used; ``reason`` says why (one of REASONS)."""

    REASONS = {
        "invalid": gettext_lazy("This link is not valid. Use the link exactly as it was sent to you by e-mail."),
        "expired": gettext_lazy("This link has expired. Please contact the bank for a new one."),
        "mismatch": gettext_lazy("This link does not belong to this case. Use the link exactly as it was sent to you."),
        "answered": gettext_lazy("This question has already been answered. Thank you: nothing more is needed."),
        "stage": gettext_lazy("The bank no longer needs an answer to this question: the case has moved on."),
    }
    STATUS = {"invalid": 400, "expired": 410, "mismatch": 400, "answered": 409, "stage": 409}

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(self.REASONS[reason])

    @property
    def status(self) -> int:
        return self.STATUS[self.reason]


class MerchantLinkLimited(CaseError):
    """Too many refused links from this address: refused before anything is checked."""

    default_message = gettext_lazy("Too many links that could not be used were opened from your address. "
                                   "Please try again later.")

    def __init__(self, retry_after: int):
        super().__init__()
        self.retry_after = retry_after


# --- recording an attempt --------------------------------------------------------------


def merchant_response_due_at(contacted_at: datetime) -> datetime:
    """The merchant's response deadline: DISPUTE_MERCHANT_RESPONSE_DAYS business days later."""
    return sla.business_calendar().add_working_days(contacted_at, settings.DISPUTE_MERCHANT_RESPONSE_DAYS)


def merchant_link_token(contact: MerchantContact) -> str:
    return signing.dumps({"case": contact.case_id, "contact": contact.pk}, salt=LINK_SALT)


def merchant_link_url(token: str) -> str:
    return settings.DISPUTE_PUBLIC_BASE_URL.rstrip("/") + reverse("merchant-respond", args=[token])


def _link_email(case: Case, contact: MerchantContact, token: str) -> Notification:
    with translation.override(settings.LANGUAGE_CODE):
        due = timezone.localtime(contact.response_due_at, sla.business_calendar().tz).strftime("%Y-%m-%d %H:%M")
        subject = _("[%(reference)s] A card payment at your shop: please answer by %(due)s") % {
            "reference": case.reference, "due": due}
        body = "\n\n".join([
            _("A cardholder says a payment of %(amount)s %(currency)s at your shop on %(at)s failed at the terminal "
              "but the card was debited.") % {"amount": case.amount, "currency": case.currency,
                                               "at": timezone.localtime(case.transaction_at).strftime("%Y-%m-%d %H:%M")},
            contact.asked,
            _("Tell us whether you received the money, did not receive it, or have already refunded the customer, "
              "with any evidence, at this link (no account needed; valid for %(days)s days):")
            % {"days": settings.DISPUTE_MERCHANT_LINK_MAX_AGE.days},
            merchant_link_url(token),
            _("Please answer by %(due)s.") % {"due": due},
        ])
    return Notification.objects.create(case=case, recipient=contact.link_sent_to, subject=subject[:200], body=body)


def merchant_contact_record(*, case: Case, actor, channel: str, asked: str, outcome: str = "",
                            send_link: bool = False) -> MerchantContact:
    """Record an attempt to reach the merchant (agents and supervisors, while the
    case is in ``merchant_contact``); with ``send_link`` e-mail the merchant its
    answer link at the contact address on record."""
    require_permission(actor, "disputes.work_case")
    if case.state != State.MERCHANT_CONTACT:
        raise TransitionNotAvailable(_("Merchant contacts are recorded while the case is in merchant contact."))
    errors = {}
    if channel not in ContactChannel.values:
        errors["channel"] = _("Choose how the merchant was contacted.")
    asked = clean_note(asked, field="asked")
    outcome = clean_note(outcome, field="outcome")
    if not asked:
        errors["asked"] = _("Say what was asked of the merchant.")
    merchant = case.resolved_merchant
    address = (merchant.contact_email if merchant else "") if send_link else ""
    if send_link and not address:
        errors["send_link"] = _("The merchant has no contact e-mail address on record: the link cannot be sent.")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with case_change(case):
        case_save(case)
        contact = MerchantContact.objects.create(
            case=case, channel=channel, contacted_by=actor, contacted_at=now, asked=asked, outcome=outcome,
            response_due_at=merchant_response_due_at(now), link_sent_to=address,
        )
        record_event(case, kind=EventKind.MERCHANT_CONTACT, actor=actor, message=asked, payload={
            "contact_id": contact.pk, "channel": channel, "outcome": contact.outcome,
            "response_due_at": contact.response_due_at.isoformat(), "link_sent_to": address,
        })
        if address:
            notification = _link_email(case, contact, merchant_link_token(contact))
            enqueue_after_commit(outbox.DELIVER_NOTIFICATION, notification.pk)
    return contact


# --- the merchant's link ---------------------------------------------------------------

_LIMIT_PREFIX = "merchant-link-failures"


def _limit_key(client_address: str) -> str:
    return f"{_LIMIT_PREFIX}:{hashlib.sha256((client_address or 'unknown').encode()).hexdigest()[:32]}"


def _window_seconds() -> int:
    return max(1, int(settings.DISPUTE_TRACKING_FAILURE_WINDOW.total_seconds()))


def _check_limit(client_address: str) -> None:
    until = cache.get(_limit_key(client_address) + ":until")
    if (cache.get(_limit_key(client_address)) or 0) >= settings.DISPUTE_MERCHANT_LINK_FAILURES_PER_ADDRESS:
        raise MerchantLinkLimited(max(1, math.ceil((until or time.time() + _window_seconds()) - time.time())))


def _count_failure(client_address: str) -> None:
    key, window = _limit_key(client_address), _window_seconds()
    if cache.add(key, 1, timeout=window):
        cache.set(key + ":until", time.time() + window, timeout=window)
        return
    try:
        cache.incr(key)
    except ValueError:  # expired meanwhile: a new window
        cache.set(key, 1, timeout=window)
        cache.set(key + ":until", time.time() + window, timeout=window)


def _contact_for(token: str, *, lock: bool = False) -> MerchantContact:
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=settings.DISPUTE_MERCHANT_LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise MerchantLinkRefused("expired") from None
    except signing.BadSignature:
        raise MerchantLinkRefused("invalid") from None
    if not (isinstance(data, dict) and isinstance(data.get("case"), int) and isinstance(data.get("contact"), int)):
        raise MerchantLinkRefused("invalid")
    contacts = MerchantContact.objects.select_related("case__card", "case__customer", "case__resolved_merchant")
    if lock:
        contacts = contacts.select_for_update(of=("self",))
    contact = contacts.filter(pk=data["contact"]).first()
    if contact is None or contact.case_id != data["case"]:
        raise MerchantLinkRefused("mismatch")
    if contact.answered_at is not None:
        raise MerchantLinkRefused("answered")
    if contact.case.state != State.MERCHANT_CONTACT:
        raise MerchantLinkRefused("stage")
    return contact


def merchant_link_open(*, token: str, client_address: str) -> MerchantContact:
    """The attempt a merchant's link answers (with its case), or MerchantLinkRefused
    (counted) / MerchantLinkLimited. Changes nothing."""
    _check_limit(client_address)
    try:
        return _contact_for(token)
    except MerchantLinkRefused:
        _count_failure(client_address)
        raise


def _tell_assignee(case: Case, contact: MerchantContact) -> None:
    """The agent on the case hears of the answer by e-mail (staff e-mails are in the default language)."""
    assignee = case.assignee
    if assignee is None or not assignee.email:
        return
    with translation.override(settings.LANGUAGE_CODE):
        label = MerchantAnswer(contact.answer).label
        subject = _("[%(reference)s] The merchant answered: %(answer)s") % {"reference": case.reference, "answer": label}
        body = "\n\n".join(filter(None, [subject, contact.answer_comment]))
    notification = Notification.objects.create(case=case, recipient=assignee.email, subject=subject[:200], body=body)
    enqueue_after_commit(outbox.DELIVER_NOTIFICATION, notification.pk)


def merchant_answer(*, token: str, answer: str, comment: str = "", uploads=(), client_address: str) -> MerchantContact:
    """Record the merchant's answer once and take the step it drives; all or
    nothing (the answer, its files, its event, the step)."""
    _check_limit(client_address)
    if answer not in MerchantAnswer.values:
        raise ValidationError({"answer": _("Choose one of the three answers.")})
    comment = clean_note(comment, field="comment")
    try:
        with transaction.atomic():
            # The attempt's row first (a second answer waits, then finds it answered),
            # then the case's (an answer to another attempt waits, then finds the case moved on).
            contact = _contact_for(token, lock=True)
            case = Case.objects.select_for_update(of=("self",)).select_related("customer", "assignee").get(
                pk=contact.case_id)
            if case.state != State.MERCHANT_CONTACT:
                raise MerchantLinkRefused("stage")
            now = timezone.now()
            contact.answer, contact.answer_comment, contact.answered_at = answer, comment, now
            contact.save(update_fields=["answer", "answer_comment", "answered_at"])
            attachments = [case_attach(case=case, actor=MERCHANT, upload=upload, content_type=upload.content_type)
                           for upload in uploads]
            with case_change(case):
                case_save(case)
                record_event(case, kind=EventKind.MERCHANT_RESPONSE, actor=MERCHANT, message=comment, payload={
                    "contact_id": contact.pk, "answer": answer, "attachment_ids": [a.pk for a in attachments]})
            _tell_assignee(case, contact)
            step = ANSWER_STEPS.get(answer)
            if step:
                with translation.override(settings.LANGUAGE_CODE):  # the staff's language, not the merchant's
                    note = str(MerchantAnswer(answer).label) + (f": {comment}" if comment else "")
                take_step(case=case, name=step, actor=MERCHANT, note=note[:NOTE_MAX_LENGTH])
    except MerchantLinkRefused:
        _count_failure(client_address)
        raise
    return contact
