"""`make bench`: the lead list against the Django admin changelist, and the sync against a plain
page-at-a-time loop, side by side in one process and one run.

    python benchmarks/bench.py [--leads 100000] [--requests 21] [--sync-chats 100000] [--skip-sync]
        [--only list|sync|throughput|board|insights] [--repeat N]

`--only sync` runs the sync cases alone (no list cases); `--only throughput` only the zero-latency
run of `sync_leads`, `--repeat` times (median reported).

Uses its own database (SQLite `var/bench.sqlite3`, or `DATABASE_URL` with its name + "_bench"
for PostgreSQL; BENCH_DB=name for another one), seeded straight into the mirror. Prints medians,
ratios and SQL query counts. The cases are in list_cases.py and sync_cases.py; mirror.py seeds,
tidies and clears the mirror.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
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


def reference_ms() -> float:
    """Median milliseconds of a fixed piece of pure Python (a million additions): how fast this
    machine runs Python right now, to compare runs made on different days or machines (the
    shared VM's speed varies by more than 2x)."""
    times = []
    for _ in range(5):
        started = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    engine = configure_database()
    import django

    django.setup()

    from django.conf import settings
    from django.core.management import call_command
    from django.db import reset_queries
    from list_cases import bench_detail, bench_list, bench_status_edit
    from mirror import seed
    from sync_cases import bench_sync, bench_sync_throughput, print_sync

    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=21)
    parser.add_argument("--per-page", type=int, default=100)
    parser.add_argument("--sync-chats", type=int, default=100_000)
    parser.add_argument("--latency-chats", type=int, default=2000)
    parser.add_argument("--skip-sync", action="store_true", help="same as --only list")
    parser.add_argument(
        "--only",
        choices=["list", "sync", "throughput", "insights", "board"],
        help="list: the list cases alone; sync: both sync cases alone; throughput: only the "
        "zero-latency sync_leads run; insights: the insights and overview cases alone; board: the "
        "board cases alone",
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
        print(
            f"\nBotPanel list vs Django admin changelist — {engine}, {args.leads:,} leads, "
            f"median of {args.requests} requests after 3 warm-ups, ours and the admin's taking turns, "
            f"{os.cpu_count()} cores; reference (a million additions in Python) "
            f"{reference_ms():.0f} ms"
        )
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
        print(
            f"{'status edit':<16}{'':>5}{edit['server_ms']:13.1f}   (server time; "
            f"{edit['total_ms']:.1f} ms with the PUT to the sandbox at zero latency)"
        )
        print(f"reference after the list cases: {reference_ms():.0f} ms")
    if only in (None, "insights"):
        from insights_cases import bench_insights, print_insights

        print(
            f"\nInsights over 90 days vs the admin changelist's default page (100 rows) — "
            f"{engine}, {args.leads:,} leads, median of {args.requests} requests after 3 "
            "warm-ups, taking turns; cold: every cache cleared before each request"
        )
        print_insights(bench_insights(args.requests))
    if only in (None, "board"):
        from board_cases import bench_board, print_board

        print(
            f"\nBoard vs the admin changelist's default page (100 rows) — {engine}, "
            f"{args.leads:,} leads, median of {args.requests} requests after 3 warm-ups, "
            "taking turns"
        )
        print_board(bench_board(args.requests))
    if only in ("list", "insights", "board"):
        return
    print(
        f"\nSync against the sandbox — {engine} (page size 20 at 100 ms latency; page size 100 "
        "at zero)",
        flush=True,
    )
    if only == "throughput":
        print_sync(bench_sync_throughput(args.sync_chats, args.repeat))
    else:
        print_sync(bench_sync(args.sync_chats, args.latency_chats, args.repeat))


if __name__ == "__main__":
    main()
