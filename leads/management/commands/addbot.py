"""`python manage.py addbot NAME --bot-id ID --customer-id ID [--api-url URL]`

The API token is read from the environment variable BOTPENGUIN_API_TOKEN when it is set, else
from standard input (one line; not echoed on a terminal), never from an argument: arguments end
up in shell histories and process lists. Running it again for NAME updates that bot; the token is
replaced only when one is given."""

import getpass
import os
import sys

from django.core.management.base import BaseCommand, CommandError

from leads.bots.registry import DEFAULT_API_URL, BotRefused, save_bot

TOKEN_VARIABLE = "BOTPENGUIN_API_TOKEN"  # noqa: S105 - the variable's name, not a token


class Command(BaseCommand):
    help = (
        "Add a BotPenguin bot (or update one by its name). The API token comes from "
        f"{TOKEN_VARIABLE} or standard input, never from an argument."
    )
    # call_command(..., stdin=StringIO(...)) for tests and scripts.
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("name", help="how BotPanel shows the bot (unique)")
        parser.add_argument("--bot-id", help="the Bot ID (required for a new bot)")
        parser.add_argument("--customer-id", help="the Customer ID (required for a new bot)")
        parser.add_argument("--api-url", help=f"the API base URL (a new bot: {DEFAULT_API_URL})")

    def handle(self, *args, name, bot_id, customer_id, api_url, **options):
        token = self._read_token(options.get("stdin") or sys.stdin)
        try:
            saved = save_bot(
                name, bot_id=bot_id, customer_id=customer_id, api_url=api_url, token=token
            )
        except BotRefused as e:
            raise CommandError(str(e)) from e
        bot = saved.bot
        if saved.created:
            self.stdout.write(
                f"Added bot {bot.name!r} (Bot ID {bot.remote_bot_id}, Customer ID "
                f"{bot.customer_id}, {bot.api_url}); its API token is stored encrypted."
            )
        elif saved.changed:
            labels = {
                "remote_bot_id": "Bot ID",
                "customer_id": "Customer ID",
                "api_url": "API URL",
                "token": "API token",
            }
            fields = ", ".join(labels[field] for field in saved.changed)
            self.stdout.write(f"Updated bot {bot.name!r}: {fields}.")
        else:
            self.stdout.write(f"Bot {bot.name!r} is unchanged.")

    def _read_token(self, stream) -> str:
        """The token from the environment, else one line of `stream` ("" when none given)."""
        token = os.environ.get(TOKEN_VARIABLE, "").strip()
        if token:
            return token
        if stream.isatty():
            return getpass.getpass("API token (empty keeps the stored one): ").strip()
        return stream.readline().strip()
