"""Settings: one file, from the environment; SQLite unless DATABASE_URL says otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use 1/0, true/false)")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    return [item.strip() for item in value.split(",") if item.strip()] if value else default


# Off unless asked for: Django's debug pages need inline scripts the Content-Security-Policy
# refuses, and with DEBUG on every query is kept in memory (an import's would be gigabytes).
DEBUG = env_bool("DEBUG", False)
# The default key only ever signs this machine's sessions; set SECRET_KEY when serving to others
# (`manage.py serve` refuses to listen beyond loopback with it, or with DEBUG on).
INSECURE_SECRET_KEY = "recording-inspector-local-development-key"
SECRET_KEY = os.environ.get("SECRET_KEY", INSECURE_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

# Serving over HTTPS (behind a proxy that terminates TLS): all off by default, as plain HTTP on
# loopback needs; README "Configuration" lists the values `manage.py check --deploy` accepts.
# uvicorn takes the scheme from the proxy's X-Forwarded-Proto (its FORWARDED_ALLOW_IPS), so
# Django needs no SECURE_PROXY_SSL_HEADER.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "inspector",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "inspector.middleware.SafeMethodsMiddleware",  # before CSRF: 405, not 403, for a POST
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "inspector.middleware.ContentSecurityPolicyMiddleware",
    "inspector.middleware.RefuseNulMiddleware",  # last: its 400 gets the headers above
]

ROOT_URLCONF = "inspector.urls"
ASGI_APPLICATION = "inspector.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

# Connections are kept per thread, and the server keeps its request threads (inspector/asgi.py),
# so a connection lasts from request to request as under WSGI. Django's advice to turn this off
# under ASGI is for its own handler, which starts a thread per request. SQLite, `make bench-load`'s
# plain phase, two alternating runs: 179 and 198 requests/s kept (p95 619 and 502 ms), 154 and
# 160 when each request connected (p95 669 and 725 ms).
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=60, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the server read while an import writes; IMMEDIATE avoids "database is locked"
    # when a read transaction later tries to write.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        # Python's sqlite3 keeps up to 128 prepared statements, each holding its last
        # parameters: bulk inserts of stored bytes kept ~100 MiB alive during big imports.
        "cached_statements": 0,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        # Seconds a connection waits for another's write lock before "database is locked". The
        # server only reads (WAL readers never wait); this is for an import meeting another
        # writer (a second import): its sweep and FTS5 merge hold the lock for seconds at
        # 100,000 recordings (~3 s), more than Python's default of 5 s leaves to spare.
        "timeout": env_int("INSPECTOR_DB_BUSY_TIMEOUT", 30),
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Under ASGI each request may run in another thread, so persistent connections are not
    # reused: every request paid ~20 ms to connect. A pool hands them over between threads.
    # The pool is per process: `manage.py serve --workers N` opens up to N times this many
    # connections (PostgreSQL allows 100 by default, some taken by imports and maintenance).
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django refuses both at once
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env_int("INSPECTOR_DB_POOL", 8),
        "timeout": 10,
    }
    # Parameters sent apart from the statement, so that each connection prepares a statement it
    # runs for the fifth time (a search page's, its count), as psycopg does by default: ~8% off a
    # search page at 100,000 recordings. Django leaves both off for poolers such as PgBouncer in
    # transaction mode, which cannot keep prepared statements: INSPECTOR_DB_PREPARE=0 there.
    prepare = env_int("INSPECTOR_DB_PREPARE", 5)
    if prepare > 0:
        DATABASES["default"]["OPTIONS"]["server_side_binding"] = True
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = prepare
if os.environ.get("INSPECTOR_TEST_DB") and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Two suites running side by side on one PostgreSQL server each need their own test
    # database. (SQLite's test database is in memory, one per process: a name would make it a
    # file in the working directory.)
    DATABASES["default"]["TEST"] = {"NAME": os.environ["INSPECTOR_TEST_DB"]}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

# Each server process keeps its own cache (facet counts, keyed on the data's version, so
# every process sees an import's change: inspector/facets.py).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": 2000},
    }
}

# Playbacks (/stream/) one server process runs at once; beyond, 503 with Retry-After. Each costs
# little memory (playbacks of one recording share its columns) but a timer and a socket, and its
# tab holds one of the six connections a browser opens to a host: 20 is a few people with a few
# tabs each. Per process: `manage.py serve --workers N` plays up to N times this many.
INSPECTOR_MAX_PLAYBACKS = env_int("INSPECTOR_MAX_PLAYBACKS", 20)

# Files larger than this are refused by the importer (overridable per run with --max-bytes).
INSPECTOR_MAX_BYTES = env_int("INSPECTOR_MAX_BYTES", 64 * 1024 * 1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
