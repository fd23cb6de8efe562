from django.db import models
from django.utils.translation import gettext_lazy as _

from core.cardguard import ScrubbedCharField, ScrubbedTextField
from core.slip import merchant_id_parts, validate_merchant_id, validate_terminal_id


class Merchant(models.Model):
    name = ScrubbedCharField(_("name"), max_length=200)
    merchant_id = models.CharField(_("merchant id (MID)"), max_length=15, unique=True, validators=[validate_merchant_id])
    contact_name = ScrubbedCharField(_("contact name"), max_length=100, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    address = ScrubbedTextField(_("address"), blank=True)

    class Meta:
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.merchant_id})"

    @property
    def mid_parts(self) -> dict[str, str]:
        return merchant_id_parts(self.merchant_id)


class TerminalStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    FAULTY = "faulty", _("faulty")
    RETIRED = "retired", _("retired")


class Terminal(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="terminals", verbose_name=_("merchant"))
    terminal_id = models.CharField(_("terminal id (TID)"), max_length=8, validators=[validate_terminal_id])
    model = ScrubbedCharField(_("model"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=TerminalStatus.choices, default=TerminalStatus.ACTIVE)

    class Meta:
        verbose_name = _("terminal")
        verbose_name_plural = _("terminals")
        constraints = [
            models.UniqueConstraint(fields=["merchant", "terminal_id"], name="terminal_unique_per_merchant"),
        ]
        indexes = [models.Index(fields=["terminal_id"], name="terminal_tid_idx")]

    def __str__(self) -> str:
        return f"{self.terminal_id} @ {self.merchant.name}"


class PaymentProcessor(models.Model):
    """An acquirer or third-party payment institution (收单机构 / 第三方支付机构)."""

    name = ScrubbedCharField(_("name"), max_length=100, unique=True)
    licence_number = models.CharField(_("payment business licence number"), max_length=32, blank=True)
    licensed = models.BooleanField(_("licensed"), default=True)
    inquiry_contact = ScrubbedCharField(_("inquiry contact"), max_length=200, blank=True)
    inquiry_email = models.EmailField(_("inquiry e-mail"), blank=True)
    inquiry_phone = models.CharField(_("inquiry phone"), max_length=32, blank=True)
    promised_response_hours = models.PositiveIntegerField(_("promised response time (hours)"), default=48)

    class Meta:
        verbose_name = _("payment processor")
        verbose_name_plural = _("payment processors")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
