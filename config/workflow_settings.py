"""The workflow's settings, part of config/settings.py (which imports them all).

Every variable read here is listed, with its default, in README.md
("Configuration"), as for config/settings.py.
"""
from datetime import timedelta
from decimal import Decimal

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

# Notes a case holds at most: the case page shows them all, so a client adding notes in a loop would
# make it ever slower (1,000 notes: about a second).
DISPUTE_CASE_MAX_NOTES = env.int("DISPUTE_CASE_MAX_NOTES", default=1000)
# Notes visible to the customer (each one e-mailed) per case in any 24 hours, from staff and the call center.
DISPUTE_CUSTOMER_MESSAGES_PER_DAY = env.int("DISPUTE_CUSTOMER_MESSAGES_PER_DAY", default=10)
# Ended cases (rejected, closed) may be reopened by a supervisor for this long.
DISPUTE_REOPEN_WINDOW = timedelta(days=env.int("DISPUTE_REOPEN_WINDOW_DAYS", default=30))
# A clear verification takes its step by itself (reversed → reversal_found, settled → confirm_debit).
DISPUTE_VERIFICATION_AUTO_STEPS = env.bool("DISPUTE_VERIFICATION_AUTO_STEPS", default=False)
# reconcile --open-cases and the daily reconciliation open cases for orphan debits through this function.
RECONCILE_CASE_OPENER = env.str("RECONCILE_CASE_OPENER", default="disputes.verification.opening.orphan_case_open")
# The daily reconciliation (beat, at DISPUTE_RECONCILE_AT, HH:MM in TIME_ZONE) also opens a case per
# new orphan debit and e-mails its customer when this is on (off by default: it only records the orphans).
DISPUTE_RECONCILE_OPEN_CASES = env.bool("DISPUTE_RECONCILE_OPEN_CASES", default=False)
DISPUTE_RECONCILE_AT = env.str("DISPUTE_RECONCILE_AT", default="02:30")
try:
    _reconcile_hour, _reconcile_minute = (int(part) for part in DISPUTE_RECONCILE_AT.split(":"))
    if not (0 <= _reconcile_hour < 24 and 0 <= _reconcile_minute < 60):
        raise ValueError
except ValueError:
    raise ImproperlyConfigured("DISPUTE_RECONCILE_AT must be a time of day, HH:MM (e.g. 02:30).") from None

# --- Refunds (docs/design.md "Refunds", docs/deployment.md "Refund gateway") -------
# Above this amount (in the case's currency; exactly at it, one is enough) a refund
# needs a second supervisor's approval.
DISPUTE_REFUND_SECOND_APPROVAL_ABOVE = Decimal(env.str("DISPUTE_REFUND_SECOND_APPROVAL_ABOVE", default="5000.00"))
# The gateway that pays refunds (a dotted path): the ledger of the transactions app
# by default, or disputes.refunds.gateways.HttpGateway (the bank's payment system).
DISPUTE_REFUND_GATEWAY = env.str("DISPUTE_REFUND_GATEWAY", default="disputes.refunds.gateways.LedgerGateway")
DISPUTE_REFUND_GATEWAY_URL = env.str("DISPUTE_REFUND_GATEWAY_URL", default="")
DISPUTE_REFUND_GATEWAY_SECRET = env.str("DISPUTE_REFUND_GATEWAY_SECRET", default="")
# Seconds to wait for the payment system to connect, and for each read of its answer.
DISPUTE_REFUND_GATEWAY_TIMEOUT = env.float("DISPUTE_REFUND_GATEWAY_TIMEOUT", default=20.0)
# Business days from the payment until the money shows on the card, per gateway.
DISPUTE_REFUND_SETTLEMENT_DAYS = {
    "ledger": env.int("DISPUTE_REFUND_LEDGER_SETTLEMENT_DAYS", default=1),
    "http": env.int("DISPUTE_REFUND_HTTP_SETTLEMENT_DAYS", default=3),
}
# The overall answer deadline (days) of new SLA settings: the row migration 0004
# creates, or the one created on first use. Afterwards admin → SLA settings decides.
DISPUTE_FINAL_DEADLINE_DAYS = env.int("DISPUTE_FINAL_DEADLINE_DAYS", default=15)
if DISPUTE_FINAL_DEADLINE_DAYS < 1:
    raise ImproperlyConfigured("DISPUTE_FINAL_DEADLINE_DAYS must be at least 1.")
# Where customers follow their case (used in e-mails).
DISPUTE_PUBLIC_BASE_URL = env.str("DISPUTE_PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

# Merchant contact (disputes/workflow/merchant.py): the merchant's response
# deadline after each attempt (business days on the business calendar), how
# long its signed answer link stays valid, and how many refused links one
# address may open in the tracking page's window before it is answered 429.
DISPUTE_MERCHANT_RESPONSE_DAYS = env.int("DISPUTE_MERCHANT_RESPONSE_DAYS", default=3)
DISPUTE_MERCHANT_LINK_MAX_AGE = timedelta(days=env.int("DISPUTE_MERCHANT_LINK_MAX_AGE_DAYS", default=7))
DISPUTE_MERCHANT_LINK_FAILURES_PER_ADDRESS = env.int("DISPUTE_MERCHANT_LINK_FAILURES_PER_ADDRESS", default=30)
# Processor inquiries (disputes/workflow/processor.py): remind this long before the due date.
DISPUTE_PROCESSOR_INQUIRY_REMINDER_LEAD = timedelta(
    hours=env.int("DISPUTE_PROCESSOR_INQUIRY_REMINDER_LEAD_HOURS", default=24))
