"""`python manage.py refresh_insights [--rebuild]`: recompute the insights' dirty days now.

The worker does this after every sync and on the scheduler's sweep; this is for an installation
without them, and `--rebuild` recomputes every day (after restoring a backup, say)."""

from django.core.management.base import BaseCommand

from leads import rollup


class Command(BaseCommand):
    help = "Recompute the insights' daily rollup where it is out of date (--rebuild: all of it)."

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="Recompute every day.")

    def handle(self, *args, **options):
        if options["rebuild"]:
            rollup.rebuild()
        days = rollup.refresh()
        self.stdout.write(f"Insights: {days} day(s) recomputed.")
