"""CPU per request kind of the load test's mix, in one process, without gunicorn: where the
web workers' CPU goes, to compare before and after a change (not a test, not a target).

    .venv/bin/python loadtest/request_cpu.py [--actions 3000] [--agents 10] [--cprofile 25]
        [--kinds list,detail] [--reuse]

Sets up as `make loadtest` does (its own SQLite database var/loadprofile.sqlite3, migrate, the
sandbox with 2,000 chats at 100 ms latency and 5 % failures, a first sync, the agent accounts,
collectstatic) and then, in this process, with the environment gunicorn gets there (DEBUG off,
production security settings behind the imitated TLS proxy, per-process cache), drives the load
test's own agents (loadtest/agent.py) through django.test.Client with CSRF checks on. The agents
take turns, one action each, on a clock of their own that their think time moves on (so the
badges poll every 5 s of their time, as in the load test). Every request's CPU
(time.process_time) is recorded by kind; the kinds are the load test's, plus the views the
frame polls that the agents do not ask for (the sync badge, the new-leads bar, the queues
panel) measured apart at the end. --cprofile N prints the N functions with the most own CPU
time over the agents' actions and keeps each kind's profile in var/loadprofile/<kind>.pstats
(cProfile's own cost inflates the per-kind figures of that run). --reuse keeps the database of
the previous run (the sandbox starts again with fresh chats, so some edits may conflict):
quicker, for trying a change.

With DATABASE_URL=postgres://… it runs on PostgreSQL instead (database `<name>_loadprofile`
beside the URL's, created anew unless --reuse) and reports, beside this process's CPU, the CPU
the request's PostgreSQL backend used (read from /proc, so the server must be on this machine).

Run it under `flock /tmp/bench.lock` like every measurement on the shared machine.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import secrets
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as loadtest  # noqa: E402
from agent import ACTIONS, Agent  # noqa: E402
from faults import Proc  # noqa: E402
from services import (  # noqa: E402
    PY,
    ROOT,
    is_postgres,
    postgres_database,
    shell_json,
    stop_all,
    wait_http,
)
from snippets import CREATE_USERS, LEADS_AND_SETTINGS  # noqa: E402

HOST = "127.0.0.1:8000"
BASE = f"http://{HOST}"
DB_PATH = ROOT / "var" / "loadprofile.sqlite3"
LOG_DIR = ROOT / "var" / "loadprofile"
# Seconds of an agent's clock a request takes (the think time is the rest).
REQUEST_SECONDS = 0.1


class Answer:
    """What agent.py reads of a `requests` response, from a Django test response."""

    def __init__(self, response):
        self.status_code = response.status_code
        self.headers = response.headers
        self.text = b"".join(response).decode() if response.streaming else response.content.decode()


class ClientSession:
    """A `requests.Session` stand-in over django.test.Client that records the CPU of each call."""

    def __init__(self, client, record, profiles=None):
        self.client = client
        self.record = record
        self.profiles = profiles  # {kind: cProfile.Profile} when profiling
        self.headers: dict[str, str] = {}
        self.cookies: list = []  # the test client keeps its cookies itself
        self.kind = ""

    def request(self, method, url, *, data=None, headers=None, **_ignored):
        from urllib.parse import urlencode

        path = url.removeprefix(BASE)
        headers = {**self.headers, **(headers or {})}
        profile = None
        if self.profiles is not None:
            profile = self.profiles.setdefault(self.kind, cProfile.Profile(time.process_time))
            profile.enable()
        started, db_started = time.process_time(), backend_cpu()
        if method == "POST":
            response = self.client.post(
                path,
                urlencode(data or {}),
                content_type="application/x-www-form-urlencoded",
                headers=headers,
            )
        else:
            response = self.client.get(path, headers=headers)
        answer = Answer(response)
        self.record(self.kind, time.process_time() - started, backend_cpu_since(db_started))
        if profile is not None:
            profile.disable()
        return answer


def backend_cpu() -> tuple[int, float]:
    """(pid, CPU seconds used) of the PostgreSQL backend of this thread's connection; (0, 0) on
    SQLite or without a connection."""
    from django.db import connection

    if connection.vendor != "postgresql" or connection.connection is None:
        return 0, 0.0
    pid = connection.connection.info.backend_pid
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return pid, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_cpu_since(before: tuple[int, float]) -> float:
    pid, used = backend_cpu()
    return used - before[1] if pid == before[0] else used


class ProfiledAgent(Agent):
    """An agent on its own clock: thinking moves the clock instead of sleeping."""

    def __post_init__(self):
        super().__post_init__()
        self.clock = 0.0

    def think(self, low: float = 0.5, high: float = 2.0) -> None:
        self.clock += self.rng.uniform(low, high)

    def request(self, kind, method, path, **kwargs):
        self.session.kind = kind
        self.clock += REQUEST_SECONDS
        return super().request(kind, method, path, **kwargs)

    def background(self, path: str) -> None:
        if self.clock >= self.next_poll:
            self.next_poll = self.clock + 5
            self.request("poll_counts", "GET", "/changes/counts/", htmx=True, referer=path)

    def act(self) -> None:
        kinds, weights = zip(*ACTIONS, strict=True)
        getattr(self, f"do_{self.rng.choices(kinds, weights)[0]}")()
        self.think()


def set_up(reuse: bool) -> tuple[loadtest.Run, loadtest.Team]:
    """The load test's set-up, into this tool's own database and log folder."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    url = os.environ.get("DATABASE_URL", "")
    if is_postgres(url):
        _name, run_url, _admin = postgres_database(url, "loadprofile", fresh=not reuse)
        run = loadtest.environment("PostgreSQL", run_url, None)
    else:
        if not reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{DB_PATH}{suffix}").unlink(missing_ok=True)
        run = loadtest.environment("SQLite", f"sqlite:///{DB_PATH}", None)
    run.logs = {name: LOG_DIR / f"{name}.log" for name in loadtest.LOG_NAMES}
    run.env["ALLOWED_HOSTS"] = HOST.split(":")[0]
    if reuse:  # the sandbox only (edits are sent to it), and the accounts again
        run.procs["sandbox"] = Proc("sandbox", _sandbox_args(run), run.env, run.logs["sandbox"])
        run.procs["sandbox"].start()
        wait_http(f"{run.sandbox}/_sandbox/health", 60, {"x-bot-token": loadtest.SANDBOX_TOKEN})
        password = secrets.token_urlsafe(16)
        names = [f"agent{i:02d}" for i in range(1, loadtest.USERS + 1)]
        payload = json.dumps([names, password])
        shell_json(CREATE_USERS.replace("{payload}", payload), run.env, run.logs["setup"])
        found = shell_json(LEADS_AND_SETTINGS, run.env, run.logs["setup"])
        return run, loadtest.Team(names, password, found["uuids"], found["proxy_ssl"], {})
    return run, loadtest.set_up(run)


def _sandbox_args(run: loadtest.Run) -> list[str]:
    args = ["--port", str(run.sandbox_port), "--chats", str(loadtest.CHATS), "--page-size", "20"]
    return [PY, "manage.py", "botpenguin_sandbox", *args, "--latency-ms", "100"]


def start_django(run: loadtest.Run) -> None:
    """Django in this process with the environment gunicorn gets in the load test."""
    os.environ.update(run.env)
    os.environ["LOG_LEVEL"] = "WARNING"  # as INFO, but without this tool's own noise
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "botpanel.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def make_agents(run: loadtest.Run, team: loadtest.Team, count: int, record) -> list[Agent]:
    from django.test import Client

    shares = [team.uuids[i::count] for i in range(count)]
    agents = []
    for i, name in enumerate(team.names[:count]):
        agent = ProfiledAgent(
            base_url=BASE,
            username=name,
            password=team.password,
            owned=shares[i],
            deadline=float("inf"),
            started=time.monotonic(),
            seed=1000 + i,
            proxy_https=team.proxy_https,
        )
        agent.session = ClientSession(Client(enforce_csrf_checks=True, HTTP_HOST=HOST), record)
        agent.session.headers.update(
            {"User-Agent": "BotPanel-loadprofile/1.0", "X-Forwarded-Proto": "https"}
        )
        if not agent.login():
            raise SystemExit(f"{name} could not sign in: {agent.failures}")
        agent.warming = False
        agents.append(agent)
    return agents


def extra_kinds(agent: Agent, times: int) -> None:
    """Requests the browsers' pages make that the load test's agents do not."""
    for kind, path in (
        ("poll_sync", "/sync/status/"),
        ("new_leads", "/new-leads/?since=1"),
        ("queues_panel", "/views/panel/"),
    ):
        for _ in range(times):
            agent.request(kind, "GET", path, htmx=True, referer="/leads/")


def report(cpu: dict[str, list[float]], db: dict[str, list[float]], wanted: set[str] | None):
    mix = [k for k in cpu if k not in ("login", "static")]
    total = sum(sum(cpu[k]) for k in mix)
    count = sum(len(cpu[k]) for k in mix)
    db_total = sum(sum(db[k]) for k in mix)
    print(f"\n{'kind':<14}{'n':>6}{'mean ms':>9}{'median':>8}{'p90':>7}{'share':>7}{'db mean':>9}")
    for kind, values in sorted(cpu.items(), key=lambda i: -sum(i[1])):
        if wanted and kind not in wanted:
            continue
        values_ms = sorted(v * 1000 for v in values)
        share = 100 * sum(values) / total if kind in mix else 0
        p90 = values_ms[int(0.9 * (len(values_ms) - 1))]
        print(
            f"{kind:<14}{len(values):>6}{statistics.fmean(values_ms):>9.2f}"
            f"{statistics.median(values_ms):>8.2f}{p90:>7.2f}{share:>6.1f}%"
            f"{1000 * statistics.fmean(db[kind]):>9.2f}"
        )
    each, db_each = 1000 * total / max(1, count), 1000 * db_total / max(1, count)
    print(f"all but login and static: {count} requests, {each:.2f} ms each", end="")
    print(f" (+ {db_each:.2f} ms in PostgreSQL)" if db_total else "")


def print_profiles(profiles: dict[str, cProfile.Profile], top: int) -> None:
    """The `top` functions by own time over every kind; each kind's profile is kept in
    var/loadprofile/<kind>.pstats (read it with pstats: sort by cumulative time, callers…)."""
    for kind, profile in profiles.items():
        profile.dump_stats(LOG_DIR / f"{kind}.pstats")
    out = io.StringIO()
    stats = pstats.Stats(*profiles.values(), stream=out).sort_stats("tottime")
    stats.print_stats(top)
    print(out.getvalue().split("\n", 4)[-1])
    print(f"Profiles by kind: {LOG_DIR}/<kind>.pstats (cProfile roughly doubles the CPU above)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--actions", type=int, default=3000)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--cprofile", type=int, default=0)
    parser.add_argument("--kinds", default="", help="comma-separated kinds to report")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    loadtest.handle_signals()
    cpu: dict[str, list[float]] = defaultdict(list)
    db: dict[str, list[float]] = defaultdict(list)

    def record(kind: str, seconds: float, db_seconds: float) -> None:
        cpu[kind].append(seconds)
        db[kind].append(db_seconds)

    try:
        t0 = time.monotonic()
        run, team = set_up(args.reuse)
        print(f"Set up in {time.monotonic() - t0:.0f} s: {len(team.uuids)} leads.", flush=True)
        start_django(run)
        agents = make_agents(run, team, args.agents, record)
        for agent in agents:  # the sign-in pages and the static files are not the mix
            agent.clock = 0.0
        for kind in ("login", "list", "tags", "poll_counts", "static"):
            cpu.pop(kind, None)
            db.pop(kind, None)
        profiles: dict[str, cProfile.Profile] | None = {} if args.cprofile else None
        for agent in agents:
            agent.session.profiles = profiles
        for _ in range(args.actions):
            min(agents, key=lambda a: a.clock).act()
        extra_kinds(agents[0], max(20, args.actions // 50))
        failures = [f for agent in agents for f in agent.failures]
        outcomes = defaultdict(int)
        for agent in agents:
            for edit in agent.edits:
                outcomes[f"{edit.via}:{edit.outcome}"] += 1
        report(cpu, db, set(filter(None, args.kinds.split(","))) or None)
        print("edits:", dict(sorted(outcomes.items())), "failures:", failures[:5])
        if profiles:
            print_profiles(profiles, args.cprofile)
    finally:
        stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
