"""What the records say about a case: each check is kept (the case points at the latest)."""
from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.money import AmountField, CurrencyField
from disputes.models.case import TRANSITION_LABELS, Case
from disputes.workflow.names import RootCause


class Outcome(models.TextChoices):
    """What became of the debit the complaint describes (docs/design.md, "Diagnosis")."""

    REVERSED = "reversed", _("reversed or refunded in full")
    SETTLED = "settled", _("settled: the merchant holds the money")
    ORPHAN = "orphan", _("orphan: debited, not settled, not fully reversed")
    HOLD_ONLY = "hold_only", _("an authorisation hold only, no debit")
    NOT_FOUND = "not_found", _("no debit found")
    AMBIGUOUS = "ambiguous", _("several candidate debits")


class Verification(models.Model):
    """One check of a case against the ledger and the settlement records."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="verifications", verbose_name=_("case"))
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    # entry_id / record_id values, as in the bank's files and the API.
    ledger_entries = models.JSONField(_("ledger entries"), default=list, blank=True)
    settlement_records = models.JSONField(_("settlement records"), default=list, blank=True)
    outstanding_amount = AmountField(_("outstanding amount"), null=True, blank=True)
    currency = CurrencyField(_("currency"))
    money_back_on = models.DateField(_("money back on"), null=True, blank=True)
    suggested_step = models.CharField(_("suggested step"), max_length=32, blank=True)
    chosen_by_hand = models.BooleanField(_("debit chosen by an agent"), default=False)
    # The latest reconciliation that found the debit an orphan flagged it paid twice.
    probable_duplicate = models.BooleanField(_("probable duplicate payment"), default=False)
    checked_at = models.DateTimeField(_("checked at"), default=timezone.now)

    class Meta:
        verbose_name = _("verification")
        verbose_name_plural = _("verifications")
        ordering = ["-checked_at", "-id"]
        indexes = [models.Index(fields=["case", "-checked_at"], name="verification_case_idx")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.outcome}"

    @property
    def suggested_step_label(self) -> str:
        """The suggested step as its button says it ("" when none)."""
        return str(TRANSITION_LABELS.get(self.suggested_step, self.suggested_step))

    @property
    def suggested_root_cause_label(self) -> str:
        return str(RootCause(self.suggested_root_cause).label) if self.probable_duplicate else ""

    @property
    def suggested_root_cause(self) -> str:
        """The root cause the records point at ("" when they point at none):
        ``duplicate_payment`` for a debit the reconciliation flagged paid twice."""
        return RootCause.DUPLICATE_PAYMENT if self.probable_duplicate else ""


class DebitCase(models.Model):
    """The case that owns a ledger debit: one row per debit ("one debit, one
    case", docs/design.md). The unique entry is what two diagnoses at once
    compete for; a later complaint about an owned debit is linked to the owner
    (``Case.linked_to``) instead of being worked twice."""

    entry = models.OneToOneField("transactions.LedgerEntry", on_delete=models.PROTECT, related_name="debit_case",
                                 verbose_name=_("ledger entry"))
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+", verbose_name=_("case"))
    since = models.DateTimeField(_("since"), default=timezone.now)

    class Meta:
        verbose_name = _("case of a debit")
        verbose_name_plural = _("cases of debits")
        indexes = [models.Index(fields=["case"], name="debitcase_case_idx")]

    def __str__(self) -> str:
        return f"{self.entry_id} → {self.case_id}"
