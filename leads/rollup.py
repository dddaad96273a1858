"""The upkeep of the insights' daily rollup (leads.models.InsightsDay), by the writers only.

Every write that can move a figure (a sync batch, the one edit path, a delivered status change)
calls `touch` with the leads it wrote, in its own transaction: the days those leads count on,
their arrival, their waiting's start and each of their status changes, are marked dirty. `refresh` (run by the worker
after a sync and by the scheduler's sweep) recomputes the dirty days from the mirror; until it
has, the insights page computes those days itself (selectors.insights_days). A change of
TIME_ZONE rebuilds the whole rollup, day by day, the same way."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from leads.models import InsightsDay, InsightsDirtyDay, InsightsRollupState, Lead, StatusChange
from leads.selectors.insights_days import day_rows
from leads.selectors.rollup_counts import built, rollup_zone

logger = logging.getLogger(__name__)

CHUNK = 500  # leads per query when marking (SQLite's parameter limit is far above)


def touch(lead_ids: Iterable[int]) -> None:
    """Mark the days the leads `lead_ids` count on as dirty (inside the writer's transaction):
    their arrival, their waiting's start and each of their status changes (a change moves a
    lead's closing or waiting from one of those days to another)."""
    ids = list(lead_ids)
    zone = rollup_zone()
    days: set[tuple[int, date]] = set()
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        leads = Lead.objects.filter(pk__in=part).order_by()
        # One query: the arrivals, the waitings' starts and the status changes' moments.
        moments = (
            leads.values_list("bot_id", "remote_created_at")
            .union(
                leads.values_list("bot_id", "waiting_since"),
                StatusChange.objects.filter(lead_id__in=part)
                .order_by()
                .values_list("bot_id", "at"),
                all=True,
            )
            .order_by()
        )
        days.update(
            (bot_id, moment.astimezone(zone).date())
            for bot_id, moment in moments
            if moment is not None
        )
    mark(days)


def days_of(bot_id: int, moments: Iterable[datetime | None]) -> set[tuple[int, date]]:
    """The (bot id, day in TIME_ZONE) pairs of the moments (None ignored)."""
    zone = rollup_zone()
    return {(bot_id, moment.astimezone(zone).date()) for moment in moments if moment is not None}


def mark(days: Iterable[tuple[int, date]]) -> None:
    """Mark (bot id, day) pairs dirty now; a pair already dirty gets the new moment, so that a
    refresh that read its day before this write does not clear it. One INSERT … ON CONFLICT per
    CHUNK pairs (both databases' syntax): a sync batch marks hundreds of days, and building
    model instances for them cost more than the write."""
    table = connection.ops.quote_name(InsightsDirtyDay._meta.db_table)
    adapt_date = connection.ops.adapt_datefield_value
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    pairs = sorted(days)
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), CHUNK):
            part = pairs[start : start + CHUNK]
            values = ", ".join(["(%s, %s, %s)"] * len(part))
            params = [v for bot_id, day in part for v in (bot_id, adapt_date(day), now)]
            cursor.execute(
                f"INSERT INTO {table} (bot_id, day, marked_at) VALUES {values} "  # noqa: S608 - constant identifiers
                "ON CONFLICT (bot_id, day) DO UPDATE SET marked_at = excluded.marked_at",
                params,
            )


def refresh(*, limit: int | None = None) -> int:
    """Recompute the dirty days (at most `limit`), oldest mark first; returns how many. A day
    marked again while it was recomputed stays dirty for the next refresh."""
    if not built():
        rebuild()
    dirty = InsightsDirtyDay.objects.order_by("marked_at", "id")
    done = 0
    for mark_ in list(dirty[:limit] if limit else dirty):
        # Computed before the transaction, so that SQLite's write lock is held only to store it.
        rows = day_rows(mark_.bot_id, mark_.day)
        with transaction.atomic():
            # Another worker may have stored this day, or a writer marked it again since it
            # was read: then it is theirs, or the next refresh's.
            claimed = InsightsDirtyDay.objects.select_for_update(skip_locked=True).filter(
                pk=mark_.pk, marked_at=mark_.marked_at
            )
            if not claimed.exists():
                continue
            InsightsDay.objects.filter(bot_id=mark_.bot_id, day=mark_.day).delete()
            InsightsDay.objects.bulk_create(rows, batch_size=CHUNK)
            claimed.delete()
        done += 1
    return done


def rebuild() -> int:
    """Mark every day with an arrival, a waiting's start or a status change dirty, in
    TIME_ZONE; returns how many (bot, day) pairs. The next refresh recomputes them."""
    zone = rollup_zone()
    with transaction.atomic():
        InsightsDay.objects.all().delete()
        InsightsDirtyDay.objects.all().delete()
        days: set[tuple[int, date]] = set()
        for source, field in (
            (Lead.objects, "remote_created_at"),
            (Lead.objects, "waiting_since"),
            (StatusChange.objects, "at"),
        ):
            moments = source.exclude(**{f"{field}__isnull": True}).values_list("bot_id", field)
            for bot_id, moment in moments.iterator(chunk_size=5000):
                days.add((bot_id, moment.astimezone(zone).date()))
        mark(days)
        InsightsRollupState.objects.all().delete()
        InsightsRollupState.objects.create(zone=settings.TIME_ZONE, built_at=timezone.now())
    logger.info("Insights rollup: %d days to compute in %s", len(days), settings.TIME_ZONE)
    return len(days)
