"""The staff queue (/staff/): tabs, filters, search, nearest deadline first,
keyset pages with a bounded number of queries, and who may see it."""
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from disputes.verification.checks import case_verify
from disputes.models import Case
from disputes.selectors.queue import Cursor
from disputes.workflow.casework import case_assign
from disputes.workflow.names import Channel, State
from merchants.models import PaymentProcessor
from tests.disputes.workflow import bring_to

pytestmark = pytest.mark.django_db
QUEUE = "/staff/"


def listed(response) -> list[str]:
    """The references of the rows, in order."""
    assert response.status_code == 200, response.content.decode()[:2000]
    html = response.content.decode()
    return [part.split('"', 1)[0] for part in html.split('<tr data-reference="')[1:]]


@pytest.fixture
def cast(alice, bob, carol):
    return {"alice": alice, "bob": bob, "carol": carol}


def test_the_queue_needs_login(client):
    response = client.get(QUEUE)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("who", ["mallory", "dave", "erin"])
def test_only_agents_and_supervisors_enter_the_workspace(client, request, who):
    client.force_login(request.getfixturevalue(who))
    response = client.get(QUEUE)
    assert response.status_code == 403
    assert 'id="refused" data-status="403"' in response.content.decode()


def test_my_cases_unassigned_and_ended_tabs(client, alice, bob, file_case, cast):
    mine = file_case()
    case_assign(case=mine, actor=alice, assignee=alice)
    bobs = file_case()
    case_assign(case=bobs, actor=bob, assignee=bob)
    free = file_case()
    ended = bring_to(file_case(), State.RESOLVED, cast)
    client.force_login(alice)

    assert listed(client.get(QUEUE)) == [mine.reference]  # "my cases" by default
    assert listed(client.get(QUEUE + "?tab=unassigned")) == [free.reference]
    assert listed(client.get(QUEUE + "?tab=ended")) == [ended.reference]


def test_all_open_cases_are_the_supervisors_tab(client, alice, bob, file_case):
    cases = {file_case().reference for _ in range(3)}
    client.force_login(alice)
    assert 'data-tab="open"' not in client.get(QUEUE).content.decode()
    refused = client.get(QUEUE + "?tab=open")
    assert refused.status_code == 403
    client.force_login(bob)
    assert 'data-tab="open"' in client.get(QUEUE).content.decode()
    assert set(listed(client.get(QUEUE + "?tab=open"))) == cases


def test_the_nearest_deadline_comes_first_with_the_time_left_as_a_badge(client, bob, file_case, cast):
    later, sooner, paused = file_case(), file_case(), bring_to(file_case(), State.AWAITING_CUSTOMER, cast)
    now = timezone.now()
    Case.objects.filter(pk=later.pk).update(sla_due_at=now + timedelta(days=3))
    Case.objects.filter(pk=sooner.pk).update(sla_due_at=now - timedelta(hours=2))
    client.force_login(bob)
    response = client.get(QUEUE + "?tab=open")
    assert listed(response) == [sooner.reference, later.reference, paused.reference]
    html = response.content.decode()
    assert 'data-sla="breached"' in html and 'data-sla="paused"' in html
    assert "overdue by 2h 0m" in client.get(QUEUE + "?tab=open", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_each_filter_narrows_the_list(client, bob, dave, file_case, cast, system):
    unlicensed = PaymentProcessor.objects.create(name="FlyPay", licensed=False)
    a = file_case(amount=Decimal("50.00"), merchant_id="103287654110999")
    b = bring_to(file_case(amount=Decimal("500.00")), State.VERIFYING, cast)
    c = file_case(actor=dave, channel=Channel.API, amount=Decimal("5000.00"))
    Case.objects.filter(pk=c.pk).update(processor=unlicensed, created_at=timezone.now() - timedelta(days=10),
                                        sla_due_at=timezone.now() - timedelta(minutes=5))
    client.force_login(bob)
    ten_days_ago = timezone.localdate() - timedelta(days=10)

    def only(query):
        return set(listed(client.get(f"{QUEUE}?tab=open&{query}")))

    assert only("state=verifying") == {b.reference}
    assert only("sla=breached") == {c.reference}
    assert only("sla=on_track") == {a.reference, b.reference}
    assert only("channel=api") == {c.reference}
    assert only("merchant_id=103287654110999") == {a.reference}
    assert only(f"processor={unlicensed.pk}") == {c.reference}
    assert only("amount_min=100&amount_max=1000") == {b.reference}
    assert only(f"filed_from={ten_days_ago}&filed_to={ten_days_ago}") == {c.reference}
    assert only(f"filed_from={timezone.localdate()}") == {a.reference, b.reference}
    case_verify(case=a, actor=system)  # no ledger rows: not found
    assert only("diagnosis=not_found") == {a.reference}
    assert only("diagnosis=not_checked") == {b.reference, c.reference}
    assert only("diagnosis=settled") == set()


@pytest.mark.parametrize("query", ["diagnosis=maybe", "sla=late", "amount_min=abc", "amount_min=10&amount_max=5",
                                   "filed_from=2026-12-02&filed_to=2026-12-01", "state=nonsense", "merchant_id=12"])
def test_a_bad_filter_is_a_400_page_that_names_it(client, bob, query):
    client.force_login(bob)
    response = client.get(f"{QUEUE}?{query}")
    assert response.status_code == 400
    assert 'id="queue-errors"' in response.content.decode()


def test_filing_days_from_2000_to_2099_are_taken_and_any_other_is_named(client, bob, file_case):
    """The day after 9999-12-31 does not exist: that filter was a server error."""
    case = file_case()
    client.force_login(bob)
    assert listed(client.get(f"{QUEUE}?tab=open&filed_from=2000-01-01&filed_to=2099-12-31")) == [case.reference]
    for query in ("filed_to=9999-12-31", "filed_to=2100-01-01", "filed_from=1999-12-31", "filed_from=0001-01-01"):
        response = client.get(f"{QUEUE}?tab=open&{query}", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400, query
        assert "Enter a date from 2000-01-01 to 2099-12-31." in response.content.decode(), query


def test_the_search_finds_by_reference_phone_card_and_rrn_in_every_tab(client, alice, bob, file_case, cast):
    target = file_case(phone="+8613900001111", card_last4="4321", rrn="200000000001")
    case_assign(case=target, actor=bob, assignee=bob)  # someone else's: in none of alice's tabs
    file_case(phone="+8613900002222", card_last4="9999", rrn="200000000002")
    client.force_login(alice)
    for term in (target.reference, target.reference.lower(), "+86 139 0000 1111", "13900001111", "4321",
                 "200000000001"):
        response = client.get(QUEUE, {"q": term, "tab": "mine"})
        assert listed(response) == [target.reference], term
        assert 'id="search-scope"' in response.content.decode()
    assert listed(client.get(QUEUE, {"q": "DD000000-NOSUCH"})) == []


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr("disputes.selectors.queue.PAGE_SIZE", 3)


def test_keyset_pages_walk_every_case_once_without_offset_or_count(client, bob, file_case, small_pages):
    filed = [file_case() for _ in range(7)]
    now = timezone.now()
    for i, case in enumerate(filed):  # two cases share each deadline: the id breaks the tie
        Case.objects.filter(pk=case.pk).update(sla_due_at=now + timedelta(hours=i // 2))
    client.force_login(bob)
    seen, url = [], f"{QUEUE}?tab=open&state=submitted"
    while url:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        case_queries = [q["sql"] for q in queries if 'FROM "disputes_case"' in q["sql"]]
        assert case_queries and all("OFFSET" not in sql and "COUNT(" not in sql for sql in case_queries)
        seen += listed(response)
        html = response.content.decode()
        url = None
        if 'id="next-page"' in html:
            url = QUEUE + html.split('id="next-page"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
            assert parse_qs(urlparse(url).query)["state"] == ["submitted"]  # the link keeps the filters
    assert seen == [case.reference for case in filed]


def test_a_broken_page_link_is_a_400_page(client, bob):
    client.force_login(bob)
    assert client.get(QUEUE + "?after=garbage!").status_code == 400
    assert client.get(QUEUE + "?after=" + Cursor(key=timezone.now(), pk=1).encode()).status_code == 200


def _queue_queries(client, django_assert_max_num_queries, url) -> int:
    with CaptureQueriesContext(connection) as queries, django_assert_max_num_queries(14):
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_the_queue_costs_the_same_queries_at_10_and_at_200_cases(client, bob, file_case, django_assert_max_num_queries):
    for _ in range(10):
        file_case()
    client.force_login(bob)
    client.get(QUEUE)  # the session, the permissions and the SLA settings are warm from here on
    at_10 = _queue_queries(client, django_assert_max_num_queries, QUEUE + "?tab=open")
    for _ in range(190):
        file_case()
    at_200 = _queue_queries(client, django_assert_max_num_queries, QUEUE + "?tab=open")
    assert at_10 == at_200
    assert _queue_queries(client, django_assert_max_num_queries, QUEUE + "?tab=open&q=4321") <= at_200 + 1


def test_htmx_gets_only_the_results_and_the_same_url_works_without_it(client, alice, file_case):
    case = file_case()
    client.force_login(alice)
    partial = client.get(QUEUE + "?tab=unassigned", HTTP_HX_REQUEST="true")
    full = client.get(QUEUE + "?tab=unassigned")
    assert listed(partial) == listed(full) == [case.reference]
    assert "<html" not in partial.content.decode() and "<html" in full.content.decode()
    assert 'id="queue-filters"' in full.content.decode()
    assert "HX-Request" in partial["Vary"]


def test_the_tab_links_keep_the_filters_and_drop_the_search(client, bob):
    client.force_login(bob)
    html = client.get(QUEUE + "?tab=open&state=verifying&q=1234").content.decode()
    assert 'href="?tab=unassigned&amp;state=verifying"' in html or 'href="?state=verifying&amp;tab=unassigned"' in html
