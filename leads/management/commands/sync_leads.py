"""`python manage.py sync_leads [--type lead|non-lead|all] [--full] [--concurrency N]`"""

import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from leads.sync.errors import SyncBusy, SyncError
from leads.sync.lease import default_holder
from leads.sync.run import KINDS, sync_leads


class Command(BaseCommand):
    help = "Mirror BotPenguin chats into the local database (incremental unless --full)."

    def add_arguments(self, parser):
        parser.add_argument("--type", choices=["lead", "non-lead", "all"], default="all")
        parser.add_argument(
            "--full",
            action="store_true",
            help="Read every page and mark mirrored chats that were not listed as missing.",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=None,
            help=f"Pages fetched at once (default {settings.SYNC_CONCURRENCY}).",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="No progress bar even on a terminal."
        )

    def handle(self, *args, **options):
        kinds = KINDS if options["type"] == "all" else (options["type"],)
        concurrency = options["concurrency"] or settings.SYNC_CONCURRENCY
        if concurrency < 1:
            raise CommandError("--concurrency must be at least 1.")
        bar = None
        progress = None
        if not options["no_progress"] and sys.stderr.isatty():
            from tqdm import tqdm

            bar = tqdm(unit=" chats", desc="Syncing", file=sys.stderr)

            def progress(pages: int, chats: int) -> None:
                bar.n = chats
                bar.set_postfix(pages=pages, refresh=False)
                bar.refresh()

        try:
            run = sync_leads(
                kinds=kinds,
                full=options["full"],
                concurrency=concurrency,
                progress=progress,
                holder=f"the sync_leads command ({default_holder()})",
            )
        except SyncBusy as e:
            raise CommandError(f"Not started: {e}.") from e
        except SyncError as e:
            raise CommandError(f"Sync failed: {e}") from e
        finally:
            if bar is not None:
                bar.close()
        self.stdout.write(f"Sync {'(full) ' if run.full else ''}done: {run.summary()}")
