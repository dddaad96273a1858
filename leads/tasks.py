"""Background work, run by `python manage.py db_worker` (django-tasks, database backend).

Queued tasks are stored by their path (`leads.tasks.run_sync`...): renaming one strands the
tasks already queued under the old name."""

import logging

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from leads import rollup
from leads.delivery import deliver_due, deliver_lead
from leads.models import Heartbeat, LeadChange, SyncRun
from leads.sync.errors import SyncError
from leads.sync.run import sync_leads

logger = logging.getLogger(__name__)


@task()
def run_sync(run_id: int, full: bool = False) -> dict:
    """Run the sync recorded as SyncRun `run_id` (created by services.sync_start)."""
    run = SyncRun.objects.get(pk=run_id)
    try:
        run = sync_leads(run=run, full=full)
    except SyncError as e:
        return {"state": "failed", "error": str(e)}
    refresh_insights.enqueue()
    return {"state": run.state, "summary": run.summary()}


@task()
def refresh_insights() -> dict:
    """Recompute the insights' dirty days (leads.insights.rollup); queued after every sync and
    by the scheduler's sweep, which covers the days delivered edits marked."""
    return {"days": rollup.refresh()}


def schedule_delivery(lead_id: int) -> None:
    """Ask the worker to deliver this lead's pending changes when they are due (once the
    caller's transaction commits)."""
    due = (
        LeadChange.objects.filter(lead_id=lead_id, state=LeadChange.State.PENDING)
        .order_by("id")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    run_after = due if due and due > timezone.now() else None

    def enqueue() -> None:
        due_task = (
            deliver_lead_changes.using(run_after=run_after) if run_after else deliver_lead_changes
        )
        due_task.enqueue(lead_id=lead_id)

    transaction.on_commit(enqueue)


@task()
def deliver_lead_changes(lead_id: int) -> dict:
    """Deliver one lead's due changes; reschedules itself while BotPenguin is unreachable."""
    outcome = deliver_lead(lead_id)
    if outcome.state in ("pending", "busy"):
        schedule_delivery(lead_id)
    if outcome.woken:
        deliver_due_changes.enqueue()
    return {"lead": lead_id, "state": outcome.state, "message": outcome.message}


@task()
def deliver_due_changes() -> dict:
    """Safety net run by the scheduler: every due change, whatever enqueued (or lost) it."""
    outcomes = deliver_due()
    return {"leads": len(outcomes), "delivered": sum(o.state == "delivered" for o in outcomes)}


@task()
def heartbeat() -> str:
    """Proves a worker is taking tasks off the queue (shown by /healthz)."""
    now = timezone.now()
    Heartbeat.objects.update_or_create(name="worker", defaults={"at": now})
    return now.isoformat()
