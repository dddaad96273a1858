"""The benchmarks' mirror: seeded straight into the database, tidied and cleared between runs."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from django.db import connection

from leads.botpenguin.sandbox.seed import STATUS_WEIGHTS as STATUSES
from leads.botpenguin.sandbox.seed import TAGS
from leads.models import (
    Bot,
    InsightsDay,
    InsightsDirtyDay,
    InsightsRollupState,
    Lead,
    LeadChange,
    LeadSeen,
    LeadTag,
    StatusChange,
)

FIRST = [
    "Meera",
    "Arjun",
    "Priya",
    "Rahul",
    "Ana",
    "José",
    "Zoë",
    "Emma",
    "Liam",
    "Fatima",
    "Omar",
    "Chen",
    "Yuki",
    "Ivan",
    "Sofia",
    "Lucas",
    "Aisha",
    "Kenji",
    "Nora",
    "Mateo",
]
LAST = [
    "Iyer",
    "Sharma",
    "Patel",
    "García",
    "Müller",
    "Dubois",
    "Smith",
    "Nguyen",
    "Khan",
    "Silva",
    "Rossi",
    "Tanaka",
    "Petrov",
    "Haddad",
    "Kim",
    "Okafor",
    "Larsen",
    "Costa",
]


def seed(n: int) -> None:
    have = Lead.objects.count()
    if have == n and Lead.objects.filter(bot__name__in=BENCH_BOTS).count() == n:
        print(f"Mirror already holds {n:,} leads.")
        tidy()
        return
    print(f"Seeding {n:,} leads into the mirror…", flush=True)
    clear_mirror()
    bots = bench_bots()
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
                    bot=bots[i % len(bots)],
                    uuid=f"{rng.getrandbits(128):032x}",
                    remote_id=f"{i:024x}",
                    is_lead=rng.random() < 0.8,
                    name=f"{first} {last}",
                    email=f"{first}.{last}{i}@example.org".lower(),
                    phone=f"{rng.randint(6000000000, 9999999999)}",
                    dial_code="+91",
                    status=rng.choices(statuses, weights)[0],
                    agent_id=rng.choice(agents),
                    tags=rng.sample(TAGS, rng.choice([0, 1, 1, 2, 2, 3, 4])),
                    notes=[
                        {"id": "", "title": "Pricing", "description": "Asked for the annual plan"}
                    ],
                    attributes=[{"key": "plan", "value": "annual"}],
                    last_message_at=updated,
                    last_message_by="user",
                    last_message_text="What does the annual plan cost?",
                    remote_created_at=created,
                    remote_updated_at=updated,
                    raw={},
                    raw_hash="x",
                )
            )
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


# The list benches' mirror: `n` leads spread evenly over these bots (the scoped cases show one).
BENCH_BOTS = ("Bench A", "Bench B", "Bench C")


def bench_bots() -> list[Bot]:
    bots = []
    for name in BENCH_BOTS:
        bot, _ = Bot.objects.get_or_create(
            name=name,
            defaults={
                "api_url": "http://127.0.0.1:9",
                "remote_bot_id": name.lower().replace(" ", "-"),
                "customer_id": "bench-customer",
            },
        )
        bots.append(bot)
    return bots


def clear_mirror(bot_id: int | None = None) -> None:
    """Delete the leads (of bot `bot_id`, or all) in three statements, without loading them: a
    Django delete() collects every row and its changes first, hundreds of MB for 100,000 leads."""
    leads = Lead._meta.db_table
    where, params = ("WHERE bot_id = %s", [bot_id]) if bot_id else ("", [])
    with connection.cursor() as cursor:
        # The status history first: it refers to the changes as well as to the leads.
        for model in (LeadTag, StatusChange, LeadSeen, LeadChange):
            cursor.execute(
                f"DELETE FROM {model._meta.db_table} WHERE lead_id IN "  # noqa: S608 - constant identifiers
                f"(SELECT id FROM {leads} {where})",
                params,
            )
        cursor.execute(f"DELETE FROM {leads} {where}", params)  # noqa: S608 - constant identifiers
        # The insights' rollup of those leads goes too (rebuilt by the insights bench).
        for model in (InsightsDay, InsightsDirtyDay):
            cursor.execute(f"DELETE FROM {model._meta.db_table} {where}", params)  # noqa: S608 - constant identifiers
    if bot_id is None:
        InsightsRollupState.objects.all().delete()


def clear_sync_bot() -> None:
    """Delete the sync bench's leads (of the bots whose Bot ID is "sync-bot")."""
    for bot_id in Bot.objects.filter(remote_bot_id="sync-bot").values_list("pk", flat=True):
        clear_mirror(bot_id)
    if connection.vendor == "postgresql":
        tidy()
