"""Large groups of equal values (transactions/matching_groups.py): paired in one
sequence by the contract's greedy rule, checked against the rule read
literally (every candidate pair sorted, taken in order while both ends are free)."""
from __future__ import annotations

from datetime import timedelta

from django.db import connection
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.transactions.records import T, debit, record
from transactions import matching_groups
from transactions.matching import PASS_MERCHANT, PASS_RRN, PASS_TERMINAL, matching
from transactions.matching_groups import greedy_pairs

KEYS = ["1", "10", "2", "A", "A0", "B", "_", "a", "b", "é", "中"]  # byte order, the last two beyond ASCII


def literal(debits, records) -> set[tuple[int, int]]:
    candidates = sorted((abs(d_at - r_at), d_key.encode(), r_key.encode(), d_id, r_id)
                        for d_id, d_key, d_at in debits for r_id, r_key, r_at in records)
    used, pairs = set(), set()
    for _gap, _d_key, _r_key, d_id, r_id in candidates:
        if ("d", d_id) not in used and ("r", r_id) not in used:
            used |= {("d", d_id), ("r", r_id)}
            pairs.add((d_id, r_id))
    return pairs


def side(first_id: int):
    """Points with distinct keys, times from few values (ties in time and in gap)."""
    return st.lists(st.tuples(st.sampled_from(KEYS), st.integers(0, 6)), max_size=10, unique_by=lambda p: p[0]).map(
        lambda points: [(first_id + n, key, at) for n, (key, at) in enumerate(points)])


@hsettings(max_examples=2000, deadline=None)
@given(debits=side(1), records=side(100))
def test_one_sequence_pairs_what_the_rule_read_literally_pairs(debits, records):
    assert set(greedy_pairs(debits, records)) == literal(debits, records)


@hsettings(max_examples=300, deadline=None)
@given(debits=side(1), records=side(100), spread=st.integers(1, 10**9))
def test_far_apart_times_change_nothing(debits, records, spread):
    stretch = [(pk, key, at * spread) for pk, key, at in debits], [(pk, key, at * spread) for pk, key, at in records]
    assert set(greedy_pairs(*stretch)) == literal(*stretch)


def test_an_rrn_on_many_payments_is_paired_in_one_sequence(db):
    """Sixty debits and sixty records with one rrn (3,600 candidate pairs, over the limit), times interleaved
    so that rounds of mutual best candidates would take many rounds: every pair comes in round 1, and
    they are the rule's pairs."""
    assert 60 * 60 > matching_groups.LARGE_GROUP_PAIRS
    debits = [debit(f"L{n:03d}", T + timedelta(seconds=7 * n), rrn="000000000000") for n in range(60)]
    records = [record(f"S{n:03d}", T + timedelta(seconds=11 * n), rrn="000000000000") for n in range(60)]
    expected = literal([(d.pk, d.entry_id, int(d.posted_at.timestamp())) for d in debits],
                       [(r.pk, r.record_id, int(r.transacted_at.timestamp())) for r in records])

    with matching(as_of=T + timedelta(days=1)) as summary, connection.cursor() as cursor:
        cursor.execute("SELECT debit_id, record_id, match_pass, match_round FROM tx_match_pair")
        found = cursor.fetchall()

    assert {(d, r) for d, r, _pass, _round in found} == expected
    assert {(number, round_number) for _d, _r, number, round_number in found} == {(PASS_RRN, 1)}
    assert summary.pairs_by_pass == {PASS_RRN: 60, PASS_TERMINAL: 0, PASS_MERCHANT: 0}


def test_a_large_group_of_pass_two_leaves_its_unpaired_to_pass_three(db, monkeypatch):
    """Pass 2's group (terminal, STAN, amount, day) of three debits and two records, paired in one sequence:
    the debit it leaves still pairs in pass 3 with a record of the merchant within 15 minutes."""
    monkeypatch.setattr(matching_groups, "LARGE_GROUP_PAIRS", 1)
    for n, minutes in enumerate((0, 10, 20)):
        debit(f"L{n}", T + timedelta(minutes=minutes), stan="000001")
    record("S0", T + timedelta(minutes=1), stan="000001")
    record("S1", T + timedelta(minutes=19), stan="000001")
    record("S2", T + timedelta(minutes=12), stan="000009")

    with matching(as_of=T + timedelta(days=1)) as summary:
        pass

    assert summary.pairs_by_pass == {PASS_RRN: 0, PASS_TERMINAL: 2, PASS_MERCHANT: 1}
