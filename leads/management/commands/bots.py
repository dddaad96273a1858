"""`python manage.py bots`: every bot, its last sync and its counts (never its token)."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from leads.bots.config import ensure_environment_bot
from leads.bots.status import bot_statuses


class Command(BaseCommand):
    help = "List the bots with their last sync and counts."

    def handle(self, *args, **options):
        ensure_environment_bot()
        statuses = bot_statuses()
        if not statuses:
            self.stdout.write("No bots: set BOTPENGUIN_* in the environment or run addbot.")
            return
        for status in statuses:
            flags = "active" if status.active else "inactive"
            if status.from_environment:
                flags += ", from the environment"
            if status.last_sync_state is None:
                synced = "never synced"
            else:
                when = timezone.localtime(status.last_sync_at).strftime("%Y-%m-%d %H:%M:%S")
                synced = f"last sync {status.last_sync_state} {when}"
            self.stdout.write(
                f"{status.name} ({flags}) Bot ID {status.remote_bot_id}: {synced}; "
                f"{status.leads} leads, {status.other_chats} other chats, "
                f"{status.pending_changes} pending and {status.failed_changes} failed edits"
            )
