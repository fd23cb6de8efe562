"""Production settings: `manage.py check --deploy` passes with no warning under
the environment README.md documents, and a missing secret key stops the start.

Each check runs `manage.py` in a subprocess, because settings are read once, at
import."""
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/dispute_desk"
# Variables that must not leak from the developer's shell or CI into these runs.
_PREFIXES = ("DJANGO_", "DATABASE_", "CELERY_", "DISPUTE_", "EMAIL_", "DEFAULT_FROM_EMAIL", "LOG_LEVEL")


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The environment of a production node, as in README.md ("Production settings")."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_PREFIXES)}
    database_url = os.environ.get("DATABASE_URL", "")
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="disputes.bank.example",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://disputes.bank.example",
        DATABASE_URL=database_url if database_url.startswith("postgres") else DEFAULT_DATABASE_URL,
        CELERY_BROKER_URL="redis://127.0.0.1:6379/15",
        EMAIL_URL="smtp://mail.bank.example:25",
        DISPUTE_PUBLIC_BASE_URL="https://disputes.bank.example",
        DISPUTE_DESK_VAR_DIR=str(tmp_path / "var"),
        DJANGO_MEDIA_ROOT=str(tmp_path / "media"),
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_passes_with_no_warning_under_production_settings(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(tmp_path))

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output and "ERRORS" not in output
    assert "System check identified no issues" in output


def test_check_deploy_does_fail_on_a_weak_secret_key(tmp_path):
    """The check above is not vacuous: a short key is reported."""
    result = manage("check", "--deploy", "--fail-level", "WARNING",
                    env=production_env(tmp_path, DJANGO_SECRET_KEY="short"))

    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off(tmp_path):
    env = production_env(tmp_path)
    del env["DJANGO_SECRET_KEY"]

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false." in result.stderr


def test_an_empty_secret_key_is_refused_too(tmp_path):
    result = manage("check", env=production_env(tmp_path, DJANGO_SECRET_KEY=""))

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_settings_turn_on_https_and_secure_cookies(tmp_path):
    script = (
        "import django, json\n"
        "django.setup()\n"
        "from django.conf import settings as s\n"
        "print(json.dumps([s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        " s.SECURE_HSTS_SECONDS, list(s.SECURE_PROXY_SSL_HEADER), s.SECURE_REDIRECT_EXEMPT,"
        " s.STORAGES['staticfiles']['BACKEND']]))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=BASE_DIR, env=production_env(tmp_path),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    import json

    debug, ssl_redirect, session_secure, csrf_secure, hsts, proxy_header, exempt, static_backend = json.loads(
        result.stdout.strip().splitlines()[-1]
    )
    assert debug is False and ssl_redirect is True and session_secure is True and csrf_secure is True
    assert hsts >= 31536000
    assert proxy_header == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert any(re.search(pattern, "healthz") for pattern in exempt)
    assert static_backend == "whitenoise.storage.CompressedManifestStaticFilesStorage"


# --- README's configuration table lists every variable the settings read ------

_ENV_READ = re.compile(
    r"\.(?:str|bool|int|float|list|tuple|dict|json|url|path|db_url|db|cache_url|cache|email_url|email|search_url)"
    r"\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']"
)


def variables_read_by_settings() -> set[str]:
    sources = [(BASE_DIR / "config" / name).read_text(encoding="utf-8") for name in ("settings.py", "workflow_settings.py")]
    return {name for source in sources for name in _ENV_READ.findall(source)}


def test_readme_documents_every_environment_variable_settings_reads():
    readme = (BASE_DIR / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]*)`", readme, flags=re.MULTILINE))
    read = variables_read_by_settings()
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL"} <= read  # the pattern still finds them
    assert read - documented == set(), "add these to README.md's configuration table"


def test_the_demo_writes_e_mails_under_its_var_folder(tmp_path):
    """With EMAIL_URL unset, e-mails are files in var/mail: an absolute path, not one relative to the cwd."""
    code = "from django.conf import settings; print(settings.EMAIL_FILE_PATH)"
    env = {**os.environ, "DISPUTE_DESK_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("EMAIL_URL", None)
    out = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=BASE_DIR, env=env,
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == str(tmp_path / "mail")
    env["EMAIL_URL"] = f"filemail://{tmp_path}/elsewhere"
    out = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=BASE_DIR, env=env,
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == f"{tmp_path}/elsewhere"
