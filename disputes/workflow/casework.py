"""Work on a case besides its steps: notes, assignment, attachments."""
from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db.models import Count, Sum
from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from disputes.delivery.notifications import notify_customer
from disputes.models import Attachment, Case, CaseNote, NoteVisibility
from disputes.workflow.actors import PUBLIC_ACTORS, CustomerActor, actor_label, actor_user, require_permission
from disputes.workflow.errors import ActionForbidden
from disputes.workflow.events import record_event
from disputes.workflow.names import NOTE_MAX_LENGTH, EventKind, Role
from disputes.workflow.transitions import case_change, case_save


def case_add_note(*, case: Case, actor, body: str, visibility: str = NoteVisibility.INTERNAL) -> CaseNote:
    """Add a note; a customer-visible note is also e-mailed to the customer.

    A note is a change of the case: its version (the API's ETag) grows by one,
    so a client holding the old ETag learns that something happened. It is no
    state change: no webhook is sent."""
    if isinstance(actor, CustomerActor):
        visibility = NoteVisibility.CUSTOMER
    else:
        require_permission(actor, "disputes.note_case")
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("The note is empty.")})
    if len(body) > NOTE_MAX_LENGTH:
        raise ValidationError({"body": _("A note has at most %(n)s characters.") % {"n": NOTE_MAX_LENGTH}})
    if visibility not in NoteVisibility.values:
        raise ValidationError({"visibility": _("Choose internal or visible to the customer.")})
    with case_change(case):
        case_save(case)  # the case's row is this transaction's until it ends: the count below stays true
        if CaseNote.objects.filter(case=case).count() >= settings.DISPUTE_CASE_MAX_NOTES:
            raise ValidationError({"body": _("This case already has %(n)s notes, the most a case may have: no "
                                             "note can be added.") % {"n": settings.DISPUTE_CASE_MAX_NOTES}})
        emailed = visibility == NoteVisibility.CUSTOMER and not isinstance(actor, CustomerActor)
        if emailed and _messages_to_customer_today(case) >= settings.DISPUTE_CUSTOMER_MESSAGES_PER_DAY:
            limit = settings.DISPUTE_CUSTOMER_MESSAGES_PER_DAY
            raise ValidationError({"visibility": ngettext(
                "The customer has had %(n)s message about this case in the last 24 hours, the most they are sent: "
                "keep this note internal, or write again later.",
                "The customer has had %(n)s messages about this case in the last 24 hours, the most they are sent: "
                "keep this note internal, or write again later.", limit) % {"n": limit}})
        note = CaseNote.objects.create(
            case=case, author=actor_user(actor), author_label=actor_label(actor), body=body, visibility=visibility
        )
        record_event(case, kind=EventKind.NOTE, actor=actor, message=note.body,
                      payload={"note_id": note.pk, "visibility": visibility})
        if emailed:
            with translation.override(case.customer.preferred_language):
                notify_customer(case, _("A message about your complaint"), [note.body])
    return note


def _messages_to_customer_today(case: Case) -> int:
    """The staff's and the call center's notes e-mailed to the customer in the last 24 hours."""
    return CaseNote.objects.filter(case=case, visibility=NoteVisibility.CUSTOMER, author__isnull=False,
                                   created_at__gte=timezone.now() - timedelta(hours=24)).count()


def case_assign(*, case: Case, actor, assignee, expected_version: int | None = None) -> Case:
    """Give the case to ``assignee`` (or nobody). Agents may take a case for
    themselves or release it; supervisors may give it to any agent."""
    require_permission(actor, "disputes.assign_case")
    if assignee is not None:
        if not assignee.is_active or not assignee.groups.filter(name__in=[Role.AGENT, Role.SUPERVISOR]).exists():
            raise ValidationError({"assignee": _("Cases can only be assigned to active agents or supervisors.")})
    if not actor.has_perm("disputes.supervise_case"):
        taking_it = assignee == actor
        releasing_own = assignee is None and case.assignee_id == actor.pk
        if not (taking_it or releasing_own):
            raise ActionForbidden(_("Only a supervisor may assign a case to someone else."))
    with case_change(case, expected_version=expected_version):
        previous = case.assignee
        case.assignee = assignee
        case_save(case)
        record_event(
            case, kind=EventKind.ASSIGNMENT, actor=actor,
            payload={"from": previous.get_username() if previous else None,
                     "to": assignee.get_username() if assignee else None},
        )
    return case


# --- attachments ---------------------------------------------------------------------

ATTACHMENT_CONTENT_TYPES = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "text/csv": ".csv",
    "text/plain": ".txt",
}
# How each binary type begins; text must be UTF-8 without NUL bytes.
_MAGIC = {"application/pdf": b"%PDF-", "image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}


def _content_is(data: bytes, content_type: str) -> bool:
    """Whether the bytes are what the type says: a file is never kept under a type it is not."""
    if content_type in _MAGIC:
        return data.startswith(_MAGIC[content_type])
    if b"\0" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _check_customer_evidence(case: Case, size: int) -> None:
    """A customer's evidence: only while the case is open, and a few files of limited total size."""
    if not case.is_open:
        raise ValidationError({"file": _("Evidence can only be added while the complaint is open.")})
    sent = Attachment.objects.filter(case=case, uploaded_by__isnull=True).aggregate(n=Count("id"), size=Sum("size"))
    if sent["n"] >= settings.DISPUTE_CUSTOMER_EVIDENCE_MAX_FILES:
        raise ValidationError({"file": _("You have already sent %(n)s files for this complaint, the most we accept.")
                               % {"n": settings.DISPUTE_CUSTOMER_EVIDENCE_MAX_FILES}})
    if (sent["size"] or 0) + size > settings.DISPUTE_CUSTOMER_EVIDENCE_MAX_BYTES:
        raise ValidationError({"file": _("The files for this complaint may add up to %(size)s at most.")
                               % {"size": filesizeformat(settings.DISPUTE_CUSTOMER_EVIDENCE_MAX_BYTES)}})


def case_attach(*, case: Case, actor, upload, content_type: str) -> Attachment:
    """Keep a file (a receipt photo, a POS slip, a merchant's statement) on the case.

    Only PDF, JPEG, PNG and text, whose bytes really are of the type declared,
    up to DISPUTE_ATTACHMENT_MAX_BYTES; the file is stored under a name derived
    from its hash, never the name the client sent. Staff who may write notes
    attach files; the customer (the public pages) attaches evidence while the
    case is open, at most DISPUTE_CUSTOMER_EVIDENCE_MAX_FILES files of
    DISPUTE_CUSTOMER_EVIDENCE_MAX_BYTES in all; the merchant's evidence sent
    with its answer counts towards the same limits (files with no staff uploader).
    """
    from_customer = isinstance(actor, PUBLIC_ACTORS)
    if not from_customer:
        require_permission(actor, "disputes.note_case")
    if content_type not in ATTACHMENT_CONTENT_TYPES:
        raise ValidationError({"file": _("Attach a PDF, JPEG, PNG, CSV or text file.")})
    data = upload.read(settings.DISPUTE_ATTACHMENT_MAX_BYTES + 1)
    if len(data) > settings.DISPUTE_ATTACHMENT_MAX_BYTES:
        raise ValidationError({"file": _("The file is larger than %(mb)s MB.")
                               % {"mb": settings.DISPUTE_ATTACHMENT_MAX_BYTES // (1024 * 1024)}})
    if not data:
        raise ValidationError({"file": _("The file is empty.")})
    if not _content_is(data, content_type):
        raise ValidationError({"file": _("The file's content is not what its type says: attach a real PDF, JPEG, "
                                         "PNG, CSV or text file.")})
    digest = hashlib.sha256(data).hexdigest()
    original_name = (getattr(upload, "name", "") or "attachment")[-200:]
    with case_change(case):
        if from_customer:
            Case.objects.select_for_update().filter(pk=case.pk).first()  # one customer upload at a time per case
            _check_customer_evidence(case, len(data))
        case_save(case)  # a change of the case, like a note: its version grows
        attachment = Attachment(
            case=case, original_name=original_name, content_type=content_type, size=len(data),
            sha256=digest, uploaded_by=actor_user(actor),
        )
        attachment.file.save(digest[:16] + ATTACHMENT_CONTENT_TYPES[content_type], ContentFile(data), save=False)
        attachment.save()
        record_event(case, kind=EventKind.NOTE, actor=actor, message=_("Attached %(name)s") % {"name": attachment.original_name},
                      payload={"attachment_id": attachment.pk, "sha256": digest, "size": len(data)})
    return attachment
