"""`python manage.py run_scheduler`: the clock of `make run` and of a production box.

Every SYNC_EVERY_MINUTES it starts an incremental sync of each active bot (unless one holds that
bot's sync lease); every
DELIVERY_SWEEP_SECONDS it queues a sweep of due changes and a worker heartbeat. The work itself is
done by `db_worker` processes; run one scheduler per installation.
"""

import signal
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from leads.services.syncing import sync_start_bots
from leads.tasks import deliver_due_changes, heartbeat, refresh_insights


class Command(BaseCommand):
    help = "Queue periodic syncs, delivery sweeps and worker heartbeats, until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Queue everything once and exit.")

    def handle(self, *args, **options):
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        sync_every = settings.SYNC_EVERY_MINUTES * 60
        sweep_every = settings.DELIVERY_SWEEP_SECONDS
        next_sync = time.monotonic() + (0 if options["once"] else sync_every)
        while True:
            # As db_worker does between tasks: a connection the database ended (a restart,
            # pg_terminate_backend) is checked and replaced, not used until the process dies.
            close_old_connections()
            try:
                next_sync = self.queue(next_sync, sync_every)
            except DatabaseError as e:
                if options["once"]:
                    raise
                reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                self.stderr.write(f"Nothing queued ({reason}); trying again in {sweep_every} s.")
            if options["once"]:
                return
            try:
                if stop.wait(sweep_every):
                    return
            except KeyboardInterrupt:
                return

    def queue(self, next_sync: float, sync_every: float) -> float:
        """Queue a sweep and a heartbeat, and each bot's sync when it is due; the next sync's
        moment."""
        heartbeat.enqueue()
        deliver_due_changes.enqueue()
        refresh_insights.enqueue()
        if sync_every > 0 and time.monotonic() >= next_sync:
            started = sync_start_bots(user=None)
            for name, why in started.busy.items():
                self.stderr.write(f"Scheduled sync of {name} not started: {why}.")
            next_sync = time.monotonic() + sync_every
        return next_sync
