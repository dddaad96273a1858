"""Several sandbox bots on one port, as BotPenguin serves many bots on one host: each request
goes to the bot its token belongs to, and a token is refused (401, as for a wrong token) for
another bot's IDs. No Django."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leads.botpenguin.sandbox.server import Sandbox

PUT_PATH = "/inbox/direct/lead"


@dataclass(frozen=True)
class BotSpec:
    """One more bot for `botpenguin_sandbox --bot TOKEN:BOTID:CUSTOMERID[:CHATS]`."""

    token: str
    bot_id: str
    customer_id: str
    chats: int | None = None


def parse_bot_spec(text: str) -> BotSpec:
    """TOKEN:BOTID:CUSTOMERID[:CHATS] (none of them holding ":"); ValueError saying what is wrong."""
    parts = text.split(":")
    if len(parts) not in (3, 4) or not all(part.strip() for part in parts[:3]):
        raise ValueError("expected TOKEN:BOTID:CUSTOMERID[:CHATS], none of them empty")
    chats = None
    if len(parts) == 4:
        if not parts[3].isdigit():
            raise ValueError("CHATS must be a whole number")
        chats = int(parts[3])
    return BotSpec(parts[0].strip(), parts[1].strip(), parts[2].strip(), chats)


def state_file_for(state_file: str | None, bot_id: str) -> str | None:
    """Another bot's state file next to the first bot's: `state.json` -> `state.<bot id>.json`."""
    if not state_file:
        return None
    path = Path(state_file)
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", bot_id)
    return str(path.with_name(f"{path.stem}.{safe}{path.suffix or '.json'}"))


class SeveralBots:
    """Dispatches each request to one of `bots` (Sandbox objects with distinct tokens and Bot
    IDs) by its token. Served by RunningSandbox like a single Sandbox."""

    def __init__(self, bots: list[Sandbox]):
        if not bots:
            raise ValueError("at least one bot")
        tokens = [bot.token for bot in bots]
        ids = [bot.bot_id for bot in bots]
        if len(set(tokens)) != len(tokens) or len(set(ids)) != len(ids):
            raise ValueError("each bot needs its own token and its own Bot ID")
        self.bots = list(bots)

    @property
    def page_size(self) -> int:
        return self.bots[0].page_size

    def by_bot_id(self, bot_id: str) -> Sandbox | None:
        return next((bot for bot in self.bots if bot.bot_id == bot_id), None)

    def handle(
        self, method: str, path: str, query: dict, headers: dict, raw_body: bytes
    ) -> tuple[int, dict | list | str, dict]:
        header = "x-bp-token" if path == PUT_PATH else "x-bot-token"
        owner = next((bot for bot in self.bots if bot.token == headers.get(header)), None)
        if owner is None:
            return 401, _error(401, f"Invalid or missing {header}"), {}
        wanted = _requested_bot_id(path, query, raw_body)
        if wanted is not None and wanted != owner.bot_id and self.by_bot_id(wanted) is not None:
            return 401, _error(401, f"This {header} is not valid for bot {wanted}"), {}
        return owner.handle(method, path, query, headers, raw_body)

    def save(self) -> None:
        for bot in self.bots:
            bot.save()


def _requested_bot_id(path: str, query: dict, raw_body: bytes) -> str | None:
    if path == PUT_PATH:
        try:
            body: Any = json.loads(raw_body or b"null")
        except ValueError:
            return None
        value = body.get("botId") if isinstance(body, dict) else None
    else:
        value = query.get("botId")
    return value if isinstance(value, str) else None


def _error(status: int, message: str) -> dict:
    return {"success": False, "message": message, "code": status}
