"""The bank chasing the other parties: each attempt to reach the merchant (and
the merchant's own answer through its signed link), and each inquiry to the
acquirer or payment institution with its due date and answer
(``disputes/workflow/merchant.py``, ``disputes/workflow/processor.py``)."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.cardguard import ScrubbedCharField, ScrubbedTextField
from disputes.models.case import Case


class ContactChannel(models.TextChoices):
    EMAIL = "email", _("e-mail")
    PHONE = "phone", _("phone")
    LETTER = "letter", _("letter")
    PORTAL = "portal", _("merchant portal")


class MerchantAnswer(models.TextChoices):
    """What the merchant says through its link (docs/design.md, "Merchant contact")."""

    RECEIVED = "received", _("we received the money")
    NOT_RECEIVED = "not_received", _("we did not receive the money")
    REFUNDED = "refunded", _("we already refunded the customer")


class MerchantContact(models.Model):
    """One attempt to reach the merchant, with the merchant's response deadline
    (business days on the business calendar) and, once given, its answer
    through the signed link: at most one answer per attempt."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="merchant_contacts", verbose_name=_("case"))
    channel = models.CharField(_("channel"), max_length=8, choices=ContactChannel.choices)
    contacted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("contacted by"))
    contacted_at = models.DateTimeField(_("contacted at"), default=timezone.now)
    asked = ScrubbedTextField(_("what was asked"))
    outcome = ScrubbedTextField(_("outcome"), blank=True)
    response_due_at = models.DateTimeField(_("merchant's response due at"))
    link_sent_to = models.EmailField(_("answer link sent to"), blank=True)
    answer = models.CharField(_("merchant's answer"), max_length=12, choices=MerchantAnswer.choices, blank=True)
    answer_comment = ScrubbedTextField(_("merchant's comment"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("merchant contact")
        verbose_name_plural = _("merchant contacts")
        ordering = ["contacted_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(answer="", answered_at__isnull=True)
                           | (~models.Q(answer="") & models.Q(answered_at__isnull=False))),
                name="merchant_contact_answer_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.channel} {self.contacted_at:%Y-%m-%d}"


class ProcessorInquiry(models.Model):
    """An inquiry to the acquirer or payment institution. Due after the
    processor's promised response time, counted in business days; reminded
    before and breached after through the SLA sweep (``alert_at``: when the
    sweep looks next, as for the case clocks). At most one unanswered inquiry
    per case."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="processor_inquiries", verbose_name=_("case"))
    processor = models.ForeignKey("merchants.PaymentProcessor", on_delete=models.PROTECT, related_name="inquiries",
                                  verbose_name=_("payment processor"))
    our_reference = ScrubbedCharField(_("our reference"), max_length=40)
    question = ScrubbedTextField(_("question"), blank=True)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("sent by"))
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    due_at = models.DateTimeField(_("answer due at"))
    alert_at = models.DateTimeField(_("next alert at"), null=True, blank=True, editable=False)
    answer = ScrubbedTextField(_("answer"), blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("answer recorded by"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("processor inquiry")
        verbose_name_plural = _("processor inquiries")
        ordering = ["sent_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=models.Q(answered_at__isnull=True),
                                    name="processor_inquiry_one_open_per_case"),
            models.CheckConstraint(condition=models.Q(due_at__gte=models.F("sent_at")),
                                   name="processor_inquiry_due_after_sent"),
        ]
        indexes = [
            # The SLA sweep's look-up of inquiries due a reminder or a breach.
            models.Index(fields=["alert_at"], condition=models.Q(alert_at__isnull=False),
                         name="processor_inquiry_alert_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.our_reference}"
