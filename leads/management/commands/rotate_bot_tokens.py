"""`python manage.py rotate_bot_tokens`: re-encrypt every stored API token with the first key.

Put the new key first in BOTPANEL_ENCRYPTION_KEY (comma-separated, the old ones after it), run
this, then drop the old keys."""

from django.core.management.base import BaseCommand, CommandError

from leads.bots.registry import rotate_tokens


class Command(BaseCommand):
    help = "Re-encrypt every bot's API token with the first BOTPANEL_ENCRYPTION_KEY."

    def handle(self, *args, **options):
        rotated, unreadable = rotate_tokens()
        self.stdout.write(f"Re-encrypted {rotated} token(s) with the first key.")
        if unreadable:
            raise CommandError(
                f"No configured key reads the token of {', '.join(unreadable)}: keep the old key "
                "in BOTPANEL_ENCRYPTION_KEY, or set the token again with addbot."
            )
