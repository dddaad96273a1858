"""The processes and the database of a load test run: start and stop BotPanel's commands, gunicorn
and the sandbox, wait for them to answer, create and drop the run's own database."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
GUNICORN = str(Path(PY).with_name("gunicorn"))


def int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# The agents stand in for browsers on other machines, so they run at a higher CPU priority than
# the servers and a thread waiting for the CPU does not count as server latency (0 turns it off).
AGENT_NICE = int_env("LOADTEST_AGENT_NICE", -5)


class Stop(Exception):
    """SIGTERM / SIGHUP: unwind and clean up like Ctrl-C."""


def _raise_stop(signum, _frame):
    raise Stop(f"signal {signum}")


def handle_signals() -> None:
    """Unwind and clean up on SIGTERM, SIGHUP and Ctrl-C."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_stop)
    # Ctrl-C even when started from a shell that ignores SIGINT for background jobs.
    signal.signal(signal.SIGINT, signal.default_int_handler)


def prioritize_agents() -> int:
    """Run the load generator at LOADTEST_AGENT_NICE; returns the nice value it got."""
    if not AGENT_NICE:
        return 0
    try:
        os.setpriority(os.PRIO_PROCESS, 0, AGENT_NICE)  # children go back to 0
    except OSError:  # not root: everything at the same priority
        return 0
    return AGENT_NICE


_children: list[tuple[str, subprocess.Popen]] = []
_children_lock = threading.Lock()


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the load test itself dies (even by SIGKILL). Linux only.
    With LOADTEST_AGENT_NICE the load generator runs at another priority than the servers."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if AGENT_NICE:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, 0)


def start(name: str, args: list[str], env: dict, log: Path) -> subprocess.Popen:
    out = log.open("ab")
    proc = subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    out.close()
    with _children_lock:
        _children.append((name, proc))
    return proc


def running_children() -> list[tuple[str, int]]:
    """(name, pid) of every process started here that is still running."""
    with _children_lock:
        return [(name, proc.pid) for name, proc in _children if proc.poll() is None]


def stop(proc: subprocess.Popen, grace: float = 15.0) -> None:
    """SIGTERM to the process group (gunicorn's workers too), SIGKILL after `grace` seconds."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def stop_all() -> None:
    with _children_lock:
        children = list(reversed(_children))
    for _name, proc in children:
        stop(proc)


def manage(*args: str, env: dict, log: Path, timeout: float = 600, check: bool = True) -> int:
    """Run a management command to completion; its output goes to `log`, its exit code is
    returned."""
    proc = start(args[0], [PY, "manage.py", *args], env, log)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise RuntimeError(f"manage.py {' '.join(args)} took over {timeout:.0f} s") from None
    if check and proc.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed ({proc.returncode}); see {log}")
    return proc.returncode


def shell(code: str, env: dict, log: Path) -> str:
    """Run Python in `manage.py shell -c` and return what it printed."""
    result = subprocess.run(
        [PY, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_die_with_parent,
    )
    with log.open("a") as f:
        f.write(result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"manage.py shell failed: {result.stderr.strip()[-500:]}")
    return result.stdout


def shell_json(code: str, env: dict, log: Path):
    """Run Python in `manage.py shell -c` and decode the JSON on the last line it printed."""
    return json.loads(shell(code, env, log).strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float, headers: dict | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, headers=headers, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def pending_changes(base: str) -> tuple[int, int]:
    report = requests.get(f"{base}/healthz", timeout=10).json()
    return int(report.get("pending_changes", -1)), int(report.get("failed_changes", -1))


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://", "pgsql://"))


def postgres_database(url: str, suffix: str, *, fresh: bool = True) -> tuple[str, str, str]:
    """(name, URL, admin URL) of the database `<URL's name>_<suffix>` beside `url`'s, created
    anew when `fresh`."""
    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'postgres'}_{suffix}"
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    if fresh:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    return name, urlunsplit(parts._replace(path=f"/{name}")), admin


def database() -> tuple[str, str, str | None]:
    """(engine label, DATABASE_URL for the run, PostgreSQL admin URL to drop it afterwards)."""
    url = os.environ.get("DATABASE_URL", "")
    if is_postgres(url):
        name, run_url, admin = postgres_database(url, "loadtest")
        return f"PostgreSQL ({name})", run_url, admin
    if url and not url.startswith("sqlite"):
        raise SystemExit(f"loadtest: unsupported DATABASE_URL scheme {url.split(':', 1)[0]!r}")
    path = ROOT / "var" / "loadtest.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return "SQLite (var/loadtest.sqlite3)", f"sqlite:///{path}", None


def drop_database(run_url: str, admin: str | None) -> None:
    if admin is None or os.environ.get("LOADTEST_KEEP_DB"):
        return
    import psycopg

    name = urlsplit(run_url).path.lstrip("/")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
