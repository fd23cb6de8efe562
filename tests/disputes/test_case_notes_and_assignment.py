import hashlib
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
import pytest

from disputes.workflow.casework import case_add_note, case_assign, case_attach
from disputes.workflow.actors import CUSTOMER
from disputes.workflow.errors import ActionForbidden
from disputes.models import Attachment, Case, CaseEvent, CaseNote, Notification
from disputes.workflow.names import EventKind


def test_an_agent_adds_an_internal_note_with_its_event(case, alice):
    note = case_add_note(case=case, actor=alice, body="  Called the merchant.  ")
    assert (note.body, note.visibility, note.author) == ("Called the merchant.", "internal", alice)
    event = CaseEvent.objects.filter(case=case, kind=EventKind.NOTE).get()
    assert (event.message, event.actor_label) == ("Called the merchant.", "alice")
    assert not Notification.objects.filter(subject__contains="message").exists()


def test_a_customer_visible_note_is_emailed_to_the_customer(case, dave):
    before = Notification.objects.count()
    case_add_note(case=case, actor=dave, body="We have asked the merchant.", visibility="customer")
    assert Notification.objects.count() == before + 1
    assert "We have asked the merchant." in Notification.objects.latest("id").body


@pytest.mark.parametrize("body", ["", "   ", "x" * 5001])
def test_an_empty_or_too_long_note_is_refused(case, alice, body):
    with pytest.raises(ValidationError):
        case_add_note(case=case, actor=alice, body=body)
    assert not CaseNote.objects.exists()


def test_a_case_holds_at_most_the_notes_allowed_whoever_writes_them(case, alice, dave, settings):
    settings.DISPUTE_CASE_MAX_NOTES = 3
    case_add_note(case=case, actor=alice, body="one")
    case_add_note(case=case, actor=dave, body="two", visibility="customer")
    case_add_note(case=case, actor=CUSTOMER, body="three")  # the third is still taken
    version, mails = Case.objects.get(pk=case.pk).version, Notification.objects.count()
    for actor in (alice, dave, CUSTOMER):
        with pytest.raises(ValidationError) as refused:
            case_add_note(case=case, actor=actor, body="four")
        assert list(refused.value.message_dict) == ["body"]
    assert list(CaseNote.objects.order_by("id").values_list("body", flat=True)) == ["one", "two", "three"]
    assert (Case.objects.get(pk=case.pk).version, Notification.objects.count()) == (version, mails)
    assert CaseEvent.objects.filter(case=case, kind=EventKind.NOTE).count() == 3


def test_the_customer_is_sent_at_most_the_messages_a_day_allowed(case, alice, dave, settings):
    """A client adding customer-visible notes in a loop would e-mail the customer each time."""
    settings.DISPUTE_CUSTOMER_MESSAGES_PER_DAY = 2
    first = case_add_note(case=case, actor=dave, body="one", visibility="customer")
    second = case_add_note(case=case, actor=alice, body="two", visibility="customer")
    mails = Notification.objects.count()
    with pytest.raises(ValidationError) as refused:
        case_add_note(case=case, actor=alice, body="three", visibility="customer")
    assert list(refused.value.message_dict) == ["visibility"]
    case_add_note(case=case, actor=alice, body="internal", visibility="internal")  # still taken
    case_add_note(case=case, actor=CUSTOMER, body="the customer's own")  # not e-mailed to them: not counted
    assert Notification.objects.count() == mails
    CaseNote.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    CaseNote.objects.filter(pk=second.pk).update(created_at=timezone.now() - timedelta(hours=23, minutes=59))
    case_add_note(case=case, actor=alice, body="three", visibility="customer")  # the first left the 24 hours
    assert Notification.objects.count() == mails + 1
    with pytest.raises(ValidationError):  # the second is still within them
        case_add_note(case=case, actor=alice, body="four", visibility="customer")


def test_roles_without_the_note_permission_cannot_add_notes(case, erin, mallory):
    for actor in (erin, mallory):
        with pytest.raises(ActionForbidden):
            case_add_note(case=case, actor=actor, body="hello")
    assert not CaseNote.objects.exists()


def test_a_customer_note_is_always_customer_visible(case):
    note = case_add_note(case=case, actor=CUSTOMER, body="Here is my receipt number.", visibility="internal")
    assert note.visibility == "customer" and note.author is None and note.author_label == "customer"


def test_an_agent_takes_a_case_and_releases_it(case, alice):
    case_assign(case=case, actor=alice, assignee=alice)
    assert Case.objects.get(pk=case.pk).assignee == alice
    case_assign(case=case, actor=alice, assignee=None)
    assert Case.objects.get(pk=case.pk).assignee is None
    events = CaseEvent.objects.filter(case=case, kind=EventKind.ASSIGNMENT).order_by("id")
    assert [e.payload for e in events] == [{"from": None, "to": "alice"}, {"from": "alice", "to": None}]


def test_only_a_supervisor_assigns_to_someone_else(case, alice, bob, carol, dave):
    with pytest.raises(ActionForbidden):
        case_assign(case=case, actor=alice, assignee=bob)
    case_assign(case=case, actor=bob, assignee=alice)
    with pytest.raises(ActionForbidden):
        case_assign(case=Case.objects.get(pk=case.pk), actor=dave, assignee=dave)
    with pytest.raises(ValidationError):
        case_assign(case=Case.objects.get(pk=case.pk), actor=carol, assignee=dave)
    assert Case.objects.get(pk=case.pk).assignee == alice


def test_an_agent_cannot_take_a_case_from_a_colleague(case, alice, bob, carol):
    case_assign(case=case, actor=bob, assignee=carol)
    with pytest.raises(ActionForbidden):
        case_assign(case=Case.objects.get(pk=case.pk), actor=alice, assignee=None)


def test_an_attachment_is_stored_under_its_hash_with_an_event(case, alice, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("../../etc/passwd 6222021234567890128.pdf", b"%PDF-1.4 receipt")
    attachment = case_attach(case=case, actor=alice, upload=upload, content_type="application/pdf")
    digest = hashlib.sha256(b"%PDF-1.4 receipt").hexdigest()  # the test's own hash of the content
    assert attachment.sha256 == digest
    assert attachment.file.name == f"cases/{case.reference}/{digest[:16]}.pdf"
    assert attachment.original_name == "passwd ***************0128.pdf"
    assert attachment.file.read() == b"%PDF-1.4 receipt"
    assert (tmp_path / "cases" / case.reference / f"{digest[:16]}.pdf").read_bytes() == b"%PDF-1.4 receipt"
    event = CaseEvent.objects.get(case=case, kind=EventKind.NOTE, payload__attachment_id=attachment.pk)
    assert event.payload == {"attachment_id": attachment.pk, "sha256": digest, "size": len(b"%PDF-1.4 receipt")}


def test_an_attachment_of_the_wrong_type_or_too_large_is_refused(case, alice, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.DISPUTE_ATTACHMENT_MAX_BYTES = 10
    with pytest.raises(ValidationError):
        case_attach(case=case, actor=alice, upload=SimpleUploadedFile("a.exe", b"MZ"), content_type="application/x-msdownload")
    with pytest.raises(ValidationError):
        case_attach(case=case, actor=alice, upload=SimpleUploadedFile("a.pdf", b"x" * 11), content_type="application/pdf")
    assert not Attachment.objects.exists()
