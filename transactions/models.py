"""Transaction records, with exactly the fields of the CSV formats in docs/design.md
("Transaction records"), and the history of what was done with them: imports
(``ImportRun``), reconciliations (``ReconciliationRun`` and the ``OrphanDebit``
rows each found) and the cases opened for orphans (``OrphanCase``).

Records get in through ``manage.py import_transactions`` (transactions/importing/),
the admin and the demo data. Nothing in the records is free text.
"""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.cardguard import ScrubbedCharField, ScrubbedJSONField, validate_no_card_number
from core.money import AmountField, CurrencyField
from core.slip import (
    PosSlipFields,
    validate_last4,
)

LEDGER_COLUMNS = [
    "entry_id", "customer_ref", "card_last4", "amount", "currency", "posted_at",
    "kind", "rrn", "stan", "auth_code", "merchant_id", "terminal_id",
]
SETTLEMENT_COLUMNS = [
    "record_id", "processor", "merchant_id", "terminal_id", "rrn", "stan",
    "auth_code", "amount", "currency", "transacted_at", "status",
]


class LedgerKind(models.TextChoices):
    DEBIT = "debit", _("debit")
    REVERSAL = "reversal", _("reversal")
    REFUND = "refund", _("refund")
    # An authorisation that was never posted as a debit: never an orphan, but it
    # explains a balance that went down (docs/design.md, "Transaction records").
    HOLD = "hold", _("authorisation hold")


class LedgerEntry(PosSlipFields, models.Model):
    """What the issuing bank's core system posted to the card."""

    entry_id = models.CharField(_("entry id"), max_length=32)
    customer_ref = models.CharField(_("customer reference"), max_length=32, blank=True, validators=[validate_no_card_number])
    card_last4 = models.CharField(_("card last 4"), max_length=4, validators=[validate_last4])
    amount = AmountField(_("amount"))
    currency = CurrencyField(_("currency"))
    posted_at = models.DateTimeField(_("posted at"))
    kind = models.CharField(_("kind"), max_length=8, choices=LedgerKind.choices)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["posted_at", "entry_id"]
        # The ids are unique by a constraint, not ``unique=True``: on PostgreSQL that
        # would add a second index (varchar_pattern_ops, for LIKE) which no query
        # uses and every import maintains. No index on (kind, posted_at) either:
        # each kind is spread over every page of the table, so the one query
        # filtering on both (reconcile's reversal sums) is faster scanning it
        # (docs/performance.md, "Transaction records").
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="ledger_amount_positive"),
            models.UniqueConstraint(fields=["entry_id"], name="ledger_entry_id_unique"),
        ]
        indexes = [
            models.Index(fields=["rrn"], name="ledger_rrn_idx"),
            models.Index(fields=["terminal_id", "stan"], name="ledger_tid_stan_idx"),
            models.Index(fields=["merchant_id", "amount"], name="ledger_mid_amount_idx"),
            models.Index(fields=["card_last4", "posted_at"], name="ledger_card_posted_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id} {self.kind} {self.amount} {self.currency}"


class SettlementStatus(models.TextChoices):
    APPROVED = "approved", _("approved")
    DECLINED = "declined", _("declined")
    TIMEOUT = "timeout", _("timeout")
    REVERSED = "reversed", _("reversed")


class SettlementRecord(PosSlipFields, models.Model):
    """What the acquirer / processor recorded at the POS."""

    record_id = models.CharField(_("record id"), max_length=32)
    processor = models.CharField(_("processor"), max_length=100, validators=[validate_no_card_number])
    amount = AmountField(_("amount"))
    currency = CurrencyField(_("currency"))
    transacted_at = models.DateTimeField(_("transacted at"))
    status = models.CharField(_("status"), max_length=8, choices=SettlementStatus.choices)

    class Meta:
        verbose_name = _("settlement record")
        verbose_name_plural = _("settlement records")
        ordering = ["transacted_at", "record_id"]
        # No index on (status, transacted_at): a case's check finds its records by rrn,
        # terminal + STAN and merchant + amount; an index on the two filters it adds
        # looked cheap to a planner with no statistics yet (after a first load) and
        # made each check 500 times slower (docs/performance.md, "Ids compared byte by byte").
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="settlement_amount_positive"),
            models.UniqueConstraint(fields=["record_id"], name="settlement_record_id_unique"),
        ]
        indexes = [
            models.Index(fields=["rrn"], name="settlement_rrn_idx"),
            models.Index(fields=["terminal_id", "stan"], name="settlement_tid_stan_idx"),
            models.Index(fields=["merchant_id", "amount"], name="settlement_mid_amount_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.record_id} {self.status} {self.amount} {self.currency}"


class RecordKind(models.TextChoices):
    """The two files the bank imports."""

    LEDGER = "ledger", _("ledger")
    SETTLEMENT = "settlement", _("settlement")


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    SUCCEEDED = "succeeded", _("succeeded")
    FAILED = "failed", _("failed")


class ImportRun(models.Model):
    """One import of a ledger or settlement file, written by
    ``transactions.importing.records_import``: who, when, which file (its
    SHA-256), what it counted, and the first bad lines when it imported nothing.
    The same file may be imported again: it then imports nothing new, and that
    run is recorded too.

    A file uploaded on the imports page (``/staff/imports/``) is a run
    ``queued`` until a worker takes it; while it runs, the worker writes its
    progress here (``progress_percent``, ``rows_read``, ``bad_rows``)."""

    kind = models.CharField(_("kind"), max_length=10, choices=RecordKind.choices)
    file_name = ScrubbedCharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True, help_text=_("Of the file as read."))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+", verbose_name=_("imported by"))
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.RUNNING)
    rows_total = models.PositiveBigIntegerField(_("rows in the file"), default=0)
    rows_imported = models.PositiveBigIntegerField(_("rows imported"), default=0)
    rows_already_present = models.PositiveBigIntegerField(_("rows already present"), default=0)
    bad_rows = models.PositiveBigIntegerField(_("bad rows"), default=0)
    # [{"line": 7, "problems": [["amount", "…"], …]}, …]: the first bad lines, with why.
    errors = ScrubbedJSONField(_("first bad lines"), default=list, blank=True)
    progress_percent = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    rows_read = models.PositiveBigIntegerField(_("rows read so far"), default=0)
    # An uploaded file waiting for its import: its name in DISPUTE_IMPORT_UPLOAD_DIR (removed once imported).
    upload_name = models.CharField(_("stored upload"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["sha256"], name="importrun_sha256_idx")]
        permissions = [("import_records", "Can import ledger and settlement files (the imports page)")]

    @property
    def finished(self) -> bool:
        return self.status in (ImportStatus.SUCCEEDED, ImportStatus.FAILED)

    @property
    def bad_lines_not_shown(self) -> int:
        return max(0, self.bad_rows - len(self.errors or []))

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name} ({self.get_status_display()})"


class ReconciliationRun(models.Model):
    """One reconciliation as of a time (``transactions.reconciliation.reconcile``):
    what it compared, how many pairs each matching pass made, and the orphan
    debits it found (``OrphanDebit``)."""

    as_of = models.DateTimeField(_("as of"))
    grace = models.DurationField(_("grace period"))
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    debits = models.PositiveBigIntegerField(_("debits compared"), default=0)
    approved_records = models.PositiveBigIntegerField(_("approved settlement records compared"), default=0)
    pairs_by_rrn = models.PositiveBigIntegerField(_("pairs by RRN"), default=0)
    pairs_by_terminal = models.PositiveBigIntegerField(_("pairs by terminal, STAN, amount and day"), default=0)
    pairs_by_merchant = models.PositiveBigIntegerField(_("pairs by merchant, amount and time"), default=0)
    orphans = models.PositiveBigIntegerField(_("orphan debits"), default=0)

    class Meta:
        verbose_name = _("reconciliation")
        verbose_name_plural = _("reconciliations")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.as_of:%Y-%m-%d %H:%M} ({self.orphans})"


class OrphanDebit(models.Model):
    """A debit that a reconciliation found charged but not paid: older than the
    grace period, no approved settlement record, not fully reversed."""

    reconciliation = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="orphan_debits",
                                       verbose_name=_("reconciliation"))
    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="+", verbose_name=_("ledger entry"))
    outstanding = AmountField(_("outstanding amount"))
    probable_duplicate = models.BooleanField(
        _("probable duplicate payment"), default=False,
        help_text=_("The same card paid the same merchant again within 30 minutes, and that payment was settled."))

    class Meta:
        verbose_name = _("orphan debit")
        verbose_name_plural = _("orphan debits")
        constraints = [
            models.UniqueConstraint(fields=["reconciliation", "entry"], name="orphan_debit_once_per_run"),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id} {self.outstanding}"


class OrphanCase(models.Model):
    """The case opened for an orphan debit: one per debit, ever. The unique
    entry is the claim a reconciliation takes before it opens a case, so two
    runs at once never open two cases for one debit."""

    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="orphan_case",
                                 verbose_name=_("ledger entry"))
    case_reference = models.CharField(_("case reference"), max_length=32)
    reconciliation = models.ForeignKey(ReconciliationRun, on_delete=models.SET_NULL, null=True, blank=True,
                                       related_name="+", verbose_name=_("reconciliation"))
    opened_at = models.DateTimeField(_("opened"))

    class Meta:
        verbose_name = _("case for an orphan debit")
        verbose_name_plural = _("cases for orphan debits")

    def __str__(self) -> str:
        return f"{self.entry_id} → {self.case_reference}"
