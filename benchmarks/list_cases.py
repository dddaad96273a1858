"""The list cases of the benchmark: our list against the Django admin changelist, the detail page,
and a status edit's own server time."""

from __future__ import annotations

import statistics
import time

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from mirror import BENCH_BOTS, clear_sync_bot
from sync_cases import free_port, start_sandbox, use_sandbox

from leads.botpenguin import client as bp_client
from leads.models import Bot, Lead
from leads.sync.run import sync_leads


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
    # Every case but the first is scoped to one of the three bots, on both sides (the list's
    # ?bot= and the admin's bot filter); "iyer4242" is a lead of that bot.
    scope = f"bot={Bot.objects.get(name=BENCH_BOTS[0]).pk}"
    cases = [
        ("all bots", "", ""),
        ("default", scope, scope),
        ("status filter", f"{scope}&status=REVIEW", f"{scope}&status__exact=REVIEW"),
        ("tag filter", f"{scope}&tag=vip", None),
        ("search common", f"{scope}&q={name_like}", f"{scope}&q={name_like}"),
        ("search rare", f"{scope}&q=iyer4242", f"{scope}&q=iyer4242"),
        ("sort by name", f"{scope}&sort=name", f"{scope}&o=1"),
        ("page 200", f"{scope}&page=200", f"{scope}&p=199"),
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
                _expect(admin_status == 200, admin_url)
            _expect(status == 200, ours_url)
            rows.append((label, size, ms, queries, admin_ms, admin_q))
    return rows


def settings_list_per_page(size: int) -> None:
    admin.site.get_model_admin(Lead).list_per_page = size


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
        leads = list(
            Lead.objects.filter(bot__remote_bot_id="sync-bot", is_lead=True).order_by("id")[:40]
        )
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
            _expect(response.status_code == 200, response.content[:300])
            _expect(len(http_ms) == 1, "the edit was not sent at once")
            if i >= 3:
                totals.append(total)
                server.append(total - sum(http_ms))
    finally:
        bp_client.BotPenguinClient._request = original
        box.terminate()
        box.wait()
        clear_sync_bot()
    return {"server_ms": statistics.median(server), "total_ms": statistics.median(totals)}


def _expect(ok: bool, what: object) -> None:
    if not ok:
        raise RuntimeError(f"unexpected answer: {what}")
