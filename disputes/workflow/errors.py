"""What the case services raise, besides Django's ValidationError (bad input).

Each maps to one HTTP status in the API and one message on the staff pages.
"""
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransition


class CaseError(Exception):
    default_message = _("The case could not be changed.")

    def __init__(self, message=None):
        self.message = message or self.default_message
        super().__init__(str(self.message))


class TransitionUnknown(CaseError):
    """No transition of that name exists (404)."""

    default_message = _("There is no such step in the case workflow.")


class ActionForbidden(CaseError):
    """The actor's role may not do this, or the four-eyes rule forbids it (403)."""

    default_message = _("You are not allowed to do this.")


class TransitionNotAvailable(CaseError):
    """The actor may take this step, but not from the case's state now (409)."""

    default_message = _("This step is not possible in the case's current state.")


class StaleCase(CaseError, ConcurrentTransition):
    """The case changed since this copy was read (412 with If-Match, else 409)."""

    default_message = _("The case was changed by someone else in the meantime. Reload it and try again.")
