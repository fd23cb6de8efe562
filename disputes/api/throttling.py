"""API throttling: requests per token, with Retry-After on 429."""
from django.conf import settings
from django.utils.crypto import salted_hmac
from rest_framework.authentication import get_authorization_header
from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    """Requests per API token (a session counts as its user; anonymous calls per
    address). Counts live in the default cache: production shares it (CACHE_URL)."""

    scope = "token"

    def get_rate(self) -> str:
        return settings.DISPUTE_API_THROTTLE_RATE

    def allow_request(self, request, view):
        self.rate = settings.DISPUTE_API_THROTTLE_RATE if request.user and request.user.is_authenticated \
            else settings.DISPUTE_API_ANON_THROTTLE_RATE
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

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


def token_digest(token_key: str) -> str:
    """A stable, secret-keyed name for an API token (HMAC-SHA256 with SECRET_KEY)."""
    return salted_hmac("disputes.throttling.token", token_key, algorithm="sha256").hexdigest()[:32]
