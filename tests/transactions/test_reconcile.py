"""Orphan debits as of a time, manage.py reconcile, paid twice, terminal health
(docs/design.md, "Transaction records" and "Commands")."""
from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import translation

from tests.transactions.files import run_import
from tests.transactions.records import MERCHANT, TERMINAL, T, debit, entry, minutes, record
from transactions import reconciliation
from transactions.models import LEDGER_COLUMNS, LedgerKind, ReconciliationRun, SettlementStatus
from transactions.reconciliation import orphan_debits, reconcile

SAMPLES = Path(settings.BASE_DIR) / "docs" / "samples"
DAY = timedelta(days=1)
OTHER_MERCHANT = "308231254110061"


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def orphans(as_of=T + 2 * DAY, grace=DAY) -> dict[str, Decimal]:
    run = reconcile(as_of=as_of, grace=grace)
    return {orphan.entry.entry_id: orphan.outstanding for orphan in orphan_debits(run)}


def reconcile_command(*args: str) -> str:
    out = io.StringIO()
    call_command("reconcile", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


# --- what an orphan is ------------------------------------------------------------------------------------


def test_a_debit_never_settled_nor_reversed_is_an_orphan_for_its_whole_amount(db):
    debit("L1", T, amount="128.50", rrn="100000000001")
    record("S1", T, rrn="100000000001", status=SettlementStatus.TIMEOUT)

    assert orphans() == {"L1": Decimal("128.50")}


def test_a_settled_debit_is_not_an_orphan(db):
    debit("L1", T, rrn="100000000001")
    record("S1", T, rrn="100000000001")

    assert orphans() == {}


def test_a_hold_is_never_an_orphan(db):
    entry("H1", T, kind=LedgerKind.HOLD, rrn="100000000001")

    assert orphans() == {}


def test_partial_reversals_and_refunds_leave_the_rest_outstanding(db):
    debit("L1", T, amount="10.07", rrn="100000000001")
    entry("R1", T + minutes(30), kind=LedgerKind.REFUND, amount="4.03", rrn="100000000001")
    debit("L2", T, amount="100.00", rrn="100000000002")
    entry("R2", T + minutes(30), kind=LedgerKind.REVERSAL, amount="60.00", rrn="100000000002")
    entry("R3", T + minutes(40), kind=LedgerKind.REFUND, amount="40.00", rrn="100000000002")
    debit("L3", T, amount="50.00", rrn="100000000003")
    entry("R4", T + minutes(30), kind=LedgerKind.REFUND, amount="80.00", rrn="100000000003")

    assert orphans() == {"L1": Decimal("6.04")}


def test_a_reversal_without_rrn_names_its_debit_by_terminal_and_stan(db):
    debit("L1", T, rrn="100000000001", stan="068859")
    entry("R1", T + minutes(5), kind=LedgerKind.REVERSAL, rrn="", stan="068859")
    debit("L2", T, rrn="100000000002", stan="068860")
    entry("R2", T + minutes(5), kind=LedgerKind.REVERSAL, rrn="", stan="068860", terminal_id="99999999")
    debit("L3", T, rrn="100000000003", stan="068861")
    entry("R3", T + minutes(5), kind=LedgerKind.REVERSAL, rrn="100000000099", stan="068861")

    assert orphans() == {"L2": Decimal("10.00"), "L3": Decimal("10.00")}


def test_a_reversal_with_no_rrn_terminal_or_stan_names_no_debit(db):
    debit("L1", T, rrn="", stan="", terminal_id="")
    entry("R1", T + minutes(5), kind=LedgerKind.REVERSAL, rrn="", stan="", terminal_id="")

    assert orphans() == {"L1": Decimal("10.00")}


def test_reversals_count_only_when_posted_by_the_as_of_time(db):
    debit("L1", T, rrn="100000000001")
    entry("R1", T + 3 * DAY, kind=LedgerKind.REVERSAL, rrn="100000000001")

    assert orphans(as_of=T + 2 * DAY) == {"L1": Decimal("10.00")}
    assert orphans(as_of=T + 3 * DAY - timedelta(seconds=1)) == {"L1": Decimal("10.00")}
    assert orphans(as_of=T + 3 * DAY) == {}


@pytest.mark.parametrize(("posted", "orphan"), [
    (T - DAY - timedelta(seconds=1), True),
    (T - DAY, True),
    (T - DAY + timedelta(seconds=1), False),
])
def test_the_grace_period_boundary(db, posted, orphan):
    """As of T with 24 hours' grace, a debit posted at T - 24 h or before counts."""
    debit("L1", posted)

    assert orphans(as_of=T, grace=DAY) == ({"L1": Decimal("10.00")} if orphan else {})


def test_a_settlement_after_the_as_of_time_does_not_settle_the_debit_yet(db):
    debit("L1", T, rrn="100000000001")
    record("S1", T + 3 * DAY, rrn="100000000001")

    assert orphans(as_of=T + 2 * DAY) == {"L1": Decimal("10.00")}
    assert orphans(as_of=T + 3 * DAY) == {}


def test_debits_posted_after_the_as_of_time_are_not_looked_at(db):
    debit("L1", T + DAY)

    run = reconcile(as_of=T + DAY - timedelta(seconds=1), grace=timedelta(0))

    assert (run.debits, run.orphans) == (0, 0)


def test_a_duplicate_swipe_settled_once_leaves_one_orphan(db):
    """The same payment swiped twice: one settlement record, two debits; the farther one is the orphan."""
    debit("L1", T, stan="394957")
    debit("L2", T + minutes(5), stan="394960")
    record("S1", T + minutes(6), stan="394966")

    assert orphans() == {"L1": Decimal("10.00")}


def test_the_run_records_what_it_compared_and_found(db):
    debit("L1", T, rrn="100000000001")
    record("S1", T, rrn="100000000001")
    debit("L2", T, stan="508225")
    record("S2", T + minutes(40), stan="508225", merchant_id=OTHER_MERCHANT)
    debit("L3", T, merchant_id=OTHER_MERCHANT, terminal_id="")
    record("S3", T + minutes(3), merchant_id=OTHER_MERCHANT, terminal_id="")
    debit("L4", T, amount="99.00")
    record("S4", T, status=SettlementStatus.DECLINED)

    run = reconcile(as_of=T + 2 * DAY)

    assert (run.debits, run.approved_records, run.orphans) == (4, 3, 1)
    assert (run.pairs_by_rrn, run.pairs_by_terminal, run.pairs_by_merchant) == (1, 1, 1)
    assert run.finished_at is not None and run.grace == DAY


def test_the_samples_reconcile_to_their_orphans(db):
    run_import("ledger", SAMPLES / "ledger.csv")
    run_import("settlement", SAMPLES / "settlement.csv")

    found = orphans(as_of=T.replace(month=11, day=25), grace=DAY)

    assert found == {"L0000021": Decimal("10.16"), "L0000016": Decimal("10.13"), "L0000020": Decimal("10.15"),
                     "L0000019": Decimal("10.14"), "L0000008": Decimal("6.04"), "L0000015": Decimal("10.12"),
                     "L0000005": Decimal("10.05"), "L0000012": Decimal("10.09")}


# --- the command ----------------------------------------------------------------------------------------


def test_the_command_prints_a_summary_and_writes_the_orphans_with_the_ledger_columns(db, tmp_path):
    run_import("ledger", SAMPLES / "ledger.csv")
    run_import("settlement", SAMPLES / "settlement.csv")
    output = tmp_path / "orphans.csv"

    printed = reconcile_command("--as-of", "2026-11-25T00:00:00+08:00", "--output", str(output))

    lines = output.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(LEDGER_COLUMNS)
    assert lines[1] == ("L0000021,C79279,9279,10.16,CNY,2026-10-23T04:36:16+08:00,debit,100000000427,639792,019921,"
                        "102424754110122,32804967")
    assert len(lines) == 9
    assert "19 debits and 10 approved settlement records compared" in printed
    assert "pairs by RRN 5, by terminal and STAN 1, by merchant and time 3; 8 orphan debits." in printed
    assert "Outstanding: 76.88 CNY" in printed
    assert "Probable duplicate payments (paid twice): L0000016, L0000019" in printed
    assert f"8 orphan debits written to {output}." in printed


def test_the_orphans_file_reads_back_as_the_same_ledger_rows(db, tmp_path):
    run_import("ledger", SAMPLES / "ledger.csv")  # no settlement: every debit but the two reversed in full
    output = tmp_path / "orphans.csv"
    reconcile_command("--as-of", "2026-11-25T00:00:00+08:00", "--output", str(output))

    printed, error = run_import("ledger", output)

    assert error is None and "17 rows in the file, 0 imported, 17 already present" in printed


def test_the_command_takes_a_grace_period_in_hours(db):
    debit("L1", T - timedelta(hours=2))

    assert "; 0 orphan debits." in reconcile_command("--as-of", T.isoformat(), "--grace-hours", "2.5")
    assert "; 1 orphan debits." in reconcile_command("--as-of", T.isoformat(), "--grace-hours", "2")
    assert "; 1 orphan debits." in reconcile_command("--as-of", T.isoformat(), "--grace-hours", "0")


def test_an_as_of_time_without_offset_is_in_the_configured_time_zone(db):
    debit("L1", T - DAY)

    assert "as of 2026-11-10T12:00:00+08:00" in reconcile_command("--as-of", "2026-11-10T12:00:00")
    assert "; 1 orphan debits." in reconcile_command("--as-of", "2026-11-10T12:00:00")
    assert "; 0 orphan debits." in reconcile_command("--as-of", "2026-11-10T11:59:59")


@pytest.mark.parametrize("args", [
    ("--as-of", "yesterday"), ("--as-of", "2026-11-10T12:00:00+08:00", "--grace-hours", "-1"),
    ("--as-of", "2026-11-10T12:00:00+08:00", "--grace-hours", "a day"),
    ("--as-of", "2026-11-10T12:00:00+08:00", "--grace-hours", "NaN"),
])
def test_the_command_refuses_bad_arguments(db, args):
    with pytest.raises(CommandError):
        reconcile_command(*args)


def test_a_grace_period_reaching_back_before_the_year_1_is_refused_and_nothing_recorded(db):
    debit("L1", T - DAY)

    for hours in ("99999999999999999999", "1E+30"):
        with pytest.raises(CommandError, match="before the year 1"):
            reconcile_command("--as-of", "2026-11-10T12:00:00+08:00", "--grace-hours", hours)

    assert not ReconciliationRun.objects.exists()


@pytest.mark.parametrize("as_of", [
    "1999-12-31T23:59:59+00:00", "2000-01-01T07:59:59+08:00", "2000-01-01T07:59:59", "0001-01-01T00:00:00+00:00",
])
def test_a_time_before_any_record_can_be_is_refused_and_nothing_recorded(db, as_of):
    with pytest.raises(CommandError, match="on or after 2000-01-01"):
        reconcile_command("--as-of", as_of, "--grace-hours", "0")

    assert not ReconciliationRun.objects.exists()


def test_the_earliest_time_reconciles_and_is_printed_in_the_time_zone(db):
    printed = reconcile_command("--as-of", "2000-01-01T00:00:00+00:00", "--grace-hours", "0")

    assert "as of 2000-01-01T08:00:00+08:00, grace 0 h" in printed  # not the zone's local mean time of old
    assert "; 0 orphan debits." in printed


def test_a_time_in_the_future_is_refused_and_nothing_recorded(db, monkeypatch):
    now = T + 2 * DAY
    monkeypatch.setattr(reconciliation.timezone, "now", lambda: now)
    debit("L1", T)  # old enough as of now; a later as-of would not make it more of an orphan

    with pytest.raises(CommandError, match="in the future"):
        reconcile_command("--as-of", (now + timedelta(microseconds=1)).isoformat())
    with pytest.raises(reconciliation.ReconcileRefused):
        reconcile(as_of=now + timedelta(microseconds=1))
    assert not ReconciliationRun.objects.exists()

    assert "; 1 orphan debits." in reconcile_command("--as-of", now.isoformat())


# --- paid twice -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("later", "flagged"), [
    (minutes(5), True), (minutes(30), True), (minutes(30) + timedelta(seconds=1), False), (minutes(-5), False),
])
def test_an_orphan_followed_by_a_settled_payment_of_the_same_card_and_merchant_is_paid_twice(db, later, flagged):
    debit("L1", T, rrn="100000000001")
    debit("L2", T + later, rrn="100000000002")
    record("S2", T + later, rrn="100000000002")

    run = reconcile(as_of=T + 2 * DAY)

    assert [o.entry.entry_id for o in orphan_debits(run)] == ["L1"]
    assert reconciliation.probable_duplicates(run) == (["L1"] if flagged else [])


@pytest.mark.parametrize("other", [{"card_last4": "9999"}, {"customer_ref": "C99999"},
                                   {"merchant_id": OTHER_MERCHANT}])
def test_paid_twice_needs_the_same_card_and_merchant(db, other):
    debit("L1", T, rrn="100000000001")
    debit("L2", T + minutes(5), rrn="100000000002", **other)
    record("S2", T + minutes(5), rrn="100000000002", **{k: v for k, v in other.items() if k == "merchant_id"})

    run = reconcile(as_of=T + 2 * DAY)

    assert reconciliation.probable_duplicates(run) == []


def test_paid_twice_needs_the_second_payment_settled(db):
    debit("L1", T, rrn="100000000001")
    debit("L2", T + minutes(5), rrn="100000000002")
    record("S2", T + minutes(5), rrn="100000000002", status=SettlementStatus.TIMEOUT)

    run = reconcile(as_of=T + 2 * DAY)

    assert sorted(o.entry.entry_id for o in orphan_debits(run)) == ["L1", "L2"]
    assert reconciliation.probable_duplicates(run) == []


# --- terminal health --------------------------------------------------------------------------------------


def test_terminal_health_counts_timeouts_declines_and_orphans_and_lists_the_worst(db):
    for n in range(3):
        record(f"T{n}", T + minutes(n), status=SettlementStatus.TIMEOUT)
    record("D1", T, status=SettlementStatus.DECLINED)
    record("A1", T, rrn="100000000001")
    debit("L1", T, rrn="100000000001")
    debit("L2", T - minutes(20), rrn="100000000002")
    record("Q1", T, status=SettlementStatus.TIMEOUT, terminal_id="QUIET001")
    record("X1", T - 10 * DAY, status=SettlementStatus.TIMEOUT, terminal_id="OLD00001")
    record("X2", T - 10 * DAY, status=SettlementStatus.TIMEOUT, terminal_id="OLD00001")
    record("X3", T - 10 * DAY, status=SettlementStatus.TIMEOUT, terminal_id="OLD00001")
    run = reconcile(as_of=T + 2 * DAY)

    rows = reconciliation.terminal_health(since=T - DAY, until=T + DAY, threshold=2, reconciliation=run)

    assert rows == [reconciliation.TerminalHealth(
        terminal_id=TERMINAL, merchant_id=MERCHANT, records=5, approved=1, declined=1, timeouts=3, orphans=1)]
    assert rows[0].incidents == 5
    out = io.StringIO()
    assert reconciliation.terminal_health_write_csv(rows, out) == 1
    assert out.getvalue().splitlines() == [
        "terminal_id,merchant_id,records,approved,declined,timeouts,orphans,incidents",
        f"{TERMINAL},{MERCHANT},5,1,1,3,1,5",
    ]


def test_terminal_health_counts_the_orphans_of_the_latest_reconciliation_by_default(db):
    debit("L1", T, terminal_id="ORPHAN01")
    reconcile(as_of=T - DAY)  # before the debit: no orphan
    reconcile(as_of=T + 2 * DAY)

    rows = reconciliation.terminal_health(since=T - DAY, until=T + DAY, threshold=1)

    assert [(row.terminal_id, row.records, row.orphans) for row in rows] == [("ORPHAN01", 0, 1)]


def test_the_summary_names_at_most_twenty_probable_duplicates(db):
    for n in range(25):
        debit(f"L{n:02d}a", T, rrn=f"1000000{n:02d}001", card_last4=f"{n:04d}")
        debit(f"L{n:02d}b", T + minutes(5), rrn=f"1000000{n:02d}002", card_last4=f"{n:04d}")
        record(f"S{n:02d}", T + minutes(5), rrn=f"1000000{n:02d}002")

    printed = reconcile_command("--as-of", (T + 2 * DAY).isoformat())

    assert "Probable duplicate payments (paid twice): L00a, L01a," in printed
    assert "L19a … and 5 more" in printed and "L20a" not in printed


def test_one_debits_reversals_and_outstanding_amount_follow_the_same_rule(db):
    first = debit("L1", T, amount="10.07", rrn="100000000001", stan="000001")
    entry("R1", T + minutes(30), kind=LedgerKind.REFUND, amount="4.03", rrn="100000000001")
    entry("R2", T + minutes(40), kind=LedgerKind.REVERSAL, amount="1.00", rrn="", stan="000001")
    entry("R3", T + 3 * DAY, kind=LedgerKind.REVERSAL, amount="5.04", rrn="100000000001")
    entry("R4", T + minutes(50), kind=LedgerKind.REVERSAL, amount="9.00", rrn="100000000099", stan="000001")
    second = debit("L2", T, rrn="", stan="", terminal_id="")

    as_of = T + 2 * DAY
    assert [e.entry_id for e in reconciliation.reversals_for(first, as_of=as_of)] == ["R1", "R2"]
    assert reconciliation.outstanding_amount(first, as_of=as_of) == Decimal("5.04")
    assert reconciliation.outstanding_amount(first, as_of=T + 3 * DAY) == Decimal("0")
    assert not reconciliation.reversals_for(second, as_of=as_of).exists()
    assert orphans(as_of=as_of)["L1"] == Decimal("5.04")


def test_an_output_that_cannot_be_written_is_refused_before_anything_is_recorded(db, tmp_path):
    debit("L1", T)

    for path in (tmp_path / "no such folder" / "orphans.csv", tmp_path):
        with pytest.raises(CommandError, match=f"Cannot write {path}"):
            reconcile_command("--as-of", "2026-11-25T00:00:00+08:00", "--output", str(path))

    assert not ReconciliationRun.objects.exists()


def test_a_refused_run_leaves_no_output_file_and_an_old_one_as_it_was(db, tmp_path):
    new, old = tmp_path / "new.csv", tmp_path / "old.csv"
    old.write_text("yesterday's orphans\n", encoding="utf-8")

    for path in (new, old):
        with pytest.raises(CommandError, match="on or after 2000-01-01"):
            reconcile_command("--as-of", "1999-12-31T00:00:00+00:00", "--output", str(path))

    assert not new.exists() and old.read_text(encoding="utf-8") == "yesterday's orphans\n"


def test_an_existing_output_file_is_replaced_by_the_orphans(db, tmp_path):
    debit("L1", T)
    output = tmp_path / "orphans.csv"
    output.write_text("x" * 10_000 + "\n", encoding="utf-8")

    reconcile_command("--as-of", (T + 2 * DAY).isoformat(), "--output", str(output))

    lines = output.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(LEDGER_COLUMNS) and [line.split(",")[0] for line in lines[1:]] == ["L1"]


def test_the_orphans_may_go_to_standard_output_or_nowhere(db, capfd):
    debit("L1", T)
    reconcile_command("--as-of", (T + 2 * DAY).isoformat(), "--output", "/dev/null")
    reconcile_command("--as-of", (T + 2 * DAY).isoformat(), "--output", "/dev/stdout")

    lines = capfd.readouterr().out.splitlines()
    assert lines[0] == ",".join(LEDGER_COLUMNS) and [line.split(",")[0] for line in lines[1:]] == ["L1"]
