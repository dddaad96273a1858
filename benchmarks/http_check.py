"""The issue's independent measurement, end to end over HTTP (not a test, not `make bench`).

    python benchmarks/http_check.py [--chats 100000] [--requests 21]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/botpanel python benchmarks/http_check.py

1. starts the sandbox (a BotPenguin-compatible server, its own process) with `--chats` chats in
   pages of 100 on a loopback port;
2. mirrors them into a new, empty database (`var/http_check.sqlite3`, or `<DATABASE_URL>_http`)
   with `manage.py sync_leads` at its default settings, timed;
3. serves the dashboard with gunicorn (2 workers, DEBUG off, static files collected), logs in
   as a superuser over HTTP like a browser (login form, CSRF), and times each case's median of
   `--requests` requests after 3 warm-ups, `/leads/?per_page=100…` and `/admin/leads/lead/…`
   taking turns: default, `?status=`, `?q=`, a deep page (page 200).

Nothing here goes through Django's test client or the bench's seeded data.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests
from databases import sibling_postgres_url

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "http-check-Passw0rd!"
CASES = [
    # label, ours (after ?per_page=100), the admin's (list_per_page is 100)
    ("default", "", ""),
    ("status filter", "status=REVIEW", "status__exact=REVIEW"),
    ("search", "q=meera", "q=meera"),
    ("deep page", "page=200", "p=199"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answers at {url}")


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return sibling_postgres_url(url, "http", fresh=True)
    path = ROOT / "var" / "http_check.sqlite3"
    path.parent.mkdir(exist_ok=True)
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    return f"sqlite:///{path}"


def manage(env: dict, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True, **kwargs
    )


def log_in(session: requests.Session, base: str) -> None:
    page = session.get(f"{base}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(
        f"{base}/accounts/login/",
        data={"username": "http-check", "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=10,
    )
    if "/accounts/login/" in answer.url:
        raise RuntimeError("could not log in")


def timed_pair(session: requests.Session, urls: list[str], runs: int) -> list[float]:
    for _ in range(3):
        for url in urls:
            session.get(url, timeout=30).raise_for_status()
    times: list[list[float]] = [[] for _ in urls]
    for _ in range(runs):
        for i, url in enumerate(urls):
            started = time.perf_counter()
            answer = session.get(url, timeout=30)
            times[i].append((time.perf_counter() - started) * 1000)
            answer.raise_for_status()
    return [statistics.median(t) for t in times]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=21)
    args = parser.parse_args()

    sandbox_port, web_port = free_port(), free_port()
    api, base = f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{web_port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DEBUG": "false",
        "SECRET_KEY": "http-check-not-secret-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        "BOTPENGUIN_API_URL": api,
        "BOTPENGUIN_API_TOKEN": "http-check",
        "BOTPENGUIN_BOT_ID": "check-bot",
        "BOTPENGUIN_CUSTOMER_ID": "check-customer",
        "SYNC_EVERY_MINUTES": "0",
    }
    processes: list[subprocess.Popen] = []
    try:
        box = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "botpenguin_sandbox",
                "--port",
                str(sandbox_port),
                "--chats",
                str(args.chats),
                "--page-size",
                "100",
                "--token",
                "http-check",
                "--bot-id",
                "check-bot",
                "--customer-id",
                "check-customer",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        processes.append(box)
        if "sandbox on" not in box.stdout.readline().decode():
            raise RuntimeError("the sandbox did not start")
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "collectstatic", "--noinput", "-v", "0")
        started = time.monotonic()
        sync = manage(env, "sync_leads", "--full", "--no-progress", capture_output=True, text=True)
        sync_s = time.monotonic() - started
        manage(
            {**env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD},
            "createsuperuser",
            "--noinput",
            "--username",
            "http-check",
            "--email",
            "",
        )
        web = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "botpanel.wsgi",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{web_port}",
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=ROOT,
        )
        processes.append(web)
        wait_for(f"{base}/healthz")
        engine = "PostgreSQL" if env["DATABASE_URL"].startswith("postgres") else "SQLite"
        print(f"\nHTTP check — {engine}, {args.chats:,} chats from the sandbox in pages of 100")
        print(f"  sync_leads --full: {sync_s:.1f} s ({sync.stdout.strip()})")
        print(f"  gunicorn, 2 workers; median of {args.requests} after 3 warm-ups, taking turns")
        print(f"{'case':<16}{'BotPanel ms':>13}{'admin ms':>10}{'ratio':>8}")
        with requests.Session() as session:
            log_in(session, base)
            for label, ours, theirs in CASES:
                ours_url = f"{base}/leads/?per_page=100" + (f"&{ours}" if ours else "")
                admin_url = f"{base}/admin/leads/lead/" + (f"?{theirs}" if theirs else "")
                ms, admin_ms = timed_pair(session, [ours_url, admin_url], args.requests)
                print(f"{label:<16}{ms:13.1f}{admin_ms:10.1f}{admin_ms / ms:7.1f}x")
    finally:
        for proc in reversed(processes):
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
