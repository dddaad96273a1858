"""What each bot is doing: its last sync and its counts, for `manage.py bots` and /healthz.

Never the token: nothing here reads it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q
from django.utils import timezone

from leads.models import Bot, Lead, LeadChange, SyncRun


@dataclass(frozen=True)
class BotStatus:
    name: str
    active: bool
    remote_bot_id: str
    from_environment: bool
    last_sync_state: str | None
    last_sync_at: datetime | None  # when it finished, or started while it runs
    last_sync_error: str
    leads: int
    other_chats: int
    pending_changes: int
    failed_changes: int

    @property
    def last_sync_age_seconds(self) -> float | None:
        if self.last_sync_at is None:
            return None
        return round((timezone.now() - self.last_sync_at).total_seconds(), 1)

    def as_health(self) -> dict:
        """The bot's part of /healthz (JSON-able)."""
        return {
            "name": self.name,
            "active": self.active,
            "last_sync": {
                "state": self.last_sync_state,
                "at": self.last_sync_at.isoformat() if self.last_sync_at else None,
                "age_seconds": self.last_sync_age_seconds,
                "error": self.last_sync_error,
            },
            "pending_changes": self.pending_changes,
            "failed_changes": self.failed_changes,
        }


def bot_statuses() -> list[BotStatus]:
    """Every bot, by name: three grouped queries and one per bot for its last run."""
    mirror = {
        row["bot_id"]: row
        for row in Lead.objects.values("bot_id").annotate(
            leads=Count("id", filter=Q(is_lead=True)),
            other_chats=Count("id", filter=Q(is_lead=False)),
        )
    }
    changes = {
        row["lead__bot_id"]: row
        for row in LeadChange.objects.filter(state__in=LeadChange.OPEN_STATES)
        .values("lead__bot_id")
        .annotate(
            pending=Count("id", filter=Q(state=LeadChange.State.PENDING)),
            failed=Count("id", filter=Q(state=LeadChange.State.FAILED)),
        )
    }
    statuses = []
    for bot in Bot.objects.order_by("name", "id"):
        run = (
            SyncRun.objects.filter(bot=bot)
            .order_by("-started_at", "-id")
            .only("state", "started_at", "finished_at", "error")
            .first()
        )
        counts = mirror.get(bot.pk, {})
        edits = changes.get(bot.pk, {})
        statuses.append(
            BotStatus(
                name=bot.name,
                active=bot.active,
                remote_bot_id=bot.remote_bot_id,
                from_environment=bot.from_environment,
                last_sync_state=run.state if run else None,
                last_sync_at=(run.finished_at or run.started_at) if run else None,
                last_sync_error=run.error if run else "",
                leads=counts.get("leads", 0),
                other_chats=counts.get("other_chats", 0),
                pending_changes=edits.get("pending", 0),
                failed_changes=edits.get("failed", 0),
            )
        )
    return statuses
