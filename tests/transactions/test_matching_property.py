"""Property: the matching (transactions/matching.py) pairs exactly what the
contract's greedy rule pairs (docs/design.md, "Transaction records", Matching).

The oracle below reads the rule literally, one pair at a time: in each pass,
over what is still unpaired, take the candidate pair with the smallest time
gap, then the lowest entry_id, then the lowest record_id (byte by byte), drop
its debit and record, repeat. The code under test computes it in SQL, in
rounds of mutual best candidates, with a group of one debit and one record
paired before the rounds. Records are drawn from small pools so that rrns,
slips, amounts and times collide: groups of several debits and records, ties,
records across local midnight, candidates of two passes at once.
"""
from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.transactions.records import SHANGHAI, T, debit, record
from transactions import matching_groups
from transactions.matching import PASS_MERCHANT, PASS_RRN, PASS_TERMINAL, match_pairs
from transactions.models import LedgerEntry, SettlementRecord

LATER = T + timedelta(days=30)
MIDNIGHT = T.replace(hour=23, minute=55)  # a local midnight five minutes away
IDS = ["1", "2", "A", "B", "a", "b", "10", "A0", "_"]  # byte order: 1 < 10 < 2 < A < A0 < B < _ < a < b


def _rows(kind: str):
    return st.fixed_dictionaries({
        "id": st.sampled_from(IDS),
        "rrn": st.sampled_from(["", "100000000001", "100000000002"]),
        "terminal_id": st.sampled_from(["", "41082857", "68325145"]),
        "stan": st.sampled_from(["", "000001", "000002"]),
        "merchant_id": st.sampled_from(["", "103287654110281", "308231254110061"]),
        "amount": st.sampled_from(["10.00", "10.01", "20.00"]),
        "at": st.sampled_from([T, T + timedelta(minutes=1), T + timedelta(minutes=14, seconds=59),
                               T + timedelta(minutes=15), T + timedelta(minutes=15, microseconds=1),
                               T - timedelta(minutes=7), MIDNIGHT, MIDNIGHT + timedelta(minutes=9)]),
    })


def _unique(rows: list[dict], prefix: str) -> list[dict]:
    seen: set[str] = set()
    kept = []
    for row in rows:
        if row["id"] not in seen:
            seen.add(row["id"])
            kept.append({**row, "id": prefix + row["id"]})
    return kept


def _candidates(number: int, d: dict, r: dict) -> bool:
    if number == PASS_RRN:
        return d["rrn"] != "" and d["rrn"] == r["rrn"]
    if d["amount"] != r["amount"]:
        return False
    if number == PASS_TERMINAL:
        return (d["terminal_id"] != "" and d["stan"] != "" and (d["terminal_id"], d["stan"]) == (
            r["terminal_id"], r["stan"]) and d["at"].astimezone(SHANGHAI).date() == r["at"].astimezone(SHANGHAI).date())
    return d["merchant_id"] != "" and d["merchant_id"] == r["merchant_id"] and abs(d["at"] - r["at"]) <= timedelta(
        minutes=15)


def _greedy(debits: list[dict], records: list[dict]) -> set[tuple[str, str, int]]:
    paired: set[tuple[str, str, int]] = set()
    used_debits: set[str] = set()
    used_records: set[str] = set()
    for number in (PASS_RRN, PASS_TERMINAL, PASS_MERCHANT):
        candidates = sorted(
            (abs(d["at"] - r["at"]), d["id"].encode(), r["id"].encode(), d["id"], r["id"])
            for d in debits if d["id"] not in used_debits
            for r in records if r["id"] not in used_records and _candidates(number, d, r))
        for _gap, _d, _r, debit_id, record_id in candidates:
            if debit_id not in used_debits and record_id not in used_records:
                paired.add((debit_id, record_id, number))
                used_debits.add(debit_id)
                used_records.add(record_id)
    return paired


@hsettings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(debits=st.lists(_rows("debit"), max_size=9), records=st.lists(_rows("record"), max_size=9))
def test_the_matching_pairs_what_the_greedy_rule_pairs(db, debits, records):
    _check(debits, records)


@hsettings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(debits=st.lists(_rows("debit"), max_size=9), records=st.lists(_rows("record"), max_size=9))
def test_every_group_paired_in_one_sequence_pairs_what_the_greedy_rule_pairs(db, monkeypatch, debits, records):
    """The same, with every group of passes 1 and 2 of more than one pair paired by matching_groups."""
    monkeypatch.setattr(matching_groups, "LARGE_GROUP_PAIRS", 1)
    _check(debits, records)


def _check(debits: list[dict], records: list[dict]) -> None:
    debits, records = _unique(debits, "L"), _unique(records, "S")
    with transaction.atomic():
        for row in debits:
            debit(row["id"], row["at"], amount=row["amount"], **{k: row[k] for k in (
                "rrn", "terminal_id", "stan", "merchant_id")})
        for row in records:
            record(row["id"], row["at"], amount=row["amount"], **{k: row[k] for k in (
                "rrn", "terminal_id", "stan", "merchant_id")})
        entries = dict(LedgerEntry.objects.values_list("pk", "entry_id"))
        settled = dict(SettlementRecord.objects.values_list("pk", "record_id"))
        found = {(entries[p.entry], settled[p.record], p.match_pass) for p in match_pairs(as_of=LATER)}
        transaction.set_rollback(True)

    assert found == _greedy(debits, records)
