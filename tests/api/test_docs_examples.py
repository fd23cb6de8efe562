"""docs/api.md: its curl examples run, in order, against a live server and
succeed; its signature check accepts what the webhooks send."""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from disputes.delivery import webhooks

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
DOC_HOST = "https://disputes.bank.example"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_guide_has_an_example_for_each_task():
    script = "\n".join(blocks("bash"))
    for needle in ("drf_create_token", "Idempotency-Key", "/customers/", "card_last4=", "/events/",
                   "/notes/", "/transitions/withdraw/", "If-Match"):
        assert needle in script, needle


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_curl_examples_succeed_against_a_live_server(live_server, dave, tmp_path):
    repo = DOC.parents[1]
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    steps = []
    for index, block in enumerate(blocks("bash")):
        block = block.replace(DOC_HOST, live_server.url).replace("python manage.py", f"python {repo / 'manage.py'}")
        steps.append(f"{block}\necho 'step {index} ok'")
    script = "set -euo pipefail\n" + "\n".join(steps)

    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr
    for index in range(len(steps)):
        assert f"step {index} ok" in result.stdout, result.stdout + result.stderr


def test_the_documented_verification_accepts_our_signature():
    namespace: dict = {}
    exec(blocks("python")[0], namespace)  # noqa: S102 - our own documentation
    verify = namespace["verify_dispute_desk_signature"]
    body = b'{"case":"DD261120-7K3M9Q","type":"case.filed"}'
    header = webhooks.sign(secret="s3cret", timestamp=int(time.time()), body=body)
    assert verify("s3cret", header, body)
    assert not verify("s3cret", header, body.replace(b"filed", b"transition"))
    assert not verify("other", header, body)
