"""Who acts on a case.

Services take an ``actor``: a staff or call-center ``User``, the system user
(automatic steps), or a ``CustomerActor`` for the customer on the public pages.
All answer ``has_perm`` so the workflow's permissions read the same for each.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from disputes.workflow.errors import ActionForbidden
from disputes.workflow.names import SYSTEM_USERNAME


@dataclass(frozen=True)
class CustomerActor:
    """The customer, identified by reference and tracking code on the public pages."""

    pk = None
    is_authenticated = False
    is_superuser = False
    PERMISSIONS = frozenset({"disputes.reply_as_customer", "disputes.withdraw_case"})

    def has_perm(self, perm: str, obj=None) -> bool:
        return perm in self.PERMISSIONS

    def get_username(self) -> str:
        return "customer"


CUSTOMER = CustomerActor()


def system_user():
    """The user that automatic steps (SLA, reconciliation) act as; made by a migration."""
    return get_user_model().objects.get(username=SYSTEM_USERNAME)


def actor_label(actor) -> str:
    return actor.get_username()


def actor_user(actor):
    """The User to record on an event, or None for the customer."""
    return None if isinstance(actor, CustomerActor) else actor


def require_permission(actor, perm: str) -> None:
    """Raise ActionForbidden unless the actor holds ``perm``."""
    if not actor.has_perm(perm):
        raise ActionForbidden()
