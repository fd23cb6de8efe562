"""Every change to a case goes through one of these functions.

Each is atomic, checks the actor's permission, changes the case through its
state machine, writes the ``CaseEvent`` in the same transaction, and schedules
side effects (e-mails, refund payment) with ``transaction.on_commit`` through
the outbox, so nothing leaves the database before it commits.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.cardguard import mask_card_numbers
from customers.models import Card, CardScheme, Customer, Language, normalize_phone
from merchants.models import Merchant, Terminal
from core.money import parse_amount

from disputes.sla import clocks as sla
from disputes.workflow.actors import CustomerActor, actor_label, actor_user
from disputes.workflow.errors import ActionForbidden, StaleCase, TransitionNotAvailable, TransitionUnknown
from disputes.delivery import outbox
from disputes.delivery.outbox import enqueue_after_commit
from disputes.delivery.webhooks import webhook_deliveries_for_event
from disputes.models import (
    TRANSITION_NAMES, Attachment, Case, CaseEvent, CaseNote, Notification, NotificationStatus, NoteVisibility, Refund,
    RefundStatus,
)
from disputes.workflow.names import CUSTOMER_WORDING, ENDED_STATES, TRANSITION_LABELS, Channel, EventKind, Role, State

NOTE_MAX_LENGTH = 5000
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
TRACKING_CODE_LENGTH = 10


# --- references and tracking codes -------------------------------------------


def _random_code(length: int) -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(length))


def _new_reference(now: datetime) -> str:
    return f"DD{timezone.localtime(now):%y%m%d}-{_random_code(6)}"


def normalize_tracking_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


def tracking_code_hash(code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, normalize_tracking_code(code).encode(), hashlib.sha256).hexdigest()


def tracking_code_matches(case: Case, code: str) -> bool:
    return hmac.compare_digest(case.tracking_code_hash, tracking_code_hash(code))


# --- events and side effects ----------------------------------------------------


def record_event(
    case: Case,
    *,
    kind: str,
    actor,
    message: str = "",
    transition: str = "",
    from_state: str = "",
    to_state: str = "",
    payload: dict | None = None,
) -> CaseEvent:
    event = CaseEvent.objects.create(
        case=case,
        kind=kind,
        actor=actor_user(actor),
        actor_label=actor_label(actor),
        transition=transition,
        from_state=from_state,
        to_state=to_state,
        message=message,
        payload=payload or {},
        case_version=case.version,
    )
    webhook_deliveries_for_event(event)  # state changes reach the call center's webhook (outbox)
    return event


def notify_customer(case: Case, subject: str, lines: list[str]) -> None:
    customer = case.customer
    if not customer.email:
        return
    body = "\n\n".join([*lines, _("Reference: %(reference)s") % {"reference": case.reference},
                        _("Follow your case at %(url)s") % {"url": f"{settings.DISPUTE_PUBLIC_BASE_URL}/complaints/track/"}])
    notification = Notification.objects.create(
        case=case, recipient=customer.email, subject=f"[{case.reference}] {subject}", body=body
    )
    enqueue_after_commit(outbox.DELIVER_NOTIFICATION, notification.pk)


# --- filing -----------------------------------------------------------------------



def _customer_for_filing(*, channel: str, name: str, phone: str, email: str, preferred_language: str) -> Customer:
    """Whose complaint this is (docs/design.md, "Customers and contact details").

    On the public form nobody proved who they are: the complaint gets a new,
    unverified customer record with exactly the details typed, and never reads
    or changes an existing record, so knowing a customer's phone number gives
    neither their name, nor their cases, nor their e-mails. The call center and
    the branch identify the caller first: their filings join the verified
    customer with that phone (made on the first such filing), and may give it an
    e-mail address only where it has none. Staff join records with
    ``customer_merge``."""
    details = dict(name=(name or "").strip(), phone=phone, email=email or "", preferred_language=preferred_language)
    if channel == Channel.WEB:
        return Customer(**details, verified=False)
    customer = Customer.objects.filter(phone=phone, verified=True).first()
    if customer is None:
        return Customer(**details, verified=True)
    if email and not customer.email:
        customer.email = email
    return customer


@dataclass(frozen=True)
class FiledCase:
    case: Case
    tracking_code: str  # shown once to whoever filed; only its HMAC is stored


def _require_permission(actor, perm: str) -> None:
    if not actor.has_perm(perm):
        raise ActionForbidden()


def case_file(
    *,
    actor,
    channel: str,
    customer_name: str,
    phone: str,
    card_last4: str,
    amount: Decimal | str,
    currency: str,
    transaction_at: datetime,
    email: str = "",
    preferred_language: str = Language.ZH_HANS,
    card_scheme: str = CardScheme.UNIONPAY,
    card_bin: str = "",
    merchant_name: str = "",
    merchant_id: str = "",
    terminal_id: str = "",
    rrn: str = "",
    stan: str = "",
    auth_code: str = "",
    description: str = "",
) -> FiledCase:
    """File a complaint from any channel. Raises ValidationError on bad input
    (with per-field messages) and ActionForbidden when the actor may not file."""
    if channel not in Channel.values:
        raise ValidationError({"channel": _("Unknown channel.")})
    if channel == Channel.WEB:
        if not isinstance(actor, CustomerActor):
            raise ActionForbidden()
    elif channel == Channel.AUTO:
        _require_permission(actor, "disputes.act_as_system")
    else:
        _require_permission(actor, "disputes.file_case")

    errors: dict[str, list[str]] = {}
    currency = (currency or settings.DISPUTE_DEFAULT_CURRENCY).upper()
    try:
        amount = parse_amount(amount, currency)
    except ValidationError as exc:
        errors["currency" if exc.code == "currency" else "amount"] = exc.messages
    if transaction_at is None:
        errors["transaction_at"] = [_("Enter the date and time of the payment.")]
    # Its bounds are the model field's validator (core.slip.validate_transaction_time).

    now = timezone.now()
    with transaction.atomic():
        phone = normalize_phone(phone)
        customer = _customer_for_filing(channel=channel, name=customer_name, phone=phone, email=email,
                                        preferred_language=preferred_language)
        card = Card(customer=customer, scheme=card_scheme, last4=card_last4, bin6=card_bin)
        case = Case(
            reference=_new_reference(now),
            channel=channel,
            customer=customer,
            card=card,
            amount=amount if "amount" not in errors else Decimal("0.01"),
            currency=currency if "currency" not in errors else settings.DISPUTE_DEFAULT_CURRENCY,
            transaction_at=transaction_at or now,
            merchant_name=(merchant_name or "").strip(),
            merchant_id=merchant_id or "",
            terminal_id=(terminal_id or "").upper(),
            rrn=rrn or "",
            stan=stan or "",
            auth_code=(auth_code or "").upper(),
            description=(description or "").strip(),
            created_at=now,
            stage_entered_at=now,
        )
        for obj, exclude, rename in (
            (customer, ["id"], {"name": "customer_name"}),
            (card, ["customer"], {"last4": "card_last4", "scheme": "card_scheme", "bin6": "card_bin"}),
            (case, ["customer", "card", "reference", "tracking_code_hash", "amount", "currency", "state"], {}),
        ):
            try:
                obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    errors.setdefault(rename.get(field, field), []).extend(messages)
        if errors:
            raise ValidationError(errors)

        if customer.pk is None:
            # Two first staff filings for one phone at once: the loser reuses the winner's
            # verified row. (Unverified rows are never shared, so they never collide.)
            try:
                with transaction.atomic():
                    customer.save(force_insert=True)
            except IntegrityError:
                customer = Customer.objects.get(phone=phone, verified=True)
        else:
            customer.save()
        card, _created = Card.objects.get_or_create(
            customer=customer, scheme=card.scheme, last4=card.last4, bin6=card.bin6
        )
        case.card = card
        case.customer = customer
        case.resolved_merchant = Merchant.objects.filter(merchant_id=case.merchant_id).first() if case.merchant_id else None
        if case.terminal_id:
            terminals = Terminal.objects.filter(terminal_id=case.terminal_id)
            if case.resolved_merchant:
                terminals = terminals.filter(merchant=case.resolved_merchant)
            case.resolved_terminal = terminals.first()
        sla.case_clocks_start(case, now=now)
        tracking_code = _random_code(TRACKING_CODE_LENGTH)
        case.tracking_code_hash = tracking_code_hash(tracking_code)
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    case.save(force_insert=True)
                break
            except IntegrityError:
                if Case.objects.filter(reference=case.reference).exists():
                    case.reference = _new_reference(now)
                    continue
                raise
        record_event(case, kind=EventKind.FILED, actor=actor, to_state=case.state, payload={"channel": channel})
        with translation.override(customer.preferred_language):
            notify_customer(
                case,
                _("We have received your complaint"),
                [_("Dear %(name)s,") % {"name": customer.name},
                 _("We have received your complaint about a payment of %(amount)s %(currency)s. We will answer by %(due)s.")
                 % {"amount": case.amount, "currency": case.currency,
                    "due": timezone.localtime(case.final_due_at).strftime("%Y-%m-%d")}],
            )
    return FiledCase(case=case, tracking_code=tracking_code)


# --- the workflow --------------------------------------------------------------------


def _transition_method(name: str):
    if name not in TRANSITION_NAMES:
        raise TransitionUnknown()
    return getattr(Case, name)


def _may_take(case: Case, name: str, actor) -> bool:
    """Whether the actor's role allows the transition at all (state aside)."""
    meta = _transition_method(name)._django_fsm
    return any(t.has_perm(case, actor) for t in meta.transitions.values())


def allowed_transitions(case: Case, actor) -> list[str]:
    """The transitions this actor may take on the case now, in workflow order.

    Transitions whose conditions depend on input (reject's reason, the refund
    amount) are listed: the input is asked for when they are taken."""
    input_driven = {"reject", "propose_refund"}
    names = []
    for name in TRANSITION_NAMES:
        meta = getattr(Case, name)._django_fsm
        transition_ = meta.get_transition(case.state)
        if transition_ is None or not transition_.has_perm(case, actor):
            continue
        if name not in input_driven and not meta.conditions_met(case, case.state):
            continue
        names.append(name)
    return names


@contextmanager
def _case_restored_on_failure(case: Case):
    """On any failure, put the caller's copy of the case back as the database
    has it, so nobody goes on with a half-changed object."""
    try:
        yield
    except Exception:
        if case.pk is not None:
            case.refresh_from_db()
        raise


def case_transition(
    *,
    case: Case,
    name: str,
    actor,
    note: str = "",
    reason: str = "",
    amount: Decimal | str | None = None,
    expected_version: int | None = None,
) -> Case:
    """Take the workflow step ``name`` on ``case``.

    Raises TransitionUnknown (no such step), ActionForbidden (the actor's role
    may not, or the four-eyes rule), TransitionNotAvailable (not from this
    state, or outside the reopen window), ValidationError (missing reason,
    refund amount not in (0, disputed amount]) and StaleCase (the case changed
    since it was read, or ``expected_version`` is not the current one). On any
    of these nothing is written and ``case`` is reloaded from the database.
    """
    with _case_restored_on_failure(case):
        return _take_transition(case, name, actor, note, reason, amount, expected_version)


def _take_transition(case, name, actor, note, reason, amount, expected_version) -> Case:
    method = _transition_method(name)
    if not _may_take(case, name, actor):
        raise ActionForbidden(
            _("A refund must be approved by a supervisor other than the one who proposed it.")
            if name == "approve_refund" and actor.has_perm("disputes.supervise_case")
            else None
        )
    if expected_version is not None and expected_version != case.version:
        raise StaleCase()
    meta = method._django_fsm
    if not meta.has_transition(case.state):
        raise TransitionNotAvailable(
            _("“%(step)s” is not possible while the case is %(state)s.")
            % {"step": TRANSITION_LABELS[name], "state": State(case.state).label}
        )
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationError({"note": _("A note has at most %(n)s characters.") % {"n": NOTE_MAX_LENGTH}})
    payload: dict = {}
    if name == "reject":
        reason = (reason or "").strip()
        if not reason:
            raise ValidationError({"reason": _("Give the reason for rejecting the complaint.")})
        case.rejection_reason = mask_card_numbers(reason)
        payload["reason"] = case.rejection_reason
    if name == "propose_refund":
        if amount in (None, ""):
            raise ValidationError({"amount": _("Enter the amount to refund.")})
        refund_amount = parse_amount_for_field(amount, case.currency, field="amount")
        if refund_amount > case.amount:
            raise ValidationError({"amount": _("A refund cannot exceed the disputed amount of %(amount)s %(currency)s.")
                                   % {"amount": case.amount, "currency": case.currency}})
        case.refund_amount = refund_amount
        case.refund_proposed_by = actor_user(actor)
        payload["amount"] = str(refund_amount)
        payload["currency"] = case.currency
    if not meta.conditions_met(case, case.state):
        raise TransitionNotAvailable(
            _("The reopen window of this case has passed.") if name == "reopen" else None
        )

    with transaction.atomic():
        source = case.state
        now = timezone.now()
        getattr(case, name)()
        target = case.state
        sla.case_clocks_move(case, source=source, target=target, now=now)  # pause, resume or restart the clocks
        if target != source:
            case.stage_entered_at = now
        if target in ENDED_STATES:
            case.ended_at = now
        case.version += 1
        case.save()
        if name == "propose_refund":
            Refund.objects.create(case=case, amount=case.refund_amount, currency=case.currency, proposed_by=actor_user(actor))
        elif name in ("approve_refund", "decline_refund"):
            refund = Refund.objects.select_for_update().get(case=case, status=RefundStatus.PROPOSED)
            refund.status = RefundStatus.APPROVED if name == "approve_refund" else RefundStatus.DECLINED
            refund.decided_by = actor_user(actor)
            refund.decided_at = now
            refund.save(update_fields=["status", "decided_by", "decided_at"])
            payload.update(amount=str(refund.amount), currency=refund.currency, refund_id=refund.pk)
            if name == "approve_refund":
                enqueue_after_commit(outbox.EXECUTE_REFUND, refund.pk)
        record_event(
            case, kind=EventKind.TRANSITION, actor=actor, transition=name,
            from_state=source, to_state=target, message=note, payload=payload,
        )
        if target != source and target != State.CLOSED:
            with translation.override(case.customer.preferred_language):
                notify_customer(case, _("Your complaint: %(state)s") % {"state": State(target).label},
                                 [str(CUSTOMER_WORDING[target])])
    return case


def parse_amount_for_field(value, currency: str, *, field: str) -> Decimal:
    try:
        return parse_amount(value, currency)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from None


# --- notes and assignment ----------------------------------------------------------


def case_add_note(*, case: Case, actor, body: str, visibility: str = NoteVisibility.INTERNAL) -> CaseNote:
    """Add a note; a customer-visible note is also e-mailed to the customer."""
    if isinstance(actor, CustomerActor):
        visibility = NoteVisibility.CUSTOMER
    else:
        _require_permission(actor, "disputes.note_case")
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("The note is empty.")})
    if len(body) > NOTE_MAX_LENGTH:
        raise ValidationError({"body": _("A note has at most %(n)s characters.") % {"n": NOTE_MAX_LENGTH}})
    if visibility not in NoteVisibility.values:
        raise ValidationError({"visibility": _("Choose internal or visible to the customer.")})
    with transaction.atomic():
        note = CaseNote.objects.create(
            case=case, author=actor_user(actor), author_label=actor_label(actor), body=body, visibility=visibility
        )
        record_event(case, kind=EventKind.NOTE, actor=actor, message=note.body,
                      payload={"note_id": note.pk, "visibility": visibility})
        if visibility == NoteVisibility.CUSTOMER and not isinstance(actor, CustomerActor):
            with translation.override(case.customer.preferred_language):
                notify_customer(case, _("A message about your complaint"), [note.body])
    return note


def case_assign(*, case: Case, actor, assignee, expected_version: int | None = None) -> Case:
    """Give the case to ``assignee`` (or nobody). Agents may take a case for
    themselves or release it; supervisors may give it to any agent."""
    _require_permission(actor, "disputes.assign_case")
    if assignee is not None:
        if not assignee.is_active or not assignee.groups.filter(name__in=[Role.AGENT, Role.SUPERVISOR]).exists():
            raise ValidationError({"assignee": _("Cases can only be assigned to active agents or supervisors.")})
    if not actor.has_perm("disputes.supervise_case"):
        taking_it = assignee == actor
        releasing_own = assignee is None and case.assignee_id == actor.pk
        if not (taking_it or releasing_own):
            raise ActionForbidden(_("Only a supervisor may assign a case to someone else."))
    if expected_version is not None and expected_version != case.version:
        raise StaleCase()
    with _case_restored_on_failure(case), transaction.atomic():
        previous = case.assignee
        case.assignee = assignee
        case.version += 1
        case.save()
        record_event(
            case, kind=EventKind.ASSIGNMENT, actor=actor,
            payload={"from": previous.get_username() if previous else None,
                     "to": assignee.get_username() if assignee else None},
        )
    return case


# --- side effects, run by Celery tasks ---------------------------------------------


def notification_deliver(*, notification_id: int) -> bool:
    """Send one pending notification, at most once. Returns whether it was sent now.

    A failed send leaves it pending, with the attempt and the error recorded,
    and raises so that the task retries with back-off."""
    from django.core.mail import send_mail

    try:
        with transaction.atomic():
            notification = (
                Notification.objects.select_for_update(skip_locked=True)
                .filter(pk=notification_id, status=NotificationStatus.PENDING)
                .first()
            )
            if notification is None:
                return False
            notification.attempts += 1
            send_mail(notification.subject, notification.body, None, [notification.recipient])
            notification.status = NotificationStatus.SENT
            notification.sent_at = timezone.now()
            notification.save(update_fields=["status", "attempts", "sent_at"])
            if notification.case_id:
                from disputes.workflow.actors import system_user

                record_event(notification.case, kind=EventKind.NOTIFICATION, actor=system_user(),
                             message=notification.subject,
                             payload={"notification_id": notification.pk, "channel": "email"})
    except Exception as exc:
        Notification.objects.filter(pk=notification_id, status=NotificationStatus.PENDING).update(
            attempts=F("attempts") + 1, last_error=f"{type(exc).__name__}: {exc}"[:1000]
        )
        raise
    return True


@dataclass(frozen=True)
class PendingWork:
    notification_ids: list[int]
    refund_ids: list[int]


def outbox_pending(*, older_than: timedelta = timedelta(seconds=60), limit: int = 500) -> PendingWork:
    """Work whose task seems lost (broker down, worker died): the sweep re-sends it.
    Sending twice is harmless: each task does its work at most once."""
    cutoff = timezone.now() - older_than
    notifications = (
        Notification.objects.filter(status=NotificationStatus.PENDING, created_at__lte=cutoff)
        .order_by("created_at").values_list("pk", flat=True)[:limit]
    )
    refunds = (
        Refund.objects.filter(status=RefundStatus.APPROVED, decided_at__lte=cutoff)
        .order_by("decided_at").values_list("pk", flat=True)[:limit]
    )
    return PendingWork(notification_ids=list(notifications), refund_ids=list(refunds))


def refund_execute(*, refund_id: int) -> bool:
    """Pay an approved refund, once. The payment reference is derived from the
    refund id, so the bank's payment system can de-duplicate a retry."""
    from disputes.workflow.actors import system_user

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



# --- attachments ---------------------------------------------------------------------

ATTACHMENT_CONTENT_TYPES = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "text/csv": ".csv",
    "text/plain": ".txt",
}


def case_attach(*, case: Case, actor, upload, content_type: str) -> Attachment:
    """Keep a file (a receipt photo, a POS slip, a merchant's statement) on the case.

    Only PDF, images and text up to DISPUTE_ATTACHMENT_MAX_BYTES; the file is
    stored under a name derived from its hash, never the name the client sent.
    """
    _require_permission(actor, "disputes.note_case")
    if content_type not in ATTACHMENT_CONTENT_TYPES:
        raise ValidationError({"file": _("Attach a PDF, JPEG, PNG, CSV or text file.")})
    data = upload.read(settings.DISPUTE_ATTACHMENT_MAX_BYTES + 1)
    if len(data) > settings.DISPUTE_ATTACHMENT_MAX_BYTES:
        raise ValidationError({"file": _("The file is larger than %(mb)s MB.")
                               % {"mb": settings.DISPUTE_ATTACHMENT_MAX_BYTES // (1024 * 1024)}})
    if not data:
        raise ValidationError({"file": _("The file is empty.")})
    digest = hashlib.sha256(data).hexdigest()
    original_name = (getattr(upload, "name", "") or "attachment")[-200:]
    with transaction.atomic():
        attachment = Attachment(
            case=case, original_name=original_name, content_type=content_type, size=len(data),
            sha256=digest, uploaded_by=actor_user(actor),
        )
        attachment.file.save(digest[:16] + ATTACHMENT_CONTENT_TYPES[content_type], ContentFile(data), save=False)
        attachment.save()
        record_event(case, kind=EventKind.NOTE, actor=actor, message=_("Attached %(name)s") % {"name": attachment.original_name},
                      payload={"attachment_id": attachment.pk, "sha256": digest, "size": len(data)})
    return attachment
