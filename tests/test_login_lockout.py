"""Login lockout (django-axes): a few failed logins lock the USERNAME, on the
staff login and the admin login alike, from every address; an address is
never locked as a whole (a bank's staff share one NAT address). The count lives
in the database, so every process sees it."""
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

PASSWORD = "correct horse battery staple"  # tests/conftest.py's cast
STAFF_LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
OFFICE = "10.20.30.40"  # the bank's NAT address: every member of staff comes from it


def log_in(username: str, password: str, *, path: str = STAFF_LOGIN, address: str = OFFICE,
           client: Client | None = None, language: str = "en"):
    client = client or Client()
    response = client.post(path, {"username": username, "password": password},
                           REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE=language)
    return client, response


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def fail(username: str, times: int, **kwargs) -> list[int]:
    return [log_in(username, "not the password", **kwargs)[1].status_code for _ in range(times)]


def test_the_failure_limit_is_five_by_default():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert "ip_address" not in settings.AXES_LOCKOUT_PARAMETERS, "an address alone is never locked"


def test_four_wrong_passwords_still_let_the_right_one_in(alice):
    assert fail("alice", 4) == [200] * 4

    client, response = log_in("alice", PASSWORD)

    assert response.status_code == 302 and logged_in(client)


def test_after_five_wrong_passwords_the_right_one_is_refused(alice):
    assert fail("alice", 5) == [200] * 4 + [429]

    client, response = log_in("alice", PASSWORD)

    assert response.status_code == 429
    assert not logged_in(client)
    assert "Login paused" in response.content.decode()


def test_the_locked_user_is_refused_from_every_other_address_too(alice):
    fail("alice", 5)

    client, response = log_in("alice", PASSWORD, address="203.0.113.9")

    assert response.status_code == 429 and not logged_in(client)


def test_another_user_behind_the_same_address_still_logs_in(alice, bob):
    fail("alice", 5)
    fail("nobody-such", 5)  # guessing at a made-up name from the office locks that name only

    client, response = log_in("bob", PASSWORD)

    assert response.status_code == 302 and logged_in(client)


def test_the_admin_login_locks_the_user_out_too(alice):
    alice.is_staff = True
    alice.save()
    assert fail("alice", 5, path=ADMIN_LOGIN) == [200] * 4 + [429]

    client, response = log_in("alice", PASSWORD, path=ADMIN_LOGIN)

    assert response.status_code == 429 and not logged_in(client)
    _, response = log_in("alice", PASSWORD, path=STAFF_LOGIN)
    assert response.status_code == 429, "one count for both login pages"


def test_failures_on_the_two_login_pages_add_up(alice):
    fail("alice", 3, path=ADMIN_LOGIN)
    assert fail("alice", 2, path=STAFF_LOGIN) == [200, 429]


@pytest.mark.parametrize("path", [STAFF_LOGIN, ADMIN_LOGIN])
def test_a_name_too_long_for_any_account_is_a_wrong_login_not_a_500_and_guessing_at_it_locks_it(db, path):
    # Axes keeps the name tried in 255 characters; 10,000 once made its write fail.
    long_name = "x" * 10_000
    assert fail(long_name, 5, path=path) == [200] * 4 + [429]
    _, response = log_in(long_name, "still wrong", path=path)
    assert response.status_code == 429


def test_a_wrong_login_with_a_long_name_says_so_in_the_form(db):
    _, response = log_in("x" * 10_000, "not the password")
    assert response.status_code == 200
    assert "Your username and password didn't match. Please try again." in response.content.decode()


def test_the_lockout_page_speaks_chinese_to_a_chinese_browser(alice):
    fail("alice", 5)

    _, response = log_in("alice", PASSWORD, language="zh-hans")

    html = response.content.decode()
    assert response.status_code == 429
    assert response["Content-Language"] == "zh-hans"
    assert '<html lang="zh-hans">' in html
    assert "登录已暂停" in html and "30" in html
    assert "Login paused" not in html
    assert response["Retry-After"] == str(30 * 60)


def test_the_lockout_ends_after_the_cool_off(alice):
    fail("alice", 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))

    client, response = log_in("alice", PASSWORD)

    assert response.status_code == 302 and logged_in(client)


def test_retrying_during_the_lockout_does_not_extend_it(alice):
    fail("alice", 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME + timedelta(minutes=1))
    fail("alice", 3)  # the user keeps trying while locked
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))

    _, response = log_in("alice", PASSWORD)

    assert response.status_code == 302


def test_a_successful_login_forgets_the_earlier_failures(alice):
    fail("alice", 4)
    log_in("alice", PASSWORD)

    assert fail("alice", 4) == [200] * 4
    _, response = log_in("alice", PASSWORD)
    assert response.status_code == 302


def test_an_administrator_unlocks_a_user_with_axes_reset_username(alice):
    fail("alice", 5)

    call_command("axes_reset_username", "alice", stdout=open(os.devnull, "w"))

    client, response = log_in("alice", PASSWORD)
    assert response.status_code == 302 and logged_in(client)


def test_the_limit_and_cool_off_follow_the_settings(alice, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=5)

    assert fail("alice", 2) == [200, 429]
    _, response = log_in("alice", PASSWORD)
    assert response.status_code == 429
    assert response["Retry-After"] == "300"


def test_an_api_token_keeps_working_while_the_password_login_is_locked(dave):
    """The lockout guards password guessing; the call center's token is another credential."""
    token = Token.objects.create(user=dave)
    fail("dave", 5)

    response = Client().get("/api/v1/cases/", HTTP_AUTHORIZATION=f"Token {token.key}")

    assert response.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_another_process_sees_the_lockout(alice):
    """A web process that never saw the failures (another gunicorn worker or node) refuses the login too."""
    fail("alice", 5)
    test_database = settings.DATABASES["default"]["NAME"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + test_database,
    }
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        f"r = Client().post({STAFF_LOGIN!r}, {{'username': 'alice', 'password': {PASSWORD!r}}}, REMOTE_ADDR='192.0.2.7')\n"
        "print(r.status_code)\n"
    )

    result = subprocess.run([sys.executable, "-c", script], cwd=settings.BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "429"
