"""The sync cases of the benchmark, against the sandbox in its own process: this project's sync
against a plain page-at-a-time loop at 100 ms latency, and `sync_leads --full`'s throughput and
peak RSS at zero latency."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import connection
from mirror import clear_sync_bot

from leads.botpenguin.client import BotPenguinClient, ClientConfig
from leads.botpenguin.records import parse_chat
from leads.bots.config import ensure_environment_bot
from leads.models import Lead
from leads.sync.pages import FETCH_THREADS
from leads.sync.run import sync_leads

ROOT = Path(__file__).resolve().parent.parent


def use_sandbox(url: str) -> None:
    """Point this process's BotPenguin settings at the bench's sandbox."""
    settings.BOTPENGUIN_API_URL = url
    settings.BOTPENGUIN_API_TOKEN = "bench"
    settings.BOTPENGUIN_BOT_ID = "sync-bot"
    settings.BOTPENGUIN_CUSTOMER_ID = "sync-customer"
    settings.BOTPENGUIN_BOT_NAME = "Sync bench"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_sandbox(*, chats: int, page_size: int, latency_ms: int, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "botpenguin_sandbox",
            "--port",
            str(port),
            "--chats",
            str(chats),
            "--page-size",
            str(page_size),
            "--latency-ms",
            str(latency_ms),
            "--token",
            "bench",
            "--bot-id",
            "sync-bot",
            "--customer-id",
            "sync-customer",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    line = proc.stdout.readline().decode()  # printed once the chats are seeded and it listens
    if "sandbox on" not in line:
        raise RuntimeError(f"sandbox did not start: {line}")
    return proc


def bench_sync_latency(latency_chats: int) -> dict:
    """This project's sync at concurrency 8 vs a plain one-page-at-a-time loop, at 100 ms latency
    and page size 20, against the sandbox (its own process)."""
    results = {}
    port = free_port()
    box = start_sandbox(chats=latency_chats, page_size=20, latency_ms=100, port=port)
    url = f"http://127.0.0.1:{port}"
    try:
        use_sandbox(url)
        clear_sync_bot()
        bot = ensure_environment_bot()
        started = time.monotonic()
        with BotPenguinClient(ClientConfig(url, "bench", "sync-bot", "sync-customer")) as client:
            for kind in ("lead", "non-lead"):
                page = 1
                while data := client.list_chats(page, kind):
                    for raw in data:
                        record = parse_chat(raw)
                        Lead.objects.update_or_create(
                            bot=bot,
                            uuid=record.uuid,
                            defaults={
                                "name": record.name,
                                "status": record.status,
                                "is_lead": kind == "lead",
                                "raw": raw,
                                "remote_updated_at": record.updated_at,
                            },
                        )
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


# Runs `argv[2:]`, exits with its code, and writes its peak RSS (kB) and CPU seconds (user and
# system) to the file `argv[1]`.
RSS_PROBE = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_pid, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(f"{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}")
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
    cpu: list[float] = []
    results: dict = {}
    try:
        env = os.environ.copy()
        env.update(
            BOTPENGUIN_API_URL=url,
            BOTPENGUIN_API_TOKEN="bench",
            BOTPENGUIN_BOT_ID="sync-bot",
            BOTPENGUIN_CUSTOMER_ID="sync-customer",
            BOTPENGUIN_BOT_NAME="Sync bench",
        )
        for _ in range(repeat):
            clear_sync_bot()
            connection.close()
            started = time.monotonic()
            # Through a small Python that starts sync_leads and reports its rusage: a child
            # started straight from this process inherits this process's peak RSS as its own
            # (Linux folds the pre-exec high-water mark into ru_maxrss), seeding's included.
            with tempfile.NamedTemporaryFile(mode="r", suffix=".rss") as report:
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        RSS_PROBE,
                        report.name,
                        sys.executable,
                        str(ROOT / "manage.py"),
                        "sync_leads",
                        "--bot",  # the list benches' bots have no API behind them
                        "Sync bench",
                        "--full",
                        "--concurrency",
                        "8",
                        "--no-progress",
                    ],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                out, err = proc.communicate()
                elapsed = time.monotonic() - started
                if proc.returncode:
                    raise RuntimeError(f"sync_leads failed: {err.strip()[-2000:]}")
                peak_kb, cpu_s = report.read().split()
            times.append(elapsed)
            rss.append(int(peak_kb) / 1024)
            cpu.append(float(cpu_s))
            results["zero_latency_chats"] = Lead.objects.filter(
                bot__remote_bot_id="sync-bot"
            ).count()
            results["sync_line"] = out.strip()
            if repeat > 1:
                print(
                    f"    run {len(times)}: {elapsed:.1f} s, "
                    f"{results['zero_latency_chats'] / elapsed:,.0f} leads/s, "
                    f"peak RSS {rss[-1]:.0f} MB, CPU {cpu[-1]:.1f} s",
                    flush=True,
                )
    finally:
        box.terminate()
        box.wait()
        clear_sync_bot()
    results["zero_latency_s"] = statistics.median(times)
    results["peak_rss_mb"] = max(rss)
    results["cpu_s"] = statistics.median(cpu)
    return results


def bench_sync(chats: int, latency_chats: int, repeat: int = 1) -> dict:
    """The sync against the sandbox: vs the plain loop at 100 ms latency, then throughput."""
    return {**bench_sync_latency(latency_chats), **bench_sync_throughput(chats, repeat)}


def print_sync(s: dict) -> None:
    if "ours_s" in s:
        print(
            f"  {s['latency_chats']:,} chats at 100 ms: BotPanel (concurrency 8) "
            f"{s['ours_s']:.1f} s, plain loop {s['plain_loop_s']:.1f} s, "
            f"ratio {s['plain_loop_s'] / s['ours_s']:.1f}x"
        )
    print(
        f"  {s['zero_latency_chats']:,} chats at zero latency (sync_leads in its own process): "
        f"{s['zero_latency_s']:.1f} s, {s['zero_latency_chats'] / s['zero_latency_s']:,.0f} "
        f"leads/s, peak RSS {s['peak_rss_mb']:.0f} MB; the sync's own CPU (user + system) "
        f"{s['cpu_s']:.1f} s, {s['cpu_s'] / s['zero_latency_chats'] * 1e6:.0f} µs per chat"
    )
    print(f"  ({s['sync_line']})")
