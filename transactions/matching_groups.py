"""The large groups of passes 1 and 2 (``transactions.matching``), paired in
one sequence instead of in rounds.

In passes 1 and 2 the candidates fall into groups of equal values (an rrn; a
terminal, STAN, amount and day) in which every debit is a candidate of every
record. A group of n debits and m records has n × m candidate pairs, and the
rounds of mutual best candidates can take up to min(n, m) rounds over all of
them: an rrn that a faulty terminal writes on a thousand payments made one
reconciliation take 100 s, and three thousand many minutes. So a group with
more than ``LARGE_GROUP_PAIRS`` candidate pairs is read once, its debits and
records with their times and ids, and paired here by the same greedy rule —
the smallest time gap, then the lowest ``entry_id``, then the lowest
``record_id``, byte by byte — in O((n + m) log(n + m)):

The closest free pair never has a free debit or record strictly between its
two times (either would be closer to one of its ends). So with the group's
times as clusters of equal time, the pair the rule takes next is in one
cluster, or between two clusters with no free point between them. A heap
holds the best pair of each such place (its lowest free debit and lowest
free record: ids only leave, so a pair still free when it comes out of the
heap is still its place's best); taking a pair refreshes the places of its
two clusters, and a cluster left with nothing free joins its neighbours.
"""
from __future__ import annotations

import heapq
from collections.abc import Sequence

# A group with more candidate pairs than this is paired here (50 debits × 50 records is 2,500).
LARGE_GROUP_PAIRS = 2_500

# One side of a group: (id, key, time in microseconds); the key compares byte by byte.
Point = tuple[int, str, int]


def greedy_pairs(debits: Sequence[Point], records: Sequence[Point]) -> list[tuple[int, int]]:
    """The pairs (debit id, record id) that the greedy rule makes in a group where
    every debit is a candidate of every record."""
    times = sorted({at for _id, _key, at in debits} | {at for _id, _key, at in records})
    cluster_of = {at: index for index, at in enumerate(times)}
    free_debits: list[list[tuple[bytes, int]]] = [[] for _ in times]
    free_records: list[list[tuple[bytes, int]]] = [[] for _ in times]
    where: dict[tuple[int, int], int] = {}  # (side, id) -> cluster
    for side, points, heaps in ((0, debits, free_debits), (1, records, free_records)):
        for pk, key, at in points:
            heaps[cluster_of[at]].append((key.encode(), pk))
            where[side, pk] = cluster_of[at]
    for heap in (*free_debits, *free_records):
        heapq.heapify(heap)
    taken: set[tuple[int, int]] = set()
    before = list(range(-1, len(times) - 1))  # the neighbouring clusters that still hold something free
    after = list(range(1, len(times) + 1))

    def lowest(heap: list[tuple[bytes, int]], side: int) -> tuple[bytes, int] | None:
        while heap and (side, heap[0][1]) in taken:
            heapq.heappop(heap)
        return heap[0] if heap else None

    candidates: list[tuple[int, bytes, bytes, int, int]] = []

    def offer(first: int, second: int) -> None:
        """Push the best pair between clusters ``first`` <= ``second`` (the same, or neighbours)."""
        if first < 0 or second >= len(times):
            return
        gap = times[second] - times[first]
        for debit_cluster, record_cluster in {(first, second), (second, first)}:
            debit, record = lowest(free_debits[debit_cluster], 0), lowest(free_records[record_cluster], 1)
            if debit and record:
                heapq.heappush(candidates, (gap, debit[0], record[0], debit[1], record[1]))

    for index in range(len(times)):
        offer(index, index)
        offer(index, index + 1)
    pairs = []
    while candidates:
        _gap, _debit_key, _record_key, debit_id, record_id = heapq.heappop(candidates)
        if (0, debit_id) in taken or (1, record_id) in taken:
            continue
        pairs.append((debit_id, record_id))
        taken.update({(0, debit_id), (1, record_id)})
        for cluster in {where[0, debit_id], where[1, record_id]}:
            if lowest(free_debits[cluster], 0) or lowest(free_records[cluster], 1):
                offer(cluster, cluster)
                offer(before[cluster], cluster)
                offer(cluster, after[cluster])
            else:  # nothing free left here: its neighbours become neighbours
                left, right = before[cluster], after[cluster]
                if left >= 0:
                    after[left] = right
                if right < len(times):
                    before[right] = left
                offer(left, right)
    return pairs
