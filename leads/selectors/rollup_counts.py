"""Leads per bot and per status from the insights' daily rollup (leads.models.InsightsDay):
every lead is on the day its waiting began, so the waiting counts of every day add up to the
bot's leads by status, without counting a million rows. Days not refreshed yet, and leads
without a waiting time, are counted from the mirror; a rollup not built for TIME_ZONE answers
nothing (None), and the caller counts the mirror itself."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q, Sum

from leads.models import InsightsDay, InsightsDirtyDay, InsightsRollupState, Lead, Status
from leads.models.insights import WAITING_COLUMNS

# Every status a lead can have ("" for none): the sync keeps no other value.
EVERY_STATUS = [*Status.values, ""]


def leads_per_bot(bot_ids: tuple[int, ...] | None) -> dict[int, int] | None:
    """{bot id: leads} of the bots `bot_ids` (None: every bot)."""
    counted = _per_bot_and_status(bot_ids)
    if counted is None:
        return None
    found: Counter = Counter()
    for (bot_id, _status), n in counted.items():
        found[bot_id] += n
    return {bot_id: n for bot_id, n in found.items() if n}


def leads_per_status(bot_ids: tuple[int, ...] | None) -> dict[str, int] | None:
    """{status: leads} ("" for none) of the bots `bot_ids` (None: every bot)."""
    counted = _per_bot_and_status(bot_ids)
    if counted is None:
        return None
    found = dict.fromkeys(EVERY_STATUS, 0)
    for (_bot_id, status), n in counted.items():
        found[status] += n
    return found


def _per_bot_and_status(bot_ids: tuple[int, ...] | None) -> Counter | None:
    state = InsightsRollupState.objects.first()
    if state is None or state.zone != settings.TIME_ZONE:
        return None
    stored = InsightsDay.objects.all()
    dirty = InsightsDirtyDay.objects.all()
    leads = Lead.objects.filter(is_lead=True, status__in=EVERY_STATUS)
    if bot_ids is not None:
        stored, dirty = stored.filter(bot_id__in=bot_ids), dirty.filter(bot_id__in=bot_ids)
        leads = leads.filter(bot_id__in=bot_ids)
    dirty = list(dirty.values_list("bot_id", "day"))
    for bot_id, day in dirty:
        stored = stored.exclude(bot_id=bot_id, day=day)
    sums = {status: Sum(column) for status, column in WAITING_COLUMNS.items() if status}
    sums["none"] = Sum(WAITING_COLUMNS[""])
    found: Counter = Counter()
    for row in stored.values("bot_id").annotate(**sums).order_by():
        for status in EVERY_STATUS:
            found[row["bot_id"], status] += row[status or "none"] or 0
    zone = ZoneInfo(settings.TIME_ZONE)
    uncounted = Q(waiting_since=None)
    for bot_id, day in dirty:
        start = datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
        uncounted |= Q(bot_id=bot_id, waiting_since__gte=start, waiting_since__lt=end)
    rows = leads.filter(uncounted).values_list("bot_id", "status").annotate(n=Count("id"))
    for bot_id, status, n in rows.order_by():
        found[bot_id, status] += n
    return found
