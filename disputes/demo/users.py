"""The demo staff users, one or two per role, with fresh passwords."""
from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.models import EntryPoint
from accounts.services import user_access_set
from disputes.demo.data import PASSWORD_LENGTH
from disputes.workflow.names import Role

# --- users ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str | None  # a Role; None for the superuser
    first_name: str
    is_staff: bool = True
    is_superuser: bool = False


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("agent1", Role.AGENT, "王芳"),
    DemoUser("agent2", Role.AGENT, "李强"),
    DemoUser("supervisor1", Role.SUPERVISOR, "陈静"),
    DemoUser("supervisor2", Role.SUPERVISOR, "刘洋"),
    # The call center reaches the desk through the API only: not staff.
    DemoUser("callcenter1", Role.CALL_CENTER, "赵敏", is_staff=False),
    DemoUser("admin1", Role.ADMIN, "孙伟"),
    DemoUser("root", None, "Root", is_superuser=True),
)


@dataclass(frozen=True)
class UserOutcome:
    username: str
    role: str | None
    created: bool
    password: str | None  # set when created or reset now; None when left unchanged


def _new_password() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(PASSWORD_LENGTH))


def demo_users_ensure(*, reset_passwords: bool = False) -> list[UserOutcome]:
    """Create the missing demo users with fresh random passwords.

    Existing users are left as they are (someone may have changed them), but
    for a new password when ``reset_passwords`` is set.
    """
    User = get_user_model()
    outcomes = []
    with transaction.atomic():
        for spec in DEMO_USERS:
            user = User.objects.filter(username=spec.username).first()
            created = user is None
            password = None
            if created:
                user = User(username=spec.username, first_name=spec.first_name, email=f"{spec.username}@bank.example")
            if created or reset_passwords:
                password = _new_password()
                user.set_password(password)
                user.save()
            if created:  # roles and flags through the one audited way to grant them
                user_access_set(actor=None, user=user, entry_point=EntryPoint.COMMAND, source="manage.py seed_demo",
                                roles=[spec.role] if spec.role else [], is_staff=spec.is_staff or spec.is_superuser,
                                is_superuser=spec.is_superuser)
            outcomes.append(UserOutcome(username=spec.username, role=spec.role, created=created, password=password))
    return outcomes
