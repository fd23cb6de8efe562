"""Terminal health for supervisors (/staff/terminals/ and its CSV): per terminal
over the last ``days`` days, its settlement records, declines, timeouts and the
orphan debits of the latest finished reconciliation; the terminals with at
least ``threshold`` incidents, most first. Agents are refused; a bad parameter
is a 400 with the form's error and queries nothing (docs/design.md)."""
import csv
import io
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.transactions.records import MERCHANT, debit, record
from transactions.models import SettlementStatus
from transactions.reconciliation import reconcile

pytestmark = pytest.mark.django_db
PAGE = "/staff/terminals/"
CSV = "/staff/terminals.csv"
DAY = timedelta(days=1)
HOT, EDGE, LOW, OLD = "HOT00001", "EDGE0001", "LOW00001", "OLD00001"


@pytest.fixture
def en(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def now():
    return timezone.now()


def timeouts(terminal: str, at, count: int, *, status=SettlementStatus.TIMEOUT) -> None:
    for n in range(count):
        record(f"{terminal}{status[0]}{at:%m%d%H%M%S}{n}", at, status=status, terminal_id=terminal)


@pytest.fixture
def terminals(now):
    """HOT: 2 timeouts, 1 decline, 2 approved and 1 orphan debit = 4 incidents; EDGE: 3 declines = 3;
    LOW: 2 timeouts = 2; OLD: 5 timeouts 8 days ago (outside the default 7 days)."""
    timeouts(HOT, now - 2 * DAY, 2)
    timeouts(HOT, now - 2 * DAY, 1, status=SettlementStatus.DECLINED)
    timeouts(HOT, now - 3 * DAY, 2, status=SettlementStatus.APPROVED)  # 10.00 each, no debit: no pair, no orphan
    debit("L-HOT", now - 2 * DAY, terminal_id=HOT, rrn="200000000001", amount="55.55")  # never settled: an orphan
    timeouts(EDGE, now - DAY, 3, status=SettlementStatus.DECLINED)
    timeouts(LOW, now - DAY, 2)
    timeouts(OLD, now - 8 * DAY, 5)
    return reconcile(as_of=now)


def table(response) -> dict[str, list[str]]:
    """The page's rows, terminal id -> its cells, in order."""
    html = response.content.decode()
    return {terminal: re.findall(r"<td>(.*?)</td>", cells)
            for terminal, cells in re.findall(r'<tr data-terminal="([^"]*)">(.*?)</tr>', html)}


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def test_a_supervisor_sees_the_terminals_over_the_threshold_with_their_counts_most_first(en, bob, terminals):
    en.force_login(bob)
    response = en.get(PAGE)
    assert response.status_code == 200
    #              terminal  merchant  records approved declined timeouts orphans incidents
    assert list(table(response).items()) == [
        (HOT, [HOT, MERCHANT, "5", "2", "1", "2", "1", "4"]),
        (EDGE, [EDGE, MERCHANT, "3", "0", "3", "0", "0", "3"]),
    ]
    html = response.content.decode()
    assert 'id="terminals-empty"' not in html
    as_of = timezone.localtime(terminals.as_of).strftime("%Y-%m-%d %H:%M")
    assert f"Orphan debits from the latest reconciliation, as of {as_of}." in html
    since = timezone.localtime(terminals.as_of - 7 * DAY).strftime("%Y-%m-%d")
    assert re.search(rf"From {since} \d\d:\d\d to \d{{4}}-\d\d-\d\d \d\d:\d\d \(local time\)\.", html)
    assert 'href="/staff/terminals.csv?days=7&amp;threshold=3"' in html


def test_a_terminal_below_the_threshold_is_not_listed_and_the_threshold_is_inclusive(en, bob, terminals):
    en.force_login(bob)
    assert list(table(en.get(PAGE + "?threshold=3"))) == [HOT, EDGE]  # EDGE has exactly 3; LOW has 2
    assert list(table(en.get(PAGE + "?threshold=4"))) == [HOT]  # HOT has exactly 4; EDGE is one below
    assert list(table(en.get(PAGE + "?threshold=2"))) == [HOT, EDGE, LOW]
    response = en.get(PAGE + "?threshold=5")
    assert table(response) == {}
    assert "No terminal reaches the minimum number of incidents in this window." in response.content.decode()


def test_only_the_last_days_count(en, bob, now, terminals):
    en.force_login(bob)
    assert OLD not in table(en.get(PAGE + "?days=7&threshold=1"))
    assert table(en.get(PAGE + "?days=9&threshold=1"))[OLD][2:] == ["5", "0", "0", "5", "0", "5"]
    # One day: HOT's records and orphan (two days ago) and LOW's and EDGE's (one day ago, just out) are outside.
    timeouts("WIN00001", now - DAY + timedelta(minutes=2), 1)
    timeouts("WIN00001", now - DAY - timedelta(minutes=2), 1)
    assert table(en.get(PAGE + "?days=1&threshold=1")) == {
        "WIN00001": ["WIN00001", MERCHANT, "1", "0", "0", "1", "0", "1"]}


def test_the_orphans_are_those_of_the_reconciliation_with_the_latest_as_of(en, bob, now, terminals):
    reconcile(as_of=now - 3 * DAY)  # run after, as of before HOT's debit: no orphan in it
    en.force_login(bob)
    html = en.get(PAGE).content.decode()
    assert table(en.get(PAGE))[HOT][6] == "1"
    assert f"as of {timezone.localtime(terminals.as_of):%Y-%m-%d %H:%M}." in html


def test_without_a_reconciliation_the_page_says_so_and_counts_no_orphan(en, bob, now):
    debit("L-1", now - 2 * DAY, terminal_id=HOT)
    timeouts(HOT, now - DAY, 1)
    en.force_login(bob)
    response = en.get(PAGE + "?threshold=1")
    assert "No reconciliation has finished yet, so no orphan debit is counted." in response.content.decode()
    assert table(response) == {HOT: [HOT, MERCHANT, "1", "0", "0", "1", "0", "1"]}


def test_the_csv_has_the_pages_rows_under_a_header(en, bob, terminals):
    en.force_login(bob)
    response = en.get(CSV + "?days=7&threshold=3")
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="terminal-health-{timezone.localdate().isoformat()}.csv"')
    rows = csv_rows(response)
    assert rows[0] == ["Terminal id", "Merchant id", "Settlement records", "Approved", "Declined", "Timeouts",
                       "Orphan debits", "Incidents"]
    assert rows[1:] == list(table(en.get(PAGE + "?days=7&threshold=3")).values())
    assert [row[0] for row in csv_rows(en.get(CSV + "?threshold=4"))[1:]] == [HOT]


def test_the_page_and_the_csv_speak_chinese(client, bob, terminals):
    client.force_login(bob)
    assert "终端健康度" in client.get(PAGE, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert csv_rows(client.get(CSV, HTTP_ACCEPT_LANGUAGE="zh-hans"))[0][0] == "终端编号"


def test_the_nav_links_it_for_supervisors_only(en, alice, bob):
    en.force_login(bob)
    html = en.get(PAGE).content.decode()
    assert '<a href="/staff/terminals/" aria-current="page">Terminal health</a>' in html
    en.force_login(alice)
    assert 'href="/staff/terminals/"' not in en.get("/staff/").content.decode()


@pytest.mark.parametrize("who", ["alice", "dave", "mallory"])
def test_agents_and_other_roles_are_refused(en, request, who, terminals):
    en.force_login(request.getfixturevalue(who))
    for path in (PAGE, CSV):
        response = en.get(path)
        assert response.status_code == 403
        assert HOT not in response.content.decode()


def test_an_agent_is_told_it_is_for_supervisors(en, alice):
    en.force_login(alice)
    assert "Terminal health is for supervisors." in en.get(PAGE).content.decode()


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    for path in (PAGE, CSV):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


DAYS_ERROR = "Enter a whole number of days from 1 to 90."
THRESHOLD_ERROR = "Enter a whole number of incidents from 1 to 10000."


@pytest.mark.parametrize("query, error", [
    ("days=abc", DAYS_ERROR), ("days=0", DAYS_ERROR), ("days=91", DAYS_ERROR), ("days=-1", DAYS_ERROR),
    ("days=1.5", DAYS_ERROR), ("days=1e3", DAYS_ERROR), ("days=%ED%A0%80", DAYS_ERROR), ("days=" + "9" * 10_000, DAYS_ERROR),
    ("threshold=-1", THRESHOLD_ERROR), ("threshold=0", THRESHOLD_ERROR), ("threshold=10001", THRESHOLD_ERROR),
    ("threshold=x&days=7", THRESHOLD_ERROR), ("threshold=" + "1" * 10_000, THRESHOLD_ERROR),
], ids=lambda value: value[:20])
def test_a_bad_parameter_is_a_400_with_the_error_and_queries_nothing(en, bob, terminals, query, error):
    en.force_login(bob)
    with CaptureQueriesContext(connection) as queries:
        page, download = en.get(f"{PAGE}?{query}"), en.get(f"{CSV}?{query}")
    assert page.status_code == 400 and download.status_code == 400
    assert error in page.content.decode() and error in download.content.decode()
    assert 'id="terminals"' not in page.content.decode() and 'name="threshold"' in page.content.decode()
    assert not [q["sql"] for q in queries.captured_queries if "transactions_" in q["sql"]]


def test_the_error_is_in_chinese_for_a_chinese_browser(client, bob):
    client.force_login(bob)
    response = client.get(PAGE + "?days=abc", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400 and "请输入 1 到 90 之间的整数天数。" in response.content.decode()


@pytest.mark.parametrize("query", ["days=%00", "threshold=1%00", "days=7&x=%00"])
def test_a_nul_in_the_query_is_a_400_not_a_500(en, bob, query):
    en.force_login(bob)
    for path in (PAGE, CSV):
        response = en.get(f"{path}?{query}")
        assert response.status_code == 400
        assert "Your browser sent something we could not read." in response.content.decode()


def test_empty_or_missing_parameters_take_the_defaults(en, bob, terminals):
    en.force_login(bob)
    assert list(table(en.get(PAGE + "?days=&threshold="))) == [HOT, EDGE]
    assert list(table(en.get(PAGE + "?unrelated=1"))) == [HOT, EDGE]
