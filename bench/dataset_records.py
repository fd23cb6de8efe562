"""The ledger and settlement CSV files of bench/dataset.py (``records_files``), in the
formats of docs/design.md, with a fixed seed. Proportions, per payment: most are
settled (an approved settlement record with the same RRN, 1 in 20 without its
RRN so the later passes match them); some are declined at the POS (no debit);
some time out and are reversed; some are refunded in part; some are
authorisation holds; about 1 % of debits are orphans (a timed-out record or
none, and no reversal), a few of them paid twice. Merchants (20,000) have 1–3
terminals each."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

CST = timezone(timedelta(hours=8))
START = datetime(2026, 10, 1, tzinfo=CST)
DAYS = 30
AS_OF = START + timedelta(days=DAYS + 1)
LEDGER_HEADER = "entry_id,customer_ref,card_last4,amount,currency,posted_at,kind,rrn,stan,auth_code,merchant_id,terminal_id\n"
SETTLEMENT_HEADER = "record_id,processor,merchant_id,terminal_id,rrn,stan,auth_code,amount,currency,transacted_at,status\n"
PROCESSORS = ["银联商务", "通联支付", "拉卡拉", "Sumpay", "Lakala"]


def write_records(directory: Path, rows: int, seed: int) -> dict[str, int]:
    """Write ledger.csv and settlement.csv with exactly ``rows`` rows each; return what went in."""
    rng = random.Random(seed)
    merchants = [f"{102000000000000 + rng.randrange(10 ** 12):015d}" for _ in range(20_000)]
    terminals = {m: [f"{rng.randrange(10 ** 8):08d}" for _ in range(rng.randint(1, 3))] for m in merchants}
    stans: dict[str, int] = {}
    counts = dict.fromkeys(["settled", "settled without rrn", "declined", "timeout reversed", "refunded in part",
                            "holds", "orphans", "paid twice"], 0)
    ledger = open(directory / "ledger.csv", "w", encoding="utf-8", newline="")
    settlement = open(directory / "settlement.csv", "w", encoding="utf-8", newline="")
    ledger.write(LEDGER_HEADER)
    settlement.write(SETTLEMENT_HEADER)
    written = {"ledger": 0, "settlement": 0}
    sequence = 0
    span = DAYS * 86_400

    def posted(moment: datetime) -> str:
        return moment.isoformat()

    def ledger_line(kind: str, amount: str, at: datetime, rrn: str, stan: str, auth: str, mid: str, tid: str,
                    customer: int) -> None:
        if written["ledger"] >= rows:
            return
        written["ledger"] += 1
        ledger.write(f"L{written['ledger']:09d},C{customer:06d},{customer % 10_000:04d},{amount},CNY,{posted(at)},"
                     f"{kind},{rrn},{stan},{auth},{mid},{tid}\n")

    def settlement_line(status: str, amount: str, at: datetime, rrn: str, stan: str, auth: str, mid: str,
                        tid: str) -> None:
        if written["settlement"] >= rows:
            return
        written["settlement"] += 1
        settlement.write(f"S{written['settlement']:09d},{PROCESSORS[written['settlement'] % 5]},{mid},{tid},{rrn},"
                         f"{stan},{auth},{amount},CNY,{posted(at)},{status}\n")

    while written["ledger"] < rows or written["settlement"] < rows:
        sequence += 1
        at = START + timedelta(seconds=span * sequence / (rows * 1.02))
        merchant = merchants[rng.randrange(len(merchants))]
        terminal = terminals[merchant][rng.randrange(len(terminals[merchant]))]
        stans[terminal] = (stans.get(terminal, 0) + 1) % 1_000_000
        stan = f"{stans[terminal]:06d}"
        rrn = f"{100000000000 + sequence:012d}"
        auth = f"{rng.randrange(10 ** 6):06d}"
        amount = f"{rng.randrange(100, 200_000) / 100:.2f}"
        customer = rng.randrange(200_000)
        debit_at = at + timedelta(seconds=rng.randint(1, 20))
        roll = rng.random()
        if roll < 0.86:
            without_rrn = rng.random() < 0.05
            counts["settled without rrn" if without_rrn else "settled"] += 1
            ledger_line("debit", amount, debit_at, rrn, stan, auth, merchant, terminal, customer)
            settlement_line("approved", amount, at, "" if without_rrn else rrn, stan, auth, merchant, terminal)
        elif roll < 0.90:
            counts["declined"] += 1
            settlement_line("declined", amount, at, rrn, stan, "", merchant, terminal)
        elif roll < 0.93:
            counts["timeout reversed"] += 1
            ledger_line("debit", amount, debit_at, rrn, stan, auth, merchant, terminal, customer)
            settlement_line("timeout", amount, at, rrn, stan, auth, merchant, terminal)
            ledger_line("reversal", amount, debit_at + timedelta(hours=rng.randint(1, 20)), rrn, stan, "", merchant,
                        terminal, customer)
        elif roll < 0.95:
            counts["refunded in part"] += 1
            ledger_line("debit", amount, debit_at, rrn, stan, auth, merchant, terminal, customer)
            settlement_line("approved", amount, at, rrn, stan, auth, merchant, terminal)
            ledger_line("refund", "1.00", debit_at + timedelta(days=rng.randint(1, 5)), rrn, stan, "", merchant,
                        terminal, customer)
        elif roll < 0.99:
            counts["holds"] += 1
            ledger_line("hold", amount, debit_at, rrn, stan, auth, merchant, terminal, customer)
        else:
            counts["orphans"] += 1
            ledger_line("debit", amount, debit_at, rrn, stan, auth, merchant, terminal, customer)
            if rng.random() < 0.7:
                settlement_line("timeout", amount, at, rrn, stan, auth, merchant, terminal)
            if rng.random() < 0.2:  # the customer paid again, and that went through
                counts["paid twice"] += 1
                stans[terminal] = (stans[terminal] + 1) % 1_000_000
                again = at + timedelta(minutes=rng.randint(1, 20))
                rrn2 = f"{900000000000 + sequence:012d}"
                ledger_line("debit", amount, again + timedelta(seconds=3), rrn2, f"{stans[terminal]:06d}", auth,
                            merchant, terminal, customer)
                settlement_line("approved", amount, again, rrn2, f"{stans[terminal]:06d}", auth, merchant, terminal)
    ledger.close()
    settlement.close()
    return counts
