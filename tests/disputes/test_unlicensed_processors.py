"""Cases whose payment processor holds no payment licence ("二清"): flagged on
the case page and in the queue row, counted on the supervisors' dashboard (a
figure and its CSV), and listed for the compliance team (supervisors, with a
CSV). Agents, the call center and other roles do not get the list."""
import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from disputes.models import Case
from disputes.workflow.names import State
from merchants.models import PaymentProcessor
from tests.disputes.merchants import unlicensed_processor
from tests.disputes.workflow import bring_to

pytestmark = pytest.mark.django_db
LIST = "/staff/compliance/unlicensed/"


@pytest.fixture
def cast(alice, bob, carol):
    return {"alice": alice, "bob": bob, "carol": carol}


@pytest.fixture
def en(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def cases(file_case, cast):
    """Two cases with an unlicensed processor (one ended, one filed 40 days ago), one licensed, one with none."""
    shady, licensed = unlicensed_processor(), PaymentProcessor.objects.create(name="银联商务", licensed=True)
    other_shady = unlicensed_processor("另一家二清")
    open_shady = file_case(phone="+8613900000001", rrn="100000000001")
    ended_shady = bring_to(file_case(phone="+8613900000002", rrn="100000000002"), State.REJECTED, cast)
    old_shady = file_case(phone="+8613900000003", rrn="100000000003")
    clean = file_case(phone="+8613900000004", rrn="100000000004")
    unknown = file_case(phone="+8613900000005", rrn="100000000005")
    Case.objects.filter(pk__in=[open_shady.pk, ended_shady.pk]).update(processor=shady)
    Case.objects.filter(pk=old_shady.pk).update(processor=other_shady, created_at=timezone.now() - timedelta(days=40))
    Case.objects.filter(pk=clean.pk).update(processor=licensed)
    return {"open": open_shady, "ended": ended_shady, "old": old_shady, "clean": clean, "unknown": unknown}


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_the_case_page_and_the_queue_row_flag_it(en, alice, cases):
    en.force_login(alice)
    page = en.get(f"/staff/cases/{cases['open'].reference}/").content.decode()
    assert 'id="processor-unlicensed"' in page
    assert 'id="processor-unlicensed"' not in en.get(f"/staff/cases/{cases['clean'].reference}/").content.decode()
    queue = en.get("/staff/?tab=unassigned").content.decode()
    flagged = {row.split('"')[0] for row in queue.split('data-reference="')[1:] if 'data-unlicensed="true"' in
               row.split("</tr>")[0]}
    assert flagged == {cases["open"].reference, cases["old"].reference}


def test_the_dashboard_counts_them_per_processor_with_a_csv(en, bob, cases):
    en.force_login(bob)
    response = en.get("/staff/dashboard/")
    found = next(f for f, _chart, _csv in response.context["figures"] if f.slug == "unlicensed-processors")
    # Filed in the last 30 days / open now: the ended one counts as filed, not as open; the old one only as open.
    assert {row[0]: row[1:] for row in found.rows} == {"某二清支付": [2, 1], "另一家二清": [0, 1]}
    rows = csv_rows(en.get("/staff/dashboard/unlicensed-processors.csv"))
    assert rows[0] == ["Payment processor", "Filed in the period", "Open now"]
    assert sorted(rows[1:]) == sorted([["某二清支付", "2", "1"],
                                      ["另一家二清", "0", "1"]])


def test_the_compliance_list_names_every_such_case_and_nothing_of_the_customer(en, bob, cases):
    en.force_login(bob)
    page = en.get(LIST).content.decode()
    listed = {chunk.split('"')[0] for chunk in page.split('<tr data-reference="')[1:]}
    assert listed == {cases["open"].reference, cases["ended"].reference, cases["old"].reference}
    assert "张三" not in page and "13900000001" not in page
    rows = csv_rows(en.get(LIST.rstrip("/") + ".csv"))
    assert rows[0][:4] == ["Reference", "State", "Filed", "Payment processor"]
    assert {row[0] for row in rows[1:]} == listed
    assert {row[0]: row[1] for row in rows[1:]}[cases["ended"].reference] == "rejected"


@pytest.mark.parametrize("who", ["alice", "dave", "mallory"])
def test_the_compliance_list_is_for_supervisors(client, request, who, cases):
    client.force_login(request.getfixturevalue(who))
    assert client.get(LIST).status_code == 403
    assert client.get(LIST.rstrip("/") + ".csv").status_code == 403


def test_an_anonymous_visitor_is_sent_to_log_in(client, cases):
    assert client.get(LIST).status_code == 302
