"""`make loadtest`: BotPanel under 20 agents for 60 s, with a worker and a sync running, against
the sandbox at 100 ms latency and 5 % failures. Loopback only; stops by itself.

    .venv/bin/python loadtest/run.py            # SQLite: var/loadtest.sqlite3
    DATABASE_URL=postgres://u@127.0.0.1:5432/x .venv/bin/python loadtest/run.py   # database x_loadtest

Environment: LOADTEST_SECONDS (60), LOADTEST_USERS (20), LOADTEST_CHATS (2000), LOADTEST_WEB_WORKERS
(4), LOADTEST_DRAIN_SECONDS (90, how long the worker gets to deliver what is pending at the end),
LOADTEST_KEEP_DB=1 (keep the PostgreSQL database afterwards).

Steps: a fresh database of its own, migrate, the sandbox on a free port, a first sync, 20 agent
accounts, collectstatic, then gunicorn (deploy/gunicorn.conf.py, 4 workers, DEBUG off), one
`db_worker`, `run_scheduler` (delivery sweeps, heartbeats) and a sync loop (incremental syncs, two
of them --full). Then the agents (loadtest/agent.py). Then: wait until nothing is pending (the
worker, then `deliver_changes` if needed), check every accepted status edit against the sandbox's
final state of its lead, grep the logs for "database is locked", print the summary and exit
non-zero unless: no 5xx, no unanswered request, no "database is locked", no lost edit, p95 under
300 ms. Every process it starts is stopped at the end, on success, failure or Ctrl-C.

Plain threads with requests.Session rather than locust: people with a person's think time make few
requests per second, which threads generate easily; no extra dependency (gevent) in the project;
and each agent keeps an exact record of its edits, which the lost-edit check needs.

The parts: loadtest/agent.py (one simulated agent), services.py (processes and the database),
cpu.py (CPU accounting), snippets.py (Python run in `manage.py shell`), report.py (the summary and
the targets).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

# The sibling modules import each other by name, wherever the load test is started from.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from agent import Agent, run_agents  # noqa: E402
from cpu import CpuWindow, postgres_backends  # noqa: E402
from report import Delivery, Load, Verification, summarize  # noqa: E402
from services import (  # noqa: E402
    AGENT_NICE,
    GUNICORN,
    PY,
    ROOT,
    database,
    drop_database,
    free_port,
    int_env,
    manage,
    pending_changes,
    shell_json,
    start,
    stop_all,
    wait_http,
)
from snippets import (  # noqa: E402
    CHANGE_STATES,
    CREATE_USERS,
    LEADS_AND_SETTINGS,
    MIRROR_STATUS,
    SYNC_LOOP,
)

SANDBOX_TOKEN = "sandbox-token"
SECONDS = int_env("LOADTEST_SECONDS", 60)
USERS = int_env("LOADTEST_USERS", 20)
CHATS = int_env("LOADTEST_CHATS", 2000)
WEB_WORKERS = int_env("LOADTEST_WEB_WORKERS", 4)
DRAIN_SECONDS = int_env("LOADTEST_DRAIN_SECONDS", 90)
RAMP_SECONDS = min(10.0, SECONDS / 6)
LOG_DIR = ROOT / "var" / "loadtest"
LOG_NAMES = ("setup", "sandbox", "gunicorn", "worker", "scheduler", "sync", "drain")


class Stop(Exception):
    """SIGTERM / SIGHUP: unwind and clean up like Ctrl-C."""


def _raise_stop(signum, _frame):
    raise Stop(f"signal {signum}")


@dataclass
class Run:
    """Where the run's database, servers and logs are, and the environment its commands get."""

    engine: str
    db_url: str
    admin: str | None
    sandbox_port: int
    base: str
    sandbox: str
    env: dict[str, str]
    logs: dict[str, Path]


@dataclass
class Team:
    """The agents' accounts and the leads they share out."""

    names: list[str]
    password: str
    uuids: list[str]
    proxy_https: bool
    how: dict


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


def environment(engine: str, db_url: str, admin: str | None) -> Run:
    """Free ports, log files and the settings every command of the run gets."""
    sandbox_port, web_port = free_port(), free_port()
    base = f"http://127.0.0.1:{web_port}"
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOTPANEL_TESTING",))}
    env.update(
        DATABASE_URL=db_url,
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),  # throwaway
        ALLOWED_HOSTS="127.0.0.1",
        BOTPENGUIN_API_URL=sandbox,
        BOTPENGUIN_API_TOKEN=SANDBOX_TOKEN,
        BOTPENGUIN_BOT_ID="sandbox-bot",
        BOTPENGUIN_CUSTOMER_ID="sandbox-customer",
        SYNC_EVERY_MINUTES="0",  # the sync loop below does the syncing
        DELIVERY_SWEEP_SECONDS="10",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
        # gunicorn behind nginx, as in deploy/: nginx terminates TLS and says so in
        # X-Forwarded-Proto, which the agents send.
        SECURE_PROXY_SSL_HEADER="true",
        WEB_CONCURRENCY=str(WEB_WORKERS),
        GUNICORN_BIND=f"127.0.0.1:{web_port}",
        GUNICORN_FORWARDED_ALLOW_IPS="127.0.0.1",
    )
    logs = {name: LOG_DIR / f"{name}.log" for name in LOG_NAMES}
    return Run(engine, db_url, admin, sandbox_port, base, sandbox, env, logs)


def set_up(run: Run) -> Team:
    """Migrate, start the sandbox, mirror it once, create the agents and collect static files."""
    env, log = run.env, run.logs["setup"]
    manage("migrate", "--noinput", "-v", "0", env=env, log=log)
    sandbox_args = ["--port", str(run.sandbox_port), "--chats", str(CHATS), "--page-size", "20"]
    sandbox_args += ["--latency-ms", "100", "--fail-rate", "0.05"]
    sandbox = [PY, "manage.py", "botpenguin_sandbox", *sandbox_args]
    start("sandbox", sandbox, env, run.logs["sandbox"])
    wait_http(f"{run.sandbox}/_sandbox/health", 60, {"x-bot-token": SANDBOX_TOKEN})
    for attempt in range(3):  # with 5% failures a first sync may give up; try again
        if manage("sync_leads", "--no-progress", env=env, log=log, check=attempt == 2) == 0:
            break
    names = [f"agent{i:02d}" for i in range(1, USERS + 1)]
    password = secrets.token_urlsafe(16)
    how = shell_json(CREATE_USERS.replace("{payload}", json.dumps([names, password])), env, log)
    manage("collectstatic", "--noinput", "-v", "0", env=env, log=log)
    found = shell_json(LEADS_AND_SETTINGS, env, log)
    if found["ssl_redirect"] and not found["proxy_ssl"]:
        raise RuntimeError("SSL redirect is on without a proxy SSL header: nothing to test")
    return Team(names, password, found["uuids"], found["proxy_ssl"], how)


def start_services(run: Run) -> None:
    """gunicorn, the worker and the scheduler, as in production; returns once gunicorn answers."""
    gunicorn = [GUNICORN, "-c", "deploy/gunicorn.conf.py", "botpanel.wsgi"]
    start("gunicorn", gunicorn, run.env, run.logs["gunicorn"])
    start("worker", [PY, "manage.py", "db_worker", "--no-reload"], run.env, run.logs["worker"])
    start("scheduler", [PY, "manage.py", "run_scheduler"], run.env, run.logs["scheduler"])
    wait_http(f"{run.base}/healthz", 60)


def make_agents(run: Run, team: Team) -> list[Agent]:
    """One agent per account, each with its own share of the leads to edit."""
    shares = [team.uuids[i::USERS] for i in range(USERS)]
    far = time.monotonic() + 3600  # until they are all logged in
    return [
        Agent(
            base_url=run.base,
            username=name,
            password=team.password,
            owned=shares[i],
            deadline=far,
            started=time.monotonic(),
            seed=1000 + i,
            proxy_https=team.proxy_https,
        )
        for i, name in enumerate(team.names)
    ]


def apply_load(run: Run, agents: list[Agent], agent_nice: int) -> Load:
    """The measured window: the agents at work while the sync loop runs beside them."""
    window: dict = {}

    def on_start() -> None:  # all agents logged in: the measured window begins
        window["cpu"] = CpuWindow(postgres_backends(run.db_url, run.admin))
        sync_env = {**run.env, "LOADTEST_SYNC_SECONDS": str(SECONDS)}
        sync = [PY, "manage.py", "shell", "-c", SYNC_LOOP]
        window["sync"] = start("sync", sync, sync_env, run.logs["sync"])

    started = run_agents(agents, RAMP_SECONDS, SECONDS, on_start)
    window["sync"].wait(300)
    load_seconds = time.monotonic() - started
    cpu_use = window["cpu"].report()
    sync_runs = []
    for line in run.logs["sync"].read_text(errors="replace").splitlines():
        if line.startswith("SYNCRUN "):
            kind, failed, took, at = line.split()[1:]
            sync_runs.append((kind, int(failed), float(took), float(at)))
    return Load(run.engine, agent_nice, USERS, RAMP_SECONDS, load_seconds, cpu_use, sync_runs)


def drain(run: Run) -> Delivery:
    """Wait for the worker to deliver what is pending, then run `deliver_changes` if needed."""
    t_drain = time.monotonic()
    pending, failed = pending_changes(run.base)
    while pending > 0 and time.monotonic() - t_drain < DRAIN_SECONDS:
        time.sleep(1)
        pending, failed = pending_changes(run.base)
    forced = 0
    while pending > 0 and forced < 10:
        forced += 1
        manage("deliver_changes", env=run.env, log=run.logs["drain"], timeout=120, check=False)
        pending, failed = pending_changes(run.base)
    return Delivery(time.monotonic() - t_drain, forced, pending, failed)


def verify(run: Run, agents: list[Agent]) -> Verification:
    """Compare the last accepted status edit of every lead with what the sandbox holds."""
    edits = [e for a in agents for e in a.edits]
    accepted = [e for e in edits if e.outcome in ("accepted", "pending")]
    last = {e.uuid: e for e in sorted(accepted, key=lambda e: e.answered_at)}
    lost = []
    remote_status = {}
    for uuid, e in last.items():
        r = requests.get(
            f"{run.sandbox}/_sandbox/chats/{uuid}",
            headers={"x-bot-token": SANDBOX_TOKEN},
            timeout=10,
        )
        remote = r.json().get("status") if r.status_code == 200 else f"HTTP {r.status_code}"
        remote_status[uuid] = remote
        if remote != e.status:
            lost.append((uuid, e.status, remote))
    states, missing = shell_json(CHANGE_STATES, run.env, run.logs["drain"])
    checked = Verification(edits, last, lost, states, missing)
    # Not a target, but worth knowing: does the mirror show what BotPenguin has for the edited
    # leads, now and after one more incremental sync?
    for when in ("now", "after a sync"):
        if when != "now":
            manage("sync_leads", "--no-progress", env=run.env, log=run.logs["drain"], check=False)
        code = MIRROR_STATUS.replace("{uuids}", json.dumps(list(last)))
        mirror = shell_json(code, run.env, run.logs["drain"])
        checked.mirror_stale.append(sum(mirror.get(u) != remote_status[u] for u in last))
    return checked


def measure(run: Run, agent_nice: int) -> tuple[list[Agent], Load, Delivery, Verification]:
    """Everything from the empty database to the checked edits."""
    t_setup = time.monotonic()
    team = set_up(run)
    start_services(run)
    how = team.how
    print(
        f"Set up in {time.monotonic() - t_setup:.0f} s: {len(team.uuids)} leads mirrored, "
        f"{USERS} agents ({'createagent' if how['createagent'] else 'shell'}"
        f"{', group Agent' if how['group'] or how['createagent'] else ''}).",
        flush=True,
    )
    agents = make_agents(run, team)
    load = apply_load(run, agents, agent_nice)
    print(
        f"Load done in {load.seconds:.0f} s; waiting for the worker to deliver what is pending…",
        flush=True,
    )
    delivery = drain(run)
    return agents, load, delivery, verify(run, agents)


def main() -> int:
    handle_signals()
    agent_nice = prioritize_agents()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    for old in LOG_DIR.glob("*.log"):
        old.unlink()
    engine, db_url, admin = database()
    print(
        f"Load test on {engine}: {USERS} agents for {SECONDS} s, {CHATS} chats, sandbox at "
        f"100 ms latency and 5% failures, gunicorn with {WEB_WORKERS} workers, load generator "
        f"at nice {agent_nice}. Logs: {LOG_DIR}"
    )
    run = environment(engine, db_url, admin)
    try:
        agents, load, delivery, checked = measure(run, agent_nice)
    except (KeyboardInterrupt, Stop) as e:
        print(
            f"\nLoad test interrupted ({str(e) or 'Ctrl-C'}); stopping everything.", file=sys.stderr
        )
        return 130
    except RuntimeError as e:
        print(f"Load test could not run: {e}", file=sys.stderr)
        return 2
    finally:
        stop_all()
        with contextlib.suppress(Exception):
            drop_database(db_url, admin)
    return summarize(load, agents, checked, delivery, LOG_DIR)


if __name__ == "__main__":
    sys.exit(main())
