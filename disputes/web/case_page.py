"""The staff case page (/staff/cases/<reference>/) and what is posted from it:
a workflow step (/transitions/<name>/), a note, an attachment, the assignment,
a deadline extension; and the download of an attachment.

Thin: reads through ``selectors.case_page``, writes through the services. The
page offers only what the user's role and the case's state allow
(``allowed_transitions``); the services refuse the rest anyway, and the page
then says why with the matching status (400 bad input, 403 not allowed, 404 no
such step, 409 not from this state or changed meanwhile). A refused form is
shown again with what the user typed, beside the case as it is now.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from disputes.models import TRANSITION_LABELS, TRANSITION_NAMES
from disputes.selectors import staff_assignees
from disputes.selectors.queue import payment_processors
from disputes.selectors.case_page import case_attachment, case_for_staff, case_page
from disputes.sla.extensions import case_extend_deadline
from disputes.web.badges import clock_badge
from disputes.web.staff_forms import (
    AssignForm,
    AttachForm,
    ExtendDeadlineForm,
    InquiryAnswerForm,
    InquirySendForm,
    MerchantContactForm,
    NoteForm,
    StepForm,
)
from disputes.web.workspace import refusal, workspace_view
from disputes.verification.checks import case_verify
from disputes.workflow.casework import case_add_note, case_assign, case_attach
from disputes.workflow.errors import ActionForbidden, StaleCase, TransitionNotAvailable, TransitionUnknown
from disputes.workflow.names import State

# Where the resolution letter is offered (a closed case's letter tells how it ended; a withdrawn one has none).
LETTER_CASE_STATES = (State.REFUNDED, State.RESOLVED, State.REJECTED, State.CLOSED)
from disputes.workflow.steps import STEP_INPUTS, case_transition
from disputes.workflow.transitions import allowed_transitions


@dataclass
class StepOffer:
    name: str
    label: str
    form: StepForm
    inputs: tuple[str, ...]


def _form(kind: str, form_class, case, data: QueryDict | None = None, errors=None, *, initial=None,
          **kwargs) -> forms.Form:
    """A form of the page: blank at the case's version, or bound to what was
    posted (the version refreshed: the user now sees the case as it is), with
    the errors the form or the service found."""
    if kind.startswith("step:"):
        kwargs["auto_id"] = f"id_{kind[5:]}_%s"
    if data is None:
        return form_class(initial={**(initial or {}), "version": case.version}, **kwargs)
    data = data.copy()
    data["version"] = str(case.version)
    form = form_class(data, **kwargs)
    for field, messages_ in (errors or {}).items():
        form.add_error(field if field in form.fields and field != "version" else None, messages_)
    return form


def _render(request: HttpRequest, reference: str, *, status: int = 200, kept: tuple[str, QueryDict] | None = None,
            errors: dict | None = None, problem: str = "", stale: bool = False) -> HttpResponse:
    page = case_page(user=request.user, reference=reference)
    case, user = page.case, request.user
    kept_kind, kept_data = kept or ("", None)

    def form(kind: str, form_class, **kwargs):
        if kind == kept_kind:
            return _form(kind, form_class, case, kept_data, errors, **kwargs)
        return _form(kind, form_class, case, initial={"assignee": case.assignee_id}, **kwargs)

    allowed = allowed_transitions(case, user)
    steps = [StepOffer(name, str(TRANSITION_LABELS[name]), form(f"step:{name}", StepForm), STEP_INPUTS.get(name, ()))
             for name in allowed]
    supervisor = user.has_perm("disputes.supervise_case")
    may_assign = user.has_perm("disputes.assign_case") and case.is_open
    first_extender = page.first_extension_by_id
    now = timezone.now()
    works = user.has_perm("disputes.work_case")
    open_inquiry = next((i for i in page.processor_inquiries if i.answered_at is None), None)
    context = {
        "page": page, "case": case, "steps": steps, "now": now, "merchant_files": page.merchant_attachment_ids, "status": status, "problem": problem, "stale": stale,
        # Why a check or a chosen debit was refused (the choice is not a form of its own).
        "verify_errors": [message for messages_ in (errors or {}).values() for message in messages_]
        if kept_kind == "verify" else [],
        # What was typed for a step that is no longer offered (the case moved on): shown, not lost.
        "lost_input": [(StepForm.base_fields[key].label, kept_data[key]) for key in ("reason", "amount", "note")
                       if kept_data.get(key)] if kept_kind.startswith("step:") and kept_kind[5:] not in allowed else [],
        "stage_badge": clock_badge(page.clocks.stage, now), "final_badge": clock_badge(page.clocks.final, now),
        "note_form": form("note", NoteForm) if user.has_perm("disputes.note_case") else None,
        "attach_form": form("attach", AttachForm) if user.has_perm("disputes.note_case") else None,
        "may_take": may_assign and case.assignee_id != user.pk,
        "may_release": may_assign and case.assignee_id == user.pk,
        "assign_form": form("assign", AssignForm, assignees=staff_assignees()) if may_assign and supervisor else None,
        "contact_form": form("contact", MerchantContactForm) if works and case.state == State.MERCHANT_CONTACT else None,
        "inquiry_form": form("inquiry", InquirySendForm, processors=payment_processors()) if (
            works and case.state == State.PROCESSOR_INQUIRY and open_inquiry is None) else None,
        "open_inquiry": open_inquiry,
        "inquiry_answer_form": form("inquiry-answer", InquiryAnswerForm) if (
            works and case.is_open and open_inquiry is not None) else None,
        "extend_form": form("extend", ExtendDeadlineForm) if (
            supervisor and case.is_open and case.final_due_at is not None and case.deadline_extensions < 2
            and not (case.deadline_extensions == 1 and first_extender == user.pk)) else None,
        "may_retry_payment": supervisor and any(refund.status == "failed" for refund in page.refunds),
        "letter": case.state in LETTER_CASE_STATES,
    }
    return render(request, "disputes/staff/case.html", context, status=status)


def outcome(request: HttpRequest, reference: str, kind: str, action: Callable[[], object],
             done: Callable[[], str]) -> HttpResponse:
    """Run a service call; on success back to the case page with ``done()``,
    else the case page again with the reason and what was typed."""
    kept = (kind, request.POST)
    try:
        action()
    except StaleCase as exc:
        return _render(request, reference, status=409, kept=kept, problem=str(exc.message), stale=True)
    except TransitionUnknown as exc:
        return refusal(request, 404, str(exc.message))
    except ActionForbidden as exc:
        return _render(request, reference, status=403, kept=kept, problem=str(exc.message))
    except TransitionNotAvailable as exc:
        return _render(request, reference, status=409, kept=kept, problem=str(exc.message))
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        return _render(request, reference, status=400, kept=kept, errors=errors,
                       problem=_("Nothing was changed: correct what is marked below and send it again."))
    messages.success(request, done())
    return redirect("staff-case", reference=reference)


def invalid(request: HttpRequest, reference: str, kind: str, form: forms.Form) -> HttpResponse:
    return _render(request, reference, status=400, kept=(kind, request.POST), errors=form.errors,
                   problem=_("Nothing was changed: correct what is marked below and send it again."))


@require_GET
@workspace_view
def case_view(request: HttpRequest, reference: str) -> HttpResponse:
    return _render(request, reference)


@require_POST
@workspace_view
def case_step(request: HttpRequest, reference: str, name: str) -> HttpResponse:
    case = case_for_staff(user=request.user, reference=reference)
    if name not in TRANSITION_NAMES:
        return refusal(request, 404, str(TransitionUnknown.default_message))
    form = StepForm(request.POST)
    if not form.is_valid():
        return invalid(request, reference, f"step:{name}", form)
    data = form.cleaned_data

    def done() -> str:
        return _("“%(step)s” done: the case is now %(state)s.") % {
            "step": TRANSITION_LABELS[name], "state": State(case.state).label}

    return outcome(request, reference, f"step:{name}", lambda: case_transition(
        case=case, name=name, actor=request.user, note=data["note"], reason=data["reason"],
        amount=data["amount"].strip() or None, expected_version=data["version"]), done)


def changed_meanwhile(request: HttpRequest, form: forms.Form, case) -> None:
    """An addition (note, file) overwrites nothing, so it is kept; the user is told the case moved on."""
    if form.cleaned_data["version"] != case.version:
        messages.warning(request, _("The case changed while you had it open (it is now %(state)s): read it again.")
                         % {"state": State(case.state).label})


@require_POST
@workspace_view
def case_note(request: HttpRequest, reference: str) -> HttpResponse:
    case = case_for_staff(user=request.user, reference=reference)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return invalid(request, reference, "note", form)
    changed_meanwhile(request, form, case)
    return outcome(request, reference, "note", lambda: case_add_note(
        case=case, actor=request.user, body=form.cleaned_data["body"], visibility=form.cleaned_data["visibility"]),
        lambda: _("Note added."))


@require_POST
@workspace_view
def case_check_records(request: HttpRequest, reference: str) -> HttpResponse:
    """Check the case against the records now; ``entry_id`` is the debit an
    agent chose among ambiguous candidates."""
    case = case_for_staff(user=request.user, reference=reference)
    entry_id = (request.POST.get("entry_id") or "").strip()[:32]
    return outcome(request, reference, "verify", lambda: case_verify(case=case, actor=request.user, entry_id=entry_id),
                    lambda: _("Checked against the records."))


@require_POST
@workspace_view
def case_attach_file(request: HttpRequest, reference: str) -> HttpResponse:
    case = case_for_staff(user=request.user, reference=reference)
    form = AttachForm(request.POST, request.FILES)
    if not form.is_valid():
        return invalid(request, reference, "attach", form)
    changed_meanwhile(request, form, case)
    upload = form.cleaned_data["file"]
    return outcome(request, reference, "attach", lambda: case_attach(
        case=case, actor=request.user, upload=upload, content_type=upload.content_type),
        lambda: _("File attached: %(name)s.") % {"name": upload.name})


@require_POST
@workspace_view
def case_assign_to(request: HttpRequest, reference: str) -> HttpResponse:
    """Assign (to me, to nobody, or for a supervisor to anyone who works cases).
    From the queue's rows (``queue`` holds its query string) it returns there."""
    case = case_for_staff(user=request.user, reference=reference)
    form = AssignForm(request.POST, assignees=staff_assignees())
    from_queue = "queue" in request.POST
    if from_queue:
        return _assign_from_queue(request, case, form)
    if not form.is_valid():
        return invalid(request, reference, "assign", form)
    assignee = form.cleaned_data["assignee"]
    return outcome(request, reference, "assign", lambda: case_assign(
        case=case, actor=request.user, assignee=assignee, expected_version=form.cleaned_data["version"]),
        lambda: _("Assigned to %(who)s.") % {"who": assignee.get_username()} if assignee else _("Unassigned."))


def _assign_from_queue(request: HttpRequest, case, form: AssignForm) -> HttpResponse:
    params = QueryDict(request.POST.get("queue", ""), mutable=True)
    back = redirect(reverse("staff-queue") + ("?" + params.urlencode() if params else ""))
    if not form.is_valid():
        messages.error(request, _("%(reference)s: this list is out of date; reload it.") % {"reference": case.reference})
        return back
    try:
        case_assign(case=case, actor=request.user, assignee=form.cleaned_data["assignee"],
                    expected_version=form.cleaned_data["version"])
    except StaleCase:
        messages.warning(request, _("%(reference)s changed since the list was shown and was left as it is: "
                                    "open it to see why.") % {"reference": case.reference})
    except (ActionForbidden, TransitionNotAvailable) as exc:
        messages.error(request, f"{case.reference}: {exc.message}")
    except ValidationError as exc:
        messages.error(request, f"{case.reference}: {' '.join(exc.messages)}")
    else:
        messages.success(request, _("%(reference)s is yours now.") % {"reference": case.reference}
                         if case.assignee_id == request.user.pk else _("%(reference)s assigned.") % {"reference": case.reference})
    return back


@require_POST
@workspace_view
def case_extend(request: HttpRequest, reference: str) -> HttpResponse:
    case = case_for_staff(user=request.user, reference=reference)
    form = ExtendDeadlineForm(request.POST)
    if not form.is_valid():
        return invalid(request, reference, "extend", form)
    return outcome(request, reference, "extend", lambda: case_extend_deadline(
        case=case, actor=request.user, reason=form.cleaned_data["reason"], expected_version=form.cleaned_data["version"]),
        lambda: _("The overall deadline is extended."))


@require_GET
@workspace_view
def attachment_download(request: HttpRequest, reference: str, attachment_id: int) -> HttpResponse:
    """A case's file, for staff only and only as a download: never shown inline
    from this site's origin, never sniffed into another type, never cached."""
    attachment = case_attachment(user=request.user, reference=reference, attachment_id=attachment_id)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404(attachment_id) from None
    response = FileResponse(handle, as_attachment=True, filename=attachment.original_name,
                            content_type=attachment.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
