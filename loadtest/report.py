"""The end of a load test run: the figures (percentiles per kind of request, syncs, CPU, edits),
the targets it must meet, and the files it leaves in the log folder (requests.csv, result.json)."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

from agent import Agent, Edit
from judge import ACCEPTED, inside, outside, pct, timeline, unforgiven_5xx

P95_TARGET_MS = 300.0
# The background requests a page makes by itself, which are no action of the person's.
NOT_ACTIONS = ("static", "poll_counts", "poll_sync", "tags")
# gunicorn's access log line for a request that is neither a static file nor the login.
ACCESS_LINE = re.compile(
    r'"(?:GET|POST) (?!/static/|/accounts/login/)\S+ HTTP/1\.1" \d{3} \S+ (\d+)ms'
)


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
    faults: dict | None = None  # LOADTEST_FAULTS=1: windows, killed_mid_delivery, errors
    down: list[str] = field(default_factory=list)  # services no longer running afterwards

    @property
    def windows(self) -> list:
        return self.faults["windows"] if self.faults else []


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
    killed: list[dict] = field(default_factory=list)  # the killed worker's unfinished tasks
    # Leads whose status is that of an edit after the last accepted one, answered 5xx or not
    # at all: saved and sent all the same.
    unanswered_kept: int = 0

    @cached_property
    def accepted(self) -> list[Edit]:
        return [e for e in self.edits if e.outcome in ACCEPTED]

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

    def __init__(self, agents: list[Agent], log_dir: Path, windows: list | None = None):
        self.windows = windows or []
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
        # Logging in comes before the window, where no 5xx is forgiven.
        warm_five = [h for h in self.warm if h.status >= 500]
        self.unforgiven = warm_five + unforgiven_5xx(self.hits, self.windows)
        self.unanswered = [h for h in self.all_hits if h.status == 0]
        logs = [path.read_text(errors="replace") for path in log_dir.glob("*.log")]
        self.locked = sum(text.lower().count("database is locked") for text in logs)
        self.tracebacks = sum(text.count("Traceback") for text in logs)
        self.statuses = Counter(h.status for h in self.hits)
        # gunicorn's own time per request: the difference to what the agents measured is time
        # spent waiting for a free worker (and on the loopback).
        access_log = (log_dir / "gunicorn.log").read_text(errors="replace")
        self.server = [float(m.group(1)) for m in ACCESS_LINE.finditer(access_log)]
        # With faults the target is met by the requests open during none of them.
        dynamic = [h for h in self.hits if h.kind != "static"]
        self.calm = [h.ms for h in outside(dynamic, self.windows)]
        self.troubled = [h.ms for h in inside(dynamic, self.windows)]
        self.p95 = pct(self.calm, 95)


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
        f"overall (no static): p50 {pct(req.dynamic, 50):.0f} ms, p95 "
        f"{pct(req.dynamic, 95):.0f} ms, p99 {pct(req.dynamic, 99):.0f} ms, max "
        f"{max(req.dynamic, default=0):.0f} ms; person's actions only: p95 "
        f"{pct(req.actions, 95):.0f} ms"
    )
    if req.windows:
        print(
            f"outside the fault windows: {len(req.calm)} requests, p50 {pct(req.calm, 50):.0f} "
            f"ms, p95 {req.p95:.0f} ms, p99 {pct(req.calm, 99):.0f} ms; open during a fault: "
            f"{len(req.troubled)}, p95 {pct(req.troubled, 95):.0f} ms, max "
            f"{max(req.troubled, default=0):.0f} ms"
        )
    print(
        f"gunicorn's own time (access log, no static): p50 {pct(req.server, 50):.0f} ms, p95 "
        f"{pct(req.server, 95):.0f} ms over {len(req.server)} requests"
    )
    print(
        f"5xx: {len(req.five)} ({len(req.unforgiven)} outside a connection-termination second); "
        f"unanswered: {len(req.unanswered)}; 'database is locked' in logs: {req.locked}; "
        f"tracebacks in logs: {req.tracebacks}"
    )


def print_faults(load: Load, checked: Verification) -> None:
    """The fault timeline and what became of the killed worker's delivery."""
    if not load.faults:
        return
    print("faults (seconds since the window began):")
    for line in timeline(load.windows):
        print(f"  {line}")
    for error in load.faults["errors"]:
        print(f"  {error}")
    wall = load.faults["wall_start"]
    for task in checked.killed:
        began = f"{task['started'] - wall:.1f} s" if task["started"] else "?"
        last = task["last_delivered"]
        went = f"last delivered at {last - wall:.1f} s" if last else "none delivered"
        print(
            f"  the killed worker's unfinished task: {task['task']} (lead {task['lead']}), "
            f"started at {began}; that lead's edits: {went}, {task['open']} still open"
        )
    if load.down:
        print(f"  no longer running after the window: {', '.join(load.down)}")


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
        f"leads edited: {len(last)}; sandbox holds the last accepted status (or a later "
        f"unanswered one) of {len(last) - len(lost)}; lost: {len(lost)}; the mirror differs "
        "from BotPenguin for "
        f"{checked.mirror_stale[0]} of them, {checked.mirror_stale[1]} after one more sync"
    )
    if checked.unanswered_kept:
        print(
            f"  of them {checked.unanswered_kept} hold a later edit whose answer was a 5xx or "
            "none: saved and delivered all the same"
        )
    print(
        f"chats flagged missing after the --full syncs: {checked.missing} "
        "(the sandbox deletes none)"
    )
    for uuid, wanted, remote in lost[:10]:
        print(f"  lost: {uuid}: set {wanted}, BotPenguin has {remote}")


def targets(
    load: Load, req: Requests, checked: Verification, delivery: Delivery
) -> list[tuple[str, bool]]:
    faults = load.faults
    checks = [
        ("5xx only inside the connection-termination second", not req.unforgiven)
        if faults
        else ("zero 5xx", not req.five),
        ("every request answered", not req.unanswered),
        ('zero "database is locked"', req.locked == 0),
        ("zero lost edits", not checked.lost),
        (
            "every pending edit delivered by the worker after the faults",
            delivery.pending == 0 and delivery.forced == 0,
        )
        if faults
        else ("every pending edit delivered", delivery.pending == 0),
        (
            f"p95{' outside the fault windows' if faults else ''} < {P95_TARGET_MS:.0f} ms",
            req.p95 < P95_TARGET_MS,
        ),
        ("edits were made", len(checked.accepted) > 0),
        ("BotPanel's processes still running", not load.down),
    ]
    if faults:
        wanted = {"sandbox down", "worker killed"}
        if load.engine.startswith("PostgreSQL"):
            wanted.add("connections ended")
        injected = wanted <= {w.name for w in load.windows} and not faults["errors"]
        checks.append((f"faults injected: {', '.join(sorted(wanted))}", injected))
        checks.append(("the worker was killed mid-delivery", faults["killed_mid_delivery"]))
    return checks


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
        "p95_ms": round(req.p95, 1),  # outside the fault windows, if any
        "p95_all_ms": round(pct(req.dynamic, 95), 1),
        "p99_all_ms": round(pct(req.dynamic, 99), 1),
        "p99_outside_ms": round(pct(req.calm, 99), 1),
        "p95_inside_ms": round(pct(req.troubled, 95), 1),
        "requests_inside": len(req.troubled),
        "p50_ms": round(pct(req.dynamic, 50), 1),
        "actions_p95_ms": round(pct(req.actions, 95), 1),
        "server_p95_ms": round(pct(req.server, 95), 1),
        "per_kind": per_kind,
        "five_xx": len(req.five),
        "five_xx_unforgiven": len(req.unforgiven),
        "unanswered": len(req.unanswered),
        "locked": req.locked,
        "tracebacks": req.tracebacks,
        "edits_sent": len(checked.edits),
        "edits_accepted": len(checked.accepted),
        "outcomes": dict(checked.outcomes),
        "stale": dict(checked.stale),
        "leads_edited": len(checked.last),
        "lost": len(checked.lost),
        "unanswered_kept": checked.unanswered_kept,
        "mirror_stale": checked.mirror_stale,
        "missing": checked.missing,
        "pending_after": delivery.pending,
        "failed_after": delivery.failed,
        "drain_seconds": round(delivery.seconds, 1),
        "deliver_changes_runs": delivery.forced,
        "change_states": dict(checked.change_states),
        "syncs": load.sync_runs,
        "cpu": load.cpu,
        "faults": [asdict(w) for w in load.windows],
        "killed_mid_delivery": load.faults["killed_mid_delivery"] if load.faults else None,
        "killed_tasks": checked.killed,
        "down": load.down,
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
    req = Requests(agents, log_dir, load.windows)
    print_requests(load, req)
    print_load(load)
    print_edits(checked, delivery)
    print_faults(load, checked)
    for p in [p for a in agents for p in a.failures][:10]:
        print(f"  {p}")
    checks = targets(load, req, checked, delivery)
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
