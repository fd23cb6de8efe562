"""The rules of the two files: columns, shapes, formats; and what an import reports."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from core import slip
from core.money import MAX_AMOUNT
from transactions.models import (
    LEDGER_COLUMNS,
    SETTLEMENT_COLUMNS,
    ImportStatus,
    LedgerEntry,
    LedgerKind,
    RecordKind,
    SettlementRecord,
    SettlementStatus,
)

BAD_LINES_SHOWN = 1000
# How often the progress callback hears about reading (bytes).
PROGRESS_EVERY = 1 << 20
COPY_CHUNK = 1 << 20
MAX_HEADER = 4096
SQLITE_BATCH = 5000
# From this many rows, into a table holding fewer than that, the secondary
# indexes are dropped before the insert and built again after (_insert).
REBUILD_INDEXES_FROM = 100_000
# Serialises imports of one kind on PostgreSQL between the conflict check and the insert.
_ADVISORY_LOCK = 0x74786970  # "txip"

STAGE = "tx_import_stage"
BAD = "tx_import_bad"


# --- the rules ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """One CSV column and the rule its values follow.

    ``rule`` is one of: ``id`` (1 to ``max_length`` printable ASCII characters,
    no spaces), ``text`` (up to ``max_length`` characters, no control
    characters), ``slip`` (a POS slip field: ``length`` characters of
    ``charset``, the shape of ``validator``), ``amount``, ``currency``,
    ``time`` and ``choice`` (one of ``choices``).
    """

    name: str
    rule: str
    required: bool = False
    max_length: int = 0
    length: int = 0
    charset: str = ""
    validator: Callable | None = None
    choices: tuple[str, ...] = ()


DIGITS = "0-9"
ALNUM = "0-9A-Za-z"


def _slip(name: str, length: int, charset: str, validator, *, required: bool = False) -> Column:
    return Column(name, "slip", required=required, length=length, charset=charset, validator=validator)


LEDGER_RULES = (
    Column("entry_id", "id", required=True, max_length=32),
    Column("customer_ref", "text", max_length=32),
    _slip("card_last4", 4, DIGITS, slip.validate_last4, required=True),
    Column("amount", "amount", required=True),
    Column("currency", "currency", required=True),
    Column("posted_at", "time", required=True),
    Column("kind", "choice", required=True, choices=tuple(LedgerKind.values)),
    _slip("rrn", 12, DIGITS, slip.validate_rrn),
    _slip("stan", 6, DIGITS, slip.validate_stan),
    _slip("auth_code", 6, ALNUM, slip.validate_auth_code),
    _slip("merchant_id", 15, DIGITS, slip.validate_merchant_id),
    _slip("terminal_id", 8, ALNUM, slip.validate_terminal_id),
)
SETTLEMENT_RULES = (
    Column("record_id", "id", required=True, max_length=32),
    Column("processor", "text", required=True, max_length=100),
    _slip("merchant_id", 15, DIGITS, slip.validate_merchant_id),
    _slip("terminal_id", 8, ALNUM, slip.validate_terminal_id),
    _slip("rrn", 12, DIGITS, slip.validate_rrn),
    _slip("stan", 6, DIGITS, slip.validate_stan),
    _slip("auth_code", 6, ALNUM, slip.validate_auth_code),
    Column("amount", "amount", required=True),
    Column("currency", "currency", required=True),
    Column("transacted_at", "time", required=True),
    Column("status", "choice", required=True, choices=tuple(SettlementStatus.values)),
)


@dataclass(frozen=True)
class FileFormat:
    kind: str
    model: type
    rules: tuple[Column, ...]

    @property
    def columns(self) -> list[str]:
        return [column.name for column in self.rules]

    @property
    def id_column(self) -> str:
        return self.rules[0].name

    @property
    def table(self) -> str:
        return self.model._meta.db_table


FORMATS = {
    RecordKind.LEDGER: FileFormat(RecordKind.LEDGER, LedgerEntry, LEDGER_RULES),
    RecordKind.SETTLEMENT: FileFormat(RecordKind.SETTLEMENT, SettlementRecord, SETTLEMENT_RULES),
}
assert FORMATS[RecordKind.LEDGER].columns == LEDGER_COLUMNS
assert FORMATS[RecordKind.SETTLEMENT].columns == SETTLEMENT_COLUMNS

# Shapes written once for both checkers: Python's ``re`` and PostgreSQL's regular
# expressions read these the same way (ASCII classes only, no shorthand escapes).
ID_SHAPE = r"[!-~]+"
# (NUL is refused before: PostgreSQL text cannot hold it.)
CONTROL_CHARACTER = "[\x01-\x1f\x7f]"
AMOUNT_SHAPE = r"[0-9]+(\.[0-9]+)?"
AMOUNT_MAX_INTEGER_DIGITS = len(str(int(MAX_AMOUNT)))
TIME_WITH_OFFSET = (
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(\.[0-9]{1,6})?(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])"
)
# A date, or a date and time, without an offset: refused with its own message.
TIME_WITHOUT_OFFSET = r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?"
EARLIEST_YEAR = slip.EARLIEST_TRANSACTION_TIME.year


# --- what the caller gets -------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    field: str
    message: str


@dataclass(frozen=True)
class BadLine:
    line: int
    problems: tuple[Problem, ...]

    def __str__(self) -> str:
        return _("line %(line)s: %(problems)s") % {
            "line": self.line,
            "problems": "; ".join(f"{problem.field}: {problem.message}" if problem.field else problem.message
                                  for problem in self.problems),
        }


@dataclass(frozen=True)
class ImportProgress:
    phase: str  # "reading", "checking", "writing", "done"
    rows_read: int
    bad_rows: int
    bytes_read: int
    bytes_total: int | None
    # The most reported before: a file read again (a first load given up for the staging way)
    # keeps the bar where it was until it gets further, instead of taking it back to 0 %.
    shown: float = 0.0

    @property
    def percent(self) -> float | None:
        """Done so far: reading is the first 80 %, checking and writing the rest; never less than ``shown``."""
        if self.phase == "done":
            return 100.0
        if self.phase in ("checking", "writing"):
            return max(self.shown, 80.0 if self.phase == "checking" else 90.0)
        if not self.bytes_total:
            return self.shown or None
        return max(self.shown, 80.0 * min(self.bytes_read, self.bytes_total) / self.bytes_total)


@dataclass(frozen=True)
class ImportReport:
    run_id: int
    kind: str
    file_name: str
    sha256: str
    status: str
    rows_total: int
    rows_imported: int
    rows_already_present: int
    bad_rows: int
    bad_lines: tuple[BadLine, ...] = ()

    @property
    def succeeded(self) -> bool:
        return self.status == ImportStatus.SUCCEEDED

    @property
    def bad_lines_not_shown(self) -> int:
        return max(0, self.bad_rows - len(self.bad_lines))


ProgressCallback = Callable[[ImportProgress], None]
