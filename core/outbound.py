"""What this application sends out over HTTP (webhooks to the call center,
refunds to the payment system) goes where it was configured to go and no
further: a redirect is the receiver's answer, never followed.

urllib follows a 301, 302 or 303 to a POST with a GET to the new address.
For a webhook that lets a registered endpoint send the worker to any address
the worker reaches (a cloud metadata service, a plain-HTTP intranet page); for
a refund it could take the answer of a GET that paid nothing for the payment
system's receipt."""
from __future__ import annotations

import ssl
import urllib.request


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the redirect's own status


def opener(context: ssl.SSLContext | None = None) -> urllib.request.OpenerDirector:
    """urllib's opener (proxies from the environment, HTTPS with ``context`` or
    the system's trusted CAs) that follows no redirect."""
    handlers: list = [_NoRedirects]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    return urllib.request.build_opener(*handlers)


def status_text(code: int) -> str:
    """An error answer as logged for staff: ``HTTP 500``, ``HTTP 302 (a redirect: not followed)``."""
    return f"HTTP {code}" + (" (a redirect: not followed)" if 300 <= code < 400 else "")
