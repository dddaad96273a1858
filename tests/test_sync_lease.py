"""The sync lease: at most one sync at a time, whoever starts it and from whichever process.

Real processes and threads against the test database (SQLite or PostgreSQL) and the sandbox."""

import subprocess
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from leads.models import Lead, SyncLease, SyncRun
from leads.sync.errors import SyncBusy
from leads.sync.lease import take_sync_lease
from tests.factories import ROOT, child_env, env_bot, fill, manage

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def lease() -> SyncLease | None:
    return SyncLease.objects.filter(bot=env_bot()).first()


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_racing_takes_of_the_lease_let_exactly_one_through():
    barrier = threading.Barrier(8)
    taken, refused, errors = [], [], []

    def contender(n: int) -> None:
        try:
            barrier.wait()
            taken.append(take_sync_lease(bot_id=env_bot().pk, holder=f"contender {n}"))
        except SyncBusy as e:
            refused.append(str(e))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))
        finally:
            connection.close()

    threads = [threading.Thread(target=contender, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(taken) == 1 and len(refused) == 7
    holder = lease().holder
    assert holder.startswith("contender ")
    for message in refused:
        assert message.startswith("a sync is already running (started ")
        assert f"by {holder})" in message


def test_a_second_sync_while_one_runs_is_refused_and_sync_now_queues_nothing(
    botpenguin, client, admin_user
):
    fill(botpenguin, 400)
    botpenguin.sandbox.latency_ms = 200  # 20 pages of 20: several seconds at concurrency 1
    # A 2-second lease: the running sync must renew it to keep it.
    env = child_env(botpenguin, SYNC_LEASE_SECONDS="2")
    first = subprocess.Popen(
        manage("sync_leads", "--full", "--concurrency", "1", "--no-progress"),
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: (held := lease()) is not None and held.owner != "")
        time.sleep(2.5)  # longer than the lease: only renewing keeps it
        assert first.poll() is None, "the first sync ended too early for this test"

        with pytest.raises(CommandError) as excinfo:
            call_command("sync_leads", "--no-progress")
        message = str(excinfo.value)
        assert message.startswith("Not started: a sync is already running (started ")
        assert f"by the sync_leads command (process {first.pid} on " in message

        client.force_login(admin_user)
        response = client.post("/sync/now/", HTTP_HX_REQUEST="true")
        assert "a sync is already running (started " in response.content.decode()
        response = client.post("/sync/now/", {"next": "/"}, follow=True)
        assert "a sync is already running" in response.content.decode()
        assert DBTaskResult.objects.count() == 0
        assert SyncRun.objects.count() == 1
    finally:
        out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err[-2000:]
    assert "400 created" in out
    run = SyncRun.objects.get()
    assert run.state == "succeeded" and run.created == 400
    assert Lead.objects.count() == 400
    assert lease().owner == ""
    # Free again: the next sync runs.
    call_command("sync_leads", "--no-progress")
    assert SyncRun.objects.filter(state="succeeded").count() == 2


def test_sync_now_holds_the_lease_for_the_queued_run_until_a_worker_has_run_it(
    botpenguin, client, admin_user
):
    fill(botpenguin, 9)
    client.force_login(admin_user)
    client.post("/sync/now/", HTTP_HX_REQUEST="true")
    run = SyncRun.objects.get()
    assert run.state == "running" and DBTaskResult.objects.count() == 1
    # Queued, not started yet: a second click and the command are both refused.
    response = client.post("/sync/now/", HTTP_HX_REQUEST="true")
    assert f"by {admin_user.username})" in response.content.decode()
    with pytest.raises(CommandError, match="a sync is already running"):
        call_command("sync_leads", "--no-progress")
    assert SyncRun.objects.count() == 1 and DBTaskResult.objects.count() == 1

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    run.refresh_from_db()
    assert run.state == "succeeded" and Lead.objects.count() == 9
    assert lease().owner == ""


@pytest.mark.parametrize("expired", [True, False])
def test_a_crashed_sync_holds_the_lease_only_until_it_expires(botpenguin, expired):
    fill(botpenguin, 5)
    crashed = SyncRun.objects.create(state="running")
    now = timezone.now()
    SyncLease.objects.create(
        bot=env_bot(),
        owner="a-process-that-was-killed",
        holder="the sync_leads command (process 4242 on web-2)",
        run=crashed,
        started_at=now - timedelta(minutes=20),
        expires_at=now + timedelta(seconds=-1 if expired else 60),
    )

    if expired:
        call_command("sync_leads", "--no-progress")
        assert Lead.objects.count() == 5
        crashed.refresh_from_db()
        assert crashed.state == "failed" and "interrupted" in crashed.error
        assert SyncRun.objects.exclude(pk=crashed.pk).get().state == "succeeded"
        assert lease().owner == ""
    else:
        with pytest.raises(CommandError, match=r"by the sync_leads command \(process 4242"):
            call_command("sync_leads", "--no-progress")
        assert Lead.objects.count() == 0
        assert SyncRun.objects.get().state == "running"
        assert lease().owner == "a-process-that-was-killed"


@pytest.mark.parametrize("failure", ["token rejected", "unexpected error"])
def test_the_lease_is_released_when_a_sync_fails(botpenguin, monkeypatch, failure):
    fill(botpenguin, 5)
    if failure == "token rejected":
        monkeypatch.setattr(botpenguin.sandbox, "token", "another-token")
        expected = CommandError
    else:

        def broken():
            raise RuntimeError("disk full")

        # An error no sync expects, raised once the batches are written.
        monkeypatch.setattr("leads.selectors.counting.bump_mirror_version", broken)
        expected = RuntimeError

    with pytest.raises(expected):
        call_command("sync_leads", "--full", "--no-progress")

    assert lease().owner == ""
    failed = SyncRun.objects.get()
    assert failed.state == "failed" and failed.finished_at is not None
    assert ("token" if expected is CommandError else "disk full") in failed.error
    monkeypatch.undo()
    call_command("sync_leads", "--no-progress")
    assert Lead.objects.count() == 5
    assert SyncRun.objects.exclude(pk=failed.pk).get().state == "succeeded"
