"""Who acts on a case.

Services take an ``actor``: a staff or call-center ``User``, the system user
(automatic steps), a ``CustomerActor`` for the customer on the public pages, or
a ``MerchantActor`` for the merchant answering through its signed link.
All answer ``has_perm`` so the workflow's permissions read the same for each.
"""
from __future__ import annotations

from dataclasses import dataclass

from accounts.selectors import user_with_permissions
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


@dataclass(frozen=True)
class MerchantActor:
    """The merchant answering through its signed link (no account). It takes the
    steps its answer drives (``merchant_refunded``, ``escalate_to_processor``)
    as the automatic steps do, and nothing else is ever called with it."""

    pk = None
    is_authenticated = False
    is_superuser = False
    PERMISSIONS = frozenset({"disputes.act_as_system"})

    def has_perm(self, perm: str, obj=None) -> bool:
        return perm in self.PERMISSIONS

    def get_username(self) -> str:
        return "merchant"


MERCHANT = MerchantActor()

# Actors with no user account: the public pages' customer and merchant.
PUBLIC_ACTORS = (CustomerActor, MerchantActor)


def system_user():
    """The user that automatic steps (SLA, reconciliation) act as, with its
    permissions (one statement: each check of a new case asks for it); made by
    a migration."""
    return user_with_permissions(SYSTEM_USERNAME)


def actor_label(actor) -> str:
    return actor.get_username()


def actor_user(actor):
    """The User to record on an event, or None for the customer and the merchant."""
    return None if isinstance(actor, PUBLIC_ACTORS) else actor


def require_permission(actor, perm: str) -> None:
    """Raise ActionForbidden unless the actor holds ``perm``."""
    if not actor.has_perm(perm):
        raise ActionForbidden()
