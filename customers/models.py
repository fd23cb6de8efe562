import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.cardguard import ScrubbedCharField, ScrubbedEmailField, validate_no_card_number
from core.names import validate_name_line
from core.slip import validate_bin6, validate_last4

PHONE_MAX_INPUT_LENGTH = 32


def _parse_phone(phone: str) -> phonenumbers.PhoneNumber | None:
    """The number ``phone`` dials, read as from DISPUTE_DEFAULT_PHONE_REGION when it
    has no + and country code; None when it is not a number that can exist."""
    phone = (phone or "").strip()
    if not phone or len(phone) > PHONE_MAX_INPUT_LENGTH:
        return None
    try:
        number = phonenumbers.parse(phone, settings.DISPUTE_DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def normalize_phone(phone: str) -> str:
    """The E.164 form of a real phone number ("+86 138-0013-8000" and "13800138000"
    become "+8613800138000"); anything else is returned stripped, for
    ``validate_phone`` to refuse."""
    number = _parse_phone(phone)
    if number is None:
        return (phone or "").strip()
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_phone(phone: str) -> None:
    """Refuse what is not a real phone number (phonenumbers' metadata decides):
    a card number typed into the phone field is refused, never stored."""
    if _parse_phone(phone) is None:
        raise ValidationError(
            _("Enter a real phone number: a mobile number, or + and the country code if abroad."), code="phone")


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", "简体中文"
    EN = "en", "English"


class Customer(models.Model):
    """A complainant and how to reach them.

    A *verified* customer's identity was confirmed by the bank (a call-center or
    branch filing, or staff merging records): there is one per phone number. A
    complaint filed on the public form, by someone who proved nothing, gets an
    unverified record of its own that no other filing reads or changes: knowing
    someone's phone number never gives access to their record, their cases or
    their e-mails (docs/design.md, "Customers and contact details").
    """

    name = ScrubbedCharField(_("name"), max_length=100, validators=[validate_name_line])
    phone = models.CharField(_("phone"), max_length=PHONE_MAX_INPUT_LENGTH, validators=[validate_phone])
    email = ScrubbedEmailField(_("e-mail"), blank=True)
    verified = models.BooleanField(
        _("identity confirmed"), default=False,
        help_text=_("Confirmed by the bank (call center, branch, or staff merging records). "
                    "A complaint from the public form makes an unconfirmed record of its own."))
    preferred_language = models.CharField(
        _("preferred language"), max_length=8, choices=Language.choices, default=Language.ZH_HANS
    )
    # The ledger's ``customer_ref``: how the bank's core system names this customer. A
    # case the bank opens itself for an orphan debit goes to the verified customer with it.
    bank_ref = models.CharField(
        _("bank customer reference"), max_length=32, null=True, blank=True, unique=True,
        validators=[validate_no_card_number], help_text=_("The customer reference of the bank's ledger (customer_ref); unique."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["phone"], condition=models.Q(verified=True),
                                    name="customer_phone_unique_verified"),
        ]
        indexes = [models.Index(fields=["phone"], name="customer_phone_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.phone})"


class CardScheme(models.TextChoices):
    UNIONPAY = "unionpay", _("UnionPay")
    VISA = "visa", "Visa"
    MASTERCARD = "mastercard", "Mastercard"
    AMEX = "amex", "American Express"
    JCB = "jcb", "JCB"
    OTHER = "other", _("Other")


class Card(models.Model):
    """A customer's card, known only by its scheme, last 4 and optional issuer BIN."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="cards", verbose_name=_("customer"))
    scheme = models.CharField(_("scheme"), max_length=16, choices=CardScheme.choices, default=CardScheme.UNIONPAY)
    last4 = models.CharField(_("last 4 digits"), max_length=4, validators=[validate_last4])
    bin6 = models.CharField(_("issuer BIN (first 6)"), max_length=6, blank=True, validators=[validate_bin6])

    class Meta:
        verbose_name = _("card")
        verbose_name_plural = _("cards")
        constraints = [
            models.UniqueConstraint(fields=["customer", "scheme", "last4", "bin6"], name="card_unique_per_customer"),
        ]
        indexes = [models.Index(fields=["last4"], name="card_last4_idx")]

    def __str__(self) -> str:
        return f"{self.get_scheme_display()} ····{self.last4}"

    @property
    def masked(self) -> str:
        head = self.bin6 or "······"
        return f"{head}······{self.last4}"
