"""CPU accounting for a load test run: how busy the (shared) machine was during the measured
window, and which of the run's processes used the CPU."""

from __future__ import annotations

import contextlib
import os
import resource
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

from services import running_children

TICK = os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / TICK, sum(fields[:8]) / TICK


def process_tree() -> tuple[dict[int, int], dict[int, float]]:
    """(parent of each process, CPU seconds it and its reaped children used so far) for every
    process on the machine."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        rest = text.rsplit(")", 1)[1].split()
        parents[int(text.split(" ", 1)[0])] = int(rest[1])
        # Its own CPU and that of the children it has reaped: gunicorn replaces its workers
        # (max_requests), and a replaced worker's CPU must not vanish from the total.
        cpu[int(text.split(" ", 1)[0])] = sum(int(v) for v in rest[11:15]) / TICK
    return parents, cpu


def tree_cpu() -> dict[tuple[str, int], float]:
    """CPU seconds used so far by each running child and its descendants (gunicorn's workers),
    by (name, pid): a process started again under the same name is counted apart."""
    parents, cpu = process_tree()
    out: dict[tuple[str, int], float] = defaultdict(float)
    for name, root in running_children():
        for pid in cpu:
            p = pid
            while p > 1 and p != root:
                p = parents.get(p, 1)
            if p == root:
                out[(name, root)] += cpu[pid]
    return out


def pid_cpu(pids) -> dict[int, float]:
    out = {}
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[pid] = (int(rest[11]) + int(rest[12])) / TICK
    return out


def postgres_backends(run_url: str, admin: str | None):
    """A function listing the PostgreSQL server processes serving the load test's database (their
    CPU is this test's too, though they are not its children); None on SQLite."""
    if admin is None:
        return None
    import psycopg

    name = urlsplit(run_url).path.lstrip("/")

    def pids() -> list[int]:
        with psycopg.connect(admin, autocommit=True) as conn:
            rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [name])
            return [row[0] for row in rows]

    return pids


def own_cpu() -> tuple[float, float]:
    """(this process: the agents' threads, finished children: syncs and other commands)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


class CpuWindow:
    """CPU use from its creation until `report()`: the machine's, and each of the run's parts.
    `bank()` before a process is stopped keeps what it used (the faults stop some)."""

    def __init__(self, backends=None):
        self.machine, self.trees, self.own = machine_cpu(), tree_cpu(), own_cpu()
        self.backends = backends
        self.pg = pid_cpu(backends()) if backends else {}
        self.banked: dict[str, float] = defaultdict(float)
        self.reaped = 0.0  # lifetime CPU of the stopped processes, which RUSAGE_CHILDREN counts
        self.t = time.monotonic()

    def bank(self, stopping: int | None = None) -> None:
        """Count what `stopping` (a child about to be stopped) used so far and, on PostgreSQL,
        what every backend did (the faults end them all)."""
        if stopping is not None:
            for key, value in tree_cpu().items():
                if key[1] == stopping:
                    self.banked[key[0]] += value - self.trees.pop(key, 0.0)
                    self.reaped += value
        if self.backends:
            now = pid_cpu(self.backends())
            self.banked["postgres"] += sum(v - self.pg.get(pid, 0.0) for pid, v in now.items())
            self.pg = now

    def parts(self, trees: dict, me: float, kids: float) -> dict[str, float]:
        """CPU seconds each part of the run used in the window, from the figures at its end."""
        parts = defaultdict(float, self.banked)
        for key, value in trees.items():
            parts[key[0]] += value - self.trees.get(key, 0.0)
        parts["agents (load generator)"] = me - self.own[0]
        if self.backends:
            now = pid_cpu(self.backends())
            parts["postgres"] += sum(v - self.pg.get(pid, 0.0) for pid, v in now.items())
        parts["sync runs"] = kids - self.own[1] - self.reaped
        return dict(parts)

    def report(self) -> dict:
        busy0, total0 = self.machine
        busy1, total1 = machine_cpu()
        trees = tree_cpu()
        me, kids = own_cpu()
        seconds = time.monotonic() - self.t
        parts = self.parts(trees, me, kids)
        ours = sum(parts.values())
        cores = os.cpu_count() or 1
        machine_pct = 100 * (busy1 - busy0) / max(1e-9, total1 - total0)
        ours_pct = 100 * ours / (seconds * cores)
        return {
            "seconds": round(seconds, 1),
            "cores": cores,
            "machine_busy_pct": round(machine_pct, 1),
            "ours_pct": round(ours_pct, 1),
            "others_pct": round(machine_pct - ours_pct, 1),
            "cpu_seconds": {k: round(v, 1) for k, v in sorted(parts.items(), key=lambda i: -i[1])},
        }
