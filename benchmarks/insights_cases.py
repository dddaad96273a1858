"""The insights cases of the benchmark: /insights/ over 90 days against the Django admin
changelist's default page (100 rows), taking turns in the same run, and the overview.

Our page is measured twice: "cold", every cache cleared before each request (what the first
visit after a sync or an edit costs: every figure computed by the database), and "warm", the
figures cached per mirror version (what the next visits cost). The mirror gets a status history
first if it has none: a start at each lead's arrival, and for a lead not Open a move from Open
to its status some hours later, written by two INSERT … SELECT statements; and the waiting
times the sync would write (board_cases.ensure_waiting_times)."""

from __future__ import annotations

import statistics
import time
from datetime import date, timedelta

from board_cases import ensure_waiting_times
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from list_cases import settings_list_per_page
from mirror import tidy

from leads import rollup
from leads.models import InsightsRollupState, Lead, StatusChange

# The day the benchmark mirror's leads count back from (mirror.seed): the 90 days end there, so
# a run on any later date measures the same leads as ?range=90 measured on that day.
SEED_DAY = date(2026, 11, 1)
INSIGHTS_URL = (
    f"/insights/?range=custom&start={SEED_DAY - timedelta(days=89)}&end={SEED_DAY}&bot=all"
)
ADMIN_URL = "/admin/leads/lead/"

# A lead not Open moved between a minute and three days after it arrived, to the second (real
# durations hardly repeat, so the rollup's durations are as many as a real mirror's).
MOVED_SECONDS = "((id * 7919) % 259140 + 60)"
MOVED_AT = {
    "sqlite": f"strftime('%Y-%m-%d %H:%M:%f', remote_created_at, '+' || {MOVED_SECONDS} || ' seconds')",
    "postgresql": f"remote_created_at + {MOVED_SECONDS} * interval '1 second'",
}


def ensure_history() -> None:
    """A status history and waiting times for the seeded leads, when they have none (the same
    waiting times as the board's bench, so that either bench may run first), and the insights'
    daily rollup of them, as the worker keeps it."""
    ensure_waiting_times()
    rebuild = not InsightsRollupState.objects.exists()
    if StatusChange.objects.count() < Lead.objects.count():
        write_history()
        rebuild = True
    started = time.monotonic()
    if rebuild:
        rollup.rebuild()
    if days := rollup.refresh():
        print(f"  rollup of {days:,} bot-days in {time.monotonic() - started:.0f} s", flush=True)


def write_history() -> None:
    print("Writing a status history for the mirror…", flush=True)
    started = time.monotonic()
    table = StatusChange._meta.db_table
    leads = Lead._meta.db_table
    columns = '(lead_id, bot_id, from_status, to_status, "at", source)'
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - constant identifiers
        cursor.execute(
            f"INSERT INTO {table} {columns} SELECT id, bot_id, '', 'OPEN', remote_created_at, "  # noqa: S608 - constant identifiers
            f"'start' FROM {leads} WHERE remote_created_at IS NOT NULL"
        )
        cursor.execute(
            f"INSERT INTO {table} {columns} SELECT id, bot_id, 'OPEN', status, "  # noqa: S608 - constant identifiers
            f"{MOVED_AT[connection.vendor]}, 'botpanel' FROM {leads} "
            "WHERE remote_created_at IS NOT NULL AND status <> 'OPEN'"
        )
    tidy()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    print(
        f"  {StatusChange.objects.count():,} status changes in {time.monotonic() - started:.0f} s"
    )


def _timed(client: Client, url: str, cold: bool) -> float:
    if cold:
        cache.clear()
    started = time.perf_counter()
    response = client.get(url)
    ms = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"unexpected answer {response.status_code} for {url}")
    return ms


def _queries(client: Client, url: str, cold: bool) -> int:
    if cold:
        cache.clear()
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    return len(ctx.captured_queries)


def bench_insights(runs: int) -> list[tuple[str, float, int]]:
    """(case, median ms, queries) for the insights page cold and warm, the overview cold and
    warm, and the admin changelist's default page at 100 rows, taking turns request by
    request."""
    ensure_history()
    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    settings_list_per_page(100)
    cases = [
        ("insights cold", INSIGHTS_URL, True),
        ("insights warm", INSIGHTS_URL, False),
        ("overview cold", "/", True),
        ("overview warm", "/", False),
        ("admin 100 rows", ADMIN_URL, False),
    ]
    for _ in range(3):
        for _label, url, cold in cases:
            _timed(client, url, cold)
    times: list[list[float]] = [[] for _ in cases]
    for _ in range(runs):
        for i, (_label, url, cold) in enumerate(cases):
            times[i].append(_timed(client, url, cold))
    return [
        (label, statistics.median(times[i]), _queries(client, url, cold))
        for i, (label, url, cold) in enumerate(cases)
    ]


def print_insights(rows: list[tuple[str, float, int]]) -> None:
    admin_ms = next(ms for label, ms, _ in rows if label.startswith("admin"))
    print(f"{'case':<16}{'ms':>9}{'queries':>9}{'vs admin':>10}")
    for label, ms, queries in rows:
        ratio = f"{admin_ms / ms:.1f}x" if not label.startswith("admin") else ""
        print(f"{label:<16}{ms:9.1f}{queries:9d}{ratio:>10}")
    print(f"insights: {INSIGHTS_URL}")
