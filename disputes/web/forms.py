"""Forms of the customers' public pages.

They check types and shapes only; the rules of a complaint (amount for its
currency, slip field formats, no future payment) live in the services, whose
ValidationError the views put back on these fields.
"""
from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.cardguard import scrub_free_text
from core.money import CURRENCY_CHOICES, AmountFormField
from core.slip import (
    validate_auth_code,
    validate_last4,
    validate_merchant_id,
    validate_rrn,
    validate_stan,
    validate_terminal_id,
)
from customers.models import CardScheme
from disputes.workflow.names import NOTE_MAX_LENGTH

DATETIME_LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
_FOUR_DIGITS_AT_MOST = re.compile(r"^[0-9]{0,4}\Z")


class LastFourInput(forms.TextInput):
    """Renders back only what can be the last four digits: a full card number
    typed here by mistake is never echoed into the page."""

    def format_value(self, value):
        value = super().format_value(value)
        if value is None or not _FOUR_DIGITS_AT_MOST.match(str(value)):
            return None
        return value


class ScrubbedEchoMixin:
    """What a form shows back after an error is masked like what it stores: a
    card number typed into any field is never echoed into the page."""

    def format_value(self, value):
        value = super().format_value(value)
        return scrub_free_text(value) if isinstance(value, str) else value


_SCRUBBED_WIDGETS: dict[type, type] = {}


def _scrubbed_widget_class(widget_class: type) -> type:
    if issubclass(widget_class, ScrubbedEchoMixin):
        return widget_class
    if widget_class not in _SCRUBBED_WIDGETS:
        _SCRUBBED_WIDGETS[widget_class] = type(f"Scrubbed{widget_class.__name__}", (ScrubbedEchoMixin, widget_class), {})
    return _SCRUBBED_WIDGETS[widget_class]


class PublicForm(forms.Form):
    """A form of the public pages: every widget masks card numbers in what it
    shows back (LastFourInput shows nothing but four digits)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.__class__ = _scrubbed_widget_class(type(field.widget))


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class EvidenceField(forms.FileField):
    """Several files in one input: the customer's evidence. Their types and sizes
    are checked by the service (``case_attach``), like every attachment."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,.txt"}))
        super().__init__(**kwargs)

    def clean(self, data, initial=None) -> list:
        single = super().clean
        files = [single(item, initial) for item in data] if isinstance(data, (list, tuple)) else (
            [single(data, initial)] if data else [])
        files = [item for item in files if item]
        if self.required and not files:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        if len(files) > settings.DISPUTE_CUSTOMER_EVIDENCE_MAX_FILES:
            raise forms.ValidationError(_("Send at most %(n)s files.") % {"n": settings.DISPUTE_CUSTOMER_EVIDENCE_MAX_FILES})
        return files


def _evidence_help() -> str:
    return _("For example a photo of the POS slip that says the payment failed, or a screenshot of the bank's "
             "debit SMS: PDF, JPEG, PNG or text, at most %(n)s files of %(mb)s MB each.") % {
        "n": settings.DISPUTE_CUSTOMER_EVIDENCE_MAX_FILES, "mb": settings.DISPUTE_ATTACHMENT_MAX_BYTES // (1024 * 1024)}


class ComplaintForm(PublicForm):
    customer_name = forms.CharField(
        label=_("Your name"), max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    phone = forms.CharField(
        label=_("Mobile phone"), max_length=32,
        help_text=_("We call or text this number about your complaint. Abroad: + and the country code."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    email = forms.EmailField(
        label=_("E-mail (optional)"), required=False,
        help_text=_("We send a confirmation and every update of your case to this address."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    card_last4 = forms.CharField(
        label=_("Last 4 digits of the card"), min_length=4, max_length=4, validators=[validate_last4],
        help_text=_("Only the last 4 digits of the card, never the full card number."),
        widget=LastFourInput(attrs={"inputmode": "numeric", "autocomplete": "off", "pattern": "[0-9]{4}"}),
    )
    card_scheme = forms.ChoiceField(label=_("Card scheme"), choices=CardScheme.choices, initial=CardScheme.UNIONPAY)
    # The text as typed goes through the same rule and words as the API and the
    # service (core.money.parse_decimal_amount), so a bad amount shows with
    # the other bad fields; the service still checks it against the currency.
    amount = AmountFormField(
        label=_("Amount debited"),
        help_text=_("As on your card statement, for example 128.50."),
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES, initial=settings.DISPUTE_DEFAULT_CURRENCY)
    transaction_at = forms.DateTimeField(
        label=_("Date and time of the payment"),
        input_formats=[DATETIME_LOCAL_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        help_text=_("Local time, as printed on the POS slip."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL_FORMAT),
    )
    merchant_name = forms.CharField(label=_("Merchant name"), max_length=200, required=False,
                                    help_text=_("The shop's name as printed at the top of the POS slip (商户名称)."))
    merchant_id = forms.CharField(label=_("Merchant id (optional)"), max_length=15, required=False, validators=[validate_merchant_id],
                                  help_text=_("15 digits, printed on the POS slip as 商户编号."))
    terminal_id = forms.CharField(label=_("Terminal id (optional)"), max_length=8, required=False, validators=[validate_terminal_id],
                                  help_text=_("8 letters or digits, printed on the POS slip as 终端编号."))
    rrn = forms.CharField(label=_("Reference number, RRN (optional)"), max_length=12, required=False, validators=[validate_rrn],
                          help_text=_("12 digits, printed on the POS slip as 参考号."))
    stan = forms.CharField(label=_("Trace number, STAN (optional)"), max_length=6, required=False, validators=[validate_stan],
                           help_text=_("6 digits, printed on the POS slip as 凭证号 or 流水号."))
    auth_code = forms.CharField(label=_("Authorisation code (optional)"), max_length=6, required=False, validators=[validate_auth_code],
                                help_text=_("6 letters or digits, printed on the POS slip as 授权码; often empty when the payment failed."))
    description = forms.CharField(
        label=_("What happened"), max_length=NOTE_MAX_LENGTH, required=False,
        help_text=_("For example: the terminal showed “transaction failed” but my card was debited. Do not write your card number."),
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    evidence = EvidenceField(label=_("Evidence (optional)"), required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["evidence"].help_text = _evidence_help()


class EvidenceForm(PublicForm):
    evidence = EvidenceField(label=_("Files"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["evidence"].help_text = _evidence_help()


class TrackForm(PublicForm):
    reference = forms.CharField(
        label=_("Reference"), max_length=20,
        help_text=_("For example DD250314-7K2M9Q."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    tracking_code = forms.CharField(
        label=_("Tracking code"), max_length=40,
        help_text=_("The code shown once when you filed the complaint."),
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )


class ReplyForm(PublicForm):
    message = forms.CharField(
        label=_("Your answer"), max_length=NOTE_MAX_LENGTH,
        help_text=_("Answer our question. Do not write your card number."),
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class WithdrawForm(forms.Form):
    confirm = forms.BooleanField(label=_("Yes, I withdraw my complaint. The bank will stop working on it."))


class MerchantAnswerForm(PublicForm):
    """The merchant's answer on its signed link: one of three, a comment, evidence."""

    answer = forms.ChoiceField(label=_("Your answer"), widget=forms.RadioSelect, choices=[
        ("received", _("We received the money for this payment.")),
        ("not_received", _("We did not receive the money for this payment.")),
        ("refunded", _("We have already refunded the customer.")),
    ])
    comment = forms.CharField(label=_("Comment (optional)"), max_length=NOTE_MAX_LENGTH, required=False,
                              help_text=_("For example when and how you refunded the customer. Do not write card numbers."),
                              widget=forms.Textarea(attrs={"rows": 3}))
    evidence = EvidenceField(label=_("Evidence (optional)"), required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["evidence"].help_text = _("For example your settlement statement or the refund receipt: PDF, "
                                              "JPEG, PNG or text, at most %(n)s files of %(mb)s MB each.") % {
            "n": settings.DISPUTE_CUSTOMER_EVIDENCE_MAX_FILES,
            "mb": settings.DISPUTE_ATTACHMENT_MAX_BYTES // (1024 * 1024)}
