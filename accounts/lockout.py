"""The name django-axes counts a failed login under (``AXES_USERNAME_CALLABLE``).

Axes keeps the username a login was tried with in columns of 255 characters
(its ``AccessAttempt``, ``AccessFailureLog``); a longer one, typed or sent by
a script to either login page, made its write fail and the login answer a 500.
No account has such a name (``User.username`` holds 150), so the failure is
counted under the name's first 255 characters: the form still says the name or
password is wrong, and guessing at the same long name still locks it."""
from __future__ import annotations

from django.conf import settings

AXES_USERNAME_LENGTH = 255  # axes.models.AccessBase.username


def login_username(request, credentials: dict | None = None) -> str | None:
    """What axes would take by default (the credentials, else the POST), cut to its column."""
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        username = credentials.get(field)
    else:
        username = getattr(request, "data", request.POST).get(field)
    return username[:AXES_USERNAME_LENGTH] if isinstance(username, str) else username
