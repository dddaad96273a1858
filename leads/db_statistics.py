"""Planner statistics for SQLite, which keeps none unless asked (PostgreSQL's autovacuum
analyzes by itself). Without them SQLite cannot tell that the mirror holds one bot: a lead looked
up by uuid alone read the whole (bot_id, uuid) index instead of skip-scanning it, and the list's
index choices rest on guesses."""

from django.db import connection

# Re-analyze when a sync created at least this share of the rows the statistics describe.
GROWTH = 0.1
TABLES = ("leads_lead", "leads_leadtag")


def analyzed_rows() -> int | None:
    """Rows leads_lead had when last analyzed; None when it never was."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            return None
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = 'leads_lead' LIMIT 1")
        row = cursor.fetchone()
    return int(row[0].split()[0]) if row and row[0] else None


def refresh_after_sync(*, created: int) -> bool:
    """ANALYZE the mirror's tables on SQLite when they were never analyzed or a sync created at
    least GROWTH of their rows (about a second per 100,000 leads). Returns whether it ran."""
    if connection.vendor != "sqlite" or created <= 0:
        return False
    rows = analyzed_rows()
    if rows is not None and created < GROWTH * rows:
        return False
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"ANALYZE {table}")
    return True
