"""Reads for the views. Querysets are built per call, never at import time."""

from django.core.cache import cache
from django.db import DatabaseError
from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone

from leads.models import Bot, Heartbeat, Lead, LeadChange, SyncRun
from leads.selectors import counting, rollup_counts
from leads.selectors.bots import EVERY_BOT, Scope


def mirror_counts(scope: Scope = EVERY_BOT) -> dict[str, int]:
    """How many chats the mirror holds on the scope's bots, by kind, cached per mirror version
    (the overview shows them on every visit): the leads from the insights' rollup where there is
    one (a count of a million leads takes a third of a second), the other chats and the missing
    ones from their indexes; else in one query."""

    def compute() -> dict[str, int]:
        per_bot = rollup_counts.leads_per_bot(scope.ids)
        chats = scope.apply(Lead.objects.all())
        if per_bot is not None:
            return {
                "leads": sum(per_bot.values()),
                "other_chats": chats.filter(is_lead__in=[False]).count(),
                "missing": chats.filter(missing_since__isnull=False).count(),
            }
        return chats.aggregate(
            leads=Count("id", filter=Q(is_lead=True)),
            other_chats=Count("id", filter=Q(is_lead=False)),
            missing=Count("id", filter=Q(missing_since__isnull=False)),
        )

    return counting.cached("mirror-counts", scope.key, compute)


def last_sync() -> SyncRun | None:
    return SyncRun.objects.order_by("-started_at", "-id").first()


# The frame of every page shows the last sync: its copy is cached this long rather than read on
# every page; saving a SyncRun (a sync that starts or ends) drops it at once in this process
# (leads.accounts.signals). A running sync's status polls the uncached last_sync(), so its
# progress is never stale.
FRAME_SYNC_SECONDS = 5
FRAME_SYNC_KEY = "botpanel:frame-last-sync"


def frame_last_sync() -> SyncRun | None:
    """last_sync(), as the frame shows it: at most FRAME_SYNC_SECONDS old."""
    cached = cache.get(FRAME_SYNC_KEY)
    if cached is None:
        cached = (last_sync(),)  # a tuple, so that "never synced" is cached too
        cache.set(FRAME_SYNC_KEY, cached, FRAME_SYNC_SECONDS)
    return cached[0]


def forget_frame_last_sync() -> None:
    cache.delete(FRAME_SYNC_KEY)


def sync_per_bot(bot_ids: tuple[int, ...]) -> list[tuple[Bot, SyncRun | None, SyncRun | None]]:
    """(bot, its last sync, its last successful sync) for each of the bots, by name: two
    queries whatever their number, cached as briefly as the frame's last sync."""
    key = f"botpanel:sync-per-bot:{','.join(map(str, bot_ids))}"
    found = cache.get(key)
    if found is None:
        runs = SyncRun.objects.filter(bot_id=OuterRef("pk")).order_by("-started_at", "-id")
        ok = runs.filter(state=SyncRun.State.SUCCEEDED)
        bots = list(
            Bot.objects.filter(pk__in=bot_ids)
            .annotate(last=Subquery(runs.values("pk")[:1]), ok=Subquery(ok.values("pk")[:1]))
            .order_by("name", "id")
        )
        wanted = {bot.last for bot in bots} | {bot.ok for bot in bots}
        by_id = SyncRun.objects.in_bulk([pk for pk in wanted if pk])
        found = [(bot, by_id.get(bot.last), by_id.get(bot.ok)) for bot in bots]
        cache.set(key, found, FRAME_SYNC_SECONDS)
    return found


def change_counts(scope: Scope = EVERY_BOT) -> dict[str, int]:
    """Pending and failed edits of the scope's leads, in one query."""
    changes = LeadChange.objects.filter(state__in=LeadChange.OPEN_STATES)
    return scope.apply(changes, "lead__bot_id").aggregate(
        pending=Count("id", filter=Q(state=LeadChange.State.PENDING)),
        failed=Count("id", filter=Q(state=LeadChange.State.FAILED)),
    )


def _age(moment) -> float | None:
    return round((timezone.now() - moment).total_seconds(), 1) if moment else None


def health() -> dict:
    """What /healthz reports. Never raises for a database that is down: it says so."""
    report: dict = {"database": "ok"}
    try:
        counts = change_counts()
        oldest = (
            LeadChange.objects.filter(state=LeadChange.State.PENDING)
            .order_by("created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        last = last_sync()
        beat = Heartbeat.objects.filter(name="worker").values_list("at", flat=True).first()
    except DatabaseError as e:
        return {"database": "unreachable", "error": e.__class__.__name__}
    report.update(
        pending_changes=counts["pending"],
        failed_changes=counts["failed"],
        oldest_pending_seconds=_age(oldest),
        last_sync={
            "state": last.state if last else None,
            "age_seconds": _age(last.finished_at or last.started_at) if last else None,
            "error": last.error if last else "",
        },
        worker_heartbeat_seconds=_age(beat),
    )
    return report
