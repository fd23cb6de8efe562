"""Transaction records, with exactly the fields of the CSV formats in docs/design.md
("Transaction records").

Records get in through the admin and the demo data; importing the files and
matching them are not built yet. Nothing here is free text.
"""
from django.db import models
from django.utils.translation import gettext_lazy as _

from transactions.money import AmountField, CurrencyField
from transactions.slip import (
    validate_auth_code,
    validate_last4,
    validate_merchant_id,
    validate_rrn,
    validate_stan,
    validate_terminal_id,
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


class LedgerEntry(models.Model):
    """What the issuing bank's core system posted to the card."""

    entry_id = models.CharField(_("entry id"), max_length=32, unique=True)
    customer_ref = models.CharField(_("customer reference"), max_length=32, blank=True)
    card_last4 = models.CharField(_("card last 4"), max_length=4, validators=[validate_last4])
    amount = AmountField(_("amount"))
    currency = CurrencyField(_("currency"))
    posted_at = models.DateTimeField(_("posted at"))
    kind = models.CharField(_("kind"), max_length=8, choices=LedgerKind.choices)
    rrn = models.CharField(_("RRN"), max_length=12, blank=True, validators=[validate_rrn])
    stan = models.CharField(_("STAN"), max_length=6, blank=True, validators=[validate_stan])
    auth_code = models.CharField(_("auth code"), max_length=6, blank=True, validators=[validate_auth_code])
    merchant_id = models.CharField(_("merchant id"), max_length=15, blank=True, validators=[validate_merchant_id])
    terminal_id = models.CharField(_("terminal id"), max_length=8, blank=True, validators=[validate_terminal_id])

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["posted_at", "entry_id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="ledger_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["rrn"], name="ledger_rrn_idx"),
            models.Index(fields=["terminal_id", "stan"], name="ledger_tid_stan_idx"),
            models.Index(fields=["merchant_id", "amount"], name="ledger_mid_amount_idx"),
            models.Index(fields=["kind", "posted_at"], name="ledger_kind_posted_idx"),
            models.Index(fields=["card_last4", "posted_at"], name="ledger_card_posted_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id} {self.kind} {self.amount} {self.currency}"


class SettlementStatus(models.TextChoices):
    APPROVED = "approved", _("approved")
    DECLINED = "declined", _("declined")
    TIMEOUT = "timeout", _("timeout")
    REVERSED = "reversed", _("reversed")


class SettlementRecord(models.Model):
    """What the acquirer / processor recorded at the POS."""

    record_id = models.CharField(_("record id"), max_length=32, unique=True)
    processor = models.CharField(_("processor"), max_length=100)
    merchant_id = models.CharField(_("merchant id"), max_length=15, blank=True, validators=[validate_merchant_id])
    terminal_id = models.CharField(_("terminal id"), max_length=8, blank=True, validators=[validate_terminal_id])
    rrn = models.CharField(_("RRN"), max_length=12, blank=True, validators=[validate_rrn])
    stan = models.CharField(_("STAN"), max_length=6, blank=True, validators=[validate_stan])
    auth_code = models.CharField(_("auth code"), max_length=6, blank=True, validators=[validate_auth_code])
    amount = AmountField(_("amount"))
    currency = CurrencyField(_("currency"))
    transacted_at = models.DateTimeField(_("transacted at"))
    status = models.CharField(_("status"), max_length=8, choices=SettlementStatus.choices)

    class Meta:
        verbose_name = _("settlement record")
        verbose_name_plural = _("settlement records")
        ordering = ["transacted_at", "record_id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="settlement_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["rrn"], name="settlement_rrn_idx"),
            models.Index(fields=["terminal_id", "stan"], name="settlement_tid_stan_idx"),
            models.Index(fields=["merchant_id", "amount"], name="settlement_mid_amount_idx"),
            models.Index(fields=["status", "transacted_at"], name="settlement_status_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.record_id} {self.status} {self.amount} {self.currency}"
