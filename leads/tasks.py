"""Background work, run by `python manage.py db_worker` (django-tasks, database backend)."""

import logging

from django.utils import timezone
from django_tasks import task

from leads.models import Heartbeat, SyncRun
from leads.services import delivery
from leads.sync.run import SyncError, sync_leads

logger = logging.getLogger(__name__)


@task()
def run_sync(run_id: int, full: bool = False) -> dict:
    """Run the sync recorded as SyncRun `run_id` (created by services.sync_start)."""
    run = SyncRun.objects.get(pk=run_id)
    try:
        run = sync_leads(run=run, full=full)
    except SyncError as e:
        return {"state": "failed", "error": str(e)}
    return {"state": run.state, "summary": run.summary()}


@task()
def deliver_lead_changes(lead_id: int) -> dict:
    """Deliver one lead's due changes; reschedules itself while BotPenguin is unreachable."""
    from leads.services import schedule_delivery

    outcome = delivery.deliver_lead(lead_id)
    if outcome.state in ("pending", "busy"):
        schedule_delivery(lead_id)
    return {"lead": lead_id, "state": outcome.state, "message": outcome.message}


@task()
def deliver_due_changes() -> dict:
    """Safety net run by the scheduler: every due change, whatever enqueued (or lost) it."""
    outcomes = delivery.deliver_due()
    return {"leads": len(outcomes), "delivered": sum(o.state == "delivered" for o in outcomes)}


@task()
def heartbeat() -> str:
    """Proves a worker is taking tasks off the queue (shown by /healthz)."""
    now = timezone.now()
    Heartbeat.objects.update_or_create(name="worker", defaults={"at": now})
    return now.isoformat()
