"""Background work, run by `python manage.py db_worker` (django-tasks, database backend)."""

import logging

from django_tasks import task

from leads.models import SyncRun
from leads.sync import SyncError, sync_leads

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
