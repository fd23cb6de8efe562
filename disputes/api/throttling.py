"""API throttling: requests per token, with Retry-After on 429.

Each token has an allowance per fixed window of the rate's period (a minute
for ``600/min``, starting on the minute). Every request adds one to the
window's counter with a single atomic increment in the cache, on a key that
names the token and the window and expires after it: with Redis
(``CACHE_URL=redis://…``) that is one ``INCR`` shared by every thread, process
and host, so the limit holds however many requests arrive at once. (DRF's own
throttles read a list of timestamps, append and write it back: parallel
requests overwrite each other's writes and get through past the limit.)
"""
from __future__ import annotations

from django.conf import settings
from django.utils.crypto import salted_hmac
from rest_framework.authentication import get_authorization_header
from rest_framework.throttling import SimpleRateThrottle

from core.windows import window_count, window_of


class TokenRateThrottle(SimpleRateThrottle):
    """Requests per API token (a session counts as its user; anonymous calls per
    address), counted per fixed window in the default cache: production shares
    it between processes (CACHE_URL)."""

    scope = "token"

    def get_rate(self) -> str:
        return settings.DISPUTE_API_THROTTLE_RATE

    def rate_for(self, request) -> str:
        return settings.DISPUTE_API_THROTTLE_RATE if request.user and request.user.is_authenticated \
            else settings.DISPUTE_API_ANON_THROTTLE_RATE

    def allow_request(self, request, view) -> bool:
        self.rate = self.rate_for(request)
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.num_requests is None:
            return True
        window, self.window_ends_in = window_of(self.duration)
        # The key outlives its window by a whole period: it never expires while it still counts.
        count = window_count(f"{self.get_cache_key(request, view)}:{window}", ttl=2 * self.duration)
        return count <= self.num_requests

    def wait(self) -> int:
        """Seconds until the window ends and the allowance is whole again."""
        return self.window_ends_in

    def get_cache_key(self, request, view) -> str:
        token = getattr(request, "auth", None)
        if token is not None and hasattr(token, "key"):
            # Never the token itself: whoever can read the cache (Redis) must not
            # learn a credential from its keys.
            ident = "token:" + token_digest(token.key)
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        elif get_authorization_header(request):
            ident = "bad-token:" + self.get_ident(request)
        else:
            ident = "anon:" + self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class PingRateThrottle(TokenRateThrottle):
    """Test pings per token, besides the token's rate. A ping is sent while the
    client waits: it holds a web thread until the receiver answers or the
    webhook timeout (10 s) passes, so pings at the API's rate, at a receiver
    that never answers, would take every thread of the web nodes from the
    staff's pages."""

    scope = "ping"

    def rate_for(self, request) -> str:
        return settings.DISPUTE_WEBHOOK_PING_RATE


def token_digest(token_key: str) -> str:
    """A stable, secret-keyed name for an API token (HMAC-SHA256 with SECRET_KEY)."""
    return salted_hmac("disputes.throttling.token", token_key, algorithm="sha256").hexdigest()[:32]
