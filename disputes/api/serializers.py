"""The API's bodies. Serializers check shape and types; the rules (amount and
currency, field formats, who may do what) are the services' and come back as
``ValidationError`` with per-field messages."""
from __future__ import annotations

import copy

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core import slip
from core.money import CURRENCY_MINOR_UNITS, parse_decimal_amount
from customers.models import CardScheme, Customer, Language
from disputes.models import TRANSITION_NAMES, Case, CaseEvent, CaseNote, NoteVisibility, Outcome
from disputes.sla import clocks as sla
from disputes.verification.checks import verification_data
from disputes.workflow.names import NOTE_MAX_LENGTH, Channel, EventKind, Priority, RootCause, State
from disputes.workflow.transitions import allowed_transitions
from merchants.models import Merchant, Terminal



def copy_fields(fields: dict) -> dict:
    """Each instance's own copy of its class's fields. DRF deep-copies them,
    which builds every field again from its arguments (about 1.5 ms a filing);
    a plain field that no instance has bound yet is copied as it is, which is
    the same. A field that holds fields of its own (a nested serializer, a
    list's or a dict's ``child``, a relation's ``child_relation``: bound to it
    when it was made) is still built again, as DRF does."""
    return {name: copy.deepcopy(field) if _holds_fields(field) else copy.copy(field) for name, field in fields.items()}


def _holds_fields(field) -> bool:
    return isinstance(field, serializers.BaseSerializer) or hasattr(field, "child") or hasattr(field, "child_relation")


class Serializer(serializers.Serializer):
    """DRF's Serializer with its declared fields copied by ``copy_fields``."""

    def get_fields(self):
        return copy_fields(self._declared_fields)


class ModelSerializer(serializers.ModelSerializer):
    """DRF's ModelSerializer, with its fields built from the model once per class:
    DRF builds them again for every instance (about 3 ms a case on the reference
    machine, on every response); each instance gets its own copy
    (``copy_fields``). Nothing here builds fields from the request or the
    instance, which is what this would not allow."""

    def get_fields(self):
        built = type(self).__dict__.get("_fields_built")
        if built is None:
            built = super().get_fields()
            type(self)._fields_built = built
        return copy_fields(built)


TRANSITION_CHOICES = [(name, name) for name in TRANSITION_NAMES]


class TextField(serializers.CharField):
    """Text in a body: a JSON string, nothing else. DRF's CharField takes a
    number and keeps its Python spelling, which loses what the client meant:
    a phone 013800138000 sent as a number arrives without its 0, 1.10 as
    "1.1", 1e999 as "inf". Every text field a client writes is one of these."""

    default_error_messages = {"not_text": _("Give this as text in quotes, not as a number.")}

    def to_internal_value(self, data):
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            self.fail("not_text")
        return super().to_internal_value(data)


# The shapes of the POS slip and of a phone number, checked here too so that the
# schema states them (clients and Schemathesis generate valid data); the
# services check them again.
validate_phone_digits = RegexValidator(
    r"^\+?[0-9 ()\-]{6,24}\Z", _("Enter a phone number of 6 to 15 digits, with + and the country code if abroad."),
    code="phone")


@extend_schema_field({"type": "string", "format": "decimal", "pattern": r"^[0-9]{1,12}(\.[0-9]{1,2})?$", "example": "128.50"})
class AmountField(serializers.Field):
    """A money amount as a decimal string ("128.50"). Passed to the services
    untouched, which refuse floats and check the currency's minor units."""

    default_error_messages = {"invalid": _("Give the amount as a decimal string, for example \"128.50\".")}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (str, int, float)):
            self.fail("invalid")
        # Sign and form here, so they are reported with the other fields'
        # errors; the currency's minor units are the service's to check.
        try:
            parse_decimal_amount(data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return data

    def to_representation(self, value):
        return None if value is None else str(value)


# --- writing --------------------------------------------------------------------


class CustomerInputSerializer(Serializer):
    name = TextField(max_length=100, help_text=_("The customer's name."))
    phone = TextField(max_length=32, help_text=_("With the country code, e.g. +8613800138000."),
                      validators=[validate_phone_digits])
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    preferred_language = serializers.ChoiceField(choices=Language.choices, required=False, default=Language.ZH_HANS)


class CaseCreateSerializer(Serializer):
    customer = CustomerInputSerializer()
    card_last4 = TextField(max_length=4, min_length=4, validators=[slip.validate_last4])
    card_scheme = serializers.ChoiceField(choices=CardScheme.choices, required=False, default=CardScheme.UNIONPAY)
    amount = AmountField()
    currency = serializers.ChoiceField(choices=[(c, c) for c in CURRENCY_MINOR_UNITS], required=False, default="CNY")
    transaction_at = serializers.DateTimeField(
        help_text=_("ISO 8601 with offset, e.g. 2026-11-20T14:03:00+08:00; on or after 2000-01-01 and not in the future."))
    merchant_name = TextField(max_length=200, required=False, allow_blank=True, default="")
    merchant_id = TextField(max_length=15, required=False, allow_blank=True, default="",
                            validators=[slip.validate_merchant_id])
    terminal_id = TextField(max_length=8, required=False, allow_blank=True, default="",
                            validators=[slip.validate_terminal_id])
    rrn = TextField(max_length=12, required=False, allow_blank=True, default="", validators=[slip.validate_rrn])
    stan = TextField(max_length=6, required=False, allow_blank=True, default="", validators=[slip.validate_stan])
    auth_code = TextField(max_length=6, required=False, allow_blank=True, default="",
                          validators=[slip.validate_auth_code])
    description = TextField(max_length=5000, required=False, allow_blank=True, default="")

    # The service's names for the nested customer fields.
    SERVICE_FIELD_NAMES = {
        "customer_name": "customer.name",
        "phone": "customer.phone",
        "email": "customer.email",
        "preferred_language": "customer.preferred_language",
    }

    def api_errors(self, exc: DjangoValidationError) -> DjangoValidationError:
        """The service's per-field errors, named as in this body."""
        if not hasattr(exc, "error_dict"):
            return exc
        return DjangoValidationError(
            {self.SERVICE_FIELD_NAMES.get(field, field): messages for field, messages in exc.message_dict.items()})

    def service_arguments(self) -> dict:
        data = dict(self.validated_data)
        customer = data.pop("customer")
        return {
            **data,
            "customer_name": customer["name"],
            "phone": customer["phone"],
            "email": customer.get("email", ""),
            "preferred_language": customer.get("preferred_language", Language.ZH_HANS),
        }


class NoteCreateSerializer(Serializer):
    body = TextField(max_length=NOTE_MAX_LENGTH, trim_whitespace=True)
    visibility = serializers.ChoiceField(choices=NoteVisibility.choices, required=False, default=NoteVisibility.INTERNAL)


class TransitionSerializer(Serializer):
    note = TextField(max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True, default="")
    reason = TextField(required=False, allow_blank=True, default="",
                       help_text=_("Required by reject."))
    amount = AmountField(required=False, allow_null=True, default=None, help_text=_("Required by propose_refund."))


# --- reading ---------------------------------------------------------------------


class CustomerSummarySerializer(ModelSerializer):
    email = serializers.CharField(read_only=True, help_text=_("Empty when unknown."))

    class Meta:
        model = Customer
        fields = ["name", "phone", "email", "preferred_language", "verified"]


class CardSerializer(Serializer):
    scheme = serializers.ChoiceField(choices=CardScheme.choices)
    last4 = serializers.CharField()


class VerificationSerializer(Serializer):
    """What the records say about the debit (docs/design.md, "Diagnosis")."""

    outcome = serializers.ChoiceField(choices=Outcome.choices)
    ledger_entries = serializers.ListField(child=serializers.CharField(), help_text=_("entry_id of each ledger row."))
    settlement_records = serializers.ListField(child=serializers.CharField(),
                                               help_text=_("record_id of each settlement record."))
    outstanding_amount = AmountField(allow_null=True)
    checked_at = serializers.DateTimeField()


class CaseSerializer(ModelSerializer):
    state = serializers.ChoiceField(choices=State.choices, read_only=True)
    channel = serializers.ChoiceField(choices=Channel.choices, read_only=True)
    customer = CustomerSummarySerializer(read_only=True)
    card = CardSerializer(read_only=True)
    amount = AmountField(read_only=True)
    refund_amount = AmountField(read_only=True, allow_null=True)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    priority = serializers.ChoiceField(choices=Priority.choices, read_only=True)
    root_cause = serializers.ChoiceField(choices=RootCause.choices, read_only=True, allow_blank=True)
    allowed_transitions = serializers.SerializerMethodField(
        help_text=_("The workflow steps the caller may take on the case now."))
    verification = serializers.SerializerMethodField(
        help_text=_("What the bank's transaction records say about the debit; null until first checked."))
    money_back_by = serializers.SerializerMethodField(
        help_text=_("The date the customer should see the money again: the refund's expected credit date once "
                    "it is paid, else the last reversal's day once known; else null."))
    linked_to = serializers.SlugRelatedField(
        slug_field="reference", read_only=True, allow_null=True,
        help_text=_("The reference of the case about the same debit that this complaint joined (one debit, one "
                    "case); null when it is not linked."))
    suggested_root_cause = serializers.SerializerMethodField(
        help_text=_("The root cause the transaction records point at (duplicate_payment when the reconciliation "
                    "flagged the debit paid twice); null when they point at none."))

    class Meta:
        model = Case
        fields = [
            "reference", "state", "version", "allowed_transitions", "channel", "customer", "card",
            "amount", "currency", "transaction_at", "merchant_name", "merchant_id", "terminal_id",
            "rrn", "stan", "auth_code", "description", "assignee", "priority", "root_cause",
            "rejection_reason", "refund_amount", "created_at", "updated_at", "stage_entered_at",
            "sla_due_at", "final_due_at", "ended_at", "closed_at", "verification", "money_back_by",
            "linked_to", "suggested_root_cause",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=TRANSITION_CHOICES)))
    def get_allowed_transitions(self, case: Case) -> list[str]:
        return allowed_transitions(case, self.context["request"].user)

    @extend_schema_field(VerificationSerializer(allow_null=True))
    def get_verification(self, case: Case) -> dict | None:
        return verification_data(case.verification)

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_money_back_by(self, case: Case):
        if case.refund_credit_on is not None:  # the refund paid: its expected credit date
            return case.refund_credit_on
        return case.verification.money_back_on if case.verification else None

    @extend_schema_field(serializers.ChoiceField(choices=RootCause.choices, allow_null=True))
    def get_suggested_root_cause(self, case: Case) -> str | None:
        return (case.verification.suggested_root_cause or None) if case.verification else None


CLOCK_STATUSES = [(value, value) for value in ("on_track", "due_soon", "breached", "paused")]


class ClockSerializer(Serializer):
    due_at = serializers.DateTimeField(allow_null=True, help_text=_("Empty while the clock is paused."))
    status = serializers.ChoiceField(choices=CLOCK_STATUSES)
    time_left_seconds = serializers.IntegerField(allow_null=True)


class CaseClocksSerializer(Serializer):
    """The SLA clocks of an open case as ``disputes.sla.clocks.case_clocks`` reads them."""

    status = serializers.ChoiceField(choices=CLOCK_STATUSES, allow_null=True)
    stage = ClockSerializer(allow_null=True, help_text=_("The deadline of the current stage."))
    final = ClockSerializer(allow_null=True, help_text=_("The deadline of the final answer."))
    deadline_extensions = serializers.IntegerField()


class CaseDetailSerializer(CaseSerializer):
    """One case, with its SLA clocks (lists leave them out: see ``overdue``)."""

    clocks = serializers.SerializerMethodField()

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "clocks"]
        read_only_fields = fields

    @extend_schema_field(CaseClocksSerializer(allow_null=True, help_text=_(
        "The SLA clocks of an open case; null once the case has ended (no clock runs).")))
    def get_clocks(self, case: Case) -> dict | None:
        return sla.case_clocks(case).as_dict() if case.is_open else None


class CaseCreatedSerializer(CaseDetailSerializer):
    tracking_code = serializers.SerializerMethodField(
        help_text=_("Read it to the customer: with the reference it opens the public tracking page. Shown only now."))

    class Meta(CaseDetailSerializer.Meta):
        fields = [*CaseDetailSerializer.Meta.fields, "tracking_code"]
        read_only_fields = fields

    def get_tracking_code(self, case: Case) -> str:
        return self.context["tracking_code"]


class CaseEventSerializer(ModelSerializer):
    kind = serializers.ChoiceField(choices=EventKind.choices, read_only=True)
    actor = serializers.CharField(source="actor_label", read_only=True)
    transition = serializers.ChoiceField(choices=TRANSITION_CHOICES, read_only=True, allow_blank=True)
    from_state = serializers.ChoiceField(choices=State.choices, read_only=True, allow_blank=True)
    to_state = serializers.ChoiceField(choices=State.choices, read_only=True, allow_blank=True)
    payload = serializers.JSONField(read_only=True)

    class Meta:
        model = CaseEvent
        fields = ["id", "kind", "actor", "transition", "from_state", "to_state", "message", "payload", "case_version", "created_at"]
        read_only_fields = fields


class CaseNoteSerializer(ModelSerializer):
    author = serializers.CharField(source="author_label", read_only=True)
    visibility = serializers.ChoiceField(choices=NoteVisibility.choices, read_only=True)

    class Meta:
        model = CaseNote
        fields = ["id", "author", "body", "visibility", "created_at"]
        read_only_fields = fields


class CaseBriefSerializer(ModelSerializer):
    state = serializers.ChoiceField(choices=State.choices, read_only=True)

    class Meta:
        model = Case
        fields = ["reference", "state", "created_at"]
        read_only_fields = fields


class CustomerSerializer(ModelSerializer):
    cards = CardSerializer(many=True, read_only=True)
    cases = CaseBriefSerializer(many=True, read_only=True)
    email = serializers.CharField(read_only=True, help_text=_("Empty when unknown."))

    class Meta:
        model = Customer
        fields = ["name", "phone", "email", "preferred_language", "verified", "cards", "cases"]
        read_only_fields = fields


class TerminalSerializer(ModelSerializer):
    class Meta:
        model = Terminal
        fields = ["terminal_id", "model", "status"]
        read_only_fields = fields


class MerchantSerializer(ModelSerializer):
    terminals = TerminalSerializer(many=True, read_only=True)
    mid_parts = serializers.SerializerMethodField()
    contact_email = serializers.CharField(read_only=True, help_text=_("Empty when unknown."))

    class Meta:
        model = Merchant
        fields = ["merchant_id", "name", "contact_name", "contact_phone", "contact_email", "address", "mid_parts", "terminals"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_mid_parts(self, merchant: Merchant) -> dict[str, str]:
        return merchant.mid_parts


class ProblemSerializer(Serializer):
    """RFC 9457 problem details: the body of every error response."""

    type = serializers.CharField(help_text=_("A URI naming the kind of problem, e.g. urn:dispute-desk:problem:validation."))
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    instance = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False,
                                   help_text=_("Per field (dotted path): the messages."))
