"""Planner statistics after a sync that grew the mirror, on both databases.

SQLite keeps none unless asked: without them it cannot tell that the mirror holds one bot (a lead
looked up by uuid alone read the whole (bot_id, uuid) index instead of skip-scanning it), and the
list's index choices rest on guesses.

PostgreSQL's autovacuum analyzes and vacuums by itself a while after a large sync, where it is
on; until then, or where it is off, a mirror filled by one sync has no statistics and no
visibility map, and the list's pages are several times slower (the README's Performance section
has the figures). So a sync that grew the mirror runs VACUUM (ANALYZE) on its tables itself, or
ANALYZE alone inside a transaction, where VACUUM cannot run."""

from django.db import connection

# Re-analyze when a sync created at least this share of the rows the statistics describe.
GROWTH = 0.1
TABLES = ("leads_lead", "leads_leadtag")


def analyzed_rows() -> int | None:
    """Rows leads_lead had when last analyzed; None when it never was."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # reltuples: -1 until the table is first vacuumed or analyzed (PostgreSQL 14+)
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'leads_lead'::regclass")
            (reltuples,) = cursor.fetchone()
            return None if reltuples < 0 else int(reltuples)
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            return None
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = 'leads_lead' LIMIT 1")
        row = cursor.fetchone()
    return int(row[0].split()[0]) if row and row[0] else None


def refresh_after_sync(*, created: int) -> bool:
    """Analyze the mirror's tables (PostgreSQL: vacuum them too) when they were never analyzed
    or a sync created at least GROWTH of their rows. Returns whether it ran."""
    if connection.vendor not in ("sqlite", "postgresql") or created <= 0:
        return False
    rows = analyzed_rows()
    if rows is not None and created < GROWTH * rows:
        return False
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            cursor.execute(f"VACUUM (ANALYZE) {', '.join(TABLES)}")
        else:
            for table in TABLES:
                cursor.execute(f"ANALYZE {table}")
    return True
