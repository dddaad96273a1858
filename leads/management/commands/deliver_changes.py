"""`python manage.py deliver_changes`: deliver every pending change now, in order, and exit.

Every active bot's: each lead's edits go to its own bot with that bot's token."""

from django.core.management.base import BaseCommand

from leads.delivery import deliver_due
from leads.models import Lead


def _summary(states: list[str]) -> str:
    counts: dict[str, int] = {}
    for state in states:
        counts[state] = counts.get(state, 0) + 1
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "nothing due"


class Command(BaseCommand):
    help = "Deliver every pending edit to BotPenguin now (oldest first, per lead), then exit."

    def add_arguments(self, parser):
        parser.add_argument(
            "--due-only", action="store_true", help="Respect each change's backoff time."
        )

    def handle(self, *args, **options):
        outcomes = deliver_due(force=not options["due_only"])
        self.stdout.write(
            f"Delivery: {len(outcomes)} lead(s): {_summary([o.state for o in outcomes])}"
        )
        bot_of = dict(
            Lead.objects.filter(pk__in=[o.lead_id for o in outcomes]).values_list("pk", "bot__name")
        )
        per_bot: dict[str, list[str]] = {}
        for outcome in outcomes:
            per_bot.setdefault(bot_of.get(outcome.lead_id, "?"), []).append(outcome.state)
        if len(per_bot) > 1:
            for name, states in sorted(per_bot.items()):
                self.stdout.write(f"  {name}: {len(states)} lead(s): {_summary(states)}")
