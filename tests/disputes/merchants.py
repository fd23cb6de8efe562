"""A case in merchant contact whose merchant is on record with a contact
address, and a contact attempt with its answer link, through the services."""
from django.core import mail

from disputes.delivery.notifications import notification_deliver
from disputes.models import Notification
from disputes.workflow.merchant import merchant_contact_record
from disputes.workflow.names import State
from merchants.models import Merchant, PaymentProcessor
from tests.conftest import filing_data
from tests.disputes.workflow import bring_to

MERCHANT_EMAIL = "shop@merchant.example"


def merchant_on_record(**overrides) -> Merchant:
    fields = dict(name="好又多超市", merchant_id=filing_data()["merchant_id"], contact_email=MERCHANT_EMAIL)
    fields.update(overrides)
    return Merchant.objects.create(**fields)


def unlicensed_processor(name: str = "某二清支付") -> PaymentProcessor:
    return PaymentProcessor.objects.create(name=name, licensed=False, promised_response_hours=48)


def case_in_merchant_contact(file_case, cast, **filing):
    """A case filed for the merchant on record, brought to merchant contact."""
    return bring_to(file_case(**filing), State.MERCHANT_CONTACT, cast)


def link_from_email(contact) -> str:
    """Deliver the link's e-mail as the outbox task does and read the link back out of the sent mail."""
    notification = Notification.objects.get(case=contact.case, recipient=contact.link_sent_to)
    assert notification_deliver(notification_id=notification.pk)
    message = next(m for m in reversed(mail.outbox) if m.to == [contact.link_sent_to])
    return next(line for line in message.body.splitlines() if "/merchant/respond/" in line).strip()


def contact_with_link(case, agent, **fields):
    data = dict(channel="email", asked="请确认是否收到该笔款项。", send_link=True)
    data.update(fields)
    return merchant_contact_record(case=case, actor=agent, **data)


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]
