"""A file-based e-mail backend that holds messages to one address until a gate opens.

Used only by the reliability tests' worker (tests/reliability/worker_settings.py):
with DISPUTE_TEST_MAIL_GATE set to a directory, sending to DISPUTE_TEST_MAIL_GATED
first writes ``waiting-<pid>`` there, then waits for a file named ``open``.
"""
import os
import time
from pathlib import Path

from django.core.mail.backends import filebased


class EmailBackend(filebased.EmailBackend):
    def send_messages(self, email_messages):
        gate = os.environ.get("DISPUTE_TEST_MAIL_GATE")
        gated = os.environ.get("DISPUTE_TEST_MAIL_GATED", "")
        if gate and any(gated in message.recipients() for message in email_messages):
            gate = Path(gate)
            (gate / f"waiting-{os.getpid()}").touch()
            deadline = time.monotonic() + 120
            while not (gate / "open").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        return super().send_messages(email_messages)
