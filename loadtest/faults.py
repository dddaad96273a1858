"""The faults of `LOADTEST_FAULTS=1`, injected during the measured window by one thread:

1. the sandbox (BotPenguin) stops for SANDBOX_DOWN_SECONDS (SIGTERM: it saves its state file and
   answers the requests in flight) and starts again from its state file, on the same port;
2. once it is back, the `db_worker` is killed with SIGKILL while it delivers an edit (it holds an
   open connection to the sandbox: its PUT is in flight; the client opens one per delivery and
   closes it) and another worker starts;
3. on PostgreSQL, every connection to the run's database is ended with pg_terminate_backend.

Each fault is recorded as a Window (seconds since the window began) for the summary."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from judge import TERMINATION, Window
from services import start, stop, wait_http

SANDBOX_DOWN_SECONDS = 20.0
SANDBOX_STOP_AT = 0.15  # of the window: the outage starts after the load has settled
TERMINATE_AT = 0.8  # of the window, after the other two faults
HUNT_POLL_SECONDS = 0.005
ESTABLISHED = "01"  # the TCP state in /proc/net/tcp


@dataclass
class Proc:
    """A process the faults stop and start again: how to start it, and the one running now."""

    name: str
    args: list[str]
    env: dict
    log: Path
    popen: subprocess.Popen | None = None

    def start(self) -> subprocess.Popen:
        self.popen = start(self.name, self.args, self.env, self.log)
        return self.popen


@dataclass
class FaultPlan:
    """What the faults act on. `bank_cpu` is called before a process is stopped, so that the CPU
    it used is counted; `pg_admin`/`pg_database`: None on SQLite."""

    seconds: float
    sandbox: Proc
    sandbox_health: str
    sandbox_headers: dict
    sandbox_port: int
    worker: Proc
    replacement_args: list[str]
    replacement_id: str
    pg_admin: str | None
    pg_database: str | None
    bank_cpu: Callable[[int | None], None] = lambda pid: None
    windows: list[tuple[str, float, float, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    killed_mid_delivery: bool = False

    def relative(self, started: float) -> list[Window]:
        """The windows in seconds since `started` (the measured window's monotonic start)."""
        return [Window(n, a - started, b - started, note) for n, a, b, note in self.windows]


def socket_inodes(pid: int) -> set[int]:
    """The inodes of the sockets process `pid` holds open."""
    found = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    found.add(int(target[8:-1]))
    return found


def tcp_peers(inodes: set[int]) -> dict[int, tuple[int, str]]:
    """(remote port, TCP state) of those of these sockets that are TCP sockets."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            next(f)
            for line in f:
                cols = line.split()
                if int(cols[9]) in inodes:
                    found[int(cols[9])] = (int(cols[2].rsplit(":", 1)[1], 16), cols[3])
    return found


def hunt_delivery(pid: int, port: int, deadline: float) -> bool:
    """Wait until process `pid` has a connection to the sandbox open (a PUT in flight); False if
    none opened before `deadline`. The TCP tables are read only when it holds a socket not yet
    known to lead elsewhere (its PostgreSQL connection, say)."""
    elsewhere: set[int] = set()
    while time.monotonic() < deadline:
        current = socket_inodes(pid)
        unknown = current - elsewhere
        if unknown:
            peers = tcp_peers(unknown)
            if any(p == (port, ESTABLISHED) for p in peers.values()):
                return True
            # Still connecting sockets are looked at again; the others lead elsewhere.
            elsewhere |= {i for i in unknown if peers.get(i, (0, ESTABLISHED))[1] == ESTABLISHED}
        elsewhere &= current
        time.sleep(HUNT_POLL_SECONDS)
    return False


# The processes the fault thread starts get SIGTERM when the thread that started them ends
# (PR_SET_PDEATHSIG follows the thread), so it lingers until the run stops everything.
_linger = threading.Event()


def release() -> None:
    """Let the fault thread end (the run is stopping its processes)."""
    _linger.set()


class FaultThread(threading.Thread):
    """Runs the plan's faults at their moments in the window that begins now."""

    def __init__(self, plan: FaultPlan):
        super().__init__(name="faults", daemon=True)
        self.plan = plan
        self.t0 = time.monotonic()
        self.done = threading.Event()

    def run(self) -> None:
        plan = self.plan
        try:
            self.sleep_until(SANDBOX_STOP_AT * plan.seconds)
            self.sandbox_outage()
            self.kill_worker(deadline=self.t0 + TERMINATE_AT * plan.seconds - 2)
            if plan.pg_admin:
                self.sleep_until(TERMINATE_AT * plan.seconds)
                self.terminate_connections()
        except (OSError, RuntimeError, subprocess.SubprocessError) as e:
            plan.errors.append(f"fault injection failed: {e!r}")
        finally:
            self.done.set()
        _linger.wait()

    def sleep_until(self, offset: float) -> None:
        time.sleep(max(0.0, self.t0 + offset - time.monotonic()))

    def sandbox_outage(self) -> None:
        plan = self.plan
        began = time.monotonic()
        plan.bank_cpu(plan.sandbox.popen.pid)
        stop(plan.sandbox.popen)
        self.sleep_until(began - self.t0 + SANDBOX_DOWN_SECONDS)
        plan.sandbox.start()
        wait_http(plan.sandbox_health, 60, plan.sandbox_headers)
        note = f"SIGTERM, started again from its state file {SANDBOX_DOWN_SECONDS:.0f} s later"
        plan.windows.append(("sandbox down", began, time.monotonic(), note))

    def kill_worker(self, deadline: float) -> None:
        plan = self.plan
        victim = plan.worker.popen
        found = hunt_delivery(victim.pid, plan.sandbox_port, deadline)
        began = time.monotonic()
        plan.bank_cpu(victim.pid)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        plan.killed_mid_delivery = found
        plan.worker.args = plan.replacement_args
        plan.worker.start()
        wait_for_line(plan.worker.log, f"worker_id={plan.replacement_id}", 60)
        what = "while its PUT to the sandbox was open" if found else "no delivery seen in time"
        note = f"SIGKILL {what}; {plan.replacement_id} started"
        plan.windows.append(("worker killed", began, time.monotonic(), note))

    def terminate_connections(self) -> None:
        import psycopg

        plan = self.plan
        with psycopg.connect(plan.pg_admin, autocommit=True) as conn:
            plan.bank_cpu(None)
            began = time.monotonic()
            rows = conn.execute(
                "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [plan.pg_database],
            ).fetchall()
            ended = time.monotonic()
        note = f"pg_terminate_backend ended {sum(1 for _, ok in rows if ok)} of {len(rows)}"
        plan.windows.append((TERMINATION, began, ended, note))


def wait_for_line(log: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{text!r} did not appear in {log} within {timeout:.0f} s")
        time.sleep(0.1)


def database_name(run_url: str) -> str:
    return urlsplit(run_url).path.lstrip("/")
