"""The prescreen (transactions/importing/prescreen.py): on PostgreSQL the SQL row
checks read only the lines it does not pass as certainly good, so it must never
pass a row the full check finds anything wrong with, and its line numbers must
name the staged rows."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone, translation
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.transactions.files import csv_text, ledger_row, settlement_row
from tests.transactions.test_import_transactions import (
    LEDGER_VALUES,
    import_bytes,
    problems_of,
)
from transactions import importing
from transactions.importing import prescreen
from transactions.models import LedgerEntry

FORMATS = importing.FORMATS


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def _recent(**delta) -> str:
    return (timezone.now() + timedelta(**delta)).isoformat()


# Values next to each boundary of the checks, good and bad, beyond LEDGER_VALUES.
MORE_LEDGER_VALUES = {
    "entry_id": ['L"1', "L,1", "L\\1", "~!#$%&'()*+-./:;<=>?@[]^_`{|}"],
    "customer_ref": ["Ｃ" * 32, "Ｃ" * 33, "C,1", 'C"1', "C\x7f1", "C\u00851", "C\u20281", "C 1 "],
    "amount": ["0.1", "00.00", "0.", "000000000000999999999999.99", "9999999999999", "1.0", "01", "1.", "+1",
               " 1", "1 ", "١٢"],
    "currency": ["JPY", "KRW", "EUR"],
    "posted_at": ["2000-01-01T00:00:00Z", "2000-01-01T10:00:00+14:00", "2000-01-02T00:00:00+14:00",
                  "1999-12-31T23:00:00-14:00", "2026-02-28T23:59:59.999999Z", "2024-02-29T12:00:00+08:00",
                  "2026-06-31T00:00:00Z", "2026-11-10T12:00:00+14:59", "2026-11-10T12:00:00-00:00",
                  "2026-11-10T12:00:00.Z", "2026-11-10T12:00:00+0800", "2026-11-10T12:00:00+08", " 2026-11-10T12:00:00Z"],
    "kind": ["debit ", "refund", "reversal"],
    "card_last4": ["0000", "12 4"],
}


def _choices(name: str) -> list[str]:
    return LEDGER_VALUES.get(name, []) + MORE_LEDGER_VALUES.get(name, [])


def _moving_times() -> list[str]:
    """Times around now: the clock allows TRANSACTION_CLOCK_SKEW (10 minutes) ahead."""
    return [_recent(minutes=-1), _recent(minutes=9), _recent(minutes=11), _recent(hours=20), _recent(days=-1),
            _recent(days=-3), (timezone.now() + timedelta(minutes=9)).astimezone(
                timezone.get_fixed_timezone(-14 * 60)).isoformat()]


@st.composite
def nearly_good_ledger_rows(draw):
    row = ledger_row("L0", rrn="100000000347", stan="508225", auth_code="A1b2C3")
    for name in draw(st.lists(st.sampled_from(list(LEDGER_VALUES)), min_size=1, max_size=3, unique=True)):
        options = _choices(name) + (_moving_times() if name == "posted_at" else [])
        row[name] = draw(st.sampled_from(options))
    return row


SETTLEMENT_VALUES = {
    "record_id": ["S1", "", "S 1", "S" * 32, "S" * 33],
    "processor": ["", "银联商务", "P" * 100, "P" * 101, "银" * 100, "银" * 101, "P\t1", "P,1"],
    "merchant_id": ["", "103287654110281", "1032876541102811", "10328765411028a"],
    "terminal_id": ["", "AB12cd34", "AB12cd3"],
    "amount": ["10.00", "0", "0.001", "1000000000000", "12.5"],
    "currency": ["CNY", "JPY", "USD", "XXX"],
    "transacted_at": ["2026-11-10T12:00:00+08:00", "2026-11-10T12:00:00", "2026-04-31T00:00:00Z", "1999-06-01T00:00:00Z"],
    "status": ["approved", "declined", "timeout", "reversed", "APPROVED", ""],
}


@st.composite
def nearly_good_settlement_rows(draw):
    row = settlement_row("S0", rrn="100000000347", stan="508225", auth_code="A1b2C3")
    for name in draw(st.lists(st.sampled_from(list(SETTLEMENT_VALUES)), min_size=1, max_size=3, unique=True)):
        options = SETTLEMENT_VALUES[name] + (_moving_times() if name == "transacted_at" else [])
        row[name] = draw(st.sampled_from(options))
    return row


def _line(kind: str, row: dict) -> bytes:
    """The row as the line of a file (csv quotes a value only when it must)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([row[name] for name in FORMATS[kind].columns])
    return out.getvalue().encode("utf-8", errors="surrogatepass")


def _passed(kind: str, row: dict) -> bool:
    screen = prescreen.Prescreen(FORMATS[kind], timezone.now())
    screen.feed(_line(kind, row))
    screen.finish()
    return screen.suspects == [] and screen.lines == 1


def _full_check(kind: str, rows: list[dict]) -> list[list[str]]:
    """What the full SQL check finds in each row, staged as COPY stages it (empty: NULL)."""
    fmt = FORMATS[kind]
    checks, params = importing.checks._sql_check(fmt.rules)
    latest = timezone.now() + timedelta(minutes=10)
    with transaction.atomic():
        importing.staging._create_temporary_tables(fmt)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {importing.STAGE} (line, {', '.join(fmt.columns)})"
                f" VALUES (%s{', %s' * len(fmt.columns)})",
                [(line, *[row[name] or None for name in fmt.columns]) for line, row in enumerate(rows, start=2)])
            cursor.execute(f"SELECT array_remove({checks}, NULL) FROM {importing.STAGE} ORDER BY line",
                           [latest if value == "now" else value for value in params])
            found = [problems for (problems,) in cursor.fetchall()]
        transaction.set_rollback(True)
    return found


def _every_single_change(kind: str) -> list[dict]:
    if kind == "ledger":
        base, values = ledger_row("L0", rrn="100000000347", stan="508225", auth_code="A1b2C3"), {
            name: _choices(name) for name in LEDGER_VALUES}
        values["posted_at"] += _moving_times()
    else:
        base, values = settlement_row("S0", rrn="100000000347"), dict(SETTLEMENT_VALUES)
        values["transacted_at"] = values["transacted_at"] + _moving_times()
    return [{**base, name: value} for name, options in values.items() for value in options]


@pytest.mark.parametrize("kind, strategy", [("ledger", nearly_good_ledger_rows()),
                                            ("settlement", nearly_good_settlement_rows())])
def test_the_prescreen_passes_only_rows_the_full_check_finds_nothing_wrong_with(db, kind, strategy):
    @hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(rows=st.lists(strategy, min_size=1, max_size=40))
    def check(rows):
        rows = [*_every_single_change(kind), *rows]
        passed = [_passed(kind, row) for row in rows]
        problems = _full_check(kind, rows)
        wrongly_passed = [(row, found) for row, ok, found in zip(rows, passed, problems) if ok and found]
        assert wrongly_passed == []
        # Not a screen that passes nothing: most of the single changes are good and pass.
        assert sum(passed) >= len(_every_single_change(kind)) // 3

    check()


def test_plain_good_rows_pass_and_so_do_their_common_variants():
    good = [ledger_row("L1"), ledger_row("L2", customer_ref="", rrn="100000000347", stan="508225",
                                        auth_code="A1b2C3", merchant_id="", terminal_id=""),
            ledger_row("L3", amount="0.5", currency="USD", posted_at="2026-11-10 12:00:00.5Z"),
            ledger_row("L4", amount="1200", currency="JPY", posted_at="2024-02-29T12:00:00-05:30"),
            ledger_row("L5", customer_ref="客户" * 16, posted_at=_recent(minutes=-1), kind="hold")]

    assert [_passed("ledger", row) for row in good] == [True] * len(good)
    assert _passed("settlement", settlement_row("S1", processor="银" * 100))


def test_line_numbers_follow_the_file_in_pieces_of_any_size():
    rows = [ledger_row(f"L{n}", customer_ref="客户") for n in range(50)]
    rows[6]["amount"], rows[31]["currency"], rows[49]["posted_at"] = "0", "XXX", "2026-04-31T00:00:00Z"
    data = csv_text("ledger", rows).encode().split(b"\n", 1)[1]
    for piece in (1, 2, 7, 1 << 20):
        for ending in (b"\n", b"\r\n"):
            screen = prescreen.Prescreen(FORMATS["ledger"], timezone.now())
            body = data.replace(b"\n", ending).removesuffix(ending)  # the last line without its line break
            for start in range(0, len(body), piece):
                screen.feed(body[start:start + piece])
            screen.finish()
            assert (screen.lines, screen.suspects) == (50, [8, 33, 51]), (piece, ending)


@pytest.mark.parametrize("body", [
    b'L1,"C,1",1234,10.00,CNY,2026-11-10T12:00:00+08:00,debit,,,,,\n',  # a quoted value
    b"L1,C1,1234,10.00,CNY,2026-11-10T12:00:00+08:00,debit,,,,,\n\nL2,C1,1234,10.00,CNY,2026-11-10T12:00:00Z,debit,,,,,\n",
    b"L1,C\xff1,1234,10.00,CNY,2026-11-10T12:00:00+08:00,debit,,,,,\n",  # not UTF-8
])
def test_the_prescreen_gives_up_where_lines_may_not_be_rows(body):
    screen = prescreen.Prescreen(FORMATS["ledger"], timezone.now())
    screen.feed(body)
    screen.finish()
    assert screen.suspects is None


def test_a_line_longer_than_any_plain_one_is_not_held_in_memory():
    screen = prescreen.Prescreen(FORMATS["ledger"], timezone.now())
    for _piece in range(3):
        screen.feed(b"L" * (prescreen.MAX_LINE_BYTES // 2))
    assert screen.suspects is None and len(screen._rest) == 0


def test_a_file_of_many_bad_lines_is_checked_whole_and_every_line_named(db, monkeypatch):
    monkeypatch.setattr(prescreen, "MAX_SUSPECTS", 3)
    rows = [ledger_row(f"L{n}", amount="0" if n % 2 else "10.00") for n in range(12)]

    report = import_bytes("ledger", csv_text("ledger", rows).encode())

    assert sorted(problems_of(report)) == [n + 2 for n in range(1, 12, 2)]
    assert all(problems == ["amount: The amount must be greater than zero."]
               for problems in problems_of(report).values())


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_bad_lines_among_plain_ones_are_named_with_their_own_numbers(db, ending):
    rows = [ledger_row(f"L{n}") for n in range(30)]
    rows[4]["posted_at"] = _recent(minutes=15)
    rows[29]["currency"] = "JPY"  # 10.00: JPY has no minor units
    text = csv_text("ledger", rows).replace("\n", ending).removesuffix(ending)

    report = import_bytes("ledger", text.encode())

    assert problems_of(report) == {6: ["posted_at: The time is in the future."],
                                   31: ["amount: JPY amounts have at most 0 decimal places."]}
    assert not LedgerEntry.objects.exists()


def test_after_a_value_over_two_lines_each_bad_line_keeps_its_own_number(db):
    """COPY counts records; the report counts lines, as an editor shows them."""
    good = "L{n},C1,1234,10.00,CNY,2026-11-10T12:00:00+08:00,debit,,,,,\n"
    text = (csv_text("ledger", []) + good.format(n=1) + 'L2,"C\n1",1234,10.00,CNY,2026-11-10T12:00:00+08:00,debit,,,,,\n'
            + good.format(n=3) + good.format(n=4).replace("CNY", "XXX"))

    report = import_bytes("ledger", text.encode())

    assert sorted(problems_of(report)) == [3, 6]
    assert problems_of(report)[6] == ["currency: Not a currency code this bank handles (ISO 4217, such as CNY)."]


@hsettings(max_examples=300, deadline=None)
@given(day=st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
       other=st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_the_days_before_a_day_are_those_before_it_as_text(day, other):
    pattern = re.compile(prescreen._days_before(day.isoformat()))

    assert bool(pattern.fullmatch(other.isoformat())) == (other.isoformat() < day.isoformat())
    assert not pattern.fullmatch(day.isoformat())


def test_a_piece_of_common_lines_is_passed_whole_and_the_rest_line_by_line(db):
    """The common lines of a piece are passed by one match of the whole piece; a piece
    holding one other line, good or not, is read line by line, with the same answer."""
    fmt = FORMATS["ledger"]
    common = [ledger_row(f"L{n}", rrn=f"{n:012d}") for n in range(1, 4)]
    yen = ledger_row("L8", currency="JPY", amount="1200")  # good, but not common: no decimal places
    late = ledger_row("L9", posted_at="2026-10-31T10:00:00+08:00")  # the 31st: good, not common
    bad = ledger_row("L7", currency="JPY", amount="12.50")
    whole = prescreen.common_lines_pattern(fmt, "2026-11-29").fullmatch

    assert whole(b"".join(_line("ledger", row) for row in common).decode())
    for other in (yen, late, bad):
        assert not whole(b"".join(_line("ledger", row) for row in [*common, other]).decode())
    screen = prescreen.Prescreen(fmt, timezone.now())
    screen.feed(b"".join(_line("ledger", row) for row in [*common, yen, late, bad, *common]))
    screen.finish()
    assert (screen.lines, screen.suspects) == (9, [7])  # the header is line 1: 'bad' is line 7
