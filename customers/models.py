from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.cardguard import ScrubbedCharField
from transactions.slip import validate_bin6, validate_last4

validate_phone = RegexValidator(
    r"^\+?[0-9]{6,15}\Z", _("Enter a phone number of 6 to 15 digits, with + and the country code if abroad."), code="phone"
)


def normalize_phone(phone: str) -> str:
    """Drop spaces, dashes, dots and brackets: "+86 138-0013-8000" becomes "+8613800138000"."""
    return "".join(char for char in (phone or "").strip() if char not in " -.()\u3000")


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", "简体中文"
    EN = "en", "English"


class Customer(models.Model):
    name = ScrubbedCharField(_("name"), max_length=100)
    phone = models.CharField(_("phone"), max_length=16, unique=True, validators=[validate_phone])
    email = models.EmailField(_("e-mail"), blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=8, choices=Language.choices, default=Language.ZH_HANS
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name"]

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
