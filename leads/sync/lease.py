"""The sync lease: at most one sync at a time, whoever starts it (the command, "Sync now", the
scheduler) and on however many processes and machines.

Each bot has its own lease (its syncs run one at a time, other bots' beside them). Like a lead's
delivery lease, the bot's SyncLease row is taken with one conditional UPDATE (free or
expired), which the database lets exactly one of two racing syncs match, on SQLite and PostgreSQL
alike. The sync renews it while it runs (on every page, at most every RENEW_EVERY seconds) and
releases it when it ends, however it ends. A sync that crashed stops renewing: once its lease
expires the next sync takes it over and marks the crashed run failed."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid as uuidlib
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from leads.models import SyncLease, SyncRun
from leads.sync.errors import SyncBusy, SyncLeaseLost

logger = logging.getLogger(__name__)

RENEW_EVERY = 15.0  # seconds


def sync_lease_seconds() -> float:
    return float(getattr(settings, "SYNC_LEASE_SECONDS", 300))


def default_holder() -> str:
    return f"process {os.getpid()} on {socket.gethostname()}"


def _busy_message(lease: SyncLease | None) -> str:
    if lease is None or not lease.owner:
        return "a sync is already running"
    started = (
        timezone.localtime(lease.started_at).strftime("%Y-%m-%d %H:%M:%S %Z")
        if lease.started_at
        else "at an unknown time"
    )
    return f"a sync is already running (started {started} by {lease.holder or 'unknown'})"


class SyncLeaseHandle:
    """A taken lease: renew it while the sync runs, release it when it ends."""

    def __init__(self, bot_id: int, owner: str):
        self.bot_id = bot_id
        self.owner = owner
        self.renewed = time.monotonic()

    def mine(self):
        return SyncLease.objects.filter(bot_id=self.bot_id, owner=self.owner)

    def renew(self, *, force: bool = False) -> None:
        """Push the expiry on (at most every RENEW_EVERY seconds unless forced); raises
        SyncLeaseLost if another sync took the lease over meanwhile."""
        ttl = sync_lease_seconds()
        if not force and time.monotonic() - self.renewed < min(RENEW_EVERY, ttl / 3):
            return
        kept = self.mine().update(expires_at=timezone.now() + timedelta(seconds=ttl))
        if not kept:
            raise SyncLeaseLost(
                "stopped: this sync stalled longer than SYNC_LEASE_SECONDS and another sync "
                "took over"
            )
        self.renewed = time.monotonic()

    def attach(self, run: SyncRun) -> None:
        self.mine().update(run=run)

    def release(self) -> None:
        self.mine().update(owner="", expires_at=None)


def take_sync_lease(*, bot_id: int, holder: str, run: SyncRun | None = None) -> SyncLeaseHandle:
    """Take the sync lease of bot `bot_id`, or raise SyncBusy saying who holds it and since when.

    With `run`: also succeeds when the lease was taken for that run (by services.sync_start,
    which takes it before queueing the run) and nobody took it over since."""
    SyncLease.objects.bulk_create([SyncLease(bot_id=bot_id)], ignore_conflicts=True)
    now = timezone.now()
    owner = uuidlib.uuid4().hex
    expires = now + timedelta(seconds=sync_lease_seconds())
    leases = SyncLease.objects.filter(bot_id=bot_id)
    if run is not None and leases.filter(run=run).exclude(owner="").update(
        owner=owner, expires_at=expires
    ):
        return SyncLeaseHandle(bot_id, owner)
    before = leases.first()
    free = Q(owner="") | Q(expires_at__isnull=True) | Q(expires_at__lt=now)
    if not leases.filter(free).update(
        owner=owner, holder=holder[:255], run=run, started_at=now, expires_at=expires
    ):
        raise SyncBusy(_busy_message(leases.first()), run)
    if (
        before is not None
        and before.owner
        and before.run_id not in (None, getattr(run, "pk", None))
    ):
        # Taken over from a sync that stopped renewing (killed, machine lost): its run would
        # otherwise say "running" for ever.
        SyncRun.objects.filter(pk=before.run_id, state=SyncRun.State.RUNNING).update(
            state=SyncRun.State.FAILED,
            finished_at=now,
            error="interrupted: the sync stopped without finishing (its lease expired)",
        )
        logger.warning("Took over the expired sync lease of run %s", before.run_id)
    return SyncLeaseHandle(bot_id, owner)
