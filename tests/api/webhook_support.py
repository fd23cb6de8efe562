"""A local webhook receiver (http.server on 127.0.0.1, HTTPS when given a
server certificate) and a real Celery worker on the Redis broker (database 2
unless TEST_REDIS_URL says otherwise)."""
from __future__ import annotations

import os
import ssl
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/2")


class Receiver:
    """Records every request; answers ``fail_first`` POSTs with 500, then 200.
    With ``tls`` (a server-side SSLContext) it listens on https://; with
    ``redirect`` (a status and a URL) it answers every request with it; with
    ``answer`` (the raw bytes of an HTTP answer) it sends those, one byte every
    ``trickle`` seconds when given."""

    def __init__(self, fail_first: int = 0, tls: ssl.SSLContext | None = None,
                 redirect: tuple[int, str] | None = None, answer: bytes | None = None,
                 trickle: float | None = None):
        self.fail_first = fail_first
        self.requests: list[tuple[dict, bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append((dict(self.headers), body))
                    failing = len(receiver.requests) <= receiver.fail_first
                if answer is not None:
                    for start in range(0, len(answer), 1 if trickle else len(answer)):
                        self.wfile.write(answer[start:start + 1] if trickle else answer)
                        self.wfile.flush()
                        if trickle:
                            time.sleep(trickle)
                    return
                if redirect is not None:
                    self.send_response(redirect[0])
                    self.send_header("Location", redirect[1])
                    self.end_headers()
                    return
                self.send_response(500 if failing else 200)
                self.end_headers()
                self.wfile.write(b"no" if failing else b"ok")

            do_GET = do_POST  # noqa: N815 - a followed redirect arrives as a GET

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a client that refused our certificate: the test reads the sender's side

        self.server = Server(("127.0.0.1", 0), Handler)
        if tls is not None:
            # The handshake happens in the request's thread, not in the accepting loop.
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True, do_handshake_on_connect=False)
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/hooks/dispute-desk"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[tuple[dict, bytes]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} webhook requests, got {len(self.requests)}")


@contextmanager
def celery_worker_on_redis():
    """Point the project's Celery app at Redis and run a real worker thread."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    saved = {key: app.conf[key] for key in ("broker_url", "broker_transport_options")}
    app.conf.update(broker_url=REDIS_URL, broker_transport_options={"visibility_timeout": 3600})
    app.amqp._producer_pool = None
    app._pool = None
    try:
        with app.connection_for_write() as connection:
            connection.default_channel.queue_purge("celery")
        with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, loglevel="WARNING",
                          shutdown_timeout=10):
            yield app
    finally:
        app.conf.update(saved)
        app.amqp._producer_pool = None
        app._pool = None
