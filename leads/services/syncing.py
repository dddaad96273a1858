"""Starting a sync in the background (the Sync now button and the scheduler)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from leads import tasks  # the module, not its names: see leads.services.edits
from leads.accounts.permissions import SYNC, require_service
from leads.botpenguin.errors import ConfigurationError
from leads.bots.config import default_bot
from leads.models import SyncRun
from leads.services.edits import User
from leads.sync.lease import take_sync_lease

logger = logging.getLogger(__name__)


def sync_start(*, user: User, full: bool = False) -> SyncRun:
    """Queue a background sync, holding the sync lease for it from now on.

    Raises SyncBusy ("a sync is already running (started … by …)") while another sync holds the
    lease (a person clicked twice, the scheduler ticked during a long sync, the command runs):
    nothing is queued then. The queued run takes the lease over when a worker starts it."""
    require_service(user, SYNC)
    holder = getattr(user, "username", "") or "the scheduler"
    try:
        bot = default_bot()
    except ConfigurationError as e:  # recorded on a failed run, which the pages show
        return SyncRun.objects.create(
            kind="all", full=full, state="failed", error=str(e), finished_at=timezone.now()
        )
    with transaction.atomic():
        run = SyncRun.objects.create(bot=bot, kind="all", full=full)
        take_sync_lease(bot_id=bot.pk, holder=holder, run=run)  # SyncBusy rolls the run back
    transaction.on_commit(lambda: tasks.run_sync.enqueue(run_id=run.pk, full=full))
    logger.info("Sync %s started by %s", run.pk, getattr(user, "username", "system"))
    return run
