"""BotPanel settings.

Everything that differs between machines comes from the environment or an optional `.env` file
(see `.env.example`), read with django-environ. Secrets are never given defaults that would work
in production: with DEBUG off a SECRET_KEY must be set.
"""

import sys
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# The test suite runs with DEBUG off (as production does) and a throwaway key.
TESTING = "pytest" in sys.modules or env.bool("BOTPANEL_TESTING", default=False)

# Only used with DEBUG on or under tests (see below), never in production.
_DEV_SECRET_KEY = "insecure-development-key-only-for-debug-and-tests"  # noqa: S105
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
    "botpanel",  # first: its `runserver` (Nagle off) wraps whitenoise's, which wraps Django's
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
    "csp",
    "axes",
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
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "leads.accounts.middleware.SessionMiddleware",  # idle expiry, one-time passwords, htmx after logout
    "leads.accounts.middleware.TimeZoneMiddleware",  # dates in the person's time zone
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
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
                "leads.web.context_processors.frame",
                # The frame's Jinja2 parts ({% frame %}) write {{ csrf_input }}.
                "leads.web.context_processors.csrf_input",
            ],
        },
    },
    {
        # The pages agents work in, the frame and the list's rows (templates/jinja2): Django's
        # engine took a third of their CPU; Jinja2 autoescapes as it does.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "leads.web.jinja2.environment",
            # What Django's context processors give its templates (the backend adds request;
            # csrf_input: the CSRF token and field made once per page, as Django's are).
            "context_processors": [
                "leads.web.context_processors.csrf_input",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "leads.web.context_processors.frame",
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
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
# Persistent connections on both databases: a new SQLite connection per request re-reads the
# schema and starts with an empty page cache; a new PostgreSQL one costs a login.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
# The list's order indexes include the searched columns on PostgreSQL (leads.models.Lead); on
# SQLite, which has no INCLUDE, Django makes them without, as intended, and says so (W040).
SILENCED_SYSTEM_CHECKS = ["models.W040"]
DATABASES["default"].setdefault("TEST", {})
if test_name := env.str("TEST_DATABASE_NAME", default=""):
    DATABASES["default"]["TEST"]["NAME"] = test_name

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -------------------------------------------------------------------------------------
# django-axes first: it refuses a locked-out login before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "leads.accounts.backends.RoleBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:  # users are made by the hundred in tests; the real hashers are deliberately slow
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "leads:list"
LOGOUT_REDIRECT_URL = "login"

# Sessions end after SESSION_IDLE_MINUTES without activity (leads.accounts.middleware renews the
# expiry at most once a minute while a person works; the badges' polling does not count as
# activity). SESSION_ENGINE is set with the cache below.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_MINUTES", default=120) * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", default=False)

# Login throttling (django-axes): AXES_FAILURE_LIMIT failed logins for one username from one
# address lock that pair out for AXES_COOLOFF_MINUTES; a success resets the count.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "leads.accounts.backends.client_ip"
AXES_VERBOSE = False
# How many reverse proxies (nginx, a load balancer) append to X-Forwarded-For in front of the app.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- Security ---------------------------------------------------------------------------------
# With DEBUG off the defaults are the production ones (`check --deploy` is clean); each can be
# turned off from the environment, e.g. SECURE_SSL_REDIRECT=false for plain HTTP on a closed
# network. Tests run with DEBUG off but over plain HTTP, so they start from the relaxed values.
_SECURE = not DEBUG and not TESTING
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_SECURE)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=_SECURE)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=_SECURE)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # htmx sends the token from the page (hx-headers), not the cookie
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if _SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=_SECURE)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=_SECURE)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients).
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Lead pictures are loaded from their hosts only when this allows it: a page that loads them
# tells whoever controls those URLs the agent's address. Off: initials avatars everywhere.
BOTPANEL_THIRD_PARTY_IMAGES = env.bool("BOTPANEL_THIRD_PARTY_IMAGES", default=False)
_PICTURE_SOURCES = ["https:", "http:"] if BOTPANEL_THIRD_PARTY_IMAGES else []

# Content-Security-Policy on every page (django-csp): scripts and styles only from this site,
# no inline script anywhere. Images: lead pictures from any http(s) host (only with
# BOTPANEL_THIRD_PARTY_IMAGES), and data: because Bootstrap's CSS draws its icons (select
# arrow, close button, menu) as data: SVGs; a lead's picture is never data: or javascript:
# (refused before it reaches a page, see safety.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *_PICTURE_SOURCES],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

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

# --- Cache: cached list counts (leads.selectors.counting) and sessions --------------------------
# Per process by default; with several web processes or machines, a shared cache makes the counts
# exact everywhere at once, e.g. CACHE_URL=redis://127.0.0.1:6379/1 (or dbcache://botpanel_cache
# after `createcachetable`).
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
# Sessions live in the database, and are read through the cache only when it is shared: a
# per-process cache would keep a signed-out session alive in the other processes.
_SHARED_CACHE = CACHES["default"]["BACKEND"] not in (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if _SHARED_CACHE
    else "django.contrib.sessions.backends.db"
)

# --- Background tasks: django-tasks with the database backend ---------------------------------
TASKS = {
    "default": {
        "BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"),
    }
}

# --- BotPenguin --------------------------------------------------------------------------------
# The bots live in the database (leads.models.Bot, `addbot`). These settings, when the token is
# set, define one more: the environment's bot, named BOTPENGUIN_BOT_NAME, created or updated on
# migrate and whenever a sync or delivery starts (leads.bots.config). A missing value gives one
# clear message naming the variable when that bot is synced or edited, not at start-up.
BOTPENGUIN_BOT_NAME = env.str("BOTPENGUIN_BOT_NAME", default="BotPenguin")
BOTPENGUIN_API_URL = env.str("BOTPENGUIN_API_URL", default="https://api.v7.botpenguin.com")
BOTPENGUIN_API_TOKEN = env.str("BOTPENGUIN_API_TOKEN", default="")
BOTPENGUIN_BOT_ID = env.str("BOTPENGUIN_BOT_ID", default="")
BOTPENGUIN_CUSTOMER_ID = env.str("BOTPENGUIN_CUSTOMER_ID", default="")
BOTPENGUIN_CONNECT_TIMEOUT = env.float("BOTPENGUIN_CONNECT_TIMEOUT", default=3.05)
BOTPENGUIN_READ_TIMEOUT = env.float("BOTPENGUIN_READ_TIMEOUT", default=15.0)
BOTPENGUIN_RETRIES = env.int("BOTPENGUIN_RETRIES", default=3)
BOTPENGUIN_RETRY_BACKOFF = env.float("BOTPENGUIN_RETRY_BACKOFF", default=0.5)
# Fernet keys that encrypt the bots' API tokens at rest; several, comma-separated, to rotate (the
# first encrypts, all decrypt; then `manage.py rotate_bot_tokens`). `make run` writes one into .env.
BOTPANEL_ENCRYPTION_KEYS = env.list("BOTPANEL_ENCRYPTION_KEY", default=[])
if TESTING and not BOTPANEL_ENCRYPTION_KEYS:
    BOTPANEL_ENCRYPTION_KEYS = ["dGVzdC1vbmx5LWtleS1mb3ItYm90cGFuZWwtdGVzdHM="]  # noqa: S105
# Agents may assign leads to anyone of the team (by default only lead admins may; an agent
# assigns to themselves and unassigns themselves): leads.services.assignment.
BOTPANEL_AGENTS_MAY_ASSIGN_OTHERS = env.bool("BOTPANEL_AGENTS_MAY_ASSIGN_OTHERS", default=False)
# A lead that arrived this many days ago or less and that a person has not opened is marked new
# for them in the list (leads.selectors.queues).
BOTPANEL_NEW_LEAD_DAYS = env.int("BOTPANEL_NEW_LEAD_DAYS", default=7)
# How often an open lead list asks whether new leads arrived, while its tab is visible.
BOTPANEL_NEW_LEADS_POLL_SECONDS = env.int("BOTPANEL_NEW_LEADS_POLL_SECONDS", default=20)
# A larger answer (once decompressed) is refused, so a hostile server cannot exhaust memory.
BOTPENGUIN_MAX_RESPONSE_MB = env.float("BOTPENGUIN_MAX_RESPONSE_MB", default=20.0)
# An edit made by a person waits at most this long for BotPenguin before it is reported.
BOTPENGUIN_EDIT_TIMEOUT = env.float("BOTPENGUIN_EDIT_TIMEOUT", default=5.0)
# A bulk action sends this many edits while the person waits and queues the rest for the worker.
BULK_SEND_NOW = env.int("BULK_SEND_NOW", default=25)
SYNC_CONCURRENCY = env.int("SYNC_CONCURRENCY", default=4)
SYNC_EVERY_MINUTES = env.int("SYNC_EVERY_MINUTES", default=5)  # 0: no scheduled sync
# A running sync renews its lease while it works; a crashed one holds off others this long.
SYNC_LEASE_SECONDS = env.float("SYNC_LEASE_SECONDS", default=300)
# A listing longer than this many pages fails the sync: a server whose pages never end must not
# hold the sync (and its lease) for ever. A million chats at 100 a page fit.
SYNC_MAX_PAGES = env.int("SYNC_MAX_PAGES", default=10_000)
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
        "axes": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}

DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5-responsive.html"
