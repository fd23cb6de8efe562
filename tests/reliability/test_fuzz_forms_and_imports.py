"""A fuzzing pass (Hypothesis, derandomized, a bounded number of examples per
target) over what people type: the public complaint and tracking forms, the
staff case page's forms (note, assignment, workflow step with reason and
amount, deadline extension) against gunicorn as production runs it, and the
CSV importer (`manage.py import_transactions`) on hostile files.

Each value is either one a person could mean (so some submissions succeed) or
hostile: any Unicode (lone surrogates sent as their invalid UTF-8 bytes), raw
bytes, NULs, huge fields, look-alike digits, absurd dates. Invariants: never a
5xx, never an "Internal Server Error" in the server log; a refused submission
or import leaves the rows of cases, events, notes, ledger and settlement
unchanged; an accepted one stores exactly what it says (one case and its
`filed` event per filing; a change of a case is in its trail)."""
from __future__ import annotations

import tempfile
from collections import Counter
from io import StringIO
from pathlib import Path
from urllib.parse import quote, quote_from_bytes

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from disputes.models import Case, CaseEvent, CaseNote
from disputes.workflow.filing import case_file
from disputes.workflow.names import Channel, EventKind
from tests.conftest import CUSTOMER, filing_data
from transactions.models import LEDGER_COLUMNS, SETTLEMENT_COLUMNS, LedgerEntry, SettlementRecord

from .live import complaint_form_fields, gunicorn

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EXAMPLES = 100  # per target: about a minute per test on a loaded 2-core machine
PASSWORD = "correct horse battery staple"  # tests/conftest.py's users
TRANSITIONS = ["start_verification", "request_customer_info", "customer_info_received", "confirm_debit",
               "reversal_found", "merchant_refunded", "escalate_to_processor", "back_to_merchant", "propose_refund",
               "approve_refund", "decline_refund", "reject", "withdraw", "close", "reopen"]
MODELS = (Case, CaseEvent, CaseNote, LedgerEntry, SettlementRecord)


def fuzzing(examples: int = EXAMPLES):
    """Hypothesis as a bounded, repeatable pass: the same examples on every run, no shrinking (each
    failure is kept with its input and the pass goes on), no example database."""
    return settings(max_examples=examples, derandomize=True, deadline=None, database=None,
                    phases=[Phase.generate], suppress_health_check=list(HealthCheck))


def rows() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


# --- hostile values -----------------------------------------------------------------

ODD = ["", " ", "\x00", "a\x00b", "\ufeff", "\u202e", "0", "-1", "1e3", "NaN", "Infinity", "１２８.５０", "128,50",
       "0.001", "99999999999999999999.99", "9" * 40, "<script>alert(1)</script>", "'; DROP TABLE disputes_case; --",
       "{{ 7*7 }}", "%s%n", "../../etc/passwd", "0001-01-01T00:00", "9999-12-31T23:59", "2026-02-30T25:61",
       "\r\n", "😀" * 10, "ÿ", "\udcff", "\ud800", "DD000000-000000", "+86", "+861380013800012345"]


def _text_with_surrogates():
    return st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40)


def hostile() -> st.SearchStrategy[bytes]:
    """The raw bytes of one hostile value."""
    as_text = st.one_of(st.sampled_from(ODD), _text_with_surrogates(),
                        st.builds(lambda c, n: c * n, st.sampled_from(["x", "9", "长", "\x00"]),
                                  st.sampled_from([101, 101, 1_000, 1_000, 70_000, 400_000])))
    return st.one_of(as_text.map(lambda s: s.encode("utf-8", "surrogatepass")), st.binary(max_size=40))


def field(valid: list[str] | None = None) -> st.SearchStrategy[bytes | None]:
    """A value a person could mean (half the time), a hostile one, or the field left out (None)."""
    options = [hostile(), st.none()]
    if valid:
        options.insert(0, st.sampled_from([v.encode() for v in valid]))
        options.insert(0, st.sampled_from([v.encode() for v in valid]))
    return st.one_of(*options)


def form_body(fields: dict[str, bytes | None], csrf: str) -> bytes:
    pairs = [f"{quote(name)}={quote_from_bytes(value)}" for name, value in fields.items() if value is not None]
    return "&".join([*pairs, f"csrfmiddlewaretoken={csrf}"]).encode()


class Tally:
    """What a target's pass did and found."""

    def __init__(self, name: str):
        self.name = name
        self.statuses: Counter = Counter()
        self.accepted = self.refused = 0
        self.problems: list[str] = []

    def server_error(self, status: int, sent) -> bool:
        self.statuses[status] += 1
        if status >= 500:
            self.problems.append(f"{status} for {sent!r:.300}")
            return True
        return False

    def report(self, server=None) -> None:
        crashes = server.crashes() if server is not None else ""
        print(f"\nfuzz {self.name}: {sum(self.statuses.values()) or self.accepted + self.refused} requests made; "
              f"accepted {self.accepted}; refused cleanly {self.refused}; answers {dict(self.statuses)}; "
              f"server errors or half-saved {len(self.problems)}; lost 0; duplicated 0")
        assert not self.problems, self.problems[:5]
        assert not crashes, crashes[-4000:]


@pytest.fixture
def live(tmp_path):
    with gunicorn(tmp_path) as server:
        yield server


# --- the public forms -----------------------------------------------------------------

def test_fuzzing_the_public_complaint_form(live):
    cookies, csrf = live.form_page("/complaints/new/")
    valid = complaint_form_fields()
    plan = {name: field([value, value.upper()]) for name, value in valid.items()}
    plan["email"] = field(["", "z@example.com"])
    plan["card_scheme"] = field(["unionpay", "visa", "mastercard"])
    complaints = Tally("public complaint form")
    one_hostile = st.builds(lambda name, value: {**{k: v.encode() for k, v in valid.items()}, name: value},
                            st.sampled_from(sorted(valid)), hostile())

    @fuzzing()
    @given(st.one_of(st.fixed_dictionaries(plan), one_hostile))
    def complaint(fields):
        before = rows()
        status, headers, _body = live.post_form("/complaints/new/", {}, cookies, csrf, raw=form_body(fields, csrf))
        if complaints.server_error(status, fields):
            return
        after = rows()
        if status == 302 and headers.get("Location", "").startswith("/complaints/new/done/"):
            complaints.accepted += 1
            filed = CaseEvent.objects.filter(kind=EventKind.FILED).count()
            if after["Case"] - before["Case"] != 1 or filed != after["Case"]:
                complaints.problems.append(f"accepted but stored {after['Case'] - before['Case']} cases: {fields!r:.300}")
        else:
            complaints.refused += 1
            if after != before:
                complaints.problems.append(f"refused ({status}) but half-saved {before} -> {after}: {fields!r:.300}")

    complaint()
    complaints.report(live)


def test_fuzzing_the_tracking_form(live):
    filed = case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data())
    cookies, csrf = live.form_page("/complaints/track/")
    tracking = Tally("tracking form")

    @fuzzing()
    @given(st.fixed_dictionaries({"reference": field([filed.case.reference, filed.case.reference.lower()]),
                                  "tracking_code": field([filed.tracking_code, "WRONGCODE1"])}))
    def track(fields):
        before = rows()
        status, _headers, _body = live.post_form("/complaints/track/", {}, cookies, csrf, raw=form_body(fields, csrf))
        if tracking.server_error(status, fields):
            return
        if status in (200, 302) and fields["reference"] and fields["tracking_code"] == filed.tracking_code.encode():
            tracking.accepted += 1
        else:
            tracking.refused += 1
        if rows() != before:
            tracking.problems.append(f"a look-up changed rows: {fields!r:.300}")

    track()
    tracking.report(live)


# --- the staff case page's forms ---------------------------------------------------------

CURRENT = b"<the case's version now>"
ENDED = ("rejected", "withdrawn", "closed", "refunded", "resolved")


@pytest.mark.parametrize("target", ["note", "assignment", "step", "deadline extension"])
def test_fuzzing_a_staff_case_page_form(live, alice, bob, target):
    # The tests hash passwords with MD5 for speed; gunicorn's production settings do not read that.
    hasher = PBKDF2PasswordHasher()
    get_user_model().objects.filter(pk__in=[alice.pk, bob.pk]).update(password=hasher.encode(PASSWORD, hasher.salt()))
    agent = live.log_in("alice", PASSWORD)
    supervisor = live.log_in("bob", PASSWORD)
    User = get_user_model()
    version = st.one_of(st.just(CURRENT), st.just(CURRENT), hostile(), st.none())
    targets = {
        "note": (agent, "notes/", {"body": field(["Called the customer.", "已致电客户"]),
                                   "visibility": field(["internal", "customer"]), "version": version}),
        "assignment": (agent, "assign/", {"assignee": field([str(alice.pk), str(bob.pk), str(User.objects.count() + 9)]),
                                          "version": version}),
        "step": (agent, None, {"note": field(["checked"]), "reason": field(["The ledger shows no debit."]),
                               "amount": field(["10.00", "128.50", "0.01", "128.51"]), "version": version}),
        "deadline extension": (supervisor, "deadline/", {"reason": field(["The processor needs two more weeks."]),
                                                         "version": version}),
    }
    state = {"case": None}

    def open_case() -> Case:
        case = state["case"]
        if case is not None:
            case.refresh_from_db()
        if case is None or case.state in ENDED:
            case = state["case"] = case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data()).case
        return case

    tallies = {name: Tally(f"staff {name} form") for name in [target]}
    for name, (cookies, path, plan) in [(target, targets[target])]:
        tally = tallies[name]
        page_cookies, csrf = live.form_page(f"/staff/cases/{open_case().reference}/", cookies)
        steps = st.one_of(st.sampled_from(TRANSITIONS), _text_with_surrogates()) if path is None else st.just(path)

        @fuzzing()
        @given(st.fixed_dictionaries(plan), steps)
        def submit(fields, step):
            case = open_case()
            fields = {k: (str(case.version).encode() if v == CURRENT else v) for k, v in fields.items()}
            where = path or f"transitions/{quote(step.encode('utf-8', 'surrogatepass'), safe='')}/"
            before = rows()
            status, _headers, _body = live.post_form(f"/staff/cases/{case.reference}/{where}", {}, page_cookies, csrf,
                                                     raw=form_body(fields, csrf))
            if tally.server_error(status, (step, fields)):
                return
            after, old_version = rows(), case.version
            case.refresh_from_db()
            if case.version == old_version:
                tally.refused += 1
                if after != before:
                    tally.problems.append(f"refused ({status}) but half-saved {before} -> {after}: {(step, fields)!r:.300}")
            else:
                tally.accepted += 1
                if status != 302 or after["CaseEvent"] <= before["CaseEvent"]:
                    tally.problems.append(f"changed the case without its trail ({status}): {(step, fields)!r:.300}")

        submit()
    for tally in tallies.values():
        tally.report(live)


# --- the CSV importer ---------------------------------------------------------------------

VALID_CELLS = {
    "entry_id": ["L0000001", "L0000002"], "record_id": ["S0000001", "S0000002"], "customer_ref": ["C00001"],
    "card_last4": ["1234"], "amount": ["10.00", "128.50"], "currency": ["CNY"], "kind": ["debit", "credit"],
    "posted_at": ["2026-11-10T12:00:00+08:00"], "transacted_at": ["2026-11-10T12:00:00+08:00"],
    "rrn": ["", "100000000347"], "stan": ["", "508225"], "auth_code": ["", "340191"],
    "merchant_id": ["103287654110281"], "terminal_id": ["41082857"], "processor": ["银联商务"],
    "status": ["approved", "timeout"],
}
COLUMNS = {"ledger": LEDGER_COLUMNS, "settlement": SETTLEMENT_COLUMNS}


def _cell(column: str) -> st.SearchStrategy[bytes]:
    return st.one_of(st.sampled_from([v.encode() for v in VALID_CELLS.get(column, ["x"])]),
                     st.sampled_from([v.encode() for v in VALID_CELLS.get(column, ["x"])]), hostile())


@st.composite
def csv_file(draw) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(["ledger", "settlement"]))
    if draw(st.integers(0, 9)) == 0:
        return kind, draw(st.binary(max_size=2000))  # any bytes at all
    header = draw(st.sampled_from([COLUMNS[kind], COLUMNS[kind], COLUMNS["settlement" if kind == "ledger" else "ledger"],
                                   list(reversed(COLUMNS[kind])), COLUMNS[kind][:-1], [c.upper() for c in COLUMNS[kind]]]))
    lines = [b",".join(c.encode() for c in header)]
    for _ in range(draw(st.integers(0, 4))):
        cells = [draw(_cell(column)) for column in COLUMNS[kind]]
        if draw(st.booleans()):
            cells = [b'"' + c.replace(b'"', b'""') + b'"' for c in cells]
        lines.append(b",".join(cells))
    endings = st.sampled_from([b"\n", b"\r\n", b"\r", b"\n"])
    body = b"".join(line + draw(endings) for line in lines)
    return kind, draw(st.sampled_from([b"", b"", b"\xef\xbb\xbf", b"\xff\xfe"])) + body


def test_fuzzing_the_csv_importer(tmp_path):
    tally = Tally("CSV importer (manage.py import_transactions)")

    @fuzzing()
    @given(csv_file())
    def run(drawn):
        kind, content = drawn
        path = Path(tempfile.mkstemp(dir=tmp_path, suffix=".csv")[1])
        path.write_bytes(content)
        before = rows()
        try:
            call_command("import_transactions", kind, str(path), "--no-progress", stdout=StringIO(), stderr=StringIO())
        except CommandError:
            tally.refused += 1
            if rows() != before:
                tally.problems.append(f"refused but half-imported: {content[:300]!r}")
        except Exception as exc:  # a crash: what the command must never do
            tally.problems.append(f"{type(exc).__name__}: {exc!s:.200} for {content[:300]!r}")
        else:
            tally.accepted += 1
            after = rows()
            model = "LedgerEntry" if kind == "ledger" else "SettlementRecord"
            if not 0 <= after[model] - before[model] <= content.count(b"\n") + content.count(b"\r"):
                tally.problems.append(f"imported {after[model] - before[model]} rows from {content[:300]!r}")
        path.unlink()

    run()
    tally.report()
