"""`python manage.py deliver_changes`: deliver every pending change now, in order, and exit."""

from django.core.management.base import BaseCommand

from leads.delivery import deliver_due


class Command(BaseCommand):
    help = "Deliver every pending edit to BotPenguin now (oldest first, per lead), then exit."

    def add_arguments(self, parser):
        parser.add_argument(
            "--due-only", action="store_true", help="Respect each change's backoff time."
        )

    def handle(self, *args, **options):
        outcomes = deliver_due(force=not options["due_only"])
        counts: dict[str, int] = {}
        for outcome in outcomes:
            counts[outcome.state] = counts.get(outcome.state, 0) + 1
        summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "nothing due"
        self.stdout.write(f"Delivery: {len(outcomes)} lead(s): {summary}")
