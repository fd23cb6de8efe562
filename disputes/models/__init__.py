"""The disputes app's models, one module per concern; all are importable from
``disputes.models`` (Django, the migrations and the rest of the code use that).

- ``case``: the case and its state machine, with ``TRANSITION_NAMES``;
- ``casefile``: its audit trail, notes, attachments and refunds;
- ``sla``: SLA policies, calendar overrides and the alerts raised;
- ``delivery``: e-mail notifications, webhook endpoints and deliveries;
- ``api``: the REST API's idempotency keys;
- ``verification``: each check of a case against the transaction records, and
  the case that owns each debit (``DebitCase``);
- ``parties``: the merchant contacts and the processor inquiries;
- ``queue``: the staff queue's orderings and the indexes named for its queries.
"""
from disputes.models.api import IdempotencyKey
from disputes.models.verification import DebitCase, Outcome, Verification
from disputes.models.case import TRANSITION_LABELS, TRANSITION_NAMES, Case
from disputes.models.casefile import (
    Attachment,
    CaseEvent,
    CaseNote,
    NoteVisibility,
    REFUND_LIVE_STATUSES,
    REFUND_OPEN_STATUSES,
    Refund,
    RefundStatus,
    _attachment_path,
)
from disputes.models.parties import ContactChannel, MerchantAnswer, MerchantContact, ProcessorInquiry
from disputes.models.delivery import (
    Notification,
    NotificationStatus,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    validate_webhook_url,
)
from disputes.models.sla import (
    FIRST_EXTENSION_TO_DAYS,
    CalendarOverride,
    DeadlineCounting,
    Recipients,
    SlaAlert,
    SlaAlertKind,
    SlaClock,
    SlaSettings,
    StagePolicy,
    TargetUnit,
    default_final_days,
    default_first_extension_to_days,
)

__all__ = [
    "TRANSITION_LABELS", "TRANSITION_NAMES", "Case", "Attachment", "CaseEvent", "CaseNote", "NoteVisibility", "Refund", "RefundStatus",
    "REFUND_LIVE_STATUSES", "REFUND_OPEN_STATUSES",
    "FIRST_EXTENSION_TO_DAYS", "CalendarOverride", "DeadlineCounting", "Recipients", "SlaAlert", "SlaAlertKind",
    "SlaClock", "SlaSettings", "StagePolicy", "TargetUnit", "default_final_days", "default_first_extension_to_days",
    "Notification", "NotificationStatus", "WebhookDelivery", "WebhookDeliveryStatus", "WebhookEndpoint",
    "validate_webhook_url", "IdempotencyKey", "_attachment_path",
    "DebitCase", "Outcome", "Verification",
    "ContactChannel", "MerchantAnswer", "MerchantContact", "ProcessorInquiry",
]
