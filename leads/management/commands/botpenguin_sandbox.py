"""`python manage.py botpenguin_sandbox --port 8765 --chats 2000 --page-size 20 ...
[--bot TOKEN:BOTID:CUSTOMERID[:CHATS] ...]`

Serves the local BotPenguin stand-in until Ctrl-C or SIGTERM. Needs no database. Each `--bot`
serves one more bot on the same port, with its own token, IDs and seeded chats.
"""

import ipaddress
import os
import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from leads.botpenguin.sandbox.http import RunningSandbox
from leads.botpenguin.sandbox.server import Sandbox
from leads.botpenguin.sandbox.several import (
    BotSpec,
    SeveralBots,
    parse_bot_spec,
    state_file_for,
)


class Command(BaseCommand):
    help = "Run the BotPenguin sandbox (a local stand-in for the API) on a loopback port."
    requires_system_checks = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--chats", type=int, default=2000, help="synthetic chats to seed")
        parser.add_argument("--page-size", type=int, default=20)
        parser.add_argument("--latency-ms", type=int, default=0)
        parser.add_argument("--fail-rate", type=float, default=0.0, help="share of 503/429 answers")
        parser.add_argument("--fail-puts", action="store_true", help="answer every PUT with 503")
        parser.add_argument(
            "--token", default=os.environ.get("BOTPENGUIN_API_TOKEN") or "sandbox-token"
        )
        parser.add_argument(
            "--bot-id", default=os.environ.get("BOTPENGUIN_BOT_ID") or "sandbox-bot"
        )
        parser.add_argument(
            "--customer-id",
            default=os.environ.get("BOTPENGUIN_CUSTOMER_ID") or "sandbox-customer",
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--state-file", default=None, help="keep chats (and every PUT) in this JSON file"
        )
        parser.add_argument(
            "--bot",
            action="append",
            default=[],
            dest="more_bots",
            metavar="TOKEN:BOTID:CUSTOMERID[:CHATS]",
            help="serve one more bot on the same port (repeat for several); CHATS defaults to --chats",
        )
        parser.add_argument("--verbose", action="store_true", help="log every request")

    def handle(self, *args, **options):
        try:
            if not ipaddress.ip_address(options["host"]).is_loopback:
                raise CommandError("The sandbox only listens on a loopback address (127.0.0.1).")
        except ValueError as e:
            raise CommandError(f"--host must be a loopback IP address: {e}") from e
        if not 0.0 <= options["fail_rate"] <= 1.0:
            raise CommandError("--fail-rate must be between 0 and 1.")
        if options["page_size"] < 1:
            raise CommandError("--page-size must be at least 1.")
        try:
            specs = [parse_bot_spec(text) for text in options["more_bots"]]
        except ValueError as e:
            raise CommandError(f"--bot: {e}") from e
        first = BotSpec(options["token"], options["bot_id"], options["customer_id"])
        bots = [
            self._bot(spec, options, seed=options["seed"] + i, first=i == 0)
            for i, spec in enumerate([first, *specs])
        ]
        try:
            served = SeveralBots(bots) if specs else bots[0]
        except ValueError as e:
            raise CommandError(f"--bot: {e}") from e
        try:
            running = RunningSandbox(
                served, options["host"], options["port"], verbose=options["verbose"]
            )
        except OSError as e:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {e}") from e
        count = len(bots[0].chats())
        self.stdout.write(
            f"BotPenguin sandbox on {running.url} — {count} chats, page size {bots[0].page_size}"
        )
        for bot in bots[1:]:
            self.stdout.write(
                f"  and bot {bot.bot_id} (customer {bot.customer_id}): {len(bot.chats())} chats"
            )
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            running.shutdown()

    def _bot(self, spec: BotSpec, options: dict, *, seed: int, first: bool) -> Sandbox:
        """One bot's sandbox, seeded with its own chats (another seed: other uuids) when its
        state file holds none."""
        state_file = options["state_file"]
        sandbox = Sandbox(
            token=spec.token,
            bot_id=spec.bot_id,
            customer_id=spec.customer_id,
            page_size=options["page_size"],
            latency_ms=options["latency_ms"],
            fail_rate=options["fail_rate"],
            fail_puts=options["fail_puts"],
            seed=seed,
            state_file=state_file if first else state_file_for(state_file, spec.bot_id),
        )
        chats = options["chats"] if spec.chats is None else spec.chats
        if not sandbox.chats() and chats:
            sandbox.seed_chats(chats)
            sandbox.save()
        return sandbox
