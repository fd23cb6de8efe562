"""Filing a complaint, from any channel (docs/design.md, "Customers and contact details")."""
from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.money import parse_amount
from customers.models import Card, CardScheme, Customer, Language, normalize_phone
from disputes.delivery import outbox
from disputes.delivery.notifications import notify_customer
from disputes.delivery.outbox import enqueue_after_commit
from disputes.models import Case
from disputes.sla import clocks as sla
from disputes.workflow.actors import CustomerActor, require_permission
from disputes.workflow.errors import ActionForbidden
from disputes.workflow.events import record_event
from disputes.workflow.filing_limits import public_filing_counted
from disputes.workflow.names import Channel, EventKind
from disputes.workflow.tracking import TRACKING_CODE_LENGTH, new_reference, random_code, tracking_code_hash
from merchants.models import Merchant, Terminal


def _customer_for_filing(*, channel: str, name: str, phone: str, email: str,
                         preferred_language: str) -> tuple[Customer, bool]:
    """Whose complaint this is (docs/design.md, "Customers and contact details").

    On the public form nobody proved who they are: the complaint gets a new,
    unverified customer record with exactly the details typed, and never reads
    or changes an existing record, so knowing a customer's phone number gives
    neither their name, nor their cases, nor their e-mails. The call center and
    the branch identify the caller first: their filings join the verified
    customer with that phone (made on the first such filing), and may give it an
    e-mail address only where it has none. Staff join records with
    ``customer_merge``. Returns the customer and whether its e-mail was filled in."""
    details = dict(name=(name or "").strip(), phone=phone, email=email or "", preferred_language=preferred_language)
    if channel == Channel.WEB:
        return Customer(**details, verified=False), False
    customer = Customer.objects.filter(phone=phone, verified=True).first()
    if customer is None:
        return Customer(**details, verified=True), False
    if email and not customer.email:
        customer.email = email  # written by _customer_save, only where the record still has none
        return customer, True
    return customer, False


def _customer_save(customer: Customer, card: Card, *, phone: str, email_filled: bool) -> tuple[Customer, Card]:
    """Write what ``_customer_for_filing`` decided, and the card: the saved customer and card.

    An unverified (public) record is never shared, so it is inserted as it is,
    with its card. The first staff filing for a phone inserts its verified
    record and its card in one statement: two at once, and the loser reuses the
    winner's row. A known verified record is written only to give it an e-mail
    where it still has none (``email=""`` in the UPDATE's WHERE, so two filings
    at once cannot overwrite each other); nothing else of it ever changes, so
    nothing else is written, and its card is the one on record if any."""
    if customer.pk is None and not customer.verified:
        customer.save(force_insert=True)
        card.customer = customer
        card.save(force_insert=True)
        return customer, card
    if customer.pk is None:
        if _verified_customer_insert(customer, card):
            return customer, card
        customer = Customer.objects.get(phone=phone, verified=True)
    elif email_filled:
        Customer.objects.filter(pk=customer.pk, email="").update(email=customer.email)
    card, _created = Card.objects.get_or_create(customer=customer, scheme=card.scheme, last4=card.last4,
                                                bin6=card.bin6)
    return customer, card


def _insert_values(model, obj, *, skip: tuple[str, ...] = ()) -> tuple[list[str], list]:
    """The columns of a new row of ``obj`` and their values, prepared by their fields."""
    fields = [field for field in model._meta.concrete_fields if not field.primary_key and field.attname not in skip]
    return ([connection.ops.quote_name(field.column) for field in fields],
            [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields])


def _verified_customer_insert(customer: Customer, card: Card) -> bool:
    """Insert the first verified record for its phone and its card, in one
    statement; False, and nothing written, when another filing inserted the
    record first (``customer_phone_unique_verified``: PostgreSQL waits for that
    filing to commit, then does nothing). No savepoint."""
    if connection.vendor != "postgresql":  # SQLite's IMMEDIATE transactions never race here
        customer.save(force_insert=True)
        card.customer = customer
        card.save(force_insert=True)
        return True
    customer_columns, customer_values = _insert_values(Customer, customer)
    card_columns, card_values = _insert_values(Card, card, skip=("customer_id",))
    sql = (f"WITH new_customer AS (INSERT INTO {Customer._meta.db_table} ({', '.join(customer_columns)}) "
           f"VALUES ({', '.join(['%s'] * len(customer_values))}) "
           f"ON CONFLICT (phone) WHERE verified DO NOTHING RETURNING id) "
           f"INSERT INTO {Card._meta.db_table} (customer_id, {', '.join(card_columns)}) "
           f"SELECT id, {', '.join(['%s'] * len(card_values))} FROM new_customer RETURNING customer_id, id")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*customer_values, *card_values])
        row = cursor.fetchone()
    if row is None:
        return False
    customer.pk, card.pk = row
    card.customer = customer
    customer._state.adding = card._state.adding = False
    return True


@cache
def _merchant_statement() -> str:
    """The merchant of a merchant id and, as ``terminal_pk``, the id of its
    terminal of a terminal id (NULL when none is given or on record): one
    statement written once per process (the ORM took about 1 ms of Python a
    filing to build it)."""
    merchant, terminal = Merchant._meta.db_table, Terminal._meta.db_table
    return (f"SELECT m.*, (SELECT t.id FROM {terminal} t WHERE t.merchant_id = m.id AND t.terminal_id = %s) "
            f"AS terminal_pk FROM {merchant} m WHERE m.merchant_id = %s")


def _resolve_merchant(case: Case) -> None:
    """The merchant and terminal on record that the slip names, in one query
    when the merchant is known (its terminal by a subquery on
    ``terminal_unique_per_merchant``); a terminal id alone matches the first
    terminal with that id (``terminal_tid_idx``)."""
    merchant = None
    if case.merchant_id:
        # merchant_id is unique, and so is a terminal id within its merchant; no terminal id matches nothing.
        found = Merchant.objects.raw(_merchant_statement(), [case.terminal_id or None, case.merchant_id])
        merchant = next(iter(found), None)
    case.resolved_merchant = merchant
    if merchant is not None:
        case.resolved_terminal_id = merchant.terminal_pk
    elif case.terminal_id:
        case.resolved_terminal = Terminal.objects.filter(terminal_id=case.terminal_id).first()


def _tell_filed(case: Case) -> None:
    """The filing e-mail; a case the bank opened itself (``auto``) says so."""
    values = {"amount": case.amount, "currency": case.currency, "last4": case.card.last4,
              "merchant": case.merchant_name or case.merchant_id or "-",
              "date": timezone.localtime(case.transaction_at).strftime("%Y-%m-%d %H:%M"),
              "due": timezone.localtime(case.final_due_at).strftime("%Y-%m-%d")}
    if case.channel == Channel.AUTO:
        subject = _("We found a payment that did not reach the merchant")
        body = _("Our records show that your card ending %(last4)s was debited %(amount)s %(currency)s at "
                 "%(merchant)s on %(date)s, but the merchant was not paid. We have opened a case for you; you need "
                 "not do anything. We will answer by %(due)s.") % values
    else:
        subject = _("We have received your complaint")
        body = _("We have received your complaint about a payment of %(amount)s %(currency)s. "
                 "We will answer by %(due)s.") % values
    notify_customer(case, subject, [_("Dear %(name)s,") % {"name": case.customer.name}, body])


@dataclass(frozen=True)
class FiledCase:
    case: Case
    tracking_code: str  # shown once to whoever filed; only its HMAC is stored



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
    client_address: str | None = None,
    attach: Callable[[Case], object] | None = None,
) -> FiledCase:
    """File a complaint from any channel. Raises ValidationError on bad input
    (with per-field messages) and ActionForbidden when the actor may not file.

    ``client_address``: the network address of an anonymous filer (the public
    form); its filings and those for its e-mail address are counted, and
    ``FilingLimited`` is raised, before anything is written, past their limits
    (``filing_limits``). ``attach(case)``: what the channel adds to the new case
    in the same transaction (the public form's evidence); when it raises, the
    filing fails and is not counted."""
    if channel not in Channel.values:
        raise ValidationError({"channel": _("Unknown channel.")})
    if channel == Channel.WEB:
        if not isinstance(actor, CustomerActor):
            raise ActionForbidden()
    elif channel == Channel.AUTO:
        require_permission(actor, "disputes.act_as_system")
    else:
        require_permission(actor, "disputes.file_case")

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
    phone = normalize_phone(phone)
    customer, email_filled = _customer_for_filing(channel=channel, name=customer_name, phone=phone, email=email,
                                                  preferred_language=preferred_language)
    card = Card(customer=customer, scheme=card_scheme, last4=card_last4, bin6=card_bin)
    case = Case(
        reference=new_reference(now),
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

    # Everything above only reads: a bad filing is refused before anything is written, so the
    # writes below need no savepoint of their own inside a caller's transaction (the API's
    # idempotent request, the public form's complaint-and-evidence); alone, they are one.
    counted = public_filing_counted(client_address=client_address, email=email) if client_address is not None \
        else nullcontext()
    with counted, transaction.atomic(savepoint=False):
        customer, card = _customer_save(customer, card, phone=phone, email_filled=email_filled)
        case.card = card
        case.customer = customer
        _resolve_merchant(case)
        sla.case_clocks_start(case, now=now)
        tracking_code = random_code(TRACKING_CODE_LENGTH)
        case.tracking_code_hash = tracking_code_hash(tracking_code)
        for _attempt in range(5):
            if case.insert_or_nothing():  # the reference is random: one drawn twice is drawn again
                break
            if not Case.objects.filter(reference=case.reference).exists():
                raise IntegrityError(f"case {case.reference}: a unique value other than its reference is taken")
            case.reference = new_reference(now)
        else:
            raise IntegrityError("five references drawn in a row were taken")
        record_event(case, kind=EventKind.FILED, actor=actor, to_state=case.state, payload={"channel": channel})
        if attach is not None:
            attach(case)
        with translation.override(customer.preferred_language):
            _tell_filed(case)
        enqueue_after_commit(outbox.VERIFY_CASE, case.pk)  # what the records say, before an agent opens it
    return FiledCase(case=case, tracking_code=tracking_code)
