"""`make loadtest`: BotPanel under 100 agents for 60 s, with a worker and a sync running, against
the sandbox at 100 ms latency and 5 % failures; with LOADTEST_FAULTS=1, while three faults hit it.
Loopback only; stops by itself.

    .venv/bin/python loadtest/run.py            # SQLite: var/loadtest.sqlite3
    DATABASE_URL=postgres://u@127.0.0.1:5432/x .venv/bin/python loadtest/run.py   # database x_loadtest

Environment: LOADTEST_SECONDS (60), LOADTEST_USERS (100), LOADTEST_FAULTS (0; 1 needs 50 s or
more), LOADTEST_CHATS (2000), LOADTEST_WEB_WORKERS (4), LOADTEST_DRAIN_SECONDS (90, how long the
worker gets to deliver what is pending at the end), LOADTEST_AGENT_NICE (-5), LOADTEST_KEEP_DB=1
(keep the PostgreSQL database afterwards).

Steps: a fresh database of its own, migrate, the sandbox on a free port (with a state file when
faults are on), a first sync, the agent accounts, collectstatic, then gunicorn
(deploy/gunicorn.conf.py, 4 workers, DEBUG off), one `db_worker`, `run_scheduler` (delivery sweeps,
heartbeats) and a sync loop (incremental syncs, two of them --full). Then the agents
(loadtest/agent.py) log in, spread out, and work for the measured window. Then: wait until nothing
is pending (the worker, then `deliver_changes` if needed), check every accepted status edit against
the sandbox's final state of its lead, grep the logs for "database is locked", print the summary
and exit non-zero unless: no 5xx, no unanswered request, no "database is locked", no lost edit,
nothing left pending, p95 under 300 ms, BotPanel's processes all still running. Every process it
starts is stopped at the end, on success, failure or Ctrl-C.

LOADTEST_FAULTS=1 (loadtest/faults.py), during the window: at 15 % of it the sandbox is stopped
(SIGTERM) for 20 s and started again from its state file on the same port; once it is back, the
`db_worker` is killed with SIGKILL while a PUT of its delivery is open (seen in /proc: it holds a
connection to the sandbox) and a second worker starts; on PostgreSQL, at 80 % of the window, every
connection to the run's database is ended with pg_terminate_backend. Each fault is a window from
the moment it hit to the moment the system was whole again (the sandbox answering, the new worker
running, the terminations returned), printed as a timeline. The targets then become
(loadtest/judge.py): 5xx only for requests open during a connection-termination second, p95 under
300 ms over the requests open during no fault window, every pending edit delivered by the worker
(no `deliver_changes` by hand), each fault injected and the worker killed mid-delivery; an edit
answered 5xx or not at all may have been saved, so BotPenguin holding it is not counted as lost.

Plain threads with requests.Session rather than locust: people with a person's think time make few
requests per second, which threads generate easily; no extra dependency (gevent) in the project;
and each agent keeps an exact record of its edits, which the lost-edit check needs.

The parts: loadtest/agent.py (one simulated agent), services.py (processes and the database),
faults.py (the faults), judge.py (the rules about fault windows and lost edits), cpu.py (CPU
accounting), snippets.py (Python run in `manage.py shell`), report.py (the summary and the
targets).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

# The sibling modules import each other by name, wherever the load test is started from.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from agent import Agent, run_agents  # noqa: E402
from cpu import CpuWindow, postgres_backends  # noqa: E402
from faults import FaultPlan, FaultThread, Proc, database_name, release  # noqa: E402
from judge import expected_statuses, lost_edits  # noqa: E402
from report import Delivery, Load, Verification, summarize  # noqa: E402
from services import (  # noqa: E402
    GUNICORN,
    PY,
    ROOT,
    Stop,
    database,
    drop_database,
    free_port,
    handle_signals,
    int_env,
    manage,
    pending_changes,
    prioritize_agents,
    running_children,
    shell_json,
    start,
    stop_all,
    wait_http,
)
from snippets import (  # noqa: E402
    CHANGE_STATES,
    CREATE_USERS,
    KILLED_TASKS,
    LEADS_AND_SETTINGS,
    MIRROR_STATUS,
    SYNC_LOOP,
)

SANDBOX_TOKEN = "sandbox-token"
SECONDS = int_env("LOADTEST_SECONDS", 60)
USERS = int_env("LOADTEST_USERS", 100)
CHATS = int_env("LOADTEST_CHATS", 2000)
WEB_WORKERS = int_env("LOADTEST_WEB_WORKERS", 4)
DRAIN_SECONDS = int_env("LOADTEST_DRAIN_SECONDS", 90)
FAULTS = int_env("LOADTEST_FAULTS", 0) == 1
# A login hashes the password (a quarter to half a second of CPU): people sign in spread out.
RAMP_SECONDS = min(max(10.0, USERS / 4), SECONDS / 2)
LOG_DIR = ROOT / "var" / "loadtest"
LOG_NAMES = ("setup", "sandbox", "gunicorn", "worker", "scheduler", "sync", "drain")
SANDBOX_STATE = LOG_DIR / "sandbox-state.json"
WORKER_IDS = ("loadtest-worker-1", "loadtest-worker-2")  # the first is killed by the faults
# The long-running processes a fault must not bring down (the killed worker aside).
SERVICES = ("gunicorn", "worker", "scheduler", "sandbox")


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
    procs: dict[str, Proc] = field(default_factory=dict)


@dataclass
class Team:
    """The agents' accounts and the leads they share out."""

    names: list[str]
    password: str
    uuids: list[str]
    proxy_https: bool
    how: dict


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
    if FAULTS:  # the outage restarts it: its chats and every PUT it took survive in the file
        SANDBOX_STATE.unlink(missing_ok=True)
        sandbox_args += ["--state-file", str(SANDBOX_STATE)]
    sandbox = [PY, "manage.py", "botpenguin_sandbox", *sandbox_args]
    run.procs["sandbox"] = Proc("sandbox", sandbox, env, run.logs["sandbox"])
    run.procs["sandbox"].start()
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
    run.procs["worker"] = Proc("worker", worker_args(WORKER_IDS[0]), run.env, run.logs["worker"])
    run.procs["worker"].start()
    start("scheduler", [PY, "manage.py", "run_scheduler"], run.env, run.logs["scheduler"])
    wait_http(f"{run.base}/healthz", 60)


def worker_args(worker_id: str) -> list[str]:
    return [PY, "manage.py", "db_worker", "--no-reload", "--worker-id", worker_id]


def plan_faults(run: Run, cpu: CpuWindow) -> FaultPlan:
    """The faults of LOADTEST_FAULTS=1, on this run's processes."""
    return FaultPlan(
        seconds=SECONDS,
        sandbox=run.procs["sandbox"],
        sandbox_health=f"{run.sandbox}/_sandbox/health",
        sandbox_headers={"x-bot-token": SANDBOX_TOKEN},
        sandbox_port=run.sandbox_port,
        worker=run.procs["worker"],
        replacement_args=worker_args(WORKER_IDS[1]),
        replacement_id=WORKER_IDS[1],
        pg_admin=run.admin,
        pg_database=database_name(run.db_url) if run.admin else None,
        bank_cpu=cpu.bank,
    )


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
        if FAULTS:
            window["faults"] = FaultThread(plan_faults(run, window["cpu"]))
            window["faults"].start()

    started = run_agents(agents, RAMP_SECONDS, SECONDS, on_start)
    window["sync"].wait(300)
    load_seconds = time.monotonic() - started
    cpu_use = window["cpu"].report()
    faults = None
    if FAULTS:
        window["faults"].done.wait(120)
        plan = window["faults"].plan
        faults = {
            "windows": plan.relative(started),
            "killed_mid_delivery": plan.killed_mid_delivery,
            "errors": plan.errors,
            "wall_start": time.time() - (time.monotonic() - started),
        }
    sync_runs = []
    for line in run.logs["sync"].read_text(errors="replace").splitlines():
        if line.startswith("SYNCRUN "):
            kind, failed, took, at = line.split()[1:]
            sync_runs.append((kind, int(failed), float(took), float(at)))
    down = sorted(name for name in SERVICES if name not in dict(running_children()))
    return Load(
        run.engine, agent_nice, USERS, RAMP_SECONDS, load_seconds, cpu_use, sync_runs, faults, down
    )


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
    expected = expected_statuses(edits)
    remote_status = {}
    for uuid in expected:
        r = requests.get(
            f"{run.sandbox}/_sandbox/chats/{uuid}",
            headers={"x-bot-token": SANDBOX_TOKEN},
            timeout=10,
        )
        remote = r.json().get("status") if r.status_code == 200 else f"HTTP {r.status_code}"
        remote_status[uuid] = remote
    last = {uuid: e for uuid, (e, _allowed) in expected.items()}
    lost = lost_edits(expected, remote_status)
    states, missing = shell_json(CHANGE_STATES, run.env, run.logs["drain"])
    checked = Verification(edits, last, lost, states, missing)
    checked.unanswered_kept = sum(remote_status[u] != e.status for u, e in last.items()) - len(lost)
    if FAULTS:  # what the killed worker was doing, and when that lead's edits went out after all
        code = KILLED_TASKS.replace("{worker_id}", WORKER_IDS[0])
        checked.killed = shell_json(code, run.env, run.logs["drain"])
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
    if FAULTS and SECONDS < 50:
        raise SystemExit("loadtest: LOADTEST_FAULTS=1 needs LOADTEST_SECONDS of 50 or more")
    engine, db_url, admin = database()
    print(
        f"Load test on {engine}: {USERS} agents for {SECONDS} s, {CHATS} chats, sandbox at "
        f"100 ms latency and 5% failures, gunicorn with {WEB_WORKERS} workers, load generator "
        f"at nice {agent_nice}{'; with faults' if FAULTS else ''}. Logs: {LOG_DIR}"
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
        release()
        stop_all()
        with contextlib.suppress(Exception):
            drop_database(db_url, admin)
    return summarize(load, agents, checked, delivery, LOG_DIR)


if __name__ == "__main__":
    sys.exit(main())
