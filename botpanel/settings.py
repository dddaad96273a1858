"""BotPanel settings.

Everything that differs between machines comes from the environment or an optional `.env` file
(see `.env.example`), read with django-environ. Secrets are never given defaults that would work
in production: with DEBUG off a SECRET_KEY must be set.
"""

import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# The test suite runs with DEBUG off (as production does) and a throwaway key.
TESTING = "pytest" in sys.modules or env.bool("BOTPANEL_TESTING", default=False)

_DEV_SECRET_KEY = "insecure-development-key-only-for-debug-and-tests"
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG and not TESTING:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment or .env (DEBUG is off)."
        )
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tables2",
    "django_filters",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "leads",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "botpanel.urls"

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
                "leads.context_processors.frame",
            ],
        },
    },
]

WSGI_APPLICATION = "botpanel.wsgi.application"

# --- Database ---------------------------------------------------------------------------------
# SQLite by default. Web, worker and sync write at once, so: WAL journal (readers never block the
# writer), a busy timeout (a writer waits for the lock instead of failing at once) and IMMEDIATE
# transactions (a transaction takes the write lock when it starts, so it cannot deadlock on
# upgrading a read lock to a write lock half-way).
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Tests use a file too (not :memory:), so they run with WAL like production and the live
    # server thread of the browser tests has its own connection.
    (BASE_DIR / "var").mkdir(exist_ok=True)
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / "test-db.sqlite3")}
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA busy_timeout=20000"
            ),
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DATABASES["default"].setdefault("TEST", {})
if test_name := env.str("TEST_DATABASE_NAME", default=""):
    DATABASES["default"]["TEST"]["NAME"] = test_name

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "leads:list"
LOGOUT_REDIRECT_URL = "login"

# --- i18n -------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files (served by whitenoise; Bootstrap and htmx live in static/vendor) -------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns about a missing root
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.bool("STATIC_MANIFEST", default=not (DEBUG or TESTING))
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# --- Background tasks: django-tasks with the database backend ---------------------------------
TASKS = {
    "default": {
        "BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"),
    }
}

# --- BotPenguin --------------------------------------------------------------------------------
# Read lazily by leads.botpenguin_config: a missing value gives one clear message naming the
# variable when a sync or an edit is attempted, not at start-up.
BOTPENGUIN_API_URL = env.str("BOTPENGUIN_API_URL", default="https://api.v7.botpenguin.com")
BOTPENGUIN_API_TOKEN = env.str("BOTPENGUIN_API_TOKEN", default="")
BOTPENGUIN_BOT_ID = env.str("BOTPENGUIN_BOT_ID", default="")
BOTPENGUIN_CUSTOMER_ID = env.str("BOTPENGUIN_CUSTOMER_ID", default="")
BOTPENGUIN_CONNECT_TIMEOUT = env.float("BOTPENGUIN_CONNECT_TIMEOUT", default=3.05)
BOTPENGUIN_READ_TIMEOUT = env.float("BOTPENGUIN_READ_TIMEOUT", default=15.0)
BOTPENGUIN_RETRIES = env.int("BOTPENGUIN_RETRIES", default=3)
BOTPENGUIN_RETRY_BACKOFF = env.float("BOTPENGUIN_RETRY_BACKOFF", default=0.5)
# An edit made by a person waits at most this long for BotPenguin before it is reported.
BOTPENGUIN_EDIT_TIMEOUT = env.float("BOTPENGUIN_EDIT_TIMEOUT", default=5.0)
SYNC_CONCURRENCY = env.int("SYNC_CONCURRENCY", default=4)
SYNC_EVERY_MINUTES = env.int("SYNC_EVERY_MINUTES", default=5)  # 0: no scheduled sync
DELIVERY_SWEEP_SECONDS = env.int("DELIVERY_SWEEP_SECONDS", default=30)
# A delivery lease outlives the longest PUT; a worker killed mid-delivery frees it this late.
DELIVERY_LEASE_SECONDS = env.int("DELIVERY_LEASE_SECONDS", default=60)

# --- Logging: never log request bodies or headers (the API token lives there) -----------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}

DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5-responsive.html"
