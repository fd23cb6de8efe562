"""The supervisors' dashboard: each figure right on a small set of cases, a
date range, CSV export of every figure, supervisors only, and a number of
queries that does not grow with the number of cases."""
import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from disputes.models import Case
from disputes.selectors.dashboard import FIGURES
from disputes.workflow.names import Channel, State
from disputes.workflow.steps import case_transition
from disputes.refunds.payment import refund_execute
from merchants.models import PaymentProcessor
from tests.disputes.workflow import bring_to

pytestmark = pytest.mark.django_db
DASHBOARD = "/staff/dashboard/"


@pytest.fixture
def cast(alice, bob, carol):
    return {"alice": alice, "bob": bob, "carol": carol}


@pytest.fixture
def en(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def figure(response, slug: str):
    assert response.status_code == 200
    for found, _chart, _csv in response.context["figures"]:
        if found.slug == slug:
            return found
    raise AssertionError(slug)


def rows_by_label(found) -> dict:
    return {str(row[0]): row[1:] for row in found.rows}


@pytest.mark.parametrize("who", ["alice", "dave", "mallory"])
def test_the_dashboard_is_for_supervisors(client, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(DASHBOARD).status_code == 403
    assert client.get(DASHBOARD + "open-by-age.csv").status_code == 403


def test_open_cases_by_state_and_age(en, bob, file_case, cast):
    old = file_case()
    Case.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=4),
                                          sla_due_at=timezone.now() - timedelta(hours=1))
    file_case()
    bring_to(file_case(), State.VERIFYING, cast)
    bring_to(file_case(), State.RESOLVED, cast)
    en.force_login(bob)
    rows = rows_by_label(figure(en.get(DASHBOARD), "open-by-age"))
    # under 1 day, 1–3, 3–7, 7–15, 15+, total, breached now
    assert rows["submitted"] == [1, 0, 1, 0, 0, 2, 1]
    assert rows["verifying"] == [1, 0, 0, 0, 0, 1, 0]
    assert rows["refund pending"] == [0, 0, 0, 0, 0, 0, 0]


def test_filed_per_day_and_channel_within_the_range(en, bob, dave, file_case):
    file_case()
    file_case(actor=dave, channel=Channel.API)
    outside = file_case()
    Case.objects.filter(pk=outside.pk).update(created_at=timezone.now() - timedelta(days=40))
    en.force_login(bob)
    found = figure(en.get(DASHBOARD), "filed-per-day")
    assert len(found.rows) == 30
    today = rows_by_label(found)[timezone.localdate().isoformat()]
    assert today == [1, 0, 1, 0, 2]  # web, staff, api, automatic, total
    week = figure(en.get(DASHBOARD, {"start": (timezone.localdate() - timedelta(days=45)).isoformat()}), "filed-per-day")
    assert sum(row[-1] for row in week.rows) == 3


def test_sla_breaches_and_compliance_per_stage(en, bob, file_case, cast):
    from disputes.sla.sweep import sla_sweep

    bring_to(file_case(), State.VERIFYING, cast)
    file_case()
    sla_sweep(now=timezone.now() + timedelta(days=5))
    en.force_login(bob)
    in_five_days = (timezone.localdate() + timedelta(days=6)).isoformat()  # the sweep's alerts are dated then
    rows = rows_by_label(figure(en.get(DASHBOARD, {"end": in_five_days}), "sla-by-stage"))
    entered, stage_breaches, compliance, _overall = rows["verifying"]
    assert (entered, stage_breaches, compliance) == (1, 1, 0.0)
    assert rows["submitted"][:3] == [2, 1, 50.0]


def test_top_merchants_terminals_and_processors(en, bob, file_case):
    flypay = PaymentProcessor.objects.create(name="FlyPay", licensed=False)
    for _ in range(3):
        file_case(merchant_id="103287654110999", merchant_name="Hot Pot", terminal_id="ABCD1234")
    other = file_case()
    Case.objects.filter(pk=other.pk).update(processor=flypay)
    en.force_login(bob)
    response = en.get(DASHBOARD)
    assert figure(response, "top-merchants").rows[0] == ["103287654110999", "Hot Pot", 3]
    assert figure(response, "top-terminals").rows[0] == ["ABCD1234", "103287654110999", 3]
    assert [str(cell) for cell in figure(response, "top-processors").rows[0]] == ["FlyPay", "NO LICENCE", "1"]


def test_refunds_paid_and_outstanding(en, bob, carol, alice, file_case, cast):
    paid = bring_to(file_case(), State.REFUNDED, cast)  # 100.00 approved by bob
    refund_execute(refund_id=paid.refunds.get().pk)
    pending = bring_to(file_case(), State.MERCHANT_CONTACT, cast)
    case_transition(case=pending, name="propose_refund", actor=alice, amount=Decimal("20.00"))
    en.force_login(carol)
    rows = {str(row[0]): row[1:] for row in figure(en.get(DASHBOARD), "refunds").rows}
    assert rows["Refunds paid in the period"] == ["CNY", 1, Decimal("100.00")]
    assert rows["Refunds awaiting approval"] == ["CNY", 1, Decimal("20.00")]
    assert rows["Disputed on open cases"] == ["CNY", 1, Decimal("128.50")]


def test_the_charts_have_their_data_and_no_inline_script(en, bob, file_case):
    file_case()
    en.force_login(bob)
    html = en.get(DASHBOARD).content.decode()
    for slug in FIGURES:
        assert f'id="figure-{slug}"' in html
    assert '<script id="chart-open-by-age" type="application/json">' in html
    assert 'data-chart="chart-open-by-age"' in html
    assert "vendor/chart.umd.min.js" in html


def test_every_figure_exports_as_csv(en, bob, file_case):
    file_case()
    en.force_login(bob)
    for slug in FIGURES:
        response = en.get(f"{DASHBOARD}{slug}.csv")
        assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
        assert rows[0] == [str(column) for column in figure(en.get(DASHBOARD), slug).columns]
    assert en.get(f"{DASHBOARD}nonsense.csv").status_code == 404


def test_a_bad_range_is_said_and_the_default_period_shown(en, bob):
    en.force_login(bob)
    response = en.get(DASHBOARD, {"start": "2026-12-10", "end": "2026-12-01"})
    assert response.status_code == 400 and "This date is before the first one." in response.content.decode()
    assert en.get(DASHBOARD, {"start": "2020-01-01", "end": "2026-01-01"}).status_code == 400
    assert en.get(DASHBOARD + "refunds.csv", {"start": "nonsense"}).status_code == 400


def test_days_from_2000_to_2099_are_taken_and_any_other_is_named(en, bob):
    """The day after 9999-12-31 does not exist: that range was a server error."""
    en.force_login(bob)
    assert en.get(DASHBOARD, {"start": "2000-01-01", "end": "2000-01-31"}).status_code == 200
    assert en.get(DASHBOARD, {"start": "2099-12-01", "end": "2099-12-31"}).status_code == 200
    for period in ({"end": "9999-12-31"}, {"start": "9999-12-01", "end": "9999-12-31"},
                   {"start": "2099-12-31", "end": "2100-01-01"}, {"start": "1999-12-31", "end": "2000-01-01"}):
        response = en.get(DASHBOARD, period)
        assert response.status_code == 400, period
        assert "Enter a date from 2000-01-01 to 2099-12-31." in response.content.decode(), period
        assert en.get(DASHBOARD + "refunds.csv", period).status_code == 400, period


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(DASHBOARD).status_code == 200
    return len(queries)


def test_the_dashboard_costs_the_same_queries_at_10_and_200_cases(en, bob, file_case, django_assert_max_num_queries):
    for _ in range(10):
        file_case()
    en.force_login(bob)
    en.get(DASHBOARD)
    with django_assert_max_num_queries(20):
        at_10 = _queries(en)
    for _ in range(190):
        file_case()
    assert _queries(en) == at_10
