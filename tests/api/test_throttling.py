"""Throttling per token, with Retry-After."""
import pytest
from django.contrib.auth.models import Group, User

from disputes.workflow.names import Role

from .conftest import CASES, assert_problem

pytestmark = pytest.mark.django_db


def test_past_the_rate_a_token_gets_429_with_retry_after(api, dave, settings):
    settings.DISPUTE_API_THROTTLE_RATE = "3/min"
    client = api(dave)
    assert [client.get(CASES).status_code for _ in range(3)] == [200, 200, 200]

    response = client.get(CASES)

    body = assert_problem(response, 429)
    assert body["type"] == "urn:dispute-desk:problem:throttled"
    assert 0 < int(response["Retry-After"]) <= 60


def test_each_token_has_its_own_allowance(api, dave, settings):
    settings.DISPUTE_API_THROTTLE_RATE = "2/min"
    frank = User.objects.create_user("frank")
    frank.groups.add(Group.objects.get(name=Role.CALL_CENTER))
    busy = api(dave)
    for _ in range(2):
        busy.get(CASES)
    assert busy.get(CASES).status_code == 429
    assert api(frank).get(CASES).status_code == 200


def test_anonymous_callers_of_the_open_endpoints_are_throttled_by_address(api, settings):
    settings.DISPUTE_API_ANON_THROTTLE_RATE = "2/min"
    client = api()
    assert [client.get("/api/v1/docs/").status_code for _ in range(3)] == [200, 200, 429]


def test_with_a_redis_cache_every_process_counts_against_one_allowance(api, dave, settings):
    """CACHE_URL=redis://… in production: the counts live in Redis, so a second
    web process (here: a fresh client of the same Redis) sees the same budget."""
    import uuid

    import redis
    from django.core.cache import caches

    from .webhook_support import REDIS_URL

    prefix = f"throttle-test-{uuid.uuid4().hex}"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": REDIS_URL, "KEY_PREFIX": prefix}}
    settings.DISPUTE_API_THROTTLE_RATE = "2/min"
    try:
        client = api(dave)
        assert [client.get(CASES).status_code for _ in range(2)] == [200, 200]
        keys = redis.Redis.from_url(REDIS_URL).keys(f"{prefix}:*")
        assert len(keys) == 1 and b"throttle_token_token:" in keys[0]
        caches["default"].close()  # as if another process: nothing kept in this one
        assert client.get(CASES).status_code == 429
    finally:
        redis.Redis.from_url(REDIS_URL).delete(*redis.Redis.from_url(REDIS_URL).keys(f"{prefix}:*") or [b"none"])


def test_the_throttle_keys_hold_no_api_token_and_still_count_per_token(api, dave, settings, token_of):
    """Whoever reads Redis must not find a credential there: the key names a
    keyed hash of the token. Each token still has its own allowance."""
    import uuid

    import redis
    from django.core.cache import caches

    from .webhook_support import REDIS_URL

    prefix = f"throttle-test-{uuid.uuid4().hex}"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": REDIS_URL, "KEY_PREFIX": prefix}}
    settings.DISPUTE_API_THROTTLE_RATE = "2/min"
    frank = User.objects.create_user("frank")
    frank.groups.add(Group.objects.get(name=Role.CALL_CENTER))
    server = redis.Redis.from_url(REDIS_URL)
    try:
        busy, other = api(dave), api(frank)
        assert [busy.get(CASES).status_code for _ in range(3)] == [200, 200, 429]
        assert_problem(busy.get(CASES), 429)
        assert other.get(CASES).status_code == 200
        caches["default"].close()

        keys = server.keys(f"{prefix}:*")
        assert len(keys) == 2
        stored = b"\n".join(keys + [server.dump(key) or b"" for key in keys])
        for token in (token_of(dave), token_of(frank)):
            assert token.encode() not in stored
            assert token[:12].encode() not in stored
    finally:
        server.delete(*server.keys(f"{prefix}:*") or [b"none"])
