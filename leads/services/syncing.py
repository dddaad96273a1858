"""Starting syncs in the background (the Sync now button and the scheduler): one run per bot."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from leads import tasks  # the module, not its names: see leads.services.edits
from leads.accounts.permissions import SYNC, require_service
from leads.botpenguin.errors import ConfigurationError
from leads.models import Bot, SyncRun
from leads.services.edits import User
from leads.sync.errors import SyncBusy
from leads.sync.every_bot import bots_to_sync
from leads.sync.lease import take_sync_lease

logger = logging.getLogger(__name__)


@dataclass
class SyncsStarted:
    """What sync_start_bots did: the runs it queued, and the bots whose sync is already running
    ({bot name: who holds its lease and since when})."""

    runs: list[SyncRun] = field(default_factory=list)
    busy: dict[str, str] = field(default_factory=dict)


def sync_start_bots(
    *, user: User, full: bool = False, bots: list[Bot] | None = None
) -> SyncsStarted:
    """Queue a background sync of each of `bots` (every active bot by default), each holding
    its bot's sync lease from now on; a bot whose lease is held (a person clicked twice, the
    scheduler ticked during a long sync, the command runs) is reported in `busy` and gets no
    run. With no bot at all, one failed run records why (the pages show it)."""
    require_service(user, SYNC)
    holder = getattr(user, "username", "") or "the scheduler"
    started = SyncsStarted()
    try:
        bots = bots if bots is not None else bots_to_sync()
    except ConfigurationError as e:
        started.runs.append(
            SyncRun.objects.create(
                kind="all", full=full, state="failed", error=str(e), finished_at=timezone.now()
            )
        )
        return started
    for bot in bots:
        try:
            with transaction.atomic():
                run = SyncRun.objects.create(bot=bot, kind="all", full=full)
                take_sync_lease(bot_id=bot.pk, holder=holder, run=run)  # SyncBusy: no run
        except SyncBusy as e:
            started.busy[bot.name] = str(e)
            continue
        transaction.on_commit(
            lambda run_id=run.pk: tasks.run_sync.enqueue(run_id=run_id, full=full)
        )
        started.runs.append(run)
        logger.info(
            "Sync %s of bot %s started by %s",
            run.pk,
            bot.pk,
            getattr(user, "username", "system"),
        )
    return started


def sync_start(*, user: User, full: bool = False, bots: list[Bot] | None = None) -> SyncRun:
    """sync_start_bots for `bots` (every active bot by default); returns the first run queued.

    Raises SyncBusy ("a sync is already running (started … by …)", naming each bot when there
    are several) when every bot's sync is already running: nothing is queued then. The queued
    runs take their lease over when a worker starts them."""
    if bots is not None and not bots:
        raise SyncBusy("there is no bot of yours to sync")
    started = sync_start_bots(user=user, full=full, bots=bots)
    if not started.runs:
        if len(started.busy) == 1:
            raise SyncBusy(next(iter(started.busy.values())))
        raise SyncBusy("; ".join(f"{name}: {why}" for name, why in started.busy.items()))
    return started.runs[0]
