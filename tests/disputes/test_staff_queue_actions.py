"""From the queue: a supervisor assigns the ticked cases in bulk; anyone in the
workspace takes a case from its row and exports the filtered list as CSV
(streamed, every page, safe to open in a spreadsheet)."""
import csv
import io

import pytest

from disputes.models import Case
from disputes.workflow.casework import case_assign
from disputes.workflow.names import State
from disputes.workflow.steps import case_transition

pytestmark = pytest.mark.django_db


def fresh(case) -> Case:
    return Case.objects.get(pk=case.pk)


def ticked(*cases) -> list[str]:
    return [f"{case.reference}:{case.version}" for case in cases]


def test_a_supervisor_assigns_the_ticked_cases_to_an_agent(client, bob, alice, file_case):
    a, b, c = file_case(), file_case(), file_case()
    client.force_login(bob)
    response = client.post("/staff/assign/", {"cases": ticked(a, b), "assignee": alice.pk, "next": "tab=open&state=submitted"},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302 and response["Location"] == "/staff/?tab=open&state=submitted"
    assert fresh(a).assignee == alice and fresh(b).assignee == alice and fresh(c).assignee is None
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "2 cases assigned to alice." in page


def test_a_case_changed_since_the_list_was_shown_is_left_alone_and_named(client, bob, carol, alice, file_case):
    a, b = file_case(), file_case()
    listed = ticked(a, b)
    case_assign(case=b, actor=carol, assignee=carol)  # meanwhile
    client.force_login(bob)
    response = client.post("/staff/assign/", {"cases": listed, "assignee": alice.pk}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert fresh(a).assignee == alice and fresh(b).assignee == carol
    html = response.content.decode()
    assert "1 case assigned to alice." in html and f"left as they are: {b.reference}" in html


@pytest.mark.parametrize("tampered", ["{ref}:²", "{ref}:٣", "{ref}:1.5", "{ref}:-1", "{ref}:1234567890", "{ref}\x00:1",
                                      "\x00:1", ":1", "{ref}", "{ref}:", "{ref}:1:2", "dd{ref}:1", "{ref} :1"])
def test_a_ticked_row_the_queue_never_sent_refuses_the_whole_assignment(client, bob, alice, file_case, tampered):
    """Rows are REFERENCE:version as the queue writes them; anything else (a NUL
    was a 500, a superscript digit too) assigns nothing, the good row beside it
    included, and says what to do."""
    good, other = file_case(), file_case()
    client.force_login(bob)
    response = client.post("/staff/assign/", {"cases": [*ticked(good), tampered.format(ref=other.reference)],
                                              "assignee": alice.pk}, follow=True)
    assert response.status_code == 200
    assert "请勾选要分配的工单，并选择分配对象（或不分配）。" in response.content.decode()
    assert fresh(good).assignee is None and fresh(other).assignee is None


def test_nothing_ticked_assigns_nothing_and_says_so(client, bob, alice, file_case):
    case = file_case()
    client.force_login(bob)
    response = client.post("/staff/assign/", {"assignee": alice.pk}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "Tick the cases to assign and choose someone (or nobody)." in response.content.decode()
    assert fresh(case).assignee is None


def test_bulk_assignment_is_a_supervisors(client, alice, file_case):
    case = file_case()
    client.force_login(alice)
    response = client.post("/staff/assign/", {"cases": ticked(case), "assignee": alice.pk})
    assert response.status_code == 403 and fresh(case).assignee is None
    assert 'id="bulk-assign"' not in client.get("/staff/?tab=unassigned").content.decode()


def test_the_bulk_form_is_offered_to_supervisors_on_open_tabs(client, bob, file_case):
    file_case()
    client.force_login(bob)
    assert 'id="bulk-assign"' in client.get("/staff/?tab=open").content.decode()
    assert 'id="bulk-assign"' not in client.get("/staff/?tab=ended").content.decode()


def test_an_agent_takes_a_case_from_its_row_and_stays_on_the_queue(client, alice, file_case):
    case = file_case()
    client.force_login(alice)
    html = client.get("/staff/?tab=unassigned").content.decode()
    assert f'action="/staff/cases/{case.reference}/assign/" class="take"' in html
    response = client.post(f"/staff/cases/{case.reference}/assign/",
                           {"assignee": alice.pk, "version": case.version, "queue": "tab=unassigned"})
    assert response.status_code == 302 and response["Location"] == "/staff/?tab=unassigned"
    assert fresh(case).assignee == alice
    stale = client.post(f"/staff/cases/{case.reference}/assign/",
                        {"assignee": alice.pk, "version": case.version, "queue": "tab=unassigned"}, follow=True,
                        HTTP_ACCEPT_LANGUAGE="en")
    assert "changed since the list was shown" in stale.content.decode()


def read_csv(response) -> list[dict]:
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="cases-')
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_export_is_the_filtered_list_every_page_of_it(client, alice, file_case, monkeypatch):
    monkeypatch.setattr("disputes.selectors.queue.PAGE_SIZE", 2)
    cases = [file_case() for _ in range(5)]
    case_transition(case=cases[0], name="start_verification", actor=alice)
    client.force_login(alice)
    rows = read_csv(client.get("/staff/export.csv?tab=unassigned&state=submitted", HTTP_ACCEPT_LANGUAGE="en"))
    assert sorted(row["reference"] for row in rows) == sorted(case.reference for case in cases[1:])
    assert rows[0]["state"] == "submitted" and rows[0]["card"] == "····1234" and rows[0]["amount"] == "128.50"
    assert rows[0]["sla_status"] == "on_track"


def test_export_cells_a_spreadsheet_would_run_are_defused(client, alice, file_case):
    file_case(customer_name="=HYPERLINK(\"http://evil.example\",\"click\")", merchant_name="+cmd|' /C calc'!A0")
    client.force_login(alice)
    row = read_csv(client.get("/staff/export.csv?tab=unassigned"))[0]
    assert row["customer"] == "'=HYPERLINK(\"http://evil.example\",\"click\")"
    assert row["merchant_name"] == "'+cmd|' /C calc'!A0"


def test_the_export_is_for_the_workspace_only(client, dave, mallory, file_case):
    file_case()
    assert client.get("/staff/export.csv").status_code == 302
    for who in (dave, mallory):
        client.force_login(who)
        assert client.get("/staff/export.csv").status_code == 403


def test_an_agent_may_not_export_the_supervisors_tab(client, alice):
    client.force_login(alice)
    assert client.get("/staff/export.csv?tab=open").status_code == 403


def test_the_export_link_carries_the_filters(client, bob, file_case):
    file_case()
    client.force_login(bob)
    html = client.get("/staff/?tab=open&state=submitted").content.decode()
    assert 'href="/staff/export.csv?tab=open&amp;state=submitted"' in html


def test_ended_cases_can_be_exported(client, alice, file_case):
    case = file_case()
    case_transition(case=case, name="withdraw", actor=alice)
    client.force_login(alice)
    rows = read_csv(client.get("/staff/export.csv?tab=ended", HTTP_ACCEPT_LANGUAGE="en"))
    assert [row["reference"] for row in rows] == [case.reference] and rows[0]["state"] == State.WITHDRAWN.label
