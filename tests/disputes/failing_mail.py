"""An e-mail backend whose server is down: every send raises."""
from django.core.mail.backends.base import BaseEmailBackend


class DownEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("mail server refused the connection")


class CountingEmailBackend(BaseEmailBackend):
    """Django's locmem outbox, counting the connections opened; refuses mail to
    ``refused@example.com``; ``CountingEmailBackend.down = True`` refuses to connect."""

    opened = 0
    down = False

    def open(self):
        if CountingEmailBackend.down:
            raise ConnectionRefusedError("mail server refused the connection")
        CountingEmailBackend.opened += 1
        return True

    def send_messages(self, email_messages):
        from django.core import mail

        for message in email_messages:
            if "refused@example.com" in message.to:
                raise ConnectionRefusedError("recipient refused")
            mail.outbox.append(message)
        return len(email_messages)
