"""Settings for Dispute Desk, driven by the environment.

Every variable read here is listed, with its default, in README.md
("Configuration"). Unset, they give the embedded local set-up: SQLite, Celery's
file-system broker and DEBUG on. Production sets ``DJANGO_DEBUG=false`` and the
rest; ``python manage.py check --deploy`` then passes with no warning.
"""
import ssl
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from core.outbound import allowed_hosts

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("DISPUTE_DESK_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=True)

_DEV_SECRET_KEY = "insecure-local-development-key-never-use-in-production"
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false.")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_fsm",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "customers",
    "merchants",
    "transactions",
    "disputes",
    "accounts",
    "axes",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "disputes.web.middleware.RequestTextGuardMiddleware",  # NUL in a URL, a body not in UTF-8: 4xx before any view
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the lockout page
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# --- Database -------------------------------------------------------------
# Unset: SQLite under var/ (the embedded demo). Tests and production set a
# PostgreSQL URL, e.g. postgres://postgres@127.0.0.1:5432/dispute_desk.
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: wait for locks instead of failing,
    # take the write lock up front, and let readers run beside the writer.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out user before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.ModelBackendOneQuery",  # ModelBackend, permissions in one query
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/staff/"
LOGOUT_REDIRECT_URL = "/"

# --- Language, time, money -------------------------------------------------
LANGUAGE_CODE = env.str("DJANGO_LANGUAGE_CODE", default="zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

DISPUTE_DEFAULT_CURRENCY = env.str("DISPUTE_DEFAULT_CURRENCY", default="CNY")
DISPUTE_DEFAULT_PHONE_REGION = env.str("DISPUTE_DEFAULT_PHONE_REGION", default="CN")
# The workflow's own settings (reopen window, verification, reconciliation,
# refunds, deadlines, merchant contact, processor inquiries): config/workflow_settings.py.
from config.workflow_settings import *  # noqa: E402,F401,F403
from config.workflow_settings import _reconcile_hour, _reconcile_minute  # noqa: E402 (the daily beat below)

# --- Static and media files ---------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Attachments: what the staff may upload to a case.
DISPUTE_ATTACHMENT_MAX_BYTES = env.int("DISPUTE_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
# The customer's evidence (public form and tracking page), per case: this many
# files at most, adding up to this many bytes (each also within the limit above).
DISPUTE_CUSTOMER_EVIDENCE_MAX_FILES = env.int("DISPUTE_CUSTOMER_EVIDENCE_MAX_FILES", default=5)
DISPUTE_CUSTOMER_EVIDENCE_MAX_BYTES = env.int("DISPUTE_CUSTOMER_EVIDENCE_MAX_BYTES", default=20 * 1024 * 1024)
# Ledger and settlement files uploaded on /staff/imports/: the largest accepted,
# and where each waits for its worker (every web and worker node mounts it).
DISPUTE_IMPORT_MAX_BYTES = env.int("DISPUTE_IMPORT_MAX_BYTES", default=1024 * 1024 * 1024)
DISPUTE_IMPORT_UPLOAD_DIR = Path(env.str("DISPUTE_IMPORT_UPLOAD_DIR", default=str(VAR_DIR / "imports")))

# --- E-mail -------------------------------------------------------------------
# Unset: messages are written as files under var/mail (the demo's outbox).
EMAIL_CONFIG = env.email_url("EMAIL_URL", default=f"filemail://{VAR_DIR / 'mail'}")
if EMAIL_CONFIG["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend":
    # django-environ drops the leading slash of filemail:///abs/path: put it back.
    EMAIL_FILE_PATH = "/" + (EMAIL_CONFIG.get("EMAIL_FILE_PATH") or str(VAR_DIR / "mail")).lstrip("/")
vars().update({k: v for k, v in EMAIL_CONFIG.items() if k != "EMAIL_FILE_PATH"})
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Dispute Desk <disputes@bank.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery ---------------------------------------------------------------------
# Unset: Celery's file-system broker under var/broker (no Redis needed).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
    (_broker_dir / "out").mkdir(parents=True, exist_ok=True)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_TASK_PUBLISH_RETRY = False  # never block a web request on a missing broker
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Celery's Django fix-up would close the database connection around every task;
# config/celery.py keeps it as between web requests (DATABASE_CONN_MAX_AGE).
CELERY_DB_REUSE_MAX = 10**9
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "sweep-outbox": {
        "task": "disputes.tasks.sweep_outbox",
        "schedule": 60.0,
    },
    "sla-sweep": {
        "task": "disputes.tasks.sla_sweep",
        "schedule": 60.0,
        "options": {"expires": 55},  # a sweep the worker could not run in time is dropped: the next one covers it
    },
    # Its own task, so that another worker process takes the escalations while the sweep raises the alerts.
    "sla-automatic-steps": {
        "task": "disputes.tasks.sla_automatic_steps",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "sweep-webhooks": {
        "task": "disputes.tasks.sweep_webhooks",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "reconcile-daily": {
        "task": "disputes.tasks.reconcile_daily",
        "schedule": crontab(hour=_reconcile_hour, minute=_reconcile_minute),  # in CELERY_TIMEZONE = TIME_ZONE
        "options": {"expires": 6 * 3600},
    },
}
# With more than a batch of SLA alerts due, the minute's sweep is shared among up to this many worker
# processes (each a whole sweep as of the same instant; SKIP LOCKED splits the batches).
DISPUTE_SLA_SWEEP_PARTS = env.int("DISPUTE_SLA_SWEEP_PARTS", default=2)
# The outbox sweeps re-send a notification, refund or webhook delivery whose task has not done it after this long.
DISPUTE_OUTBOX_RESEND_AFTER = timedelta(seconds=60)

# --- Security (production values apply when DEBUG is off) ---------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
CSRF_FAILURE_VIEW = "disputes.web.errors.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Content-Security-Policy (django-csp) ------------------------------------------
# Every page, the admin and the API docs load scripts, styles, fonts and data
# from this site only (the front-end assets are vendored); no inline script or
# style, no event-handler attribute, no plugin, no framing, forms post here only.
# data: images are the small SVG icons inside Pico's and Swagger UI's CSS.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

# --- Login lockout (django-axes; README "Login lockout") ----------------------------
# After this many failed logins (staff login and admin login) the USERNAME is
# locked, from every address, for the cool-off. Addresses are never locked as a
# whole: a bank's staff sit behind one NAT address. Failures live in the
# database, so every web process and node sees the same count.
AXES_FAILURE_LIMIT = env.int("DISPUTE_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("DISPUTE_LOGIN_COOLOFF_MINUTES", default=30))
# The username alone counts failures from every address, so the pair (username,
# address) never locks first; it is listed so axes's deploy check (W006, "no
# ip_address") passes without silencing it. The address alone is never a parameter.
AXES_LOCKOUT_PARAMETERS = ["username", ["username", "ip_address"]]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_RESET_ON_SUCCESS = True  # a successful login forgets the user's earlier failures
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # retrying while locked does not push the end further
AXES_LOCKOUT_CALLABLE = "disputes.web.public.login_locked_out"
AXES_ENABLE_ADMIN = False  # unlock with `manage.py axes_reset_username USERNAME`
AXES_USERNAME_CALLABLE = "accounts.lockout.login_username"  # a name of 255+ characters no longer fails the count

# --- Public tracking page: failed look-ups (disputes/tracking.py) ----------------
# Failed look-ups are counted in the cache per reference and per client address
# (REMOTE_ADDR: the proxy must pass the client's address, see docs/deployment.md);
# past a limit the page answers 429 until the window has passed.
DISPUTE_TRACKING_FAILURES_PER_REFERENCE = env.int("DISPUTE_TRACKING_FAILURES_PER_REFERENCE", default=10)
DISPUTE_TRACKING_FAILURES_PER_ADDRESS = env.int("DISPUTE_TRACKING_FAILURES_PER_ADDRESS", default=30)
# Complaints filed through the public form: per client address in a clock hour, per e-mail address in a day
# (each one e-mails that address). Past either, the form answers 429 (disputes/workflow/filing_limits.py).
DISPUTE_PUBLIC_FILINGS_PER_ADDRESS = env.int("DISPUTE_PUBLIC_FILINGS_PER_ADDRESS", default=20)
DISPUTE_PUBLIC_FILINGS_PER_EMAIL = env.int("DISPUTE_PUBLIC_FILINGS_PER_EMAIL", default=5)
DISPUTE_TRACKING_FAILURE_WINDOW = timedelta(minutes=env.int("DISPUTE_TRACKING_FAILURE_WINDOW_MINUTES", default=60))

# --- Cache -----------------------------------------------------------------------
# Throttling counts requests here, so production needs one cache shared by every
# web process, e.g. CACHE_URL=redis://127.0.0.1:6379/1. Unset: per-process memory.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://dispute-desk")}

# --- REST API (docs/api.md) ------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",  # DRF's, permissions in the same query
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["disputes.api.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["disputes.api.throttling.TokenRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "disputes.api.errors.problem_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# A request body (JSON, or a form's fields; uploaded files are not counted) above
# this answers 413: a complaint is a few kB. Django's default is 2.5 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
# Requests per token (or per anonymous address), e.g. "600/min"; see docs/api.md.
DISPUTE_API_THROTTLE_RATE = env.str("DISPUTE_API_THROTTLE_RATE", default="600/min")
DISPUTE_API_ANON_THROTTLE_RATE = env.str("DISPUTE_API_ANON_THROTTLE_RATE", default="60/min")
# Idempotency-Key: how long a first response is replayed, and how long a request
# waits for another one holding the same key before answering 409.
DISPUTE_IDEMPOTENCY_TTL = timedelta(hours=env.int("DISPUTE_IDEMPOTENCY_TTL_HOURS", default=48))
DISPUTE_IDEMPOTENCY_WAIT_SECONDS = env.float("DISPUTE_IDEMPOTENCY_WAIT_SECONDS", default=10.0)
# Webhooks: per-attempt timeout, attempts before giving up, first back-off step,
# endpoints registered at once (each state change is a delivery to every one).
DISPUTE_WEBHOOK_MAX_ENDPOINTS = env.int("DISPUTE_WEBHOOK_MAX_ENDPOINTS", default=20)
# Test pings per API token (each holds a web thread while it is sent), besides DISPUTE_API_THROTTLE_RATE.
DISPUTE_WEBHOOK_PING_RATE = env.str("DISPUTE_WEBHOOK_PING_RATE", default="5/min")
DISPUTE_WEBHOOK_TIMEOUT_SECONDS = env.float("DISPUTE_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
DISPUTE_WEBHOOK_MAX_ATTEMPTS = env.int("DISPUTE_WEBHOOK_MAX_ATTEMPTS", default=10)
DISPUTE_WEBHOOK_BACKOFF_SECONDS = env.float("DISPUTE_WEBHOOK_BACKOFF_SECONDS", default=30.0)
# The hosts webhooks may go to (README): names, .domains and IP networks; empty: any host.
try:
    DISPUTE_WEBHOOK_ALLOWED_HOSTS = allowed_hosts(env.list("DISPUTE_WEBHOOK_ALLOWED_HOSTS", default=[]))
except ValueError as exc:
    raise ImproperlyConfigured(f"DISPUTE_WEBHOOK_ALLOWED_HOSTS: {exc}") from None
# Receivers' certificates are checked against the system's CAs plus this PEM
# bundle (a private CA of the bank's or the call center's); checked at start-up.
DISPUTE_WEBHOOK_CA_BUNDLE = env.str("DISPUTE_WEBHOOK_CA_BUNDLE", default="")
if DISPUTE_WEBHOOK_CA_BUNDLE:
    try:
        ssl.create_default_context().load_verify_locations(cafile=DISPUTE_WEBHOOK_CA_BUNDLE)
    except (OSError, ValueError) as exc:
        raise ImproperlyConfigured(
            f"DISPUTE_WEBHOOK_CA_BUNDLE={DISPUTE_WEBHOOK_CA_BUNDLE}: not a readable PEM file of CA certificates ({exc})."
        ) from exc

SPECTACULAR_SETTINGS = {
    "TITLE": "Dispute Desk API",
    "DESCRIPTION": "The call center's API: file card-payment complaints, look them up and follow them. "
    "See docs/api.md for the integration guide.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Always in English: the same schema (and generated class names) whatever Accept-Language says.
    "DEFAULT_GENERATOR_CLASS": "disputes.api.schema.EnglishSchemaGenerator",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CaseStateEnum": "disputes.workflow.names.State",
        "CardSchemeEnum": "customers.models.CardScheme",
        "LanguageEnum": "customers.models.Language",
        "CurrencyEnum": "core.money.CURRENCY_CHOICES",
        "TransitionNameEnum": "disputes.api.serializers.TRANSITION_CHOICES",
        "ClockStatusEnum": "disputes.api.serializers.CLOCK_STATUSES",
        "VerificationOutcomeEnum": "disputes.models.verification.Outcome",
        "RootCauseEnum": "disputes.workflow.names.RootCause",
        "WebhookDeliveryStatusEnum": "disputes.models.WebhookDeliveryStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "disputes.api.schema.add_links",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # django-axes announces its version at every start (each command, each worker): not news.
    "loggers": {"axes.apps": {"level": "WARNING"}},
}
