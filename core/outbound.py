"""What this application sends out over HTTP (webhooks to the call center,
refunds to the payment system) goes where it was configured to go and no
further, and takes no longer than it was given.

A redirect is the receiver's answer, never followed. urllib follows a 301, 302
or 303 to a POST with a GET to the new address. For a webhook that lets a
registered endpoint send the worker to any address the worker reaches (a cloud
metadata service, a plain-HTTP intranet page); for a refund it could take the
answer of a GET that paid nothing for the payment system's receipt.

The time given is for the whole exchange. urllib's ``timeout`` limits each
read of the socket, so a receiver that sends its answer a byte at a time,
each byte within the timeout, held the worker (and, for a webhook, the
delivery's row lock) for as long as it liked, and the task's time limit then
lost the attempt altogether: never recorded, tried again at once."""
from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from urllib.parse import urlsplit


class BadAnswer(OSError):
    """The receiver's answer is not HTTP this client reads (a header line over
    64 kB, over 100 headers, a body shorter than it said, a status line that is
    not one)."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the redirect's own status


class _Deadline:
    """Shuts the exchange's socket when its time is up: a read blocked on it returns at once."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def connection(self, base: type[http.client.HTTPConnection]) -> type[http.client.HTTPConnection]:
        deadline = self

        class Watched(base):
            def connect(self):
                create = self._create_connection

                def create_watched(*args, **kwargs):
                    sock = create(*args, **kwargs)
                    deadline.watch(sock)  # a proxy's answer to CONNECT comes on it, a line at a time
                    return sock

                self._create_connection = create_watched
                super().connect()  # the TLS handshake within the per-read timeout, in all
                deadline.watch(self.sock)

        return Watched


def _shut(sock: socket.socket) -> None:
    try:
        # socket's own shutdown, not SSLSocket's: that one would drop the TLS state under a reader.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed: the exchange is over


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline):
        super().__init__()
        self.deadline = deadline

    def http_open(self, req):
        return self.do_open(self.deadline.connection(http.client.HTTPConnection), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: _Deadline, context: ssl.SSLContext | None):
        super().__init__(context=context)
        self.deadline = deadline

    def https_open(self, req):
        return self.do_open(self.deadline.connection(http.client.HTTPSConnection), req, context=self._context)


@contextmanager
def exchange(request: urllib.request.Request, *, seconds: float,
             context: ssl.SSLContext | None = None) -> Iterator[http.client.HTTPResponse]:
    """Send ``request`` and give the answer to read, all within ``seconds``.

    No redirect is followed (urllib raises ``HTTPError`` with its status); HTTPS
    with ``context`` or the system's trusted CAs; proxies from the environment.
    When the time is up, whatever is still waiting (the connection, the answer's
    headers, a read of its body) stops with ``TimeoutError``. An answer that is
    not HTTP raises ``BadAnswer``: everything but an answer is an ``OSError``
    (``HTTPError`` for an error status, ``URLError`` for no connection) or a
    ``ValueError`` (a URL urllib cannot use)."""
    deadline = _Deadline(seconds)
    handlers = [_NoRedirects, _HTTPHandler(deadline), _HTTPSHandler(deadline, context)]
    deadline.start()
    try:
        with urllib.request.build_opener(*handlers).open(request, timeout=seconds) as response:
            _in_time(deadline)  # a shut socket reads as the end of the headers: no answer to believe
            yield response
            _in_time(deadline)  # nor of the body
    except (OSError, http.client.HTTPException) as exc:
        if deadline.expired and not isinstance(exc, urllib.error.HTTPError):
            raise TimeoutError(f"no complete answer within {seconds:g} s") from None
        if isinstance(exc, http.client.HTTPException) and not isinstance(exc, OSError):
            # What the receiver sent goes into the delivery's log: printable characters only (no NUL).
            said = "".join(c if c.isprintable() else " " for c in str(exc)[:200]).strip()
            raise BadAnswer(f"the answer is not HTTP ({type(exc).__name__}: {said})") from None
        raise
    finally:
        deadline.cancel()


def _in_time(deadline: _Deadline) -> None:
    if deadline.expired:
        raise TimeoutError()


def status_text(code: int) -> str:
    """An error answer as logged for staff: ``HTTP 500``, ``HTTP 302 (a redirect: not followed)``."""
    return f"HTTP {code}" + (" (a redirect: not followed)" if 300 <= code < 400 else "")


def host_allowed(url: str, allowed: Sequence[str]) -> bool:
    """Whether ``url`` goes to a host of ``allowed`` (empty: any host).

    An entry is a host name (``hooks.callcenter.example``), a domain with its
    sub-domains (``.bank.example``, as Django's ``ALLOWED_HOSTS`` writes it) or
    an IP network (``10.20.0.0/16``, or one address), which an address written
    in the URL must fall in. A name is not resolved to be checked against the
    networks: the bank's own DNS says where its names go. A URL with no host,
    or one holding a user name, matches nothing."""
    if not allowed:
        return True
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:  # "https://[::1": no host to speak of
        return False
    if not host or "@" in parts.netloc:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in (entry.strip().lower() for entry in allowed):
        network = allowed_network(entry)
        if network is not None:
            if address is not None and address in network:
                return True
        elif address is None and (host == entry.lstrip(".") or (entry.startswith(".") and host.endswith(entry))):
            return True
    return False


_HOST_NAME = re.compile(r"\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


def allowed_hosts(entries: Sequence[str]) -> list[str]:
    """``entries`` (a setting's) as ``host_allowed`` takes them, lower-case;
    ValueError naming the first that is neither a host name, a domain nor an
    IP network."""
    cleaned = [entry.strip().lower() for entry in entries if entry.strip()]
    for entry in cleaned:
        if allowed_network(entry) is None and (not _HOST_NAME.fullmatch(entry) or _looks_numeric(entry)):
            raise ValueError(f"{entry!r} is neither a host name, a domain (.example.com) nor an IP network "
                             "(10.20.0.0/16).")
    return cleaned


def _looks_numeric(entry: str) -> bool:
    """``10.20.0.999``: an address mistyped, not a name (no top-level domain is all digits)."""
    return entry.rsplit(".", 1)[-1].isdigit()


def allowed_network(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """The IP network an ``allowed`` entry names, or None when it names hosts."""
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return None
