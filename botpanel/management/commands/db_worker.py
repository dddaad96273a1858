"""`manage.py db_worker`: django-tasks-db's worker, made to outlive the end of its database
connection.

django-tasks-db's loop checks its connection before each round, but a connection the database
ends (a restart, an administrator's pg_terminate_backend) between that check and the round's
first query raised out of the loop and ended the process, leaving deliveries to the next sweep of
a worker that no longer ran (seen in the load test's faults run on PostgreSQL). This worker
closes the broken connection and starts its loop again, as run_scheduler does."""

import logging
import time

from django.core.management import CommandError
from django.db import InterfaceError, OperationalError, connections
from django_tasks_db.management.commands import db_worker

logger = logging.getLogger("botpanel.worker")

RETRY_SECONDS = 1.0


class Worker(db_worker.Worker):
    def run(self) -> None:
        while True:
            try:
                return super().run()
            except (OperationalError, InterfaceError) as e:
                if not self.running:
                    raise  # stopping anyway
                reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                logger.warning(
                    "Worker %s lost its database connection (%s); connecting again in %s s",
                    self.worker_id,
                    reason,
                    RETRY_SECONDS,
                )
                connections.close_all()
                time.sleep(RETRY_SECONDS)


class Command(db_worker.Command):
    def handle(
        self,
        *,
        verbosity,
        queue_name,
        interval,
        batch,
        backend_name,
        startup_delay,
        reload,
        max_tasks,
        worker_id,
        exclude_queues,
        **options,
    ):
        # django-tasks-db's handle() with this module's Worker; --reload is for development.
        self.configure_logging(verbosity)
        if reload:
            return super().handle(
                verbosity=verbosity,
                queue_name=queue_name,
                interval=interval,
                batch=batch,
                backend_name=backend_name,
                startup_delay=startup_delay,
                reload=reload,
                max_tasks=max_tasks,
                worker_id=worker_id,
                exclude_queues=exclude_queues,
                **options,
            )
        excluded = exclude_queues.split(",") if exclude_queues else []
        queues = queue_name.split(",")
        if excluded and "*" not in queues:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = Worker(
            queue_names=queues,
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=excluded,
        )
        worker.configure_signals()
        worker.run()
