"""The SLA in the admin: policies and calendar editable with validation, the
clocks of a case shown read-only (from ``sla.case_clocks``)."""
from datetime import date

import pytest
from django.contrib import admin
from django.contrib.auth.models import User

from disputes.models import CalendarOverride, Case, SlaSettings, StagePolicy
from disputes.workflow.names import State

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(db, client):
    user = User.objects.create_superuser("root", "root@bank.example", "correct horse battery staple")
    client.force_login(user)
    return client


def test_the_sla_pages_open(root, case):
    for url in ["/admin/disputes/slasettings/", "/admin/disputes/stagepolicy/", "/admin/disputes/calendaroverride/",
                "/admin/disputes/slaalert/", "/admin/disputes/calendaroverride/add/"]:
        assert root.get(url).status_code == 200, url
    page = root.get(f"/admin/disputes/case/{case.pk}/change/")
    assert page.status_code == 200
    assert "on_track" in page.content.decode()


def test_a_calendar_override_is_added_in_the_admin(root):
    response = root.post("/admin/disputes/calendaroverride/add/",
                         {"day": "2026-10-10", "is_working_day": "", "note": "No make-up day"})
    assert response.status_code == 302
    assert CalendarOverride.objects.get(day=date(2026, 10, 10)).is_working_day is False


def test_bad_settings_are_refused_with_a_message_and_change_nothing(root):
    SlaSettings.objects.get_or_create(pk=1)
    data = {"time_zone": "Mars/Olympus", "work_starts": "18:00", "work_ends": "09:00", "holiday_country": "CN",
            "final_days": "15", "final_counting": "calendar", "first_extension_to_days": "30",
            "second_extension_days": "30", "final_reminder_lead": "2 00:00:00", "notify_assignee": "on",
            "notify_supervisors": "on", "notify_emails": "not-an-address", "auto_escalate_merchant_silence": "on",
            "auto_close_after": "7 00:00:00"}
    response = root.post("/admin/disputes/slasettings/1/change/", data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) >= {"time_zone", "work_ends", "notify_emails"}
    assert SlaSettings.objects.get(pk=1).time_zone == "Asia/Shanghai"


def test_a_stage_target_of_zero_is_refused(root):
    policy = StagePolicy.objects.get(state=State.VERIFYING)
    response = root.post(f"/admin/disputes/stagepolicy/{policy.pk}/change/", {
        "state": State.VERIFYING, "target": "0", "unit": "days", "reminder_lead": "02:00:00",
        "notify_assignee": "on", "notify_supervisors": "on", "notify_emails": ""})
    assert response.status_code == 200
    policy.refresh_from_db()
    assert policy.target == 2


def test_the_case_admin_shows_the_clock_fields_and_the_extension_action():
    case_admin = admin.site._registry[Case]
    assert "sla_stage_clock" in case_admin.readonly_fields
    assert "sla_status" in case_admin.list_display
    assert "extend_deadline" in case_admin.actions
    assert any("sla_final_clock" in options["fields"] for _title, options in case_admin.fieldsets)


@pytest.fixture
def staff(client):
    def login(user):
        user.is_staff = True
        user.save()
        client.force_login(user)
        return client
    return login


def test_a_supervisor_extends_the_deadline_from_the_case_list(staff, case, bob):
    client = staff(bob)
    page = client.post("/admin/disputes/case/", {"action": "extend_deadline", "_selected_action": [case.pk]})
    assert page.status_code == 200 and 'name="reason"' in page.content.decode()
    done = client.post("/admin/disputes/case/", {"action": "extend_deadline", "_selected_action": [case.pk],
                                                 "apply": "1", "reason": "Complex: the processor investigates."})
    assert done.status_code == 302
    case.refresh_from_db()
    assert case.deadline_extensions == 1
    assert case.events.get(kind="deadline_extended").actor == bob


def test_an_extension_without_a_reason_is_asked_again_and_changes_nothing(staff, case, bob):
    client = staff(bob)
    page = client.post("/admin/disputes/case/", {"action": "extend_deadline", "_selected_action": [case.pk],
                                                 "apply": "1", "reason": ""})
    assert page.status_code == 200 and "errorlist" in page.content.decode()
    case.refresh_from_db()
    assert case.deadline_extensions == 0


def test_an_agent_cannot_extend_from_the_admin(staff, case, alice):
    client = staff(alice)
    page = client.get("/admin/disputes/case/")
    assert page.status_code == 200 and 'value="extend_deadline"' not in page.content.decode()
    final_due_at = case.final_due_at
    answer = client.post("/admin/disputes/case/", {"action": "extend_deadline", "_selected_action": [case.pk],
                                                   "apply": "1", "reason": "Because."},
                         follow=True, HTTP_ACCEPT_LANGUAGE="en")
    # The action is not hers: the admin treats it as no action at all.
    assert answer.redirect_chain == [("/admin/disputes/case/", 302)]
    assert [str(message) for message in answer.context["messages"]] == ["No action selected."]
    case.refresh_from_db()
    assert (case.deadline_extensions, case.final_due_at) == (0, final_due_at)
    assert not case.events.filter(kind="deadline_extended").exists()

