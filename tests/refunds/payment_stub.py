"""A local stand-in for the bank's payment system, for the HttpGateway tests.

It checks the HMAC signature, pays once per ``Idempotency-Key`` (a repeated
key gets the first payment's reference, a key reused with another body a 422),
counts the payments, and can be told to fail the next N requests (HTTP 500,
before paying) or to hang after paying (the payment is made but the answer
held until ``release()``: the crash window of a worker killed mid-payment).
Runs in a thread of the test process, on a free port of 127.0.0.1.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from disputes.delivery.webhooks import verify
from disputes.refunds.gateways import IDEMPOTENCY_HEADER, SIGNATURE_HEADER

SECRET = "s3cret"  # the payment API's shared secret in the tests


class PaymentStub:
    def __init__(self, secret: str):
        self.secret = secret
        self.lock = threading.Lock()
        self.payments: dict[str, tuple[bytes, str]] = {}  # key -> (body, reference)
        self.requests = 0
        self.refused = 0
        self.fail_next = 0
        self.hang = False
        self.hanging = threading.Event()
        self.released = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, answer = stub.handle(self.headers, body)
                if stub.hang and status == 200:
                    stub.hanging.set()
                    stub.released.wait(120)
                try:
                    data = json.dumps(answer).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client is gone (killed)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/refunds"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def handle(self, headers, body: bytes) -> tuple[int, dict]:
        with self.lock:
            self.requests += 1
            if not verify(secret=self.secret, header=headers.get(SIGNATURE_HEADER, ""), body=body):
                self.refused += 1
                return 401, {"error": "bad signature"}
            if self.fail_next > 0:
                self.fail_next -= 1
                return 500, {"error": "try again later"}
            key = headers.get(IDEMPOTENCY_HEADER, "")
            if not key:
                return 400, {"error": "no idempotency key"}
            if key in self.payments:
                first_body, reference = self.payments[key]
                if first_body != body and json.loads(first_body) != json.loads(body):
                    return 422, {"error": "key reused for another payment"}
                return 200, {"reference": reference, "replayed": True}
            reference = f"BANK{len(self.payments) + 1:08d}"
            self.payments[key] = (body, reference)
            return 200, {"reference": reference}

    @property
    def paid(self) -> int:
        with self.lock:
            return len(self.payments)

    def paid_amounts(self) -> list[str]:
        with self.lock:
            return [json.loads(body)["amount"] for body, _ in self.payments.values()]

    def release(self) -> None:
        self.hang = False
        self.released.set()

    def __enter__(self) -> PaymentStub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()
