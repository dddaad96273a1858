"""Gunicorn settings for BotPanel (`gunicorn -c deploy/gunicorn.conf.py botpanel.wsgi`).

Everything a machine may want to change comes from the environment (the systemd unit reads
/etc/botpanel/env): GUNICORN_BIND, WEB_CONCURRENCY (worker processes), GUNICORN_THREADS (by
default 4 with SQLite, 1 with PostgreSQL),
GUNICORN_TIMEOUT, GUNICORN_FORWARDED_ALLOW_IPS. nginx (or the load balancer) sits in front and
terminates TLS, so by default gunicorn listens on loopback only.
"""

import os
from pathlib import Path

import environ

# The settings' own sources, so that the defaults below see the database they will use: the
# environment first, then the project's optional .env (botpanel/settings.py reads it the same way).
environ.Env.read_env(Path(__file__).resolve().parent.parent / ".env", overwrite=False)


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _sqlite() -> bool:
    url = os.environ.get("DATABASE_URL", "").strip()
    return not url or url.startswith("sqlite")


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# 2 processes per core; a web process needs ~80 MB. A person's edit holds its worker while
# BotPenguin answers the PUT (at most BOTPENGUIN_EDIT_TIMEOUT, 5 s). With SQLite, 4 threads per
# process keep the other requests moving meanwhile: the faults load test (100 agents, 2 cores)
# met its p95 with them and missed it with 1 or 2. With PostgreSQL on the same cores, its own
# processes need the CPU that more threads would contend for, and plain workers did better
# (README, "Load test"); with the database on another machine, try GUNICORN_THREADS=4.
workers = _int("WEB_CONCURRENCY", (os.cpu_count() or 1) * 2)
threads = _int("GUNICORN_THREADS", 4 if _sqlite() else 1)
worker_class = "gthread" if threads > 1 else "sync"
# A bulk action on a whole page sends one PUT per lead while the person waits (until BotPenguin
# proves unreachable); give it room rather than killing the worker half-way.
timeout = _int("GUNICORN_TIMEOUT", 120)
graceful_timeout = 30
keepalive = 5  # nginx keeps upstream connections open
# Recycle workers now and then so that a slow leak cannot grow for weeks, but rarely and each at
# its own time: a new worker imports Django and fills its caches again, and with a narrow jitter
# the workers, started together, were all replaced within the same seconds (a stall the load
# test saw every ~50 s at 2,000 requests).
max_requests = _int("GUNICORN_MAX_REQUESTS", 10000)
max_requests_jitter = max_requests // 2
# Trust X-Forwarded-* only from the proxy in front (nginx on this machine by default).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# Logs go to stdout/stderr, i.e. the journal under systemd. The access log shows no query
# string or body beyond the request line, and never a header (the API token is not in them
# anyway: it only travels from BotPanel to BotPenguin).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
# Each worker opens its own database connections after the fork (no preload): safe for both
# SQLite and PostgreSQL.
preload_app = False
proc_name = "botpanel-web"
# gunicorn's control socket (`gunicornc`) only where asked for, e.g. /run/botpanel/gunicorn.ctl:
# by default it would sit in the home directory, shared by every gunicorn of that user.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket
