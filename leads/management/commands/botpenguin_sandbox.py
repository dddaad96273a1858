"""`python manage.py botpenguin_sandbox --port 8765 --chats 2000 --page-size 20 ...`

Serves the local BotPenguin stand-in until Ctrl-C or SIGTERM. Needs no database.
"""

import ipaddress
import os
import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from leads.botpenguin.sandbox.http import RunningSandbox
from leads.botpenguin.sandbox.server import Sandbox


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
        sandbox = Sandbox(
            token=options["token"],
            bot_id=options["bot_id"],
            customer_id=options["customer_id"],
            page_size=options["page_size"],
            latency_ms=options["latency_ms"],
            fail_rate=options["fail_rate"],
            fail_puts=options["fail_puts"],
            seed=options["seed"],
            state_file=options["state_file"],
        )
        if not sandbox.chats() and options["chats"]:
            sandbox.seed_chats(options["chats"])
            sandbox.save()
        try:
            running = RunningSandbox(
                sandbox, options["host"], options["port"], verbose=options["verbose"]
            )
        except OSError as e:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {e}") from e
        count = len(sandbox.chats())
        self.stdout.write(
            f"BotPenguin sandbox on {running.url} — {count} chats, page size {sandbox.page_size}"
        )
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            running.shutdown()
