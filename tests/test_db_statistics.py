"""A sync that grows the mirror leaves planner statistics: SQLite keeps none unless asked, and
PostgreSQL's autovacuum may be off or not yet round (it is off on this project's machines)."""

import pytest
from django.db import connection, transaction

from leads.sync import statistics as db_statistics
from leads.sync.run import sync_leads
from tests.factories import fill

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's statistics")
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's statistics"
)


def forget_statistics() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # As after a first sync on a server whose autovacuum has not come round.
            cursor.execute("UPDATE pg_class SET reltuples = -1 WHERE oid = 'leads_lead'::regclass")
            cursor.execute("DELETE FROM pg_statistic WHERE starelid = 'leads_lead'::regclass")
            return
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            return
        cursor.execute("DELETE FROM sqlite_stat1")
        cursor.execute("ANALYZE sqlite_master")  # makes the planner reload what is left


def column_statistics() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'leads_lead'")
        return cursor.fetchone()[0]


@sqlite_only
def test_a_sync_that_grows_the_mirror_analyzes_it(botpenguin):
    forget_statistics()
    assert db_statistics.analyzed_rows() is None
    fill(botpenguin, 40)
    sync_leads()
    assert db_statistics.analyzed_rows() == 40


def test_a_sync_that_adds_little_leaves_the_statistics_alone(botpenguin):
    forget_statistics()
    fill(botpenguin, 40)
    sync_leads()
    assert db_statistics.analyzed_rows() == 40
    fill(botpenguin, 2, start=100)
    sync_leads()  # 2 new of 40 analyzed: under 10%
    assert db_statistics.analyzed_rows() == 40


@postgresql_only
def test_postgresql_a_sync_that_grows_the_mirror_vacuums_and_analyzes_it(botpenguin):
    forget_statistics()
    assert db_statistics.analyzed_rows() is None and column_statistics() == 0
    fill(botpenguin, 40)
    sync_leads()
    assert db_statistics.analyzed_rows() == 40
    assert column_statistics() > 0
    with connection.cursor() as cursor:  # vacuumed: every page all-visible (index-only scans)
        cursor.execute(
            "SELECT relallvisible = relpages FROM pg_class WHERE oid = 'leads_lead'::regclass"
        )
        assert cursor.fetchone()[0] is True


@postgresql_only
def test_postgresql_inside_a_transaction_a_sync_analyzes_without_vacuum(botpenguin):
    forget_statistics()
    fill(botpenguin, 40)
    with transaction.atomic():  # VACUUM cannot run in a transaction block
        sync_leads()
        assert db_statistics.analyzed_rows() == 40
