"""`python manage.py sync_leads [--bot NAME] [--type lead|non-lead|all] [--full] [--concurrency N]`

Syncs every active bot, several at once (each with its own lease and run), or the one named."""

import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from leads.botpenguin.errors import ConfigurationError
from leads.sync.every_bot import BotSync, bots_to_sync, sync_all_bots
from leads.sync.lease import default_holder
from leads.sync.run import KINDS


class Command(BaseCommand):
    help = (
        "Mirror BotPenguin chats into the local database (incremental unless --full), for every "
        "active bot or the one named."
    )

    def add_arguments(self, parser):
        parser.add_argument("--bot", default=None, metavar="NAME", help="Sync this bot only.")
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
            help=f"Pages fetched at once per bot (default {settings.SYNC_CONCURRENCY}).",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="No progress bar even on a terminal."
        )

    def handle(self, *args, **options):
        kinds = KINDS if options["type"] == "all" else (options["type"],)
        concurrency = options["concurrency"] or settings.SYNC_CONCURRENCY
        if concurrency < 1:
            raise CommandError("--concurrency must be at least 1.")
        try:
            bots = bots_to_sync(options["bot"])
        except ConfigurationError as e:
            raise CommandError(f"Not started: {e}") from e
        bar = None
        progress = None
        if len(bots) == 1 and not options["no_progress"] and sys.stderr.isatty():
            from tqdm import tqdm

            bar = tqdm(unit=" chats", desc=f"Syncing {bots[0].name}", file=sys.stderr)

            def progress(pages: int, chats: int) -> None:
                bar.n = chats
                bar.set_postfix(pages=pages, refresh=False)
                bar.refresh()

        try:
            results = sync_all_bots(
                bots,
                kinds=kinds,
                full=options["full"],
                concurrency=concurrency,
                progress=progress,
                holder=f"the sync_leads command ({default_holder()})",
            )
        finally:
            if bar is not None:
                bar.close()
        if len(results) == 1:
            self._report_one(results[0])
        else:
            self._report_several(results)

    def _report_one(self, result: BotSync) -> None:
        if result.busy:
            raise CommandError(f"Not started: {result.error}.")
        if not result.ok:
            raise CommandError(f"Sync failed: {result.error}")
        self.stdout.write(
            f"Sync {'(full) ' if result.run.full else ''}done: {result.run.summary()}"
        )

    def _report_several(self, results: list[BotSync]) -> None:
        for result in results:
            name = result.bot.name
            if result.busy:
                self.stderr.write(f"{name}: not started: {result.error}.")
            elif not result.ok:
                self.stderr.write(f"{name}: sync failed: {result.error}")
            else:
                full = "(full) " if result.run.full else ""
                self.stdout.write(f"{name}: sync {full}done: {result.run.summary()}")
        failed = [result.bot.name for result in results if not result.ok]
        if failed:
            raise CommandError(f"{len(failed)} of {len(results)} bots failed: {', '.join(failed)}.")
