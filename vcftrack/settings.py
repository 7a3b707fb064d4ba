"""vcftrack settings: everything comes from environment variables.

Embedded default (no DATABASE_URL): SQLite in ./var and Celery on kombu's
``filesystem://`` broker, so one command runs the whole app on a laptop.
Production shape: DATABASE_URL (PostgreSQL) + REDIS_URL + SECRET_KEY.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext

from vcftrack.core.env import ConfigError, envbool, envint, envlist, envsecret, envstr

# Groups of settings kept in their own modules; each lists its settings in __all__.
from vcftrack.settings_parts.api import *  # noqa: F403 - REST_FRAMEWORK, SPECTACULAR_SETTINGS
from vcftrack.settings_parts.celery import *  # noqa: F403 - CELERY_*, beat intervals
from vcftrack.settings_parts.celery import broker as celery_broker

# Generic admin/queryset classes at run time (ModelAdmin[Model], QuerySet[Model]).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("VCFTRACK_VAR_DIR", str(BASE_DIR / "var")) or BASE_DIR / "var")

DATABASE_URL = envstr("DATABASE_URL")
EMBEDDED = DATABASE_URL is None

DEBUG = envbool("DEBUG", default=EMBEDDED)
SECRET_KEY = envsecret("SECRET_KEY", embedded=EMBEDDED, keep_in=VAR_DIR / "secret_key")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",  # issue 9: sign-in lockout (see "Login and sessions" below)
    "patients",
    "pathways",
    "notifications",
    "vcftrack.core",
    "vcftrack.core.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # issue 9: every error answer under /api/ in the API's JSON error format.
    "vcftrack.core.error_pages.ApiJsonErrorsMiddleware",
    "vcftrack.core.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # issue 9: idle and absolute session limits, before anything reads the user.
    "vcftrack.core.sessions.SessionLimitsMiddleware",
    "vcftrack.core.web.HtmxSignedOutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # issue 9: Cache-Control: no-store on answers that carry patient data.
    "vcftrack.core.sessions.NoStoreMiddleware",
    # issue 9: last, so that it sees the sign-in view's failures (django-axes).
    "axes.middleware.AxesMiddleware",
]

# --- Access audit and change history (issue 9) ------------------------------
# Every request that touches patient data writes its audit rows at its end
# (vcftrack/audit, docs/audit.md); django-simple-history keeps the old and new
# values of clinical rows and takes the acting user from the request.
INSTALLED_APPS += ["simple_history", "vcftrack.core.audit"]
_AUTH_MIDDLEWARE = MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware")
MIDDLEWARE[_AUTH_MIDDLEWARE + 1 : _AUTH_MIDDLEWARE + 1] = [
    "vcftrack.core.audit.middleware.AuditMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "vcftrack.urls"
WSGI_APPLICATION = "vcftrack.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "vcftrack" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "vcftrack.core.web.clinic_context",
                "notifications.views.unread_count",
            ],
        },
    },
]

DATABASES: dict[str, Any]
if EMBEDDED:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "vcftrack.sqlite3",
            # The web server and the Celery worker share the file: wait for
            # the writer instead of failing with "database is locked".
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
else:
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL or "", conn_max_age=60)}
    except ValueError as exc:  # pragma: no cover - configuration error path
        raise ConfigError(f"DATABASE_URL is not a valid database URL: {exc}") from exc
    # Each test run gets its own test database, so two runs on one server
    # (two developers, CI beside a benchmark) never drop each other's.
    DATABASES["default"]["TEST"] = {
        "NAME": envstr("TEST_DATABASE_NAME")
        or f"test_{DATABASES['default'].get('NAME') or 'vcftrack'}_{os.getpid()}"
    }
    # No JIT: web pages run short queries whose planner cost (correlated
    # subqueries over a 10,000-episode clinic) crosses jit_above_cost, and
    # compiling them took 0.7 s of a 0.9 s dashboard query.
    # work_mem 16 MB (PostgreSQL's default is 4 MB): the dashboard's month x
    # days histogram of a large panel (all ten clinics of the benchmark:
    # 41,600 episodes) was sorted on disk at 4 MB.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off -c work_mem=16MB"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    # issue 9: "password" and "12345678" were accepted.
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = envstr("TIME_ZONE", "UTC") or "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Front-end libraries come from npm (package-lock.json, `npm ci`), never a CDN;
# only their dist folders are served, under vendor/<name>/.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS: list[Path | tuple[str, Path]] = [
    BASE_DIR / "vcftrack" / "static",
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/chartjs", NODE_MODULES / "chart.js" / "dist"),
]
# WhiteNoise serves straight from the finders unless told otherwise, so the
# embedded default (runserver) and the test live server work without
# collectstatic; production runs collectstatic and may set this to false.
WHITENOISE_USE_FINDERS = envbool("WHITENOISE_USE_FINDERS", default=True)
WHITENOISE_AUTOREFRESH = DEBUG
# WhiteNoise also serves STATIC_ROOT and warns "No directory at" each time it
# starts where collectstatic has not run yet (a fresh clone, every test
# client): the folder exists from the start, empty until collectstatic fills it.
with contextlib.suppress(OSError):  # a read-only tree: collectstatic made it
    STATIC_ROOT.mkdir(exist_ok=True)

LOGIN_URL = "/accounts/login/"
CSRF_FAILURE_VIEW = "vcftrack.core.web.csrf_failure"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

SESSION_COOKIE_HTTPONLY = True

# --- Login and sessions (issue 9) -----------------------------------------------
# Sign-in lockout: django-axes keeps failed attempts in the database, so every
# web process (and a restart) sees the same count. After AXES_FAILURE_LIMIT
# wrong passwords for one username the account cannot sign in for
# AXES_COOLOFF_MINUTES, even with the right password; a success resets the
# count. While locked out no password is hashed (the lockout is checked
# first), so a flood of guesses cannot tie up the web processes either.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_MINUTES = envint("AXES_COOLOFF_MINUTES", 15, minimum=1)
AXES_COOLOFF_TIME = AXES_COOLOFF_MINUTES / 60  # hours
# Per username: guessing one account's password from many addresses is
# stopped. axes.W006 asks for the address as a lockout parameter too; by
# address, five typos on a ward behind one NAT address would lock the whole
# ward out, so it is silenced on purpose.
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "vcftrack.core.sessions.locked_out"
AXES_VERBOSE = False
# Behind a proxy (PROXY_SSL_HEADER below) the client address is the first of
# X-Forwarded-For; otherwise REMOTE_ADDR.
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
    if envbool("BEHIND_PROXY", default=False)
    else ["REMOTE_ADDR"]
)
# Web sessions end after SESSION_IDLE_MINUTES without a request, and
# SESSION_MAX_HOURS after sign-in whatever happens (vcftrack.core.sessions).
SESSION_IDLE_MINUTES = envint("SESSION_IDLE_MINUTES", 30, minimum=1)
SESSION_MAX_HOURS = envint("SESSION_MAX_HOURS", 12, minimum=1)
SESSION_COOKIE_AGE = SESSION_MAX_HOURS * 3600
# API tokens expire (a new token replaces an old one); last use is recorded.
API_TOKEN_LIFETIME_DAYS = envint("API_TOKEN_LIFETIME_DAYS", 90, minimum=1)
# API throttling, per token and per signed-in user (rates: N/second|minute|hour|day).
API_RATE_PER_TOKEN = envstr("API_RATE_PER_TOKEN", "1200/min") or "1200/min"
API_RATE_PER_USER = envstr("API_RATE_PER_USER", "1200/min") or "1200/min"
API_RATE_ANONYMOUS = envstr("API_RATE_ANONYMOUS", "120/min") or "120/min"
# Tests give each test its own key space (the counters live in a shared cache).
API_THROTTLE_KEY_PREFIX = envstr("API_THROTTLE_KEY_PREFIX", "") or ""

# --- Deployment behind TLS (issue 9) ----------------------------------------------
# VCFTRACK_TLS=true (the site is served over https) turns on HSTS, the
# redirect to https and secure cookies together; each can also be set alone.
# Off by default: the embedded default and the test servers speak plain http
# on 127.0.0.1. CI runs `manage.py check --deploy --fail-level WARNING` with
# VCFTRACK_TLS=true and DEBUG=false, and it must be clean.
_TLS = envbool("VCFTRACK_TLS", default=False)
SESSION_COOKIE_SECURE = envbool(
    "SESSION_COOKIE_SECURE", default=_TLS or (not EMBEDDED and not DEBUG)
)
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", default=SESSION_COOKIE_SECURE)
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", default=_TLS)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31_536_000 if _TLS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=_TLS)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", default=_TLS)
# The header a TLS-terminating proxy sets (e.g. "X-Forwarded-Proto: https");
# only set this behind such a proxy, which must strip it from clients.
_proxy_header = envstr("SECURE_PROXY_SSL_HEADER")
SECURE_PROXY_SSL_HEADER: tuple[str, str] | None = None
if _proxy_header:
    _name, _, _value = _proxy_header.partition(":")
    if not _value.strip():
        raise ConfigError(
            "SECURE_PROXY_SSL_HEADER must look like 'X-Forwarded-Proto: https', "
            f"got {_proxy_header!r}"
        )
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + _name.strip().upper().replace("-", "_"),
        _value.strip(),
    )
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

EMAIL_BACKEND = envstr("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "vcftrack <noreply@vcftrack.local>")
EMAIL_HOST = envstr("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
# For the file-based backend (the worker test reads the mails a worker sent).
EMAIL_FILE_PATH = envstr("EMAIL_FILE_PATH", "") or None

# --- Celery (vcftrack/settings_parts/celery.py) ----------------------------------
REDIS_URL = envstr("REDIS_URL")
CELERY_BROKER_URL, CELERY_BROKER_TRANSPORT_OPTIONS = celery_broker(REDIS_URL, VAR_DIR)

# --- Notifications, outbox, webhooks ------------------------------------------
# Links in e-mails point here.
SITE_URL = (envstr("SITE_URL", "http://127.0.0.1:8000") or "").rstrip("/")
# A claimed outbox row whose worker died is claimed again after this long.
OUTBOX_LEASE_SECONDS = envint("OUTBOX_LEASE_SECONDS", 120, minimum=1)
# Webhook retries: exponential backoff from this base (30 s, 60 s, 2 min ...,
# capped at an hour) for WEBHOOK_RETRY_WINDOW_SECONDS (24 h) after the event.
WEBHOOK_RETRY_BASE_SECONDS = envint("WEBHOOK_RETRY_BASE_SECONDS", 30, minimum=1)
WEBHOOK_RETRY_WINDOW_SECONDS = envint("WEBHOOK_RETRY_WINDOW_SECONDS", 86400, minimum=1)
WEBHOOK_TIMEOUT_SECONDS = envint("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
# SSRF guard: deliveries to private, loopback and link-local addresses are
# refused. Only the test suite's local receiver turns this on.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = envbool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False)
WEBHOOK_ALLOW_HTTP = envbool("WEBHOOK_ALLOW_HTTP", default=False)

# Batches of the sweep: bounded work per transaction.
PATHWAY_SWEEP_BATCH_SIZE = envint("PATHWAY_SWEEP_BATCH_SIZE", 500, minimum=1)
# Sweeps that share one run when many batches are due (the beat's task plus
# helpers); set it to the number of worker processes. 1 = no helpers.
PATHWAY_SWEEP_PARALLELISM = envint("PATHWAY_SWEEP_PARALLELISM", 4, minimum=1)

# --- Caches (issue 9) -------------------------------------------------------------
# The API's throttle counters must be shared by every web process: Redis when
# REDIS_URL is set; per process otherwise (the embedded default is one).
CACHES: dict[str, Any] = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "vcftrack-throttle",
            # A Redis outage must not stop the API: short timeouts, and the
            # throttle lets requests through when the cache cannot answer.
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttle"}
    ),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
