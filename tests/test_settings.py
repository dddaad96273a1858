"""Database and settings behaviour the rest of the project relies on."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from leads.botpenguin.errors import ConfigurationError
from leads.bots.config import client_for
from leads.models import Bot

BASE_DIR = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_with_a_busy_timeout():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] == 20000


def test_client_is_built_from_settings_and_hides_the_token(settings):
    settings.BOTPENGUIN_API_URL = "http://127.0.0.1:9/"
    settings.BOTPENGUIN_API_TOKEN = "secret-token-xyz"
    settings.BOTPENGUIN_BOT_ID = "bot"
    settings.BOTPENGUIN_CUSTOMER_ID = "cust"
    with client_for(Bot(from_environment=True), read_timeout=2, retries=0) as client:
        assert "secret-token-xyz" not in repr(client.config)
        assert client.config.read_timeout == 2 and client.config.retries == 0


def test_an_unusable_api_url_is_a_configuration_error(settings):
    settings.BOTPENGUIN_API_URL = "ftp://example.org"
    settings.BOTPENGUIN_API_TOKEN = "t"
    settings.BOTPENGUIN_BOT_ID = "bot"
    settings.BOTPENGUIN_CUSTOMER_ID = "cust"
    with pytest.raises(ConfigurationError, match="BOTPENGUIN_API_URL"):
        client_for(Bot(from_environment=True))


# --- production settings: checked in a fresh process, as a deployment would start ---------------

PRODUCTION_KEY = "k" * 10 + "9f3Xq-production-secret-key-for-tests-only-0123456789"


def _run(args: list[str], **env_overrides) -> subprocess.CompletedProcess:
    # a deployment's environment: none of the test run's own switches (the browser tests set
    # DJANGO_ALLOW_ASYNC_UNSAFE for Playwright, which check --deploy rightly refuses)
    test_only = ("BOTPANEL_TESTING", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in test_only}
    for name in (
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS",
        "SECRET_KEY",
        "CACHE_URL",
    ):
        env.pop(name, None)
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_database_connections_persist_between_requests_on_either_database():
    """A new SQLite connection per request re-read the schema with a cold page cache (1.5 ms of
    a 10 ms page); a new PostgreSQL one logs in again."""
    code = "from django.conf import settings as s; print(s.DATABASES['default']['CONN_MAX_AGE'])"
    assert _run(["shell", "-v", "0", "-c", code], SECRET_KEY=PRODUCTION_KEY).stdout.strip() == "60"
    assert (
        _run(
            ["shell", "-v", "0", "-c", code], SECRET_KEY=PRODUCTION_KEY, CONN_MAX_AGE="0"
        ).stdout.strip()
        == "0"
    )


def test_check_deploy_is_clean_with_production_settings():
    result = _run(["check", "--deploy", "--fail-level", "WARNING"], SECRET_KEY=PRODUCTION_KEY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_is_off_and_a_secret_key_is_required_unless_set():
    result = _run(["check"])
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_defaults_are_secure_and_configurable():
    code = (
        "from django.conf import settings as s; import json; print(json.dumps({k: getattr(s, k, None)"
        " for k in ['DEBUG', 'SECURE_SSL_REDIRECT', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE',"
        " 'SESSION_COOKIE_HTTPONLY', 'CSRF_COOKIE_HTTPONLY', 'SECURE_HSTS_SECONDS',"
        " 'SECURE_PROXY_SSL_HEADER', 'SESSION_COOKIE_AGE', 'ALLOWED_HOSTS',"
        " 'CSRF_TRUSTED_ORIGINS', 'AXES_FAILURE_LIMIT']}))"
    )
    values = json.loads(_run(["shell", "-v", "0", "-c", code], SECRET_KEY=PRODUCTION_KEY).stdout)
    assert values == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_PROXY_SSL_HEADER": None,
        "SESSION_COOKIE_AGE": 7200,
        "ALLOWED_HOSTS": ["127.0.0.1", "localhost"],
        "CSRF_TRUSTED_ORIGINS": [],
        "AXES_FAILURE_LIMIT": 5,
    }
    behind_proxy = json.loads(
        _run(
            ["shell", "-v", "0", "-c", code],
            SECRET_KEY=PRODUCTION_KEY,
            SECURE_PROXY_SSL_HEADER="true",
            SECURE_SSL_REDIRECT="false",
            SESSION_IDLE_MINUTES="30",
            AXES_FAILURE_LIMIT="10",
            ALLOWED_HOSTS="botpanel.example.org",
            SECURE_HSTS_SECONDS="0",
            CSRF_TRUSTED_ORIGINS="https://botpanel.example.org",
        ).stdout
    )
    assert behind_proxy["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert behind_proxy["SECURE_SSL_REDIRECT"] is False
    assert behind_proxy["SESSION_COOKIE_AGE"] == 1800
    assert behind_proxy["AXES_FAILURE_LIMIT"] == 10
    assert behind_proxy["ALLOWED_HOSTS"] == ["botpanel.example.org"]
    assert behind_proxy["CSRF_TRUSTED_ORIGINS"] == ["https://botpanel.example.org"]
    assert behind_proxy["SECURE_HSTS_SECONDS"] == 0


@pytest.mark.django_db
def test_healthz_answers_plain_http_and_json_even_with_ssl_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/leads/").status_code == 301  # people are sent to https
    response = client.get("/healthz")  # the load balancer is not
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.json()["database"] == "ok"


def test_a_shared_cache_from_cache_url_is_seen_by_every_process():
    """Several web processes share cached counts through CACHE_URL (Redis here)."""
    import socket
    import uuid

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        if os.environ.get("CI") == "true":
            pytest.fail("Redis at 127.0.0.1:6379 does not answer: CI needs it.")
        pytest.skip("Redis at 127.0.0.1:6379 does not answer")
    key = f"botpanel-test-{uuid.uuid4().hex}"
    url = "redis://127.0.0.1:6379/15"
    write = f"from django.core.cache import cache; cache.set('{key}', 42, 30)"
    read = f"from django.core.cache import cache; print(cache.get('{key}')); cache.delete('{key}')"
    assert _run(["shell", "-v", "0", "-c", write], DEBUG="true", CACHE_URL=url).returncode == 0
    result = _run(["shell", "-v", "0", "-c", read], DEBUG="true", CACHE_URL=url)
    assert result.stdout.strip() == "42", result.stderr


def test_sessions_go_through_the_cache_only_when_it_is_shared():
    """A per-process cache would keep a signed-out session alive in the other processes."""
    code = "from django.conf import settings as s; print(s.SESSION_ENGINE)"
    engines = {
        url: _run(["shell", "-v", "0", "-c", code], DEBUG="true", **cache).stdout.strip()
        for url, cache in (
            ("default", {}),
            ("locmem", {"CACHE_URL": "locmemcache://"}),
            ("redis", {"CACHE_URL": "redis://127.0.0.1:6379/15"}),
            ("database", {"CACHE_URL": "dbcache://botpanel_cache"}),
        )
    }
    assert engines == {
        "default": "django.contrib.sessions.backends.db",
        "locmem": "django.contrib.sessions.backends.db",
        "redis": "django.contrib.sessions.backends.cached_db",
        "database": "django.contrib.sessions.backends.cached_db",
    }


@pytest.mark.parametrize(
    ("environment", "threads", "worker_class"),
    [
        ({}, 4, "gthread"),  # no DATABASE_URL: SQLite
        ({"DATABASE_URL": "sqlite:////srv/botpanel/db.sqlite3"}, 4, "gthread"),
        ({"DATABASE_URL": "postgres://botpanel@db/botpanel"}, 1, "sync"),
        (
            {"DATABASE_URL": "postgres://botpanel@db/botpanel", "GUNICORN_THREADS": "4"},
            4,
            "gthread",
        ),
        ({"GUNICORN_THREADS": "1"}, 1, "sync"),
    ],
)
def test_gunicorn_runs_threads_by_default_with_sqlite_only(environment, threads, worker_class):
    """deploy/gunicorn.conf.py as gunicorn reads it, in a clean environment: four threads per
    worker with SQLite (an edit waits for the PUT without holding up the rest), plain workers
    with PostgreSQL, GUNICORN_THREADS over both."""
    dotenv = BASE_DIR / ".env"
    if (
        "DATABASE_URL" not in environment
        and dotenv.exists()
        and "DATABASE_URL" in dotenv.read_text()
    ):
        pytest.skip("this checkout's .env names a database")
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "GUNICORN_THREADS")}
    found = gunicorn_settings({**clean, **environment}, "threads", "worker_class")
    assert found == [threads, worker_class]


def gunicorn_settings(environment: dict, *names: str) -> list:
    """The named settings of deploy/gunicorn.conf.py as gunicorn reads it, in `environment`."""
    script = (
        "import json, runpy; c = runpy.run_path('deploy/gunicorn.conf.py'); "
        f"print(json.dumps([c[name] for name in {list(names)!r}]))"
    )
    output = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output)


def test_gunicorn_replaces_its_workers_rarely_and_each_at_its_own_time():
    """The workers start together; a narrow max_requests jitter replaced all of them within the
    same seconds under load (each new one imports Django and refills its caches: a stall)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GUNICORN_")}
    max_requests, jitter = gunicorn_settings(clean, "max_requests", "max_requests_jitter")
    assert max_requests >= 10_000
    # Workers that started together are replaced spread over half a cycle or more.
    assert jitter >= max_requests // 2
