"""The workflow core: every step of a case, and every other change of a case
row, goes through here.

``take_step`` owns what all steps share, in this order: the step exists
(404), the actor's role may take it (403), the copy is not stale (412), the
case's state allows it (409), the note is short enough, the step's own rules
(``prepare``, supplied by its service in ``workflow.steps``), the state
machine's conditions, then, in one transaction: the FSM call, the SLA clocks,
the version, the save (refused for a stale copy), what the step writes beside
the case (``after``), the ``transition`` event, and the customer's e-mail. On
any failure nothing is written and the caller's copy is reloaded.

``case_change`` is the same optimistic lock for changes that are not steps
(assignment, deadline extensions).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.money import parse_amount
from disputes.delivery.notifications import notify_customer
from disputes.models import TRANSITION_LABELS, TRANSITION_NAMES, Case
from disputes.models.casefile import SystemNote
from disputes.sla import clocks as sla
from disputes.workflow.errors import ActionForbidden, StaleCase, TransitionNotAvailable, TransitionUnknown
from disputes.workflow.events import record_event
from disputes.workflow.names import (
    CUSTOMER_WORDING,
    ENDED_STATES,
    NOTE_MAX_LENGTH,
    EventKind,
    State,
)

# A step's own rules: check its input, set the case's fields, fill the event's payload.
Prepare = Callable[[Case, dict], None]
# What a step writes beside the case, in the same transaction, after the save.
After = Callable[[Case, dict, datetime], None]


def _fsm_meta(name: str):
    if name not in TRANSITION_NAMES:
        raise TransitionUnknown()
    return getattr(Case, name)._django_fsm


def may_take(case: Case, name: str, actor) -> bool:
    """Whether the actor's role allows the step at all (state aside)."""
    return any(t.has_perm(case, actor) for t in _fsm_meta(name).transitions.values())


# Steps whose conditions depend on input they ask for (reject's reason, the
# refund amount): offered whenever role and state allow them.
INPUT_DRIVEN_STEPS = frozenset({"reject", "propose_refund"})


def allowed_transitions(case: Case, actor) -> list[str]:
    """The steps this actor may take on the case now, in workflow order."""
    names = []
    for name in TRANSITION_NAMES:
        meta = _fsm_meta(name)
        transition_ = meta.get_transition(case.state)
        if transition_ is None or not transition_.has_perm(case, actor):
            continue
        if name not in INPUT_DRIVEN_STEPS and not meta.conditions_met(case, case.state):
            continue
        names.append(name)
    return names


@contextmanager
def case_restored_on_failure(case: Case) -> Iterator[None]:
    """On any failure, put the caller's copy of the case back as the database
    has it, so nobody goes on with a half-changed object."""
    try:
        yield
    except Exception:
        if case.pk is not None:
            case.refresh_from_db()
        raise


@contextmanager
def case_change(case: Case, *, expected_version: int | None = None) -> Iterator[None]:
    """The optimistic lock of every change of a case row: refuses a copy older
    than ``expected_version`` (StaleCase), runs the body in a transaction, and
    reloads the caller's copy on any failure. The body changes the case and
    calls ``case_save`` (which refuses a copy someone else changed meanwhile)
    before writing its event."""
    with case_restored_on_failure(case):
        if expected_version is not None and expected_version != case.version:
            raise StaleCase()
        with transaction.atomic():
            yield


def case_save(case: Case) -> None:
    """Save a change of the case under its next version (inside ``case_change``)."""
    case.version += 1
    case.save()


def clean_note(note: str, *, field: str = "note") -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationError({field: _("A note has at most %(n)s characters.") % {"n": NOTE_MAX_LENGTH}})
    return note


def parse_amount_for_field(value, currency: str, *, field: str) -> Decimal:
    try:
        return parse_amount(value, currency)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from None


def take_step(
    *,
    case: Case,
    name: str,
    actor,
    note: str = "",
    expected_version: int | None = None,
    prepare: Prepare | None = None,
    after: After | None = None,
    forbidden_message: str | None = None,
    conditions_message: str | None = None,
    customer_lines: Callable[[Case], list[str]] | None = None,
) -> Case:
    """Take the workflow step ``name`` (see the module's docstring).

    Raises TransitionUnknown, ActionForbidden (with ``forbidden_message`` when
    the step's service has a better word for it), StaleCase,
    TransitionNotAvailable (with ``conditions_message`` when the state machine's
    conditions refuse) and ValidationError. ``customer_lines`` adds what the
    customer's e-mail says beyond the new state (in the customer's language).
    ``note`` is a ``SystemNote`` on a step the system takes itself."""
    with case_restored_on_failure(case):
        meta = _fsm_meta(name)
        if not may_take(case, name, actor):
            raise ActionForbidden(forbidden_message)
        if expected_version is not None and expected_version != case.version:
            raise StaleCase()
        if not meta.has_transition(case.state):
            raise TransitionNotAvailable(
                _("“%(step)s” is not possible while the case is %(state)s.")
                % {"step": TRANSITION_LABELS[name], "state": State(case.state).label}
            )
        system_note = note if isinstance(note, SystemNote) else None  # worded again in each reader's language
        note = clean_note(str(system_note.label) if system_note else note)
        payload: dict = {}
        if prepare is not None:
            prepare(case, payload)
        if system_note:
            payload["system_note"] = system_note.value
        if not meta.conditions_met(case, case.state):
            raise TransitionNotAvailable(conditions_message)

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
                if not case.root_cause and case.verification_id:  # the records' suggestion, unless one is set
                    case.root_cause = case.verification.suggested_root_cause
            case_save(case)
            if after is not None:
                after(case, payload, now)
            record_event(
                case, kind=EventKind.TRANSITION, actor=actor, transition=name,
                from_state=source, to_state=target, message=note, payload=payload,
            )
            if target != source and target != State.CLOSED:
                with translation.override(case.customer.preferred_language):
                    extra = customer_lines(case) if customer_lines is not None else []
                    notify_customer(case, _("Your complaint: %(state)s") % {"state": State(target).label},
                                    [str(CUSTOMER_WORDING[target]), *extra])
    return case
