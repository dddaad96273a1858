"""Small helpers to put leads in the mirror (and in the sandbox, so edits can reach them)."""

import copy
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from leads.models import Bot, Lead, LeadTag
from leads.selectors.counting import bump_mirror_version

SANDBOX_TOKEN = "sandbox-test-token-5f2c"  # distinctive, so tests can scan pages and logs for it
BOT_ID = "test-bot"
CUSTOMER_ID = "test-customer"
BASE = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def env_bot() -> Bot:
    """The bot the tests' settings define (point_settings_at): the environment's bot."""
    bot, _ = Bot.objects.get_or_create(
        from_environment=True,
        defaults={
            "name": "BotPenguin",
            "api_url": "http://127.0.0.1:9",
            "remote_bot_id": BOT_ID,
            "customer_id": CUSTOMER_ID,
        },
    )
    return bot


def make_lead(n: int = 0, *, sandbox=None, **fields) -> Lead:
    """A lead (of env_bot() unless `bot` is given) whose updated time grows with n; also stored
    in the sandbox when one is given."""
    values = {
        "uuid": f"00000000-0000-4000-8000-{n:012d}",
        "remote_id": f"{n:024x}",
        "name": f"Person {n}",
        "email": f"person{n}@example.org",
        "phone": f"98765{n:05d}",
        "dial_code": "+91",
        "status": "OPEN",
        "tags": [],
        "notes": [],
        "attributes": [],
        "remote_created_at": BASE - timedelta(days=10) + timedelta(minutes=n),
        "remote_updated_at": BASE + timedelta(minutes=n),
    }
    values.update(fields)
    if "bot" not in values:
        values["bot"] = env_bot()
    lead = Lead.objects.create(**values)
    keys = {}
    for tag in lead.tags:
        keys.setdefault(tag.casefold(), tag)
    LeadTag.objects.bulk_create(
        [LeadTag(lead=lead, name=name, key=key) for key, name in keys.items()]
    )
    if sandbox is not None:
        sandbox.add_chat(as_chat(lead), is_lead=lead.is_lead)
    bump_mirror_version()  # as every real write to the mirror does
    return lead


def pending_status_edit(sandbox, user, status: str = "CLOSED") -> Lead:
    """A lead (in `sandbox`) with a status edit that BotPenguin refused for now: pending, due for
    its next attempt."""
    from leads import services
    from leads.models import LeadChange

    lead = make_lead(1, sandbox=sandbox)
    sandbox.fail_puts = True
    services.lead_set_status(lead=lead, status=status, user=user)
    sandbox.fail_puts = False
    LeadChange.objects.filter(lead=lead).update(next_attempt_at=None)
    return lead


def as_chat(lead: Lead) -> dict:
    """The lead in the GET shape, as BotPenguin would hold it."""
    return {
        "_id": lead.remote_id,
        "uuid": lead.uuid,
        "createdAt": lead.remote_created_at.isoformat().replace("+00:00", "Z"),
        "updatedAt": lead.remote_updated_at.isoformat().replace("+00:00", "Z"),
        "status": lead.status,
        "_agentAssigned": lead.agent_id or None,
        "profile": {
            "notes": [
                {
                    "_id": n.get("id") or f"{i:024x}",
                    "title": n["title"],
                    "description": n["description"],
                }
                for i, n in enumerate(lead.notes)
            ],
            "userDetails": {
                "name": lead.name,
                "picture": lead.picture,
                "contact": {
                    "email": lead.email,
                    "phone": {"number": lead.phone, "prefix": lead.dial_code.lstrip("+")},
                },
                "tags": list(lead.tags),
                "attributes": list(lead.attributes),
            },
        },
    }


# --- chats as BotPenguin lists them, and a scripted listing -------------------------------------

CHAT_BASE = datetime(2026, 10, 1, tzinfo=UTC)

# The documented example from API.md.
EXAMPLE_CHAT = {
    "_id": "64b0c0ffee0000000000abcd",
    "uuid": "0b7c6a52-4a8e-4f6e-9c1d-2f1d5e9a7c11",
    "createdAt": "2026-10-02T09:14:05.120Z",
    "updatedAt": "2026-10-03T11:40:00.004Z",
    "lastSeenAt": "2026-10-03T11:39:58.000Z",
    "isOnline": False,
    "websiteVisits": 3,
    "status": "INPROGRESS",
    "_agentAssigned": "64a1a9d0aa00000000000042",
    "lastMessage": {
        "at": "2026-10-03T11:39:58.000Z",
        "by": "bot",
        "text": "Thanks! An agent will call you.",
    },
    "profile": {
        "notes": [
            {
                "_id": "64b0c1000000000000000001",
                "title": "Pricing",
                "description": "Asked for the annual plan",
            }
        ],
        "userDetails": {
            "name": "Meera Iyer",
            "picture": "https://cdn.example.org/u/meera.png",
            "contact": {
                "email": "meera@example.org",
                "phone": {"number": "9876543210", "prefix": "91"},
            },
            "city": "Chennai",
            "country": "India",
            "gender": "FEMALE",
            "tags": ["pricing", "hot"],
            "attributes": [{"key": "plan", "value": "annual"}],
        },
    },
}


def iso_ms(dt: datetime) -> str:
    """A datetime as the API writes it: milliseconds and Z."""
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_chat(n: int, *, status: str = "OPEN", tags=("demo",), minutes: int | None = None) -> dict:
    """A small valid chat whose updatedAt grows with n (so n=0 is the oldest)."""
    when = CHAT_BASE + timedelta(minutes=n if minutes is None else minutes)
    return {
        "_id": f"{n:024x}",
        "uuid": f"00000000-0000-4000-8000-{n:012d}",
        "createdAt": iso_ms(when - timedelta(days=1)),
        "updatedAt": iso_ms(when),
        "status": status,
        "profile": {
            "notes": [],
            "userDetails": {
                "name": f"Person {n}",
                "contact": {
                    "email": f"p{n}@example.org",
                    "phone": {"number": "555", "prefix": "1"},
                },
                "tags": list(tags),
                "attributes": [],
            },
        },
    }


def fill(sandbox, count: int, *, is_lead: bool = True, start: int = 0) -> list[dict]:
    """`count` chats made by make_chat (numbered from `start`, statuses in turn) put in the
    running sandbox `sandbox`; returns them."""
    from leads.botpenguin.records import STATUSES

    chats = [make_chat(start + i, status=STATUSES[i % 6]) for i in range(count)]
    for chat in chats:
        sandbox.sandbox.add_chat(copy.deepcopy(chat), is_lead=is_lead)
    return chats


class ScriptedClient:
    """Plays a listing page by page, for the cases the sandbox does not produce by itself: each
    page a list of chats (sent through JSON, as over HTTP) or an exception to raise."""

    def __init__(self, pages: dict[str, list]):
        self.pages = pages
        self.calls: list[tuple[int, str]] = []

    def list_chats(self, page: int, type: str) -> list:
        self.calls.append((page, type))
        pages = self.pages.get(type, [])
        result = pages[page - 1] if page <= len(pages) else []
        if isinstance(result, Exception):
            raise result
        return json.loads(json.dumps(result))

    def close(self) -> None:
        pass


# --- child processes against the test database and the sandbox ----------------------------------

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The test database as a DATABASE_URL, for a child process."""
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def child_env(sandbox, **extra) -> dict:
    """The environment of a manage.py child process using the test database and `sandbox`."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(),
        BOTPANEL_TESTING="1",
        BOTPENGUIN_API_URL=sandbox.url,
        BOTPENGUIN_API_TOKEN=SANDBOX_TOKEN,
        BOTPENGUIN_BOT_ID=BOT_ID,
        BOTPENGUIN_CUSTOMER_ID=CUSTOMER_ID,
        BOTPENGUIN_RETRY_BACKOFF="0",
        LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def manage(*args) -> list[str]:
    """A manage.py command line for subprocess."""
    return [sys.executable, str(ROOT / "manage.py"), *args]


def point_settings_at(settings, url: str, token: str, **overrides) -> None:
    """Django settings pointing the BotPenguin client at `url` (the test bot's ids), with short
    timeouts and no retry pauses; `overrides`: more BOTPENGUIN_* settings by their short name."""
    settings.BOTPENGUIN_API_URL = url
    settings.BOTPENGUIN_API_TOKEN = token
    settings.BOTPENGUIN_BOT_ID = BOT_ID
    settings.BOTPENGUIN_CUSTOMER_ID = CUSTOMER_ID
    settings.BOTPENGUIN_READ_TIMEOUT = 5
    settings.BOTPENGUIN_EDIT_TIMEOUT = 2
    settings.BOTPENGUIN_RETRY_BACKOFF = 0
    for name, value in overrides.items():
        setattr(settings, f"BOTPENGUIN_{name.upper()}", value)


def mirrored_uuids() -> set[str]:
    return set(Lead.objects.values_list("uuid", flat=True))


def assert_sync_failed_with_one_line(excinfo, reason: str):
    """The sync raised one line holding `reason`, recorded it on its run (returned) and released
    the sync lease."""
    from leads.models import SyncLease, SyncRun

    message = str(excinfo.value)
    assert reason in message and "\n" not in message and "Traceback" not in message
    run = SyncRun.objects.order_by("-started_at", "-id").first()
    assert run.state == "failed" and run.error == message.removeprefix("Sync failed: ")
    assert not SyncLease.objects.filter(owner__gt="").exists()  # released
    return run


def link(user, agent_id: str):
    """Link `user` to a BotPenguin agent id (their AgentProfile), as createagent --agent-id does."""
    from leads.models import AgentProfile

    AgentProfile.objects.update_or_create(user=user, defaults={"agent_id": agent_id})
    return user


def history_sentences(html: str) -> list[str]:
    """The text of each history sentence on a page (templates/leads/partials/history.html),
    whitespace collapsed, in page order."""
    from html.parser import HTMLParser

    class Sentences(HTMLParser):
        def __init__(self):
            super().__init__()
            self.depth = 0
            self.found: list[str] = []

        def handle_starttag(self, tag, attrs):
            classes = (dict(attrs).get("class") or "").split()
            if self.depth:
                self.depth += 1
            elif "history-sentence" in classes:
                self.depth = 1
                self.found.append("")

        def handle_endtag(self, tag):
            if self.depth:
                self.depth -= 1

        def handle_data(self, data):
            if self.depth:
                self.found[-1] += data

    parser = Sentences()
    parser.feed(html)
    return [" ".join(text.split()) for text in parser.found]


def row_status_url(row_html: str) -> str:
    """Where a list row's status select posts, worked out as static/js/list.js does: the lead's
    link without its query, + "row-status/", + "?bot=" the row's bot when the row names one."""
    import re
    from html import unescape

    link = re.search(r'class="lead-link" href="([^"]*)"', row_html)
    bot = re.search(r'<tr [^>]*data-bot="(\d+)"', row_html)
    url = unescape(link.group(1)).split("?")[0] + "row-status/"
    return url + (f"?bot={bot.group(1)}" if bot else "")
