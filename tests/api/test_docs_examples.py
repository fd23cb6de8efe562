"""docs/api.md runs as written: every `bash` block, in order, against a fresh
`make run`-style demo (migrate, seed_demo, then bin/run-all: gunicorn, a
Celery worker and beat, on SQLite and the file-system broker in a folder of
its own) with the call center's own HTTPS webhook receiver behind a private
CA, trusted through DISPUTE_WEBHOOK_CA_BUNDLE. The only changes to the text
are the two addresses: the bank's and the receiver's. The documented signature
check accepts what the webhooks send."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from disputes.delivery import webhooks

from .tls_support import make_private_ca
from .webhook_support import Receiver

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "api.md"
DOC_HOST = "https://disputes.bank.example"
DOC_RECEIVER = "https://hooks.callcenter.example/dispute-desk"
# The demo's environment is make run's: nothing of the test run's own settings leaks into it.
_NOT_INHERITED = ("DJANGO_", "DATABASE_", "CELERY_", "DISPUTE_", "EMAIL_", "CACHE_URL", "DEFAULT_FROM_EMAIL")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_guide_has_an_example_for_each_task():
    script = "\n".join(blocks("bash"))
    for needle in (".venv/bin/python manage.py api_client create", "Idempotency-Key", "/customers/", "card_last4=",
                   "/merchants/103287654110281/", "/events/", "/notes/", "/transitions/withdraw/", "If-Match",
                   "/webhooks/", "/ping/", "/deliveries/", "-X DELETE"):
        assert needle in script, needle
    assert "drf_create_token" not in DOC.read_text(encoding="utf-8")


def test_the_documented_verification_accepts_our_signature():
    namespace: dict = {}
    exec(blocks("python")[0], namespace)  # noqa: S102 - our own documentation
    verify = namespace["verify_dispute_desk_signature"]
    body = b'{"case":"DD261120-7K3M9Q","type":"case.filed"}'
    header = webhooks.sign(secret="s3cret", timestamp=int(time.time()), body=body)
    assert verify("s3cret", header, body)
    assert not verify("s3cret", header, body.replace(b"filed", b"transition"))
    assert not verify("other", header, body)


# --- the whole guide against a fresh demo ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _demo_env(var_dir: Path, ca_bundle: Path, port: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(_NOT_INHERITED)}
    env.update(DISPUTE_DESK_VAR_DIR=str(var_dir), DJANGO_STATIC_ROOT=str(var_dir / "static"),
               DISPUTE_WEBHOOK_CA_BUNDLE=str(ca_bundle), HOST="127.0.0.1", PORT=str(port),
               WEB_WORKERS="2", CELERY_CONCURRENCY="1", PYTHONDONTWRITEBYTECODE="1",
               VENV_BIN=str(Path(sys.executable).parent))  # bin/run-all's gunicorn and celery: this virtualenv's
    return env


def _run(args: list[str], env: dict, log: Path) -> None:
    with log.open("ab") as out:
        result = subprocess.run(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=600)
    assert result.returncode == 0, log.read_text(errors="replace")[-4000:]


def _wait_until_up(url: str, demo: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert demo.poll() is None, log.read_text(errors="replace")[-4000:]
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("the demo did not come up:\n" + log.read_text(errors="replace")[-4000:])


def _stop(demo: subprocess.Popen) -> None:
    if demo.poll() is None:
        os.killpg(demo.pid, signal.SIGTERM)
        try:
            demo.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait(timeout=10)


@pytest.mark.slow
def test_the_whole_guide_runs_as_written_against_a_fresh_demo(tmp_path):
    ca = make_private_ca(tmp_path / "ca")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = _demo_env(tmp_path / "var", ca.ca_certificate, port)
    (tmp_path / "var" / "static").mkdir(parents=True)
    log = tmp_path / "demo.log"
    # make run: migrate, seed_demo, then web + worker + beat.
    _run([sys.executable, "manage.py", "migrate", "--noinput"], env, log)
    _run([sys.executable, "manage.py", "seed_demo"], env, log)
    demo = subprocess.Popen(["bin/run-all"], cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        _wait_until_up(url, demo, log)
        with Receiver(tls=ca.server_context()) as receiver:
            # The administrator's shell is in the project's folder: the guide's
            # `.venv/bin/python manage.py` resolves there; the files it writes stay here.
            work = tmp_path / "work"
            work.mkdir()
            (work / "manage.py").symlink_to(ROOT / "manage.py")
            (work / ".venv").symlink_to(Path(sys.executable).parent.parent)  # the virtualenv running the tests
            steps = [block.replace(DOC_HOST, url).replace(DOC_RECEIVER, receiver.url) + f"\necho 'step {index} ok'"
                     for index, block in enumerate(blocks("bash"))]
            script = "set -euo pipefail\n" + "\n".join(steps)

            result = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True,
                                    timeout=300)

            output = result.stdout + result.stderr
            assert result.returncode == 0, output + log.read_text(errors="replace")[-3000:]
            for index in range(len(steps)):
                assert f"step {index} ok" in result.stdout, output

            # What the receiver heard: the ping, then the filing and the withdrawal, all signed.
            secret = json.loads((work / "endpoint.json").read_text())["secret"]
            reference = json.loads((work / "case.json").read_text())["reference"]
            heard = []
            for headers, body in receiver.requests:
                assert webhooks.verify(secret=secret, header=headers["Dispute-Desk-Signature"], body=body)
                payload = json.loads(body)
                heard.append((payload["type"], payload["case"], payload["transition"]))
                assert headers["Dispute-Desk-Attempt"].startswith(headers["Dispute-Desk-Delivery"] + "-")
            assert heard[0] == ("ping", None, None)
            assert {("case.filed", reference, None), ("case.transition", reference, "withdraw")} <= set(heard)
    finally:
        _stop(demo)
