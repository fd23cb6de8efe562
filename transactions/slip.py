"""Field shapes as printed on a UnionPay POS slip (docs/design.md, "Transaction records").

merchant_id: 15 digits (acquirer institution code, area code, MCC, sequence);
terminal_id: 8 letters or digits; rrn: 12 digits; stan: 6 digits;
auth_code: 6 letters or digits. Empty means unknown wherever these are optional.
"""
from django.core.validators import RegexValidator
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
