"""Field shapes as printed on a UnionPay POS slip (docs/design.md, "Transaction records").

merchant_id: 15 digits (acquirer institution code, area code, MCC, sequence);
terminal_id: 8 letters or digits; rrn: 12 digits; stan: 6 digits;
auth_code: 6 letters or digits. Empty means unknown wherever these are optional.
"""
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

validate_merchant_id = RegexValidator(
    r"^[0-9]{15}\Z", _("A merchant id (商户编号) has exactly 15 digits."), code="merchant_id"
)
validate_terminal_id = RegexValidator(
    r"^[0-9A-Za-z]{8}\Z", _("A terminal id (终端编号) has exactly 8 letters or digits."), code="terminal_id"
)
validate_rrn = RegexValidator(
    r"^[0-9]{12}\Z", _("A reference number (参考号) has exactly 12 digits."), code="rrn"
)
validate_stan = RegexValidator(
    r"^[0-9]{6}\Z", _("A trace number (凭证号) has exactly 6 digits."), code="stan"
)
validate_auth_code = RegexValidator(
    r"^[0-9A-Za-z]{6}\Z", _("An authorisation code (授权码) has exactly 6 letters or digits."), code="auth_code"
)
validate_last4 = RegexValidator(r"^[0-9]{4}\Z", _("Enter the last 4 digits of the card."), code="card_last4")
validate_bin6 = RegexValidator(r"^[0-9]{6}\Z", _("An issuer BIN has exactly 6 digits."), code="card_bin")


def merchant_id_parts(merchant_id: str) -> dict[str, str]:
    """Split a 15-digit UnionPay merchant id into what it encodes."""
    return {
        "acquirer_code": merchant_id[0:3],
        "area_code": merchant_id[3:7],
        "mcc": merchant_id[7:11],
        "sequence": merchant_id[11:15],
    }


# A card payment's time: on or after this instant, and not in the future beyond
# a little clock skew. Older or later times are typing errors (0001-01-01 from
# an empty date picker, a year of 20266), and Python cannot even convert the
# extremes to UTC. One rule for the form, the API, the admin and the imports.
EARLIEST_TRANSACTION_TIME = datetime(2000, 1, 1, tzinfo=dt_timezone.utc)
TRANSACTION_CLOCK_SKEW = timedelta(minutes=10)


def validate_transaction_time(value: datetime) -> None:
    """Refuse a payment time before 2000-01-01 or in the future (ValidationError)."""
    if value is None:
        return
    if not isinstance(value, datetime) or timezone.is_naive(value):
        raise ValidationError(_("Give the date and time of the payment with its time zone."), code="transaction_at")
    now = timezone.now()
    # Compare years first: converting year 1 or 9999 to UTC overflows.
    if value.year < EARLIEST_TRANSACTION_TIME.year or value < EARLIEST_TRANSACTION_TIME:
        raise ValidationError(_("Enter the time of the payment, on or after 2000-01-01."), code="transaction_at_too_early")
    if value.year > now.year + 1 or value > now + TRANSACTION_CLOCK_SKEW:
        raise ValidationError(_("The payment time cannot be in the future."), code="transaction_at_in_future")


class PosSlipFields(models.Model):
    """The identifiers printed on a POS slip, with their shapes; empty means
    unknown. Shared by the complaint (what the customer read off the slip), the
    ledger and the settlement records (what the systems recorded)."""

    merchant_id = models.CharField(_("merchant id"), max_length=15, blank=True, validators=[validate_merchant_id])
    terminal_id = models.CharField(_("terminal id"), max_length=8, blank=True, validators=[validate_terminal_id])
    rrn = models.CharField(_("RRN"), max_length=12, blank=True, validators=[validate_rrn])
    stan = models.CharField(_("STAN"), max_length=6, blank=True, validators=[validate_stan])
    auth_code = models.CharField(_("auth code"), max_length=6, blank=True, validators=[validate_auth_code])

    class Meta:
        abstract = True
