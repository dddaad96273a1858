"""`make bench`: the lead list against the Django admin changelist, and the sync against a plain
page-at-a-time loop, side by side in one process and one run.

    python benchmarks/bench.py [--leads 100000] [--requests 21] [--sync-chats 100000] [--skip-sync]
        [--only list|sync|throughput] [--repeat N]

`--only sync` runs the sync cases alone (no list cases); `--only throughput` only the zero-latency
run of `sync_leads`, `--repeat` times (median reported).

Uses its own database (SQLite `var/bench.sqlite3`, or `DATABASE_URL` with its name + "_bench"
for PostgreSQL; BENCH_DB=name for another one), seeded straight into the mirror. Prints medians, ratios and SQL query counts.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "botpanel.settings")
os.environ.setdefault("BOTPANEL_TESTING", "1")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")


def configure_database() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        from databases import sibling_postgres_url

        bench_url = sibling_postgres_url(url, os.environ.get("BENCH_DB", "bench"))
        os.environ["DATABASE_URL"] = bench_url
        return "PostgreSQL"
    (ROOT / "var").mkdir(exist_ok=True)
    name = os.environ.get("BENCH_DB", "bench")
    os.environ["DATABASE_URL"] = f"sqlite:///{ROOT / 'var' / f'{name}.sqlite3'}"
    return "SQLite"


# Only when run: the sync's row builders are spawned processes, which import this file again.
if __name__ == "__main__":
    ENGINE = configure_database()

    import django  # noqa: E402

    django.setup()

    from django.conf import settings  # noqa: E402
    from django.contrib.auth import get_user_model  # noqa: E402
    from django.core.management import call_command  # noqa: E402
    from django.db import connection, reset_queries  # noqa: E402
    from django.test import Client  # noqa: E402
    from django.test.utils import CaptureQueriesContext  # noqa: E402

    from leads.models import Lead, LeadTag  # noqa: E402

TAGS = ["pricing", "hot", "cold", "demo", "enterprise", "support", "refund", "partner", "urgent",
        "vip", "trial", "churn-risk", "whatsapp", "newsletter", "follow-up", "integration"]  # fmt: skip
STATUSES = [("OPEN", 30), ("INPROGRESS", 25), ("REVIEW", 12), ("ONHOLD", 10), ("DEPENDANCY", 8),
            ("CLOSED", 15)]  # fmt: skip
FIRST = ["Meera", "Arjun", "Priya", "Rahul", "Ana", "José", "Zoë", "Emma", "Liam", "Fatima",
         "Omar", "Chen", "Yuki", "Ivan", "Sofia", "Lucas", "Aisha", "Kenji", "Nora", "Mateo"]  # fmt: skip
LAST = ["Iyer", "Sharma", "Patel", "García", "Müller", "Dubois", "Smith", "Nguyen", "Khan",
        "Silva", "Rossi", "Tanaka", "Petrov", "Haddad", "Kim", "Okafor", "Larsen", "Costa"]  # fmt: skip


def seed(n: int) -> None:
    have = Lead.objects.count()
    if have == n:
        print(f"Mirror already holds {n:,} leads.")
        tidy()
        return
    print(f"Seeding {n:,} leads into the mirror…", flush=True)
    clear_mirror()
    rng = random.Random(42)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    agents = [f"64a1a9d0aa0000000000004{i}" for i in range(8)] + [""] * 2
    statuses = [s for s, _ in STATUSES]
    weights = [w for _, w in STATUSES]
    batch = 5000
    started = time.monotonic()
    for start in range(0, n, batch):
        leads = []
        for i in range(start, min(n, start + batch)):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            created = now - timedelta(seconds=rng.randint(0, 365 * 86400))
            updated = created + timedelta(seconds=rng.randint(0, 30 * 86400))
            leads.append(
                Lead(
                    bot_id="bench-bot", customer_id="bench-customer",
                    uuid=f"{rng.getrandbits(128):032x}", remote_id=f"{i:024x}",
                    is_lead=rng.random() < 0.8, name=f"{first} {last}",
                    email=f"{first}.{last}{i}@example.org".lower(),
                    phone=f"{rng.randint(6000000000, 9999999999)}", dial_code="+91",
                    status=rng.choices(statuses, weights)[0], agent_id=rng.choice(agents),
                    tags=rng.sample(TAGS, rng.choice([0, 1, 1, 2, 2, 3, 4])),
                    notes=[{"id": "", "title": "Pricing", "description": "Asked for the annual plan"}],
                    attributes=[{"key": "plan", "value": "annual"}],
                    last_message_at=updated, last_message_by="user",
                    last_message_text="What does the annual plan cost?",
                    remote_created_at=created, remote_updated_at=updated, raw={}, raw_hash="x",
                )
            )  # fmt: skip
        Lead.objects.bulk_create(leads, batch_size=1000)
        ids = dict(
            Lead.objects.filter(uuid__in=[lead.uuid for lead in leads]).values_list("uuid", "id")
        )
        LeadTag.objects.bulk_create(
            [
                LeadTag(lead_id=ids[lead.uuid], name=tag, key=tag)
                for lead in leads
                for tag in lead.tags
            ],
            batch_size=5000,
        )
        print(
            f"  {min(n, start + batch):,} ({time.monotonic() - started:.0f} s)",
            end="\r",
            flush=True,
        )
    tidy()
    print(f"\nSeeded in {time.monotonic() - started:.0f} s")


def tidy() -> None:
    """What autovacuum does, done now: the sync benches insert and delete 100,000 rows at a time,
    and the PostgreSQL server on this machine runs with autovacuum off, so without this the dead
    rows pile up run after run (160,000 of them made a rare search 10x slower). SQLite: fresh
    statistics."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in ("leads_lead", "leads_leadtag", "leads_leadchange"):
                cursor.execute(f"VACUUM (ANALYZE) {table}")
        else:
            cursor.execute("ANALYZE")


def timed(client: Client, url: str, runs: int) -> tuple[float, int, int]:
    """Median milliseconds of `runs` requests after 3 warm-ups; queries of the last; status."""
    ((ms, queries, status),) = timed_pair(client, [url], runs)
    return ms, queries, status


def timed_pair(client: Client, urls: list[str], runs: int) -> list[tuple[float, int, int]]:
    """For each of `urls`: median milliseconds of `runs` requests after 3 warm-ups, queries of
    one more, status. The URLs take turns request by request (ours, admin's, ours…), so a burst
    of load from elsewhere on this shared machine falls on both sides of a ratio alike."""
    for _ in range(3):
        for url in urls:
            client.get(url)
    times: list[list[float]] = [[] for _ in urls]
    for _ in range(runs):
        for i, url in enumerate(urls):
            started = time.perf_counter()
            client.get(url)
            times[i].append((time.perf_counter() - started) * 1000)
    results = []
    for i, url in enumerate(urls):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        results.append(
            (statistics.median(times[i]), len(ctx.captured_queries), response.status_code)
        )
    return results


def bench_list(n: int, runs: int, per_page: int) -> list[tuple]:
    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    name_like = "meera"
    cases = [
        ("default", "", ""),
        ("status filter", "status=REVIEW", "status__exact=REVIEW"),
        ("tag filter", "tag=vip", None),
        ("search common", f"q={name_like}", f"q={name_like}"),
        ("search rare", "q=iyer4242", "q=iyer4242"),
        ("sort by name", "sort=name", "o=1"),
        ("page 200", "page=200", "p=199"),
    ]
    rows = []
    for label, ours, theirs in cases:
        for size in sorted({25, per_page}):
            ours_url = f"/leads/?per_page={size}" + (f"&{ours}" if ours else "")
            admin_ms = admin_q = None
            if theirs is None:
                ms, queries, status = timed(client, ours_url, runs)
            else:
                settings_list_per_page(size)
                admin_url = "/admin/leads/lead/?is_lead__exact=1" + (f"&{theirs}" if theirs else "")
                (ms, queries, status), (admin_ms, admin_q, admin_status) = timed_pair(
                    client, [ours_url, admin_url], runs
                )
                assert admin_status == 200, admin_url
            assert status == 200, ours_url
            rows.append((label, size, ms, queries, admin_ms, admin_q))
    return rows


def settings_list_per_page(size: int) -> None:
    from django.contrib import admin

    admin.site._registry[Lead].list_per_page = size


def bench_detail(runs: int) -> tuple[float, float]:
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    lead = Lead.objects.filter(is_lead=True).order_by("-remote_updated_at").first()
    ms, _q, _s = timed(client, f"/leads/{lead.uuid}/", runs)
    return ms, 0.0


def bench_status_edit(runs: int) -> dict:
    """A status edit from the list (POST row-status, htmx) against the sandbox at zero latency:
    the request's own server time, i.e. its total minus the time spent inside the PUT's HTTP
    call (timed around BotPenguinClient._request), median of `runs` after 3 warm-ups."""
    from leads.botpenguin import client as bp_client
    from leads.sync.run import sync_leads

    port = free_port()
    box = start_sandbox(chats=60, page_size=20, latency_ms=0, port=port)
    url = f"http://127.0.0.1:{port}"
    http_ms: list[float] = []
    original = bp_client.BotPenguinClient._request

    def timed_request(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            http_ms.append((time.perf_counter() - started) * 1000)

    try:
        use_sandbox(url)
        clear_sync_bot()
        sync_leads(full=True, concurrency=2)
        leads = list(Lead.objects.filter(bot_id="sync-bot", is_lead=True).order_by("id")[:40])
        client = Client()
        client.force_login(get_user_model().objects.get(username="bench"))
        bp_client.BotPenguinClient._request = timed_request
        server, totals = [], []
        for i in range(runs + 3):
            lead = leads[i % len(leads)]
            lead.refresh_from_db()
            status = "CLOSED" if lead.status != "CLOSED" else "OPEN"
            http_ms.clear()
            started = time.perf_counter()
            response = client.post(
                f"/leads/{lead.uuid}/row-status/",
                {"status": status, "version": lead.version},
                headers={"HX-Request": "true"},
            )
            total = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, response.content[:300]
            assert len(http_ms) == 1, "the edit was not sent at once"
            if i >= 3:
                totals.append(total)
                server.append(total - sum(http_ms))
    finally:
        bp_client.BotPenguinClient._request = original
        box.terminate()
        box.wait()
        clear_sync_bot()
    return {"server_ms": statistics.median(server), "total_ms": statistics.median(totals)}


def clear_mirror(bot_id: str | None = None) -> None:
    """Delete the leads (of `bot_id`, or all) without loading them: a Django delete() collects
    every row and its changes first, hundreds of MB for 100,000 leads."""
    from leads.models import LeadChange

    for model, lookup in (
        (LeadTag, "lead__bot_id"),
        (LeadChange, "lead__bot_id"),
        (Lead, "bot_id"),
    ):
        rows = model.objects.filter(**{lookup: bot_id}) if bot_id else model.objects.all()
        rows._raw_delete(rows.db)


def clear_sync_bot() -> None:
    """Delete the sync bench's leads."""
    clear_mirror("sync-bot")
    if connection.vendor == "postgresql":
        tidy()


def use_sandbox(url: str) -> None:
    """Point this process's BotPenguin settings at the bench's sandbox."""
    settings.BOTPENGUIN_API_URL = url
    settings.BOTPENGUIN_API_TOKEN = "bench"
    settings.BOTPENGUIN_BOT_ID = "sync-bot"
    settings.BOTPENGUIN_CUSTOMER_ID = "sync-customer"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_sandbox(*, chats: int, page_size: int, latency_ms: int, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "botpenguin_sandbox", "--port", str(port),
         "--chats", str(chats), "--page-size", str(page_size), "--latency-ms", str(latency_ms),
         "--token", "bench", "--bot-id", "sync-bot", "--customer-id", "sync-customer"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    line = proc.stdout.readline().decode()  # printed once the chats are seeded and it listens
    if "sandbox on" not in line:
        raise RuntimeError(f"sandbox did not start: {line}")
    return proc


def bench_sync_latency(latency_chats: int) -> dict:
    """This project's sync at concurrency 8 vs a plain one-page-at-a-time loop, at 100 ms latency
    and page size 20, against the sandbox (its own process)."""
    from leads.botpenguin.client import BotPenguinClient, ClientConfig
    from leads.botpenguin.records import parse_chat
    from leads.sync.pages import FETCH_THREADS
    from leads.sync.run import sync_leads

    results = {}
    port = free_port()
    box = start_sandbox(chats=latency_chats, page_size=20, latency_ms=100, port=port)
    url = f"http://127.0.0.1:{port}"
    try:
        use_sandbox(url)
        clear_sync_bot()
        started = time.monotonic()
        with BotPenguinClient(ClientConfig(url, "bench", "sync-bot", "sync-customer")) as client:
            for kind in ("lead", "non-lead"):
                page = 1
                while data := client.list_chats(page, kind):
                    for raw in data:
                        record = parse_chat(raw)
                        Lead.objects.update_or_create(
                            bot_id="sync-bot", uuid=record.uuid,
                            defaults={"name": record.name, "status": record.status,
                                      "is_lead": kind == "lead", "raw": raw,
                                      "remote_updated_at": record.updated_at},
                        )  # fmt: skip
                    page += 1
        results["plain_loop_s"] = time.monotonic() - started
        clear_sync_bot()
        started = time.monotonic()
        run = sync_leads(full=True, concurrency=8)
        results["ours_s"] = time.monotonic() - started
        results["latency_chats"] = run.created
        # A page already asked for when the sync stopped reading (the catch-up's next page)
        # finishes in its thread: let it, before the sandbox goes away under it.
        for thread in threading.enumerate():
            if thread.name.startswith(FETCH_THREADS):
                thread.join(timeout=5)
    finally:
        box.terminate()
        box.wait()
        clear_sync_bot()
    return results


# Runs `argv[2:]`, exits with its code, and writes its peak RSS (kB) to the file `argv[1]`.
RSS_PROBE = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_pid, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def bench_sync_throughput(chats: int, repeat: int = 1) -> dict:
    """Throughput and peak RSS of `sync_leads --full` in a process of its own over `chats` chats
    at zero latency and page size 100 (the sandbox in another process; a fresh mirror each time).
    With `repeat` > 1: the median time and the largest peak RSS."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    box = start_sandbox(chats=chats, page_size=100, latency_ms=0, port=port)
    times: list[float] = []
    rss: list[float] = []
    results: dict = {}
    try:
        env = os.environ.copy()
        env.update(BOTPENGUIN_API_URL=url, BOTPENGUIN_API_TOKEN="bench",
                   BOTPENGUIN_BOT_ID="sync-bot", BOTPENGUIN_CUSTOMER_ID="sync-customer")  # fmt: skip
        for _ in range(repeat):
            clear_sync_bot()
            connection.close()
            started = time.monotonic()
            # Through a small Python that starts sync_leads and reports its rusage: a child
            # started straight from this process inherits this process's peak RSS as its own
            # (Linux folds the pre-exec high-water mark into ru_maxrss), seeding's included.
            with tempfile.NamedTemporaryFile(mode="r", suffix=".rss") as report:
                proc = subprocess.Popen(
                    [sys.executable, "-c", RSS_PROBE, report.name,
                     sys.executable, str(ROOT / "manage.py"), "sync_leads", "--full",
                     "--concurrency", "8", "--no-progress"],
                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                )  # fmt: skip
                out, err = proc.communicate()
                elapsed = time.monotonic() - started
                if proc.returncode:
                    raise RuntimeError(f"sync_leads failed: {err.strip()[-2000:]}")
                peak_kb = int(report.read() or 0)
            times.append(elapsed)
            rss.append(peak_kb / 1024)
            results["zero_latency_chats"] = Lead.objects.filter(bot_id="sync-bot").count()
            results["sync_line"] = out.strip()
            if repeat > 1:
                print(f"    run {len(times)}: {elapsed:.1f} s, "
                      f"{results['zero_latency_chats'] / elapsed:,.0f} leads/s, "
                      f"peak RSS {rss[-1]:.0f} MB", flush=True)  # fmt: skip
    finally:
        box.terminate()
        box.wait()
        clear_sync_bot()
    results["zero_latency_s"] = statistics.median(times)
    results["peak_rss_mb"] = max(rss)
    return results


def bench_sync(chats: int, latency_chats: int, repeat: int = 1) -> dict:
    """The sync against the sandbox: vs the plain loop at 100 ms latency, then throughput."""
    return {**bench_sync_latency(latency_chats), **bench_sync_throughput(chats, repeat)}


def print_sync(s: dict) -> None:
    if "ours_s" in s:
        print(f"  {s['latency_chats']:,} chats at 100 ms: BotPanel (concurrency 8) "
              f"{s['ours_s']:.1f} s, plain loop {s['plain_loop_s']:.1f} s, "
              f"ratio {s['plain_loop_s'] / s['ours_s']:.1f}x")  # fmt: skip
    print(f"  {s['zero_latency_chats']:,} chats at zero latency (sync_leads in its own process): "
          f"{s['zero_latency_s']:.1f} s, {s['zero_latency_chats'] / s['zero_latency_s']:,.0f} "
          f"leads/s, peak RSS {s['peak_rss_mb']:.0f} MB")  # fmt: skip
    print(f"  ({s['sync_line']})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=21)
    parser.add_argument("--per-page", type=int, default=100)
    parser.add_argument("--sync-chats", type=int, default=100_000)
    parser.add_argument("--latency-chats", type=int, default=2000)
    parser.add_argument("--skip-sync", action="store_true", help="same as --only list")
    parser.add_argument(
        "--only",
        choices=["list", "sync", "throughput"],
        help="list: the list cases alone; sync: both sync cases alone; throughput: only the "
        "zero-latency sync_leads run",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="zero-latency sync runs (median time reported)"
    )
    args = parser.parse_args()
    only = "list" if args.skip_sync else args.only
    settings.DEBUG = False
    call_command("migrate", verbosity=0)
    seed(args.leads)
    reset_queries()
    if only in (None, "list"):
        print(f"\nBotPanel list vs Django admin changelist — {ENGINE}, {args.leads:,} leads, "
              f"median of {args.requests} requests after 3 warm-ups, ours and the admin's taking turns, "
              f"{os.cpu_count()} cores")  # fmt: skip
        print(
            f"{'case':<16}{'rows':>5}{'BotPanel ms':>13}{'queries':>9}{'admin ms':>10}{'queries':>9}{'ratio':>8}"
        )
        for label, size, ms, q, admin_ms, admin_q in bench_list(
            args.leads, args.requests, args.per_page
        ):
            ratio = f"{admin_ms / ms:.1f}x" if admin_ms else "—"
            admin_text = f"{admin_ms:10.1f}{admin_q:9d}" if admin_ms else f"{'—':>10}{'—':>9}"
            print(f"{label:<16}{size:>5}{ms:13.1f}{q:9d}{admin_text}{ratio:>8}")
        detail_ms, _ = bench_detail(args.requests)
        print(f"{'detail page':<16}{'':>5}{detail_ms:13.1f}")
        edit = bench_status_edit(args.requests)
        print(f"{'status edit':<16}{'':>5}{edit['server_ms']:13.1f}   (server time; "
              f"{edit['total_ms']:.1f} ms with the PUT to the sandbox at zero latency)")  # fmt: skip
    if only == "list":
        return
    print(f"\nSync against the sandbox — {ENGINE} (page size 20 at 100 ms latency; page size 100 "
          "at zero)", flush=True)  # fmt: skip
    if only == "throughput":
        print_sync(bench_sync_throughput(args.sync_chats, args.repeat))
    else:
        print_sync(bench_sync(args.sync_chats, args.latency_chats, args.repeat))


if __name__ == "__main__":
    main()
