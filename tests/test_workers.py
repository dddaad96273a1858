"""Real worker processes against the test database and the sandbox: several db_workers at once,
and a worker killed in the middle of a delivery."""

import signal
import subprocess
import time

import pytest
from django_tasks_db.models import DBTaskResult

from leads import services
from leads.models import Lead, LeadChange
from leads.tasks import deliver_lead_changes
from tests.factories import ROOT, child_env, make_lead, manage, pending_status_edit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def test_two_workers_drain_200_changes_over_20_leads_in_order_and_once(botpenguin, user):
    box = botpenguin.sandbox
    leads = [make_lead(n, sandbox=box) for n in range(20)]
    statuses = ["INPROGRESS", "REVIEW", "ONHOLD", "DEPENDANCY", "CLOSED"]
    box.fail_puts = True
    for i in range(10):
        for lead in leads:
            if i % 2:
                services.lead_add_tag(lead=lead, tag=f"round-{i}", user=user)
            else:
                services.lead_set_status(lead=lead, status=statuses[(i // 2) % 5], user=user)
    assert LeadChange.objects.filter(state="pending").count() == 200
    final = {lead.uuid: Lead.objects.get(pk=lead.pk) for lead in leads}
    # Every change is due now, and queued as its own task (so the workers contend per lead).
    LeadChange.objects.update(next_attempt_at=None)
    DBTaskResult.objects.all().delete()
    for change in LeadChange.objects.order_by("id"):
        deliver_lead_changes.enqueue(lead_id=change.lead_id)
    box.fail_puts = False
    box.latency_ms = 20
    box.clear_requests()

    env = child_env(botpenguin)
    workers = [
        subprocess.Popen(
            manage("db_worker", "--batch", "--no-startup-delay", "--no-reload", "-v", "0"),
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    for worker in workers:
        output, _ = worker.communicate(timeout=240)
        assert worker.returncode == 0, output.decode()[-2000:]

    assert not LeadChange.objects.filter(state__in=["pending", "failed"]).exists()
    for lead in leads:
        puts = [p for p in box.puts(lead.uuid) if p.status == 200]
        # In order and none twice: one PUT per lead, carrying the latest value of every field.
        assert len(puts) == 1, [p.body for p in puts]
        assert puts[0].body["status"] == final[lead.uuid].status
        assert puts[0].body["tags"] == final[lead.uuid].tags
        chat = box.get_chat(lead.uuid)
        assert chat["status"] == final[lead.uuid].status
        assert chat["profile"]["userDetails"]["tags"] == final[lead.uuid].tags
    assert LeadChange.objects.filter(state="delivered").count() == 40
    assert LeadChange.objects.filter(state="superseded").count() == 160


def test_a_worker_killed_mid_delivery_leaves_the_change_to_another(botpenguin, user):
    box = botpenguin.sandbox
    lead = make_lead(1, sandbox=box)
    box.fail_puts = True
    services.lead_set_status(lead=lead, status="CLOSED", user=user)
    box.fail_puts = False
    box.latency_ms = 5000
    box.clear_requests()
    env = child_env(botpenguin, DELIVERY_LEASE_SECONDS="2")

    doomed = subprocess.Popen(manage("deliver_changes"), env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while not box.puts(lead.uuid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert box.puts(lead.uuid), "the first worker never sent its PUT"
    doomed.send_signal(signal.SIGKILL)  # killed while its PUT is in flight
    doomed.wait(timeout=10)
    box.latency_ms = 0

    change = LeadChange.objects.get()
    assert change.state == "pending"  # not lost, not marked delivered
    time.sleep(2.2)  # the dead worker's lease runs out
    finished = subprocess.run(
        manage("deliver_changes"), env=env, cwd=ROOT, capture_output=True, timeout=60
    )
    assert finished.returncode == 0, finished.stderr.decode()[-2000:]
    assert b"1 delivered" in finished.stdout
    change.refresh_from_db()
    assert change.state == "delivered"
    assert box.get_chat(lead.uuid)["status"] == "CLOSED"
    assert Lead.objects.get(pk=lead.pk).change_state == ""


def test_a_worker_whose_connection_ends_between_rounds_connects_again(
    botpenguin, user, monkeypatch
):
    """Seen in the load test's faults run on PostgreSQL: pg_terminate_backend landed between the
    loop's connection check and its query for the next task, and django-tasks-db's loop raised
    out and ended the worker. Ours (botpanel/management/commands/db_worker.py) connects again
    and goes on delivering."""
    from django.db import OperationalError
    from django_tasks_db.models import DBTaskResultQuerySet

    from botpanel.management.commands.db_worker import Worker

    box = botpenguin.sandbox
    lead = pending_status_edit(box, user, "CLOSED")
    DBTaskResult.objects.all().delete()
    deliver_lead_changes.enqueue(lead_id=lead.pk)
    ended = []
    get_locked = DBTaskResultQuerySet.get_locked

    def ended_once(queryset):
        if not ended:
            ended.append(True)
            raise OperationalError("terminating connection due to administrator command")
        return get_locked(queryset)

    monkeypatch.setattr(DBTaskResultQuerySet, "get_locked", ended_once)
    worker = Worker(
        queue_names=["default"],
        interval=0.05,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="reconnecting",
        excluded_queue_names=[],
    )
    worker.run()  # batch: returns once no task is left

    assert ended
    assert LeadChange.objects.get(lead=lead).state == "delivered"
    assert [p.body["status"] for p in box.puts(lead.uuid) if p.status == 200] == ["CLOSED"]
