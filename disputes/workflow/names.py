"""The names of the case workflow (docs/design.md, "Case workflow"): states, groups and roles.

Kept apart from the model so that services, selectors, the API and the docs
generator can import the vocabulary without the model.
"""
from django.db import models
from django.utils.translation import gettext_lazy as _


class State(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")
    VERIFYING = "verifying", _("verifying")
    AWAITING_CUSTOMER = "awaiting_customer", _("awaiting customer")
    MERCHANT_CONTACT = "merchant_contact", _("merchant contact")
    PROCESSOR_INQUIRY = "processor_inquiry", _("processor inquiry")
    REFUND_PENDING = "refund_pending", _("refund pending")
    REFUNDED = "refunded", _("refunded")
    RESOLVED = "resolved", _("resolved")
    REJECTED = "rejected", _("rejected")
    WITHDRAWN = "withdrawn", _("withdrawn")
    CLOSED = "closed", _("closed")


OPEN_STATES = (
    State.SUBMITTED,
    State.VERIFYING,
    State.AWAITING_CUSTOMER,
    State.MERCHANT_CONTACT,
    State.PROCESSOR_INQUIRY,
    State.REFUND_PENDING,
)
ENDED_STATES = (State.REFUNDED, State.RESOLVED, State.REJECTED, State.WITHDRAWN)
ARCHIVED_STATES = (State.CLOSED,)
# The working stages a case can pause from and return to.
WORKING_STAGES = (State.VERIFYING, State.MERCHANT_CONTACT, State.PROCESSOR_INQUIRY)

# What a customer reads on the tracking page for each state.
CUSTOMER_WORDING = {
    State.SUBMITTED: _("We have received your complaint."),
    State.VERIFYING: _("We are checking the transaction in our records."),
    State.AWAITING_CUSTOMER: _("We need more information from you."),
    State.MERCHANT_CONTACT: _("We are in contact with the merchant."),
    State.PROCESSOR_INQUIRY: _("We are in contact with the payment processor."),
    State.REFUND_PENDING: _("A refund is being approved."),
    State.REFUNDED: _("The amount has been refunded to your card."),
    State.RESOLVED: _("Your complaint has been resolved."),
    State.REJECTED: _("Your complaint could not be upheld."),
    State.WITHDRAWN: _("You withdrew this complaint."),
    State.CLOSED: _("This case is closed."),
}




class Channel(models.TextChoices):
    WEB = "web", _("public web form")
    STAFF = "staff", _("staff")
    API = "api", _("call-center API")
    AUTO = "auto", _("automatic (reconciliation)")


class Priority(models.IntegerChoices):
    LOW = 1, _("low")
    NORMAL = 2, _("normal")
    HIGH = 3, _("high")
    URGENT = 4, _("urgent")


class RootCause(models.TextChoices):
    NETWORK_FAILURE = "network_failure", _("network failure")
    RESPONSE_TIMEOUT = "response_timeout", _("response timeout")
    TERMINAL_FAULT = "terminal_fault", _("terminal fault")
    PROCESSOR_ERROR = "processor_error", _("processor error")
    BANK_ERROR = "bank_error", _("bank error")
    MERCHANT_ERROR = "merchant_error", _("merchant error")
    CUSTOMER_ERROR = "customer_error", _("customer error")
    DUPLICATE_PAYMENT = "duplicate_payment", _("duplicate payment")
    UNKNOWN = "unknown", _("unknown")


class EventKind(models.TextChoices):
    FILED = "filed", _("filed")
    TRANSITION = "transition", _("transition")
    NOTE = "note", _("note")
    ASSIGNMENT = "assignment", _("assignment")
    VERIFICATION = "verification", _("verification")
    SLA_REMINDER = "sla_reminder", _("SLA reminder")
    SLA_BREACH = "sla_breach", _("SLA breach")
    DEADLINE_EXTENDED = "deadline_extended", _("deadline extended")
    MERCHANT_CONTACT = "merchant_contact", _("merchant contacted")
    MERCHANT_RESPONSE = "merchant_response", _("merchant response")
    PROCESSOR_INQUIRY = "processor_inquiry", _("processor inquiry sent")
    PROCESSOR_RESPONSE = "processor_response", _("processor response")
    REFUND = "refund", _("refund")
    NOTIFICATION = "notification", _("notification")
    LINKED = "linked", _("linked")


class Role(models.TextChoices):
    """Django groups, created by a migration."""

    AGENT = "agent", _("agent")
    SUPERVISOR = "supervisor", _("supervisor")
    CALL_CENTER = "call_center", _("call center")
    ADMIN = "admin", _("admin")


SYSTEM_USERNAME = "system"

# The longest note, reply or transition note, in characters.
NOTE_MAX_LENGTH = 5000

# Case permissions (codename, description); which group holds which is in
# ROLE_PERMISSIONS, applied by a data migration. A name without an app label is
# a case permission ("disputes."); others carry theirs ("transactions.import_records").
CASE_PERMISSIONS = [
    ("file_case", "Can file a case for a customer"),
    ("work_case", "Can work a case through the workflow (agent)"),
    ("supervise_case", "Can approve or decline refunds and reopen cases (supervisor)"),
    ("note_case", "Can add notes to a case"),
    ("withdraw_case", "Can withdraw a case on the customer's behalf"),
    ("assign_case", "Can assign cases"),
    ("reply_as_customer", "Can answer a request for information as the customer"),
    ("act_as_system", "Can take the automatic steps (SLA, reconciliation)"),
]
ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.AGENT: ["view_case", "file_case", "work_case", "note_case", "withdraw_case", "assign_case"],
    Role.SUPERVISOR: ["view_case", "file_case", "work_case", "note_case", "withdraw_case", "assign_case", "supervise_case",
                      "transactions.import_records"],
    # The call center also keeps its own webhook endpoints (API /webhooks/: register, ping, remove).
    Role.CALL_CENTER: ["view_case", "file_case", "note_case", "withdraw_case",
                       "view_webhookendpoint", "add_webhookendpoint", "change_webhookendpoint", "view_webhookdelivery"],
    Role.ADMIN: ["view_case"],
}
SYSTEM_PERMISSIONS = ["view_case", "act_as_system"]
