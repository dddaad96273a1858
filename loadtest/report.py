"""The end of a load test run: the figures (percentiles per kind of request, syncs, CPU, edits),
the targets it must meet, and the files it leaves in the log folder (requests.csv, result.json)."""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from agent import Agent, Edit

P95_TARGET_MS = 300.0
# The background requests a page makes by itself, which are no action of the person's.
NOT_ACTIONS = ("static", "poll_counts", "poll_sync", "tags")
# gunicorn's access log line for a request that is neither a static file nor the login.
ACCESS_LINE = re.compile(
    r'"(?:GET|POST) (?!/static/|/accounts/login/)\S+ HTTP/1\.1" \d{3} \S+ (\d+)ms'
)


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


@dataclass
class Load:
    """The measured window: how long it lasted, the syncs during it and the CPU it took."""

    engine: str
    agent_nice: int
    users: int
    ramp_seconds: float
    seconds: float
    cpu: dict
    sync_runs: list[tuple[str, int, float, float]]


@dataclass
class Delivery:
    """Delivering what was still pending after the load: the worker, then `deliver_changes`."""

    seconds: float
    forced: int
    pending: int
    failed: int


@dataclass
class Verification:
    """The agents' status edits, checked against the sandbox and the queue of changes."""

    edits: list[Edit]
    last: dict[str, Edit]  # the last accepted edit of each lead
    lost: list[tuple[str, str, str]]  # (uuid, status set, status BotPenguin has)
    states: list[tuple[str, str, int]]  # (action, state, count) in the queue of changes
    missing: int
    mirror_stale: list[int] = field(default_factory=list)

    @cached_property
    def accepted(self) -> list[Edit]:
        return [e for e in self.edits if e.outcome in ("accepted", "pending")]

    @cached_property
    def outcomes(self) -> Counter:
        return Counter(e.outcome for e in self.edits)

    @cached_property
    def stale(self) -> Counter:
        return Counter(e.outcome for e in self.edits if e.via == "stale")

    @cached_property
    def change_states(self) -> Counter:
        counts = Counter()
        for action, state, n in self.states:
            if action == "status":
                counts[state] += n
        return counts


class Requests:
    """What the agents asked and how long it took, and what the logs say about the run."""

    def __init__(self, agents: list[Agent], log_dir: Path):
        self.all_hits = [h for a in agents for h in a.hits]
        self.hits = [h for h in self.all_hits if not h.warmup]  # the measured window
        self.warm = [h for h in self.all_hits if h.warmup]  # logging in, first page, static files
        self.logins = [h.ms for h in self.warm if h.kind == "login"]
        self.by_kind: dict[str, list[float]] = defaultdict(list)
        for h in self.hits:
            self.by_kind[h.kind].append(h.ms)
        self.dynamic = [h.ms for h in self.hits if h.kind != "static"]
        self.actions = [h.ms for h in self.hits if h.kind not in NOT_ACTIONS]
        self.five = [h for h in self.all_hits if h.status >= 500]
        self.unanswered = [h for h in self.all_hits if h.status == 0]
        logs = [path.read_text(errors="replace") for path in log_dir.glob("*.log")]
        self.locked = sum(text.lower().count("database is locked") for text in logs)
        self.tracebacks = sum(text.count("Traceback") for text in logs)
        self.statuses = Counter(h.status for h in self.hits)
        # gunicorn's own time per request: the difference to what the agents measured is time
        # spent waiting for a free worker (and on the loopback).
        access_log = (log_dir / "gunicorn.log").read_text(errors="replace")
        self.server = [float(m.group(1)) for m in ACCESS_LINE.finditer(access_log)]
        self.p95 = pct(self.dynamic, 95)


def print_requests(load: Load, req: Requests) -> None:
    statuses = ", ".join(f"{s or 'none'}: {n}" for s, n in sorted(req.statuses.items()))
    print()
    print(f"== BotPanel load test: {load.engine} ==")
    print(
        f"{len(req.hits)} requests in {load.seconds:.0f} s from {load.users} agents "
        f"({len(req.hits) / load.seconds:.1f}/s); HTTP statuses: {statuses}"
    )
    print(
        f"before the window: {len(req.warm)} requests while the agents logged in over "
        f"{load.ramp_seconds:.0f} s; login POST p50 {pct(req.logins, 50):.0f} ms, max "
        f"{max(req.logins, default=0):.0f} ms (password hashing)"
    )
    print(f"{'kind':<14}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for kind in sorted(req.by_kind, key=lambda k: -len(req.by_kind[k])):
        v = req.by_kind[kind]
        print(f"{kind:<14}{len(v):>6}{pct(v, 50):>9.0f}{pct(v, 95):>9.0f}{max(v):>9.0f}")
    print(
        f"overall (no static): p50 {pct(req.dynamic, 50):.0f} ms, p95 {req.p95:.0f} ms, "
        f"max {max(req.dynamic, default=0):.0f} ms; person's actions only: p95 "
        f"{pct(req.actions, 95):.0f} ms"
    )
    print(
        f"gunicorn's own time (access log, no static): p50 {pct(req.server, 50):.0f} ms, p95 "
        f"{pct(req.server, 95):.0f} ms over {len(req.server)} requests"
    )
    print(
        f"5xx: {len(req.five)}; unanswered: {len(req.unanswered)}; 'database is locked' in logs: "
        f"{req.locked}; tracebacks in logs: {req.tracebacks}"
    )


def print_load(load: Load) -> None:
    syncs = ", ".join(f"{k} {s:.1f} s{' FAILED' if c else ''}" for k, c, s, _ in load.sync_runs)
    cpu = load.cpu
    cpu_seconds = ", ".join(f"{k} {v}" for k, v in cpu["cpu_seconds"].items())
    print(f"syncs during the load: {len(load.sync_runs)} ({syncs})")
    print(
        f"CPU during the load ({cpu['cores']} cores): machine {cpu['machine_busy_pct']}% "
        f"busy, this test {cpu['ours_pct']}%, other work on the machine "
        f"{cpu['others_pct']}%; CPU seconds: {cpu_seconds}"
    )


def print_edits(checked: Verification, delivery: Delivery) -> None:
    outcomes, stale = checked.outcomes, checked.stale
    known = ("accepted", "pending", "conflict", "refused")
    other = sum(n for o, n in outcomes.items() if o not in known)
    states = ", ".join(f"{s} {n}" for s, n in sorted(checked.change_states.items()))
    print(
        f"status edits sent: {len(checked.edits)}; accepted: {len(checked.accepted)} "
        f"({outcomes['accepted']} delivered at once, {outcomes['pending']} queued); "
        f"conflicts (409): {outcomes['conflict']}, of them {stale['conflict']} of the "
        f"{sum(stale.values())} stale forms; refused: {outcomes['refused']}; other: {other}"
    )
    print(
        f"delivery after the load: {delivery.seconds:.0f} s, deliver_changes runs: "
        f"{delivery.forced}, still pending: {delivery.pending}, failed: {delivery.failed}; "
        f"status changes in the queue: {states}"
    )
    last, lost = checked.last, checked.lost
    print(
        f"leads edited: {len(last)}; sandbox holds the last accepted status of "
        f"{len(last) - len(lost)}; lost: {len(lost)}; the mirror differs from BotPenguin for "
        f"{checked.mirror_stale[0]} of them, {checked.mirror_stale[1]} after one more sync"
    )
    print(
        f"chats flagged missing after the --full syncs: {checked.missing} "
        "(the sandbox deletes none)"
    )
    for uuid, wanted, remote in lost[:10]:
        print(f"  lost: {uuid}: set {wanted}, BotPenguin has {remote}")


def targets(req: Requests, checked: Verification, delivery: Delivery) -> list[tuple[str, bool]]:
    return [
        ("zero 5xx", not req.five),
        ("every request answered", not req.unanswered),
        ('zero "database is locked"', req.locked == 0),
        ("zero lost edits", not checked.lost and delivery.pending == 0),
        (f"p95 < {P95_TARGET_MS:.0f} ms", req.p95 < P95_TARGET_MS),
        ("edits were made", len(checked.accepted) > 0),
    ]


def result(load: Load, req: Requests, checked: Verification, delivery: Delivery) -> dict:
    """The figures of the run, for result.json."""
    per_kind = {
        k: {
            "n": len(v),
            "p50": round(pct(v, 50), 1),
            "p95": round(pct(v, 95), 1),
            "max": round(max(v), 1),
        }
        for k, v in req.by_kind.items()
    }
    return {
        "engine": load.engine,
        "agent_nice": load.agent_nice,
        "requests": len(req.hits),
        "warmup_requests": len(req.warm),
        "login_p50_ms": round(pct(req.logins, 50), 1),
        "login_max_ms": round(max(req.logins, default=0), 1),
        "seconds": round(load.seconds, 1),
        "users": load.users,
        "p95_ms": round(req.p95, 1),
        "p50_ms": round(pct(req.dynamic, 50), 1),
        "actions_p95_ms": round(pct(req.actions, 95), 1),
        "server_p95_ms": round(pct(req.server, 95), 1),
        "per_kind": per_kind,
        "five_xx": len(req.five),
        "unanswered": len(req.unanswered),
        "locked": req.locked,
        "tracebacks": req.tracebacks,
        "edits_sent": len(checked.edits),
        "edits_accepted": len(checked.accepted),
        "outcomes": dict(checked.outcomes),
        "stale": dict(checked.stale),
        "leads_edited": len(checked.last),
        "lost": len(checked.lost),
        "mirror_stale": checked.mirror_stale,
        "missing": checked.missing,
        "pending_after": delivery.pending,
        "failed_after": delivery.failed,
        "change_states": dict(checked.change_states),
        "syncs": load.sync_runs,
        "cpu": load.cpu,
    }


def write_requests_csv(path: Path, agents: list[Agent]) -> None:
    with path.open("w") as f:
        f.write("at_s,agent,kind,status,ms,warmup\n")
        for a in agents:
            for h in a.hits:
                f.write(f"{h.at:.3f},{a.username},{h.kind},{h.status},{h.ms:.1f},{int(h.warmup)}\n")


def summarize(
    load: Load, agents: list[Agent], checked: Verification, delivery: Delivery, log_dir: Path
) -> int:
    """Print the summary, write requests.csv and result.json; 0 if every target was met."""
    req = Requests(agents, log_dir)
    print_requests(load, req)
    print_load(load)
    print_edits(checked, delivery)
    for p in [p for a in agents for p in a.failures][:10]:
        print(f"  {p}")
    checks = targets(req, checked, delivery)
    for name, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    verdict = all(ok for _, ok in checks)
    write_requests_csv(log_dir / "requests.csv", agents)
    out = log_dir / "result.json"
    out.write_text(
        json.dumps({**result(load, req, checked, delivery), "passed": verdict}, indent=2)
    )
    print(f"{'PASS' if verdict else 'FAIL'} ({out})")
    return 0 if verdict else 1
