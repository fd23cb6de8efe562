"""Failed look-ups on the public tracking page are limited per reference and
per client address (disputes/tracking.py); past a limit the page answers 429
without checking the code. Counts live in Django's cache: the per-process
memory cache here, Redis in production (the last test)."""
import time
import uuid
from datetime import timedelta

import pytest
import redis
from django.test import Client

from disputes.workflow.filing import case_file
from disputes.workflow import tracking
from disputes.workflow.actors import CUSTOMER
from disputes.web.public import TRACKED_SESSION_KEY
from disputes.workflow.names import Channel
from tests.conftest import filing_data

pytestmark = pytest.mark.django_db

HOME = "198.51.100.7"  # the customer's address
WRONG = "WRONGCODE1"
REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def filed():
    return case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data())


@pytest.fixture
def other_filed():
    return case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data(rrn="100000000348"))


def track(reference: str, code: str, *, address: str = HOME, language: str = "en", client: Client | None = None):
    client = client or Client()
    return client.post("/complaints/track/", {"reference": reference, "tracking_code": code},
                       REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE=language)


def statuses(reference: str, code: str, times: int, **kwargs) -> list[int]:
    return [track(reference, code, **kwargs).status_code for _ in range(times)]


def test_the_limits_default_to_ten_per_reference_and_thirty_per_address_an_hour(settings):
    assert settings.DISPUTE_TRACKING_FAILURES_PER_REFERENCE == 10
    assert settings.DISPUTE_TRACKING_FAILURES_PER_ADDRESS == 30
    assert settings.DISPUTE_TRACKING_FAILURE_WINDOW == timedelta(hours=1)


# --- per reference ------------------------------------------------------------------------


def test_the_eleventh_wrong_code_for_one_reference_is_refused_even_from_another_address(filed):
    reference = filed.case.reference
    assert [track(reference, WRONG, address=f"203.0.113.{n}").status_code for n in range(10)] == [200] * 10

    response = track(reference, WRONG, address="192.0.2.99")

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    assert "Too many attempts" in response.content.decode()


def test_the_right_code_is_refused_while_the_reference_is_limited(filed):
    """No oracle: a limited client cannot tell a right code from a wrong one."""
    statuses(filed.case.reference, WRONG, 10)
    client = Client()

    response = track(filed.case.reference, filed.tracking_code, client=client)

    assert response.status_code == 429
    assert TRACKED_SESSION_KEY not in client.session
    assert filed.case.reference not in response.content.decode()


def test_a_different_reference_from_the_same_address_still_works(filed, other_filed):
    statuses(filed.case.reference, WRONG, 10)

    response = track(other_filed.case.reference, other_filed.tracking_code)

    assert response.status_code == 302 and response["Location"] == "/complaints/track/"


def test_the_reference_is_counted_however_it_is_typed(filed):
    reference = filed.case.reference
    statuses(reference, WRONG, 5)
    statuses(f" {reference.lower()} ", WRONG, 5)

    assert track(reference, WRONG, address="192.0.2.1").status_code == 429


# --- per address ----------------------------------------------------------------------------


def test_past_thirty_failures_from_one_address_every_reference_is_refused(filed):
    for n in range(30):  # guessing at made-up references: each one stays under its own limit
        assert track(f"DD260101-GUESS{n:02d}", WRONG).status_code == 200

    assert track(filed.case.reference, filed.tracking_code).status_code == 429
    assert track(filed.case.reference, filed.tracking_code, address="192.0.2.200").status_code == 302


def test_the_limits_follow_the_settings(filed, settings):
    settings.DISPUTE_TRACKING_FAILURES_PER_REFERENCE = 100
    settings.DISPUTE_TRACKING_FAILURES_PER_ADDRESS = 3

    assert statuses("DD260101-NOSUCH", WRONG, 4) == [200, 200, 200, 429]


def test_successful_look_ups_are_not_counted(filed):
    assert statuses(filed.case.reference, filed.tracking_code, 15) == [302] * 15

    assert statuses(filed.case.reference, WRONG, 10) == [200] * 10
    assert track(filed.case.reference, WRONG).status_code == 429


def test_refused_look_ups_do_not_count_against_the_other_limit(filed, other_filed):
    statuses(filed.case.reference, WRONG, 10)
    assert statuses(filed.case.reference, WRONG, 25) == [429] * 25  # someone keeps hammering one reference

    # 10 failures so far from this address, not 35: other complaints still answer
    assert [track(f"DD260101-GUESS{n:02d}", WRONG).status_code for n in range(20)] == [200] * 20
    assert track(other_filed.case.reference, other_filed.tracking_code).status_code == 429


def test_the_limit_lifts_when_the_window_has_passed(filed, settings, monkeypatch):
    # A clock of the test's own (the counts and the cache's expiry both read time.time()),
    # so a slow machine cannot let the window pass before the limit is reached.
    settings.DISPUTE_TRACKING_FAILURE_WINDOW = timedelta(minutes=10)
    clock = [time.time()]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    statuses(filed.case.reference, WRONG, 10)
    clock[0] += 599
    assert track(filed.case.reference, filed.tracking_code).status_code == 429

    clock[0] += 2

    assert track(filed.case.reference, filed.tracking_code).status_code == 302


def test_the_limit_page_speaks_chinese_to_a_chinese_browser(filed):
    statuses(filed.case.reference, WRONG, 10)

    response = track(filed.case.reference, WRONG, language="zh-hans")

    html = response.content.decode()
    assert response.status_code == 429
    assert response["Content-Language"] == "zh-hans"
    assert "尝试次数过多" in html and "60" in html
    assert "Too many attempts" not in html


# --- the rule lives in the service ------------------------------------------------------------


def test_the_service_refuses_without_checking_the_code(filed, django_assert_num_queries):
    for _ in range(10):
        assert tracking.case_track(reference=filed.case.reference, tracking_code=WRONG, client_address=HOME) is None

    with django_assert_num_queries(0), pytest.raises(tracking.TrackingLookupLimited) as refused:
        tracking.case_track(reference=filed.case.reference, tracking_code=filed.tracking_code, client_address=HOME)
    assert 3590 <= refused.value.retry_after <= 3600


# --- shared between processes ---------------------------------------------------------------


def test_with_a_redis_cache_a_second_process_sees_the_same_counts(filed, settings):
    """CACHE_URL=redis://… in production: a fresh cache client (another web
    process) refuses the eleventh wrong code counted through the first one."""
    prefix = f"tracking-test-{uuid.uuid4().hex}"
    redis_cache = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                               "LOCATION": REDIS_URL, "KEY_PREFIX": prefix}}
    local_cache = settings.CACHES
    settings.CACHES = redis_cache
    try:
        assert statuses(filed.case.reference, WRONG, 10, address="203.0.113.1") == [200] * 10
        assert redis.Redis.from_url(REDIS_URL).keys(f"{prefix}:*")

        settings.CACHES = {"default": dict(redis_cache["default"])}  # Django makes a new cache client

        assert track(filed.case.reference, filed.tracking_code, address="203.0.113.2").status_code == 429
    finally:
        settings.CACHES = local_cache  # so the clean-up between tests never flushes the shared Redis database
        server = redis.Redis.from_url(REDIS_URL)
        server.delete(*server.keys(f"{prefix}:*") or [b"none"])
