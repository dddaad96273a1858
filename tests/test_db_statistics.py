"""SQLite keeps no planner statistics unless asked: a sync that grows the mirror leaves them."""

import pytest
from django.db import connection

from leads import db_statistics
from leads.sync import sync_leads
from tests.test_sync import fill

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.integration,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL's autovacuum analyzes"),
]


def uuid_lookup_plan() -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN SELECT id FROM leads_lead WHERE uuid = 'x'")
        return " ".join(row[3] for row in cursor.fetchall())


def forget_statistics() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            return
        cursor.execute("DELETE FROM sqlite_stat1")
        cursor.execute("ANALYZE sqlite_master")  # makes the planner reload what is left


def test_a_sync_that_grows_the_mirror_analyzes_it_and_a_uuid_lookup_uses_the_index(botpenguin):
    forget_statistics()
    fill(botpenguin, 40)
    # Without statistics SQLite reads the whole (bot_id, uuid) index to find one uuid.
    assert "SCAN" in uuid_lookup_plan()
    sync_leads()
    assert db_statistics.analyzed_rows() == 40
    assert "SEARCH" in uuid_lookup_plan()  # a skip-scan over the one bot id


def test_a_sync_that_adds_little_leaves_the_statistics_alone(botpenguin):
    forget_statistics()
    fill(botpenguin, 40)
    sync_leads()
    fill(botpenguin, 2, start=100)
    sync_leads()  # 2 new of 40 analyzed: under 10%
    assert db_statistics.analyzed_rows() == 40
