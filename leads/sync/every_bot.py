"""Syncing every active bot at once: one thread per bot (a few at a time), each with its own
lease and SyncRun (leads.sync.run), so a bot whose token is refused or whose API is down fails
only its own run while the others go on."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db import DatabaseError, connections

from leads.botpenguin.errors import ConfigurationError
from leads.bots.config import NO_BOT, ensure_environment_bot
from leads.models import Bot, SyncRun
from leads.sync.errors import SyncBusy, SyncError, one_line
from leads.sync.run import KINDS, ProgressCallback, sync_leads

# Bots synced at the same time: each holds a database connection and `concurrency` HTTP
# connections for as long as its sync runs.
BOTS_AT_ONCE = 4


@dataclass(frozen=True)
class BotSync:
    """How one bot's sync ended: its run, or why it failed (busy: another sync holds its lease)."""

    bot: Bot
    run: SyncRun | None
    error: str = ""
    busy: bool = False

    @property
    def ok(self) -> bool:
        return not self.error


def bots_to_sync(name: str | None = None) -> list[Bot]:
    """The bot named (active or not: naming it is asking for it), else every active bot.
    ConfigurationError when there is no such bot or none at all."""
    ensure_environment_bot()
    if name is not None:
        bot = Bot.objects.filter(name=name).first()
        if bot is None:
            known = ", ".join(Bot.objects.values_list("name", flat=True)) or "none"
            raise ConfigurationError(f"No bot is named {name!r} (bots: {known}).")
        return [bot]
    bots = list(Bot.objects.filter(active=True).order_by("name", "id"))
    if not bots:
        raise ConfigurationError(NO_BOT)
    return bots


def sync_all_bots(
    bots: Iterable[Bot],
    *,
    kinds: Iterable[str] = KINDS,
    full: bool = False,
    concurrency: int = 4,
    holder: str | None = None,
    progress: ProgressCallback | None = None,
) -> list[BotSync]:
    """Sync each of `bots` (at most BOTS_AT_ONCE at a time); one BotSync per bot, in order.

    A single bot is synced in the calling thread (and its progress reported): an error no sync
    expects then propagates as it always did. With several, such an error is raised once the
    other bots' syncs have ended."""
    bots = list(bots)
    kinds = tuple(kinds)

    def one(bot: Bot) -> BotSync:
        try:
            run = sync_leads(
                bot=bot,
                kinds=kinds,
                full=full,
                concurrency=concurrency,
                holder=holder,
                progress=progress if len(bots) == 1 else None,
            )
        except SyncBusy as e:
            return BotSync(bot, e.run, one_line(e), busy=True)
        except SyncError as e:
            return BotSync(bot, e.run, one_line(e))
        return BotSync(bot, run)

    if len(bots) <= 1:
        return [one(bot) for bot in bots]

    def in_thread(bot: Bot) -> BotSync:
        try:
            return one(bot)
        except DatabaseError as e:  # this bot's run could not be recorded: the others go on
            return BotSync(bot, None, f"database error: {one_line(e)}")
        finally:
            connections.close_all()  # this thread's own connections

    with ThreadPoolExecutor(
        max_workers=min(BOTS_AT_ONCE, len(bots)), thread_name_prefix="sync-bot"
    ) as pool:
        futures = [pool.submit(in_thread, bot) for bot in bots]
        return [future.result() for future in futures]
