"""Settings, read from the environment (see README "Configuration").

Embedded default: SQLite file, local-memory cache, DEBUG off. Several machines:
DATABASE_URL=postgres://..., REDIS_URL=redis://... (or CACHE_URL), SECRET_KEY.
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env (never committed) may hold the variables below; the real environment wins.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)


def _secret_key() -> str:
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (DEBUG=1 generates a dev key)."
        )
    # Development: generate one key per checkout and keep it, so sessions survive restarts.
    path = BASE_DIR / ".secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tables2",
    "django_filters",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "csp",
    "invoices",
]

MIDDLEWARE = [
    # First: everything logged while answering carries the request's id.
    "billingportal.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # HTML, fragments and exports compressed for browsers that accept it. Django's own
    # BREACH mitigations hold: a masked CSRF token per response and random padding in
    # the gzip header (Django 4.2+, "Heal The Breach"); no secret is echoed in a page.
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the picker's cookie (`set_language`, at /i18n/), else the browser's
    # Accept-Language, else LANGUAGE_CODE.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "invoices.middleware.UserTimezoneMiddleware",
    "csp.middleware.CSPMiddleware",
    "invoices.middleware.NoStoreMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

if not DEBUG:
    # Production serves its collected static files itself (no CDN, no extra server),
    # compressed ahead of time with gzip and brotli (`collectstatic`, the Brotli package);
    # in development runserver's staticfiles handler does it.
    MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                      "whitenoise.middleware.WhiteNoiseMiddleware")  # fmt: skip

ROOT_URLCONF = "billingportal.urls"
WSGI_APPLICATION = "billingportal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while a sync worker writes; IMMEDIATE avoids
    # "database is locked" upgrades from read to write transactions.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Tests get a file too, as production has: Django's default in-memory test database
    # shares one cache between threads, where a read that meets another thread's write
    # fails at once ("database table is locked") instead of waiting out the timeout.
    DATABASES["default"].setdefault("TEST", {}).setdefault(
        "NAME", str(BASE_DIR / "var" / "test-db.sqlite3")
    )


def cache_settings(url: str) -> dict:
    """The cache at `url` (django-environ's schemes). Redis goes through django-redis,
    which can ignore an outage: the cache only speeds pages up (totals, counts, live
    provider reads), so while Redis is down or restarting every call is a miss (logged),
    not an error page, and short socket timeouts keep a hung Redis from holding a page.
    /readyz still reports it unreachable."""
    config = env.cache_url_config(url)
    if config["BACKEND"] in (
        "django.core.cache.backends.redis.RedisCache",  # django-environ without django-redis
        "django_redis.cache.RedisCache",
    ):
        config["BACKEND"] = "django_redis.cache.RedisCache"
        config.setdefault("OPTIONS", {}).update(
            IGNORE_EXCEPTIONS=True,
            SOCKET_CONNECT_TIMEOUT=env.float("REDIS_CONNECT_TIMEOUT", default=0.5),
            SOCKET_TIMEOUT=env.float("REDIS_TIMEOUT", default=0.5),
        )
    return config


_cache_url = env.str("CACHE_URL", default="") or env.str("REDIS_URL", default="")
if _cache_url:
    CACHES = {"default": cache_settings(_cache_url)}
    # Sessions read from the shared cache, written through to the database (which keeps
    # them through a cache outage or flush): a query less on every signed-in request.
    # Not with a per-process cache: one process would read a session another changed.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# An outage shows in the log: one warning line per ignored call (LOGGING's filter).
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
DJANGO_REDIS_LOGGER = "billingportal.cache"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in throttling (django-axes): after AXES_FAILURE_LIMIT failed sign-ins for one
# username, or from one address, both are locked for AXES_COOLOFF_MINUTES. The attempts
# live in the database, so every web instance sees the same count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one locks
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Behind TRUSTED_PROXIES reverse proxies the client address is the one they forwarded;
# otherwise only the connection's own address counts (a header could be forged).
TRUSTED_PROXIES = env.int("TRUSTED_PROXIES", default=0)
if TRUSTED_PROXIES:
    AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXIES
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# The languages the dashboard speaks (locale/: `make messages` updates and compiles the
# catalogues). Money and dates follow the active language too (invoices/money.py, Babel).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("nl", "Nederlands"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The picker's choice is kept in a cookie only the server reads.
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = not DEBUG
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Security: strict by default outside DEBUG, so `manage.py check --deploy` is clean.
# SECURE_SSL_REDIRECT=0 is for running behind a proxy that terminates TLS elsewhere.
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # A load balancer's health checks come over plain HTTP, from inside.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
# A strict Content-Security-Policy (django-csp): the app's own files only, no inline
# script or style, no eval (htmx is configured for it in base.html).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# Logs: one JSON object per line in production (LOG_FORMAT=json, the default with DEBUG
# off), plain text in development; every line names its request (`request_id`).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "billingportal.observability.RequestIdFilter"},
        "cache_outage": {"()": "billingportal.observability.CacheOutageFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # django-axes reports every sign-in failure at INFO; lock-outs come at WARNING.
    "loggers": {
        "urllib3": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "billingportal.cache": {"filters": ["cache_outage"]},
    },
}

# E-mail (password resets, invitations). EMAIL_URL, e.g. smtp+tls://user:password@mail.example.com:587;
# without it, mail is written to the console (development: `make run` shows the link).
globals().update(env.email_url("EMAIL_URL", default="consolemail://"))  # EMAIL_BACKEND, _HOST…
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="billingportal <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# How long a password-reset or invitation link works (seconds; Django's default, 3 days).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3 * 24 * 3600)

# Fernet keys for connection credentials (first encrypts; all decrypt; rotation in the
# README). Required in production: a key derived from SECRET_KEY would tie the stored
# credentials to it (rotating SECRET_KEY would lose them). Development derives one.
CREDENTIALS_KEYS = env.list("CREDENTIALS_KEYS", default=[])
if not DEBUG and not CREDENTIALS_KEYS:
    raise ImproperlyConfigured(
        "CREDENTIALS_KEYS is not set. Set it in the environment to one or more Fernet keys "
        "(`make prod` generates one; the README shows how to make and rotate them)."
    )

# Background jobs: django-tasks with its database backend (workers: `manage.py db_worker`).
TASKS = {
    "default": {
        "BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"),
    }
}
# Every connection is re-synced when its last run is older than its interval; this is the
# default interval for new connections (minutes).
SYNC_DEFAULT_INTERVAL_MINUTES = env.int("SYNC_DEFAULT_INTERVAL_MINUTES", default=60)
# A running sync holds a lease on its connection, renewed every few seconds while it
# works; one whose lease is this old is taken as dead (its process was killed) and the
# next run of the connection takes over (see invoices/sync/runs.py).
SYNC_LEASE_SECONDS = env.int("SYNC_LEASE_SECONDS", default=20)
# A queued run no worker took for this long lost its task: it is failed, so that it no
# longer blocks the connection's next syncs.
SYNC_QUEUED_MAX_HOURS = env.int("SYNC_QUEUED_MAX_HOURS", default=6)
# How often `schedule_syncs --loop` checks what is due, seconds: it also re-queues a run
# lost with its worker, so a lost sync restarts within its lease and this.
SYNC_SCHEDULE_SECONDS = env.float("SYNC_SCHEDULE_SECONDS", default=5.0)

# Provider HTTP behaviour (see invoices/providers/http.py).
PROVIDER_CONNECT_TIMEOUT = env.float("PROVIDER_CONNECT_TIMEOUT", default=3.0)
PROVIDER_READ_TIMEOUT = env.float("PROVIDER_READ_TIMEOUT", default=10.0)
PROVIDER_MAX_RETRIES = env.int("PROVIDER_MAX_RETRIES", default=3)
# Live provider reads in the UI (invoices/live.py) hold a web request: a short budget for
# the whole call (retries and waits included) and at most one retry.
LIVE_PROVIDER_BUDGET = env.float("LIVE_PROVIDER_BUDGET", default=5.0)
LIVE_PROVIDER_CONNECT_TIMEOUT = env.float("LIVE_PROVIDER_CONNECT_TIMEOUT", default=2.0)
LIVE_PROVIDER_READ_TIMEOUT = env.float("LIVE_PROVIDER_READ_TIMEOUT", default=4.0)
LIVE_PROVIDER_MAX_RETRIES = env.int("LIVE_PROVIDER_MAX_RETRIES", default=1)
# Live provider reads in the UI (invoices/live.py): how long a success is cached, seconds.
# A public link is never cached past the expiry its provider gives it.
BILLING_DATE_CACHE_SECONDS = env.int("BILLING_DATE_CACHE_SECONDS", default=3600)
PUBLIC_LINK_CACHE_SECONDS = env.int("PUBLIC_LINK_CACHE_SECONDS", default=300)
# Totals and counts of a filtered invoice list. A sync that changes the invoices
# invalidates them at once (see selectors.invoice_summary_key); this only bounds memory.
SUMMARY_CACHE_SECONDS = env.int("SUMMARY_CACHE_SECONDS", default=900)
# A rendered invoice list, kept for the same request again (invoices/page_cache.py). Its
# key names everything the page shows, so a write shows at once; this only bounds memory.
PAGE_CACHE_SECONDS = env.int("PAGE_CACHE_SECONDS", default=60)
