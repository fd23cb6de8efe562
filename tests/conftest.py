"""The fixed cast of every test (STYLE.md):

alice  — agent             bob   — supervisor        carol — supervisor (the second pair of eyes)
dave   — call center       erin  — admin              mallory — a staff user with no role
"""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.core.servers.basehttp import WSGIServer
from django.db.models.signals import post_migrate
from django.utils import timezone, translation

from disputes.models import SlaSettings, StagePolicy
from disputes.sla.clocks import DEFAULT_STAGE_TARGETS
from disputes.workflow.filing import case_file
from disputes.workflow.actors import CUSTOMER
from disputes.workflow.names import Channel, Role


# The live server's listen queue: Django's 10 drops the connections of a burst of
# 50 clients (reset by peer) before the application sees them; gunicorn's is 2048.
WSGIServer.request_queue_size = 128


def _reseed_sla_rows(sender, using="default", **kwargs):
    """The SLA settings row and stage policies that migration 0004 seeds, put back
    after every flush. A committing (transactional) test ends with a flush that
    empties every table; the role groups come back by the app's own post_migrate
    handler, the seeded SLA rows only by this one. Without it, the tests after a
    committing test, or the next run with ``--reuse-db`` (which keeps the flushed
    database), see no stage policies at all."""
    SlaSettings.objects.using(using).get_or_create(pk=1)
    for state, (target, unit, lead) in DEFAULT_STAGE_TARGETS.items():
        StagePolicy.objects.using(using).get_or_create(
            state=str(state), defaults={"target": target, "unit": unit, "reminder_lead": lead})


post_migrate.connect(_reseed_sla_rows, sender=apps.get_app_config("disputes"), dispatch_uid="tests.reseed_sla_rows")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_sla_cache():
    """SLA settings and the calendar are cached per process; a test's rows vanish with its transaction."""
    from disputes.sla import clocks as sla

    sla.invalidate()
    yield
    sla.invalidate()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Counts kept in the cache (API throttling, failed tracking look-ups) start at zero in every test."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def _user(username: str, role: str | None) -> User:
    user = User.objects.create_user(username=username, password="correct horse battery staple", email=f"{username}@bank.example")
    if role:
        user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)  # fresh: no cached permissions


@pytest.fixture
def alice(db):
    return _user("alice", Role.AGENT)


@pytest.fixture
def bob(db):
    return _user("bob", Role.SUPERVISOR)


@pytest.fixture
def carol(db):
    return _user("carol", Role.SUPERVISOR)


@pytest.fixture
def dave(db):
    return _user("dave", Role.CALL_CENTER)


@pytest.fixture
def erin(db):
    return _user("erin", Role.ADMIN)


@pytest.fixture
def mallory(db):
    return _user("mallory", None)


@pytest.fixture
def system(db):
    from disputes.workflow.actors import system_user

    return system_user()


def filing_data(**overrides):
    data = dict(
        customer_name="张三",
        phone="+8613800138000",
        email="zhang@example.com",
        card_last4="1234",
        card_scheme="unionpay",
        amount=Decimal("128.50"),
        currency="CNY",
        transaction_at=timezone.now() - timedelta(hours=3),
        merchant_name="好又多超市",
        merchant_id="103287654110281",
        terminal_id="41082857",
        rrn="100000000347",
        stan="508225",
        auth_code="340191",
        description="POS 显示交易失败，但银行卡被扣款。",
    )
    data.update(overrides)
    return data


@pytest.fixture
def file_case(db):
    """File a case through the service, as the customer on the web form by default."""

    def _file(actor=CUSTOMER, channel=Channel.WEB, **overrides):
        return case_file(actor=actor, channel=channel, **filing_data(**overrides)).case

    return _file


@pytest.fixture
def case(file_case):
    return file_case()


def assert_system_note(event, key: str, english: str, chinese: str) -> None:
    """A step the system took itself: its note is a SystemNote kept by key, so the
    case page words it in each reader's language (not only the site's)."""
    assert event.payload.get("system_note") == key
    for language, words in (("en", english), ("zh-hans", chinese)):
        with translation.override(language):
            assert event.text == words
