"""The board cases of the benchmark: /board/ (six columns of 50 cards and their counts) against
the Django admin changelist's default page at 100 rows, taking turns request by request in the
same run, as list_cases does; and a column's next page (the request a scrolled column makes).

Every case but "cold" is warm: the columns' counts cached per mirror version, as the second
visit after a change finds them; "cold" clears every cache before each request (the first visit
after a sync or an edit: the counts computed by the database). The seeded mirror has no waiting
times (mirror.seed), so the leads are given the ones the sync would write first."""

from __future__ import annotations

import re
import statistics
import time

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from list_cases import settings_list_per_page
from mirror import BENCH_BOTS, tidy

from leads.models import Bot, Lead

ADMIN_URL = "/admin/leads/lead/"
AGENT = "64a1a9d0aa00000000000043"  # one of mirror.seed's agents


def ensure_waiting_times() -> None:
    """The waiting time the sync gives a lead it first sees (leads.sync.writer): since its
    arrival while Open, else since its last update; written once, for leads without one."""
    if not Lead.objects.filter(waiting_since__isnull=True).exists():
        return
    print("Giving the mirror's leads their waiting times…", flush=True)
    table = Lead._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET waiting_since = CASE WHEN status IN ('OPEN', '') "  # noqa: S608 - constant identifiers
            "THEN remote_created_at ELSE remote_updated_at END WHERE waiting_since IS NULL"
        )
    tidy()


def _timed(client: Client, url: str, cold: bool, htmx: bool) -> float:
    if cold:
        cache.clear()
    started = time.perf_counter()
    response = client.get(url, headers={"HX-Request": "true"} if htmx else {})
    ms = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"unexpected answer {response.status_code} for {url}")
    return ms


def _queries(client: Client, url: str, cold: bool, htmx: bool) -> int:
    if cold:
        cache.clear()
    with CaptureQueriesContext(connection) as ctx:
        client.get(url, headers={"HX-Request": "true"} if htmx else {})
    return len(ctx.captured_queries)


def next_page_url(client: Client, board_url: str, status: str = "OPEN") -> str:
    """The URL a column's second page loads from (its placeholder's hx-get)."""
    html = client.get(board_url).content.decode()
    found = re.search(
        rf'<li class="board-more" hx-get="([^"]*column={status}[^"]*)"', html.replace("&amp;", "&")
    )
    if not found:
        raise RuntimeError(f"no second page of {status} on {board_url}")
    return found.group(1)


def bench_board(runs: int) -> list[tuple[str, float, int, int]]:
    """(case, median ms, queries, cards shown) for each board case and the admin changelist's
    default page at 100 rows, taking turns request by request."""
    ensure_waiting_times()
    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    settings_list_per_page(100)
    scope = f"bot={Bot.objects.get(name=BENCH_BOTS[0]).pk}"
    # (label, url, cold, htmx)
    cases = [
        ("all bots", "/board/?bot=all", False, False),
        ("one bot", f"/board/?{scope}", False, False),
        ("search common", f"/board/?{scope}&q=meera", False, False),
        ("tag filter", f"/board/?{scope}&tag=vip", False, False),
        ("agent filter", f"/board/?{scope}&agent={AGENT}", False, False),
        ("all closed", f"/board/?{scope}&closed=all", False, False),
        ("next page", next_page_url(client, f"/board/?{scope}"), False, True),
        ("cold, all bots", "/board/?bot=all", True, False),
        ("admin 100 rows", ADMIN_URL, False, False),
    ]
    for _ in range(3):
        for _label, url, cold, htmx in cases:
            _timed(client, url, cold, htmx)
    times: list[list[float]] = [[] for _ in cases]
    for _ in range(runs):
        for i, (_label, url, cold, htmx) in enumerate(cases):
            times[i].append(_timed(client, url, cold, htmx))
    rows = []
    for i, (label, url, cold, htmx) in enumerate(cases):
        html = client.get(url, headers={"HX-Request": "true"} if htmx else {}).content
        cards = html.count(b'class="board-card"')
        rows.append((label, statistics.median(times[i]), _queries(client, url, cold, htmx), cards))
    return rows


def print_board(rows: list[tuple[str, float, int, int]]) -> None:
    admin_ms = next(ms for label, ms, _q, _c in rows if label.startswith("admin"))
    print(f"{'case':<16}{'ms':>9}{'queries':>9}{'cards':>7}{'admin ÷ board':>15}")
    for label, ms, queries, cards in rows:
        admin = label.startswith("admin")
        ratio = "" if admin else f"{admin_ms / ms:.1f}x"
        print(f"{label:<16}{ms:9.1f}{queries:9d}{'' if admin else cards:>7}{ratio:>15}")
