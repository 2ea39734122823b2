"""Settings for closedloop.

Every setting comes from a ``CLOSEDLOOP_*`` environment variable; nothing else
is read. A bad value stops start-up with a sentence naming the variable and
the reason (``ImproperlyConfigured``, which the ``closedloop`` command prints
without a traceback).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ImproperlyConfigured

PACKAGE_DIR = Path(__file__).resolve().parent


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"CLOSEDLOOP_{name}")
    return default if value is None or value.strip() == "" else value.strip()


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"CLOSEDLOOP_{name}={value!r} is not a yes/no value; use 1 or 0.")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    value = env(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"CLOSEDLOOP_{name}={value!r} is not a whole number.") from None
    if number < minimum:
        raise ImproperlyConfigured(f"CLOSEDLOOP_{name}={number} is too small; it must be at least {minimum}.")
    return number


# --- where data lives -------------------------------------------------------
DATA_DIR = Path(env("DATA_DIR", "var")).resolve()
try:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
except OSError as exc:
    raise ImproperlyConfigured(f"CLOSEDLOOP_DATA_DIR={DATA_DIR} cannot be created: {exc.strerror}.") from None


def _secret_from_file(filename: str) -> str:
    """A development secret generated once and kept in the data directory."""
    path = DATA_DIR / filename
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env("SECRET_KEY") or _secret_from_file("secret_key")
if len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("CLOSEDLOOP_SECRET_KEY is shorter than 32 characters; use a long random value.")
# The key of the keyed hash by which ID numbers are found. Changing it makes
# every stored hash unfindable, so it is kept apart from SECRET_KEY.
ID_HASH_KEY = (env("ID_HASH_KEY") or _secret_from_file("id_hash_key")).encode()

ALLOWED_HOSTS = [h.strip() for h in (env("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]") or "").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in (env("CSRF_TRUSTED_ORIGINS", "") or "").split(",") if o.strip()]

# --- database ----------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL")


def _database() -> dict:
    if DATABASE_URL is None:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "closedloop.sqlite3",
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so two writers queue
                # on the busy timeout instead of failing half-way.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                    "PRAGMA cache_size=-65536;"  # 64 MiB: bulk imports keep the indexes in memory
                ),
            },
            "TEST": {"NAME": str(DATA_DIR / "test.sqlite3")},
        }
    import dj_database_url

    if not DATABASE_URL.startswith(("postgres://", "postgresql://", "sqlite://")):
        raise ImproperlyConfigured(
            f"CLOSEDLOOP_DATABASE_URL={DATABASE_URL!r} is not understood; "
            "use postgres://user@host:port/name (or leave it unset for SQLite)."
        )
    try:
        config = dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"CLOSEDLOOP_DATABASE_URL cannot be read: {exc}.") from None
    if config["ENGINE"].endswith("postgresql") and not config.get("NAME"):
        raise ImproperlyConfigured("CLOSEDLOOP_DATABASE_URL names no database; end it with /closedloop.")
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- applications --------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "closedloop.core",
    "closedloop.people",
    "closedloop.quarantine",
    "closedloop.facilities",
    "closedloop.transfers",
    "closedloop.situation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "closedloop.urls"
WSGI_APPLICATION = "closedloop.wsgi.application"
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "closedloop.core.context.platform",
            ],
        },
    }
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- language and time ---------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env("TIME_ZONE", "Asia/Shanghai")
try:
    ZoneInfo(TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"CLOSEDLOOP_TIME_ZONE={TIME_ZONE!r} is not a known time zone, e.g. Asia/Shanghai.") from None

# --- static files ----------------------------------------------------------------
STATIC_URL = "/static/"
# The shared layout's assets live in the package, outside any app.
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request otherwise
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": DATA_DIR / "media"}},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the package when collectstatic has not run (tests, runserver).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
UPLOAD_DIR = DATA_DIR / "uploads"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024

# --- security --------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_HOURS", 12, minimum=1) * 3600
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- the platform's own rules ----------------------------------------------------
CITY_CODE = env("CITY_CODE", "330782")
IMPORT_BATCH_SIZE = env_int("IMPORT_BATCH_SIZE", 2000, minimum=1)
# A last exposure or arrival older than this is probably a wrong year.
IMPORT_MAX_ANCHOR_AGE_DAYS = env_int("IMPORT_MAX_ANCHOR_AGE_DAYS", 60, minimum=1)
# Browser imports run in a thread of the web process; tests run them inline.
IMPORT_RUN_INLINE = env_bool("IMPORT_RUN_INLINE", False)
PERIODIC_CHECK_SECONDS = env_int("PERIODIC_CHECK_SECONDS", 300, minimum=10)
PAGE_SIZE = env_int("PAGE_SIZE", 50, minimum=5)
# A hand-over not confirmed this long after its expected arrival raises the lost-in-transit alert.
TRANSIT_GRACE_MINUTES = env_int("TRANSIT_GRACE_MINUTES", 30, minimum=0)
# Isolation rooms the city keeps in reserve per 10,000 residents (the national floor was 20).
RESERVE_ROOMS_PER_10K = env_int("RESERVE_ROOMS_PER_10K", 20, minimum=0)
# How long the care group has to answer a care request, in hours (urgent ones: CARE_URGENT_HOURS).
CARE_ANSWER_HOURS = env_int("CARE_ANSWER_HOURS", 24, minimum=1)
CARE_URGENT_HOURS = env_int("CARE_URGENT_HOURS", 2, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "WARNING")},
}
