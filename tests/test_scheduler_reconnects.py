"""The scheduler outlives the end of its database connection (PostgreSQL restarted, an
administrator's pg_terminate_backend): it connects again and keeps queueing sweeps and
heartbeats, instead of dying at its next enqueue."""

import subprocess
import time

import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from tests.factories import ROOT, child_env, manage

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.integration,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="ends the scheduler's PostgreSQL connection"
    ),
]


def heartbeats() -> int:
    return DBTaskResult.objects.filter(task_path="leads.tasks.heartbeat").count()


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_the_scheduler_connects_again_after_its_connection_is_ended(sandbox):
    env = child_env(sandbox, DELIVERY_SWEEP_SECONDS="1", SYNC_EVERY_MINUTES="0")
    scheduler = subprocess.Popen(
        manage("run_scheduler"), env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(lambda: heartbeats() >= 2)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            assert cursor.fetchone()[0] >= 1  # the scheduler's connection
        before = heartbeats()
        wait_for(lambda: heartbeats() >= before + 2 or scheduler.poll() is not None)
        assert scheduler.poll() is None, scheduler.communicate(timeout=10)[1][-2000:]
        assert heartbeats() >= before + 2
    finally:
        scheduler.terminate()
        scheduler.wait(10)
